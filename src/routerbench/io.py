"""Atomic file output and plain-words file-system errors, for every writer in routerbench.

Write to a temporary file beside the target, then rename: a crash, a full disk or a
bad row half-way through never leaves a truncated output or a stray temp file, and
readers never see a partially written file. `explain_os_error` turns the OS's
complaint into one line naming the path and what to do.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

__all__ = [
    "TEMP_SUFFIX",
    "atomic_path",
    "explain_os_error",
    "write_atomic",
    "write_bytes_atomic",
    "write_text_atomic",
]

#: Every temporary file routerbench makes ends in this (and starts with a dot).
TEMP_SUFFIX = ".tmp"


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_path(target: str | Path, *, durable: bool = False) -> Iterator[Path]:
    """Yield a temporary path; on success it replaces `target`, on any failure it is removed.

    Parameters
    ----------
    target
        The file to produce. Missing parent folders are created.
    durable
        fsync the data before the rename (caches shared by concurrent runs use it,
        so a power cut cannot publish an empty file under the final name).

    Notes
    -----
    The temporary file lives in the target's folder (``.NAME.XXXX.tmp``), so the
    final `os.replace` is atomic. It is removed on every failure path, including
    Ctrl-C and a failed rename; an `OSError` that does not say which file it is
    about (a full disk during ``write``) is given the target's path, so the user
    learns where the write failed.
    """
    target = Path(target)
    tmp_path: Path | None = None
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=TEMP_SUFFIX, dir=target.parent)
        os.close(fd)
        tmp_path = Path(tmp)
        yield tmp_path
        os.chmod(tmp_path, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual file mode
        if durable:
            _fsync(tmp_path)
        os.replace(tmp_path, target)
        tmp_path = None
    except OSError as exc:
        if _names_a_temp_of(exc.filename, target):
            exc.filename = str(target)  # the user chose the target, not our temp name
        if exc.filename is None:
            if exc.errno is not None:  # str(exc) then names the file too
                exc.filename = str(target)
            else:  # a library's OSError("...") keeps its text; the path rides along
                exc.routerbench_path = str(target)  # type: ignore[attr-defined]
        raise
    finally:
        if tmp_path is not None:
            with contextlib.suppress(OSError):
                tmp_path.unlink()


def _names_a_temp_of(filename: object, target: Path) -> bool:
    """True when `filename` is one of atomic_path's temporary names for `target`."""
    if not isinstance(filename, str):
        return False
    tmp = Path(filename)
    return (
        tmp.parent == target.parent
        and tmp.name.startswith(f".{target.name}.")
        and tmp.name.endswith(TEMP_SUFFIX)
    )


def write_atomic(
    target: str | Path, write: Callable[[Path], None], *, durable: bool = False
) -> Path:
    """Call `write(tmp_path)` and move the result onto `target` atomically."""
    with atomic_path(target, durable=durable) as tmp:
        write(tmp)
    return Path(target)


def write_text_atomic(target: str | Path, text: str, *, durable: bool = False) -> Path:
    """Write a text file atomically (UTF-8)."""
    return write_atomic(target, lambda p: p.write_text(text, encoding="utf-8"), durable=durable)


def write_bytes_atomic(target: str | Path, data: bytes, *, durable: bool = False) -> Path:
    """Write a binary file atomically."""
    return write_atomic(target, lambda p: p.write_bytes(data), durable=durable)


# --------------------------------------------------------------------------- errors
_WHAT_TO_DO: dict[int, str] = {
    errno.EACCES: "permission denied; check its permissions or choose another path",
    errno.EPERM: "operation not permitted; check its permissions or choose another path",
    errno.EROFS: "the file system is read-only; choose a writable path",
    errno.ENOSPC: "no space left on the device; free some space or choose another path",
    errno.EDQUOT: "disk quota exceeded; free some space or choose another path",
    errno.ENOTDIR: "a part of the path is a file, not a folder; choose another path",
    errno.EISDIR: "is a folder, expected a file; give a file path",
    errno.EEXIST: "exists and is not a folder; remove it or choose another path",
    errno.ENOENT: "no such file or folder; check the path",
    errno.ENAMETOOLONG: "the name is too long; choose a shorter path",
    errno.ELOOP: "too many levels of symbolic links; check the path",
    errno.EIO: "input/output error; check the disk or network share",
    errno.EFBIG: "the file is too large for the file system; choose another path",
    errno.EMFILE: "too many open files; raise the limit (ulimit -n)",
    errno.ENFILE: "too many open files in the system; close some programs and retry",
    errno.ETXTBSY: "the file is busy; close the program using it and retry",
    errno.EBUSY: "the file or folder is busy; close the program using it and retry",
    errno.ENOTEMPTY: "the folder is not empty; empty it or choose another path",
    errno.EXDEV: "cannot move across file systems; keep the files on one disk",
}
_ERRNO_IN_TEXT = re.compile(r"\[errno (\d+)\]", re.IGNORECASE)


def _errno_of(exc: OSError) -> int | None:
    if exc.errno is not None:
        return exc.errno
    found = _ERRNO_IN_TEXT.search(str(exc))  # pyarrow: "... Detail: [errno 28] No space ..."
    return int(found.group(1)) if found else None


def explain_os_error(exc: OSError, path: str | Path | None = None) -> str:
    """One line for an `OSError`: ``PATH: what went wrong; what to do``.

    Parameters
    ----------
    exc
        The error, as the OS (or a library such as pyarrow) raised it.
    path
        The path to name when the error itself carries none.
    """
    where = exc.filename if exc.filename is not None else getattr(exc, "routerbench_path", path)
    code = _errno_of(exc)
    what = _WHAT_TO_DO.get(code) if code is not None else None
    if what is None:
        what = (exc.strerror or str(exc) or type(exc).__name__).strip()
        what = " ".join(what.split())  # one line, whatever the library wrote
    if where is None:
        return what
    where = os.fsdecode(where)
    if exc.filename2 is not None:
        where = f"{where} -> {os.fsdecode(exc.filename2)}"
    return f"{where}: {what}"
