"""Run untrusted Python (a model's solution plus its tests) where it can do no harm.

Each call starts a fresh process (``_jail.py``) in new network, mount, PID, IPC and UTS
namespaces, with limits on CPU time, address space, processes and file size, a wall
timeout, an empty private working directory, a scrubbed environment and, as root, an
unprivileged user. Without namespaces the code is refused unless the caller opts out
explicitly, because a solution that can reach the network or the caller's files is not
a measurement anyone should trust.
"""

from __future__ import annotations

import contextlib
import functools
import json
import math
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

__all__ = [
    "SandboxResult",
    "isolation_mode",
    "run_tests",
    "scaled_timeout",
]

Status = Literal["passed", "failed", "timeout", "error", "refused"]

_JAIL = Path(__file__).with_name("_jail.py")
_EXIT_TIMEOUT = 124
_EXIT_UNAVAILABLE = 86
_EXIT_SETUP = 87
_NOBODY = 65534
_SIGXCPU = int(signal.SIGXCPU)
_SIGXFSZ = int(signal.SIGXFSZ)

# The program the sandbox executes: the solution and its tests, then a token it could not
# have known in advance. Success = exit 0 *and* the token, so `os._exit(0)` or
# `sys.exit(0)` in a solution cannot fake a pass.
_RUNNER = """\
import os, sys
del sys.path[0]  # this script's folder: the solution imports nothing from it
_fd = os.dup(0)
os.close(0)
os.open(os.devnull, os.O_RDONLY)
with open("prog.py", encoding="utf-8") as _fh:
    _src = _fh.read()
try:
    exec(compile(_src, "solution.py", "exec"), {"__name__": "__main__"})
except BaseException:
    import traceback
    traceback.print_exc()
    sys.stderr.flush()
    os._exit(1)
sys.stdout.flush()
_tok = os.read(_fd, 128)
os.write(1, b"\\n" + _tok + b"\\n")
os._exit(0)
"""


@dataclass(frozen=True)
class SandboxResult:
    """What happened to one program.

    ``status`` keeps timeouts apart from failures (a solution too slow is not the same
    evidence as a wrong one); ``refused`` means nothing was run.
    """

    passed: bool
    status: Status
    detail: str
    wall_s: float


def scaled_timeout(reference_wall_s: float | None, *, k: float = 5.0, floor: float = 4.0) -> float:
    """Wall timeout for a task: ``max(floor, k × the reference solution's time)``.

    Scaling by the reference keeps slow machines from failing correct solutions and
    fast machines from passing accidentally quadratic ones.
    """
    if reference_wall_s is None or not math.isfinite(reference_wall_s):
        return floor
    return max(floor, k * reference_wall_s)


def _python_parts() -> tuple[str, str]:
    """The interpreter's prefix and its executable's path relative to it."""
    exe = os.path.realpath(sys.executable)
    prefix = os.path.realpath(sys.base_prefix)
    rel = os.path.relpath(exe, prefix)
    if rel.startswith(".."):
        # A venv pointing elsewhere: use the base interpreter's bin/pythonX.Y.
        rel = os.path.join("bin", f"python{sys.version_info.major}.{sys.version_info.minor}")
    return prefix, rel


def _launch(
    code_and_tests: str,
    *,
    mode: str,
    timeout_s: float,
    memory_mb: int,
    nproc: int,
    fsize_mb: int,
) -> tuple[int, str, str, float, bool]:
    """Run one program; returns (exit code, stdout tail, stderr tail, wall, token seen)."""
    token = secrets.token_hex(16)
    host = Path(tempfile.mkdtemp(prefix="rb-sandbox-"))
    try:
        (host / "run.py").write_text(_RUNNER, encoding="utf-8")
        (host / "prog.py").write_text(code_and_tests, encoding="utf-8")
        work = host / "work"
        work.mkdir()
        prefix, rel = _python_parts()
        cfg = {
            "mode": mode,
            "host_workdir": str(host),
            "python_prefix": prefix,
            "python_rel": rel,
            "python_exe": os.path.realpath(sys.executable),
            "cpu_s": max(1, math.ceil(timeout_s)),
            "wall_s": timeout_s,
            "memory_mb": memory_mb,
            "nproc": nproc,
            "fsize_mb": fsize_mb,
            "tmpfs_mb": 64,
            "uid": _NOBODY,
            "gid": _NOBODY,
        }
        if mode == "none":
            # No private /tmp: give the program its own empty directory.
            shutil.copy(host / "run.py", work / "run.py")
            shutil.copy(host / "prog.py", work / "prog.py")
            cfg["host_workdir_exec"] = str(work)
        out_path, err_path = host / "stdout", host / "stderr"
        start = time.monotonic()
        with open(out_path, "wb") as out, open(err_path, "wb") as err:
            proc = subprocess.Popen(
                [sys.executable, "-I", str(_JAIL), json.dumps(cfg)],
                stdin=subprocess.PIPE,
                stdout=out,
                stderr=err,
                cwd=str(host),
                env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"},
                start_new_session=True,
                close_fds=True,
            )
            try:
                assert proc.stdin is not None
                try:
                    proc.stdin.write(token.encode())
                    proc.stdin.close()
                except BrokenPipeError:
                    pass
                rc = proc.wait(timeout=timeout_s + 5.0)
            except subprocess.TimeoutExpired:
                rc = _EXIT_TIMEOUT
            finally:
                _kill_group(proc)
        wall = time.monotonic() - start
        stdout = _tail(out_path)
        stderr = _tail(err_path)
        return rc, stdout, stderr, wall, token in stdout
    finally:
        shutil.rmtree(host, ignore_errors=True)


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGKILL the launcher's whole process group and reap the launcher."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=5)


def _tail(path: Path, limit: int = 4096) -> str:
    with open(path, "rb") as fh:
        fh.seek(0, os.SEEK_END)
        size = fh.tell()
        fh.seek(max(0, size - limit))
        return fh.read().decode("utf-8", errors="replace")


def _last_line(text: str) -> str:
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    return lines[-1][:300] if lines else ""


@functools.lru_cache(maxsize=1)
def isolation_mode() -> str | None:
    """Which isolation this machine allows: ``"root"``, ``"userns"`` or None (neither).

    Probed once per process by running a trivial program the way every real one runs.
    ``root`` (we may create namespaces and drop to user nobody) is the strongest;
    ``userns`` creates the namespaces inside a user namespace (no uid drop).
    """
    candidates = ["root", "userns"] if os.geteuid() == 0 else ["userns"]
    for mode in candidates:
        rc, _, _, _, ok = _launch(
            "pass\n", mode=mode, timeout_s=10.0, memory_mb=1024, nproc=64, fsize_mb=1
        )
        if rc == 0 and ok:
            return mode
    return None


def run_tests(
    code: str,
    tests: str,
    *,
    timeout_s: float = 4.0,
    allow_no_netns: bool = False,
    memory_mb: int = 1024,
    max_processes: int = 64,
    max_file_mb: int = 16,
) -> SandboxResult:
    """Run `code` followed by `tests` in a fresh sandbox; passed iff everything ran cleanly.

    Parameters
    ----------
    code, tests
        Python source: the candidate solution and the code that checks it (asserts;
        for HumanEval, ``check(entry_point)`` included). They run as one program.
    timeout_s
        Wall-clock limit; CPU time is limited to the same number of seconds.
    allow_no_netns
        Run with resource limits only when namespaces are unavailable. Off by default:
        without a network namespace the program could reach the network.
    memory_mb, max_processes, max_file_mb
        Address-space, process-count (for the sandbox user) and file-size limits.

    Returns
    -------
    SandboxResult
        ``timeout`` and ``failed`` kept apart; ``refused`` when nothing was run.
    """
    mode = isolation_mode()
    if mode is None:
        if not allow_no_netns:
            return SandboxResult(
                False,
                "refused",
                "no network/mount namespace available on this machine; refusing to run "
                "untrusted code (allow_no_netns=True runs it with resource limits only)",
                0.0,
            )
        mode = "none"
    program = f"{code}\n\n{tests}\n"
    rc, _stdout, stderr, wall, token_seen = _launch(
        program,
        mode=mode,
        timeout_s=timeout_s,
        memory_mb=memory_mb,
        nproc=max_processes,
        fsize_mb=max_file_mb,
    )
    if rc == 0 and token_seen:
        return SandboxResult(True, "passed", "", wall)
    if rc == _EXIT_TIMEOUT and wall >= timeout_s:
        return SandboxResult(False, "timeout", f"no result within {timeout_s:g} s", wall)
    if rc == 128 + _SIGXCPU or (rc == 128 + signal.SIGKILL and wall >= timeout_s * 0.9):
        return SandboxResult(False, "timeout", f"CPU time limit of {timeout_s:g} s", wall)
    if rc in (_EXIT_SETUP, _EXIT_UNAVAILABLE):
        return SandboxResult(False, "error", _last_line(stderr) or "sandbox setup failed", wall)
    if rc == 128 + _SIGXFSZ:
        return SandboxResult(False, "failed", f"file size limit of {max_file_mb} MB", wall)
    if rc > 128:
        return SandboxResult(False, "failed", f"killed by signal {rc - 128}", wall)
    if rc == 0:
        return SandboxResult(False, "failed", "exited before the tests finished", wall)
    return SandboxResult(False, "failed", _last_line(stderr) or f"exit code {rc}", wall)
