"""The code sandbox: each attack is contained and scores 0, a correct solution passes."""

from __future__ import annotations

import contextlib
import os
import socket
import textwrap
import threading
import time
from pathlib import Path

import pytest

from routerbench.collect import sandbox
from routerbench.collect.sandbox import isolation_mode, run_tests, scaled_timeout

needs_isolation = pytest.mark.skipif(
    isolation_mode() is None, reason="this machine allows no network/mount namespaces"
)

SOLUTION = "def add(a, b):\n    return a + b\n"
TESTS = "assert add(2, 3) == 5\nassert add(-1, 1) == 0\n"


def _attack(body: str) -> str:
    """An 'add' that also attacks; it only returns the right answer if the attack worked."""
    return (
        "def add(a, b):\n" + textwrap.indent(textwrap.dedent(body), "    ") + "    return a + b\n"
    )


@needs_isolation
def test_correct_solution_passes_and_wrong_one_fails():
    ok = run_tests(SOLUTION, TESTS)
    assert ok.passed and ok.status == "passed", ok
    bad = run_tests("def add(a, b):\n    return a - b\n", TESTS)
    assert not bad.passed and bad.status == "failed"
    assert "AssertionError" in bad.detail


@needs_isolation
def test_early_exit_zero_cannot_fake_a_pass():
    for exit_call in ("import os; os._exit(0)", "import sys; sys.exit(0)"):
        res = run_tests(exit_call, "assert False")
        assert not res.passed and res.status == "failed", (exit_call, res)


@needs_isolation
def test_infinite_loop_times_out():
    t0 = time.monotonic()
    res = run_tests("def add(a, b):\n    while True:\n        pass\n", TESTS, timeout_s=1.0)
    assert res.status == "timeout" and not res.passed
    assert time.monotonic() - t0 < 8


@needs_isolation
def test_sleeping_forever_times_out_on_the_wall_clock():
    res = run_tests("import time\ntime.sleep(1000)\n" + SOLUTION, TESTS, timeout_s=1.0)
    assert res.status == "timeout" and res.wall_s < 6


@needs_isolation
def test_fork_bomb_is_contained():
    bomb = _attack(
        """
        import os
        for _ in range(10_000):
            try:
                os.fork()
            except OSError:
                raise SystemExit(1)
        """
    )
    res = run_tests(bomb, TESTS, timeout_s=2.0)
    assert not res.passed
    # No process of the sandbox user survives the call.
    time.sleep(0.2)
    leftover = [p for p in os.listdir("/proc") if p.isdigit() and _uid_of(p) == 65534]
    assert leftover == []


def _uid_of(pid: str) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("Uid:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


@needs_isolation
def test_ten_gigabyte_allocation_fails():
    res = run_tests(_attack("buf = bytearray(10 * 2**30)\n"), TESTS, timeout_s=3.0)
    assert not res.passed and "MemoryError" in res.detail


@needs_isolation
def test_write_outside_the_temp_dir_is_refused(tmp_path: Path):
    target_dir = tmp_path / "open"
    target_dir.mkdir()
    target_dir.chmod(0o777)
    targets = [target_dir / "pwned", Path("/tmp/rb-sandbox-pwned"), Path.cwd() / "pwned"]
    body = "".join(f"open({str(t)!r}, 'w').write('x')\n" for t in targets)
    for t in targets:
        res = run_tests(_attack(f"open({str(t)!r}, 'w').write('x')\n"), TESTS)
        assert not res.passed, (t, res)
        assert not t.exists()
    assert body  # the attacks above were real file writes


@needs_isolation
def test_writing_inside_the_work_dir_is_allowed():
    res = run_tests(_attack("open('scratch.txt', 'w').write('ok')\n"), TESTS)
    assert res.passed, res


@needs_isolation
def test_api_key_in_the_environment_is_not_visible(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-secret-123")
    steal = _attack(
        """
        import os, glob
        assert os.environ.get("OPENAI_API_KEY"), "no key in env"
        """
    )
    res = run_tests(steal, TESTS)
    assert not res.passed and "no key in env" in res.detail
    # Nor through another process's /proc/PID/environ (fresh PID namespace and /proc).
    scan = _attack(
        """
        import glob
        found = False
        for p in glob.glob('/proc/[0-9]*/environ'):
            try:
                found |= b'sk-test-secret-123' in open(p, 'rb').read()
            except OSError:
                pass
        assert found, 'key not found'
        """
    )
    res = run_tests(scan, TESTS)
    assert not res.passed and "key not found" in res.detail
    assert "sk-test-secret-123" not in res.detail


@needs_isolation
def test_no_network_to_a_local_listener():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(5)
    server.settimeout(3.0)
    port = server.getsockname()[1]
    accepted: list[object] = []

    def accept() -> None:
        with contextlib.suppress(OSError):
            accepted.append(server.accept())

    thread = threading.Thread(target=accept)
    thread.start()
    try:
        res = run_tests(
            _attack(f"import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=2)\n"),
            TESTS,
        )
    finally:
        thread.join()
        server.close()
    assert not res.passed
    assert accepted == []


@needs_isolation
def test_killing_the_parent_does_not_reach_us():
    me = os.getpid()
    killer = _attack(
        f"""
        import os, signal
        for pid in (os.getppid(), 1, -1):
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        os.kill({me}, signal.SIGKILL)  # the test process itself: must be out of reach
        """
    )
    res = run_tests(killer, TESTS)
    assert not res.passed
    # We are alive, and the next sample still runs.
    assert run_tests(SOLUTION, TESTS).passed


@needs_isolation
def test_huge_output_is_capped_by_the_file_size_limit():
    res = run_tests(
        _attack("import sys\nwhile True:\n    sys.stdout.write('x' * 65536)\n"),
        TESTS,
        timeout_s=3.0,
        max_file_mb=1,
    )
    assert not res.passed


def test_refuses_without_isolation(monkeypatch):
    monkeypatch.setattr(sandbox, "isolation_mode", lambda: None)
    res = run_tests(SOLUTION, TESTS)
    assert res.status == "refused" and not res.passed and res.wall_s == 0.0


def test_explicit_opt_out_runs_with_limits_only(monkeypatch):
    monkeypatch.setattr(sandbox, "isolation_mode", lambda: None)
    assert run_tests(SOLUTION, TESTS, allow_no_netns=True).passed
    assert run_tests("while True: pass", "", timeout_s=1.0, allow_no_netns=True).status == (
        "timeout"
    )


def test_scaled_timeout():
    assert scaled_timeout(None) == 4.0
    assert scaled_timeout(0.1) == 4.0
    assert scaled_timeout(2.0, k=5) == 10.0


@needs_isolation
def test_string_hashing_is_the_same_on_every_run():
    """PYTHONHASHSEED=0 must reach the program (python -I would drop it), so a solution
    that returns ''.join(set(s)) gives one answer, not a new one per run."""
    import subprocess
    import sys

    want = subprocess.run(
        [sys.executable, "-c", "print(hash('routerbench'), ''.join(set('abcdefgh')))"],
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": os.environ.get("PATH", ""), "PYTHONHASHSEED": "0"},
    ).stdout.split()
    tests = (
        f"assert hash('routerbench') == {want[0]}\nassert ''.join(set('abcdefgh')) == {want[1]!r}"
    )
    for _ in range(2):
        res = run_tests("", tests)
        assert res.passed, res


@needs_isolation
def test_the_runner_folder_is_not_importable():
    res = run_tests(
        "", "import sys, os\nassert os.getcwd() not in sys.path\nassert '' not in sys.path"
    )
    assert res.passed, res
