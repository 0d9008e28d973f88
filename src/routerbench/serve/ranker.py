"""The ranking process: a serving process's router, run in a child of its own.

Why a process and not a thread: ranking is CPU-bound Python and numpy. In a thread it
shares the GIL with the event loop, and under load the two convoy — each hand-over
waits for the other's switch interval — so a 0.4 ms ranking took 5-50 ms at 500
requests/s. In a child process the router has its own interpreter: the loop never waits
for it, and a router that hangs or crashes cannot stall or kill the server (its
requests fail open or closed at their deadline, and the child is restarted).

The protocol on the child's stdin/stdout is frames of a 4-byte big-endian length and a
pickle. Both ends are this module's code in processes of the same installation, so
pickle is safe here; nothing else writes to these pipes.

* parent → child, first: ``{"sys_path": [...], "artifact": PATH}`` or
  ``{"sys_path": [...], "router": PICKLE}``; the child answers ``("ready", models)`` or
  ``("failed", message)``.
* parent → child, then: ``(job_id, text, willingness_to_pay, deadline)`` per request,
  deadline on ``time.monotonic()`` (one clock for all processes of the machine).
* child → parent: ``("ok", ids, order, quality, cost)`` per ranked group of jobs (one
  λ), or ``("error", ids, message)`` when the router raised.

Jobs that arrive while the child is busy are ranked together, one `rank_prompts` call
per λ, so throughput grows with load. Jobs past their deadline are skipped. The child
exits when its stdin closes (the server stopped) or its parent dies.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import signal
import struct
import sys
import time
from typing import Any

__all__ = ["HEADER", "encode_frame", "main"]

HEADER = struct.Struct(">I")
MAX_BATCH = 256


def encode_frame(message: Any) -> bytes:
    """One frame: the pickled message behind its length."""
    body = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    return HEADER.pack(len(body)) + body


class _FrameReader:
    """Reads whole frames from a pipe, returning every frame that has already arrived."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.buffer = bytearray()

    def _complete(self) -> list[Any]:
        frames: list[Any] = []
        view = self.buffer
        at = 0
        while len(view) - at >= HEADER.size:
            (size,) = HEADER.unpack_from(view, at)
            if len(view) - at - HEADER.size < size:
                break
            start = at + HEADER.size
            frames.append(pickle.loads(view[start : start + size]))
            at = start + size
        del self.buffer[:at]
        return frames

    def read(self) -> list[Any] | None:
        """The frames available now, blocking until there is at least one; None at EOF."""
        while True:
            frames = self._complete()
            if frames:
                return frames
            chunk = os.read(self.fd, 1 << 20)
            if not chunk:
                return None
            self.buffer += chunk


def _load(init: dict[str, Any]) -> Any:
    for entry in reversed(init.get("sys_path", [])):
        if entry not in sys.path:
            sys.path.insert(0, entry)
    if init.get("artifact") is not None:
        from routerbench.routers.artifact import load_router

        return load_router(init["artifact"])
    return pickle.loads(init["router"])


def _rank_all(router: Any, jobs: list[tuple[int, str, float, float]], out: int) -> None:
    now = time.monotonic()
    groups: dict[float, list[tuple[int, str]]] = {}
    for job_id, text, wtp, deadline in jobs:
        if deadline > now:  # a job past its deadline has already failed open or closed
            groups.setdefault(wtp, []).append((job_id, text))
    for wtp, group in groups.items():
        for lo in range(0, len(group), MAX_BATCH):
            part = group[lo : lo + MAX_BATCH]
            ids = [job_id for job_id, _ in part]
            try:
                ranking = router.rank_prompts([text for _, text in part], wtp)
                if len(ranking.order) != len(part):
                    raise RuntimeError(
                        f"router returned {len(ranking.order)} rankings for {len(part)} prompts"
                    )
                reply = ("ok", ids, ranking.order, ranking.quality, ranking.cost)
            except Exception as exc:  # the router's failure is the request's, not the child's
                reply = ("error", ids, f"{type(exc).__name__}: {exc}")
            _write(out, encode_frame(reply))


def _write(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def main() -> int:
    """Serve rankings on stdin/stdout until stdin closes."""
    from routerbench.lifetime import exit_with_parent

    exit_with_parent(os.getppid())
    # Ctrl-C reaches the whole process group; the server stops this child itself.
    with contextlib.suppress(ValueError):
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    out = os.dup(1)
    os.dup2(2, 1)  # anything a library prints goes to stderr, never into the protocol
    reader = _FrameReader(0)
    first = reader.read()
    if not first:
        return 0
    try:
        router = _load(first[0])
        from threadpoolctl import threadpool_limits

        threadpool_limits(limits=1)  # per-request matrices are tiny: no BLAS thread pool
        import sklearn

        # Fitted estimators on our own arrays: skipping the per-call input checks saves a
        # few hundred microseconds of a one-prompt ranking and changes no value.
        sklearn.set_config(assume_finite=True, skip_parameter_validation=True)
        models = tuple(router.rank_prompts(["routerbench start-up probe"], 1.0).models)
    except Exception as exc:
        _write(out, encode_frame(("failed", f"{type(exc).__name__}: {exc}")))
        return 1
    import gc

    gc.collect()
    gc.freeze()  # the loaded router lives as long as the child: never scan it again
    _write(out, encode_frame(("ready", models)))
    pending = first[1:]
    while True:
        if pending:
            _rank_all(router, pending, out)
        frames = reader.read()
        if frames is None:
            return 0
        pending = frames


if __name__ == "__main__":
    sys.exit(main())
