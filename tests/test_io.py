"""Atomic writes: the target appears whole or not at all, with ordinary permissions."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from routerbench.io import write_atomic, write_text_atomic


def test_success_replaces_target_with_umask_mode(tmp_path: Path) -> None:
    target = tmp_path / "a" / "out.txt"
    old = os.umask(0o022)
    try:
        write_text_atomic(target, "hello")
    finally:
        os.umask(old)
    assert target.read_text() == "hello"
    assert target.stat().st_mode & 0o777 == 0o644
    assert [p.name for p in target.parent.iterdir()] == ["out.txt"]


def test_failure_keeps_the_old_file_and_leaves_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "out.txt"
    target.write_text("old")

    def fail(p: Path) -> None:
        p.write_text("half")
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        write_atomic(target, fail)
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_a_failed_rename_removes_the_temp_and_names_the_target(tmp_path: Path, monkeypatch) -> None:
    import errno

    from routerbench.io import explain_os_error

    def full(src, dst):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "replace", full)
    target = tmp_path / "out.csv"
    with pytest.raises(OSError) as err:
        write_text_atomic(target, "a,b\n")
    assert err.value.filename == str(target)
    assert explain_os_error(err.value) == (
        f"{target}: no space left on the device; free some space or choose another path"
    )
    assert list(tmp_path.iterdir()) == []


def test_ctrl_c_inside_the_write_removes_the_temp(tmp_path: Path) -> None:
    def interrupted(p: Path) -> None:
        p.write_text("half")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_atomic(tmp_path / "x.txt", interrupted)
    assert list(tmp_path.iterdir()) == []


def test_explain_os_error_names_path_and_remedy(tmp_path: Path) -> None:
    import errno

    from routerbench.io import explain_os_error

    assert explain_os_error(PermissionError(errno.EACCES, "Permission denied", "/a/b")) == (
        "/a/b: permission denied; check its permissions or choose another path"
    )
    assert explain_os_error(OSError(errno.EROFS, "Read-only file system", "/ro")) == (
        "/ro: the file system is read-only; choose a writable path"
    )
    # pyarrow reports errno only in its text, and no file: the caller's path is used
    arrow = OSError("Error writing bytes to file. Detail: [errno 28] No space left on device")
    assert explain_os_error(arrow, "/o/r.parquet") == (
        "/o/r.parquet: no space left on the device; free some space or choose another path"
    )
    odd = OSError(errno.ECONNRESET, "Connection reset\nby peer")
    assert explain_os_error(odd) == "Connection reset by peer"
    with pytest.raises(OSError) as err:
        os.rename(tmp_path / "nope", tmp_path / "dest")
    assert explain_os_error(err.value) == (
        f"{tmp_path / 'nope'} -> {tmp_path / 'dest'}: no such file or folder; check the path"
    )
