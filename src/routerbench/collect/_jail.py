"""The sandbox launcher: a tiny stand-alone script, run as its own process, never imported.

It enters fresh namespaces (network, mount, PID, IPC, UTS), hides /tmp and /dev/shm behind
private tmpfs mounts, sets resource limits, drops to an unprivileged user and only then
executes the untrusted program. It also enforces the wall timeout itself and dies with
its parent, so no sandboxed process can outlive the command that asked for it.

Usage: ``python -I _jail.py CONFIG_JSON`` (see ``sandbox.py`` for the fields).
Exit codes: the program's own, 128 + signal when it was killed, 124 on wall timeout,
86 when isolation is unavailable, 87 when setting the sandbox up failed.
"""

import contextlib
import ctypes
import json
import os
import resource
import signal
import sys
import time

CLONE_NEWNS = 0x00020000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_NOEXEC = 8
MS_REMOUNT = 32
MS_BIND = 4096
MS_REC = 16384
MS_PRIVATE = 1 << 18
PR_SET_PDEATHSIG = 1
PR_SET_NO_NEW_PRIVS = 38

EXIT_TIMEOUT = 124
EXIT_UNAVAILABLE = 86
EXIT_SETUP = 87

_libc = ctypes.CDLL(None, use_errno=True)
_libc.mount.argtypes = [
    ctypes.c_char_p,
    ctypes.c_char_p,
    ctypes.c_char_p,
    ctypes.c_ulong,
    ctypes.c_char_p,
]


def _fail(code, msg):
    os.write(2, f"sandbox: {msg}\n".encode())
    os._exit(code)


def _mount(src, target, fstype, flags, data=None):
    def enc(s):
        return None if s is None else s.encode()

    if _libc.mount(enc(src), enc(target), enc(fstype), flags, enc(data)) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"mount {target}: {os.strerror(err)}")


def _write(path, text):
    with open(path, "w") as fh:
        fh.write(text)


def _enter_namespaces(mode):
    flags = CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS
    uid, gid = os.getuid(), os.getgid()
    if mode == "userns":
        flags |= CLONE_NEWUSER
    if _libc.unshare(flags) != 0:
        err = ctypes.get_errno()
        _fail(EXIT_UNAVAILABLE, f"isolation unavailable: unshare: {os.strerror(err)}")
    if mode == "userns":
        _write("/proc/self/setgroups", "deny")
        _write("/proc/self/uid_map", f"0 {uid} 1")
        _write("/proc/self/gid_map", f"0 {gid} 1")


def _build_filesystem(cfg, files):
    """Private mounts: empty /tmp with only the work dir, read-only interpreter, fresh /proc."""
    _mount(None, "/", None, MS_REC | MS_PRIVATE)
    try:
        _mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    except OSError:
        if cfg["mode"] == "root":
            raise
    _mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, f"size={cfg['tmpfs_mb']}m,mode=755")
    if os.path.isdir("/dev/shm"):
        _mount("tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=1m,mode=755")
    os.mkdir("/tmp/python", 0o755)
    _mount(cfg["python_prefix"], "/tmp/python", None, MS_BIND | MS_REC)
    _mount(None, "/tmp/python", None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID)
    os.mkdir("/tmp/work", 0o700)
    for name, text in files.items():
        _write(os.path.join("/tmp/work", name), text)
    if cfg["mode"] == "root":
        for name in [".", *files]:
            os.chown(os.path.join("/tmp/work", name), cfg["uid"], cfg["gid"])
    # Everything else read-only for this namespace only (MS_BIND: a per-mount flag).
    with contextlib.suppress(OSError):
        _mount(None, "/", None, MS_REMOUNT | MS_BIND | MS_RDONLY)


def _limits(cfg):
    cpu = int(cfg["cpu_s"])
    mem = int(cfg["memory_mb"]) * 1024 * 1024
    fsize = int(cfg["fsize_mb"]) * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    resource.setrlimit(resource.RLIMIT_AS, (mem, mem))
    resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))
    resource.setrlimit(resource.RLIMIT_NPROC, (cfg["nproc"], cfg["nproc"]))
    resource.setrlimit(resource.RLIMIT_NOFILE, (256, 256))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def _exec_program(cfg, workdir, python):
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": workdir,
        "TMPDIR": workdir,
        "LANG": "C.UTF-8",
        "PYTHONHASHSEED": "0",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    os.chdir(workdir)
    # Not -I: it implies -E, which ignores PYTHONHASHSEED, and then a solution's set of
    # strings prints in another order on every run. The environment above is the whole
    # environment, so -E would guard nothing; -s keeps the user's site-packages out and
    # the runner drops its own folder from sys.path (what -I's -P did).
    os.execve(python, [python, "-s", "-B", os.path.join(workdir, "run.py")], env)


def _child(cfg, files):
    try:
        if cfg["mode"] != "none":
            _build_filesystem(cfg, files)
            with contextlib.suppress(Exception):
                _libc.sethostname(b"sandbox", 7)
            workdir = "/tmp/work"
            python = os.path.join("/tmp/python", cfg["python_rel"])
        else:
            workdir = cfg["host_workdir_exec"]
            python = cfg["python_exe"]
        _limits(cfg)
        if cfg["mode"] == "root":
            os.setgroups([])
            os.setgid(cfg["gid"])
            os.setuid(cfg["uid"])
        _libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
        _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        _exec_program(cfg, workdir, python)
    except BaseException as exc:  # any failure here is a setup failure
        _fail(EXIT_SETUP, f"setup failed: {exc}")


def main():
    cfg = json.loads(sys.argv[1])
    launcher_parent = os.getppid()
    files = {}
    for name in ("run.py", "prog.py"):
        with open(os.path.join(cfg["host_workdir"], name)) as fh:
            files[name] = fh.read()
    if cfg["mode"] != "none":
        _enter_namespaces(cfg["mode"])
    pid = os.fork()
    if pid == 0:
        _child(cfg, files)
    deadline = time.monotonic() + float(cfg["wall_s"])
    delay = 0.001
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            if os.WIFSIGNALED(status):
                os._exit(128 + os.WTERMSIG(status))
            os._exit(os.WEXITSTATUS(status))
        if time.monotonic() > deadline or os.getppid() != launcher_parent:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            os._exit(EXIT_TIMEOUT)
        time.sleep(delay)
        delay = min(delay * 2, 0.02)


if __name__ == "__main__":
    main()
