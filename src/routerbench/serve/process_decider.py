"""The decision path in a child process: the event loop writes jobs, reads rankings, never waits.

The parent side of `routerbench.serve.ranker`. Everything here runs on the event loop:
asyncio's subprocess pipes are non-blocking, so sending a job is a buffered write and
results arrive through the loop's reader — no thread, no GIL hand-over per request. Each
request still waits for its ranking with a deadline; a child that dies fails the requests
in flight (the server fails them open or closed) and is restarted with a back-off.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import pickle
import sys
import time
from typing import Any

import numpy as np

from routerbench.serve._timeouts import timeout as _timeout
from routerbench.serve.decide import DecisionError, RankedRow
from routerbench.serve.ranker import HEADER, encode_frame

__all__ = ["ProcessDecider"]

logger = logging.getLogger("routerbench.serve")

_HIGH_WATER = 1 << 20  # bytes of unsent jobs before a request waits for the pipe to drain


Ranked = tuple[tuple[str, ...], dict[str, float], dict[str, float]]


def _results(message: tuple, models: tuple[str, ...]) -> dict[int, Ranked | DecisionError]:
    """Per job id: (order, quality, cost) by model name, or the DecisionError of a failure."""
    if message[0] == "error":
        _, ids, text = message
        err = DecisionError(f"the router failed: {text}")
        return {i: err for i in ids}
    _, ids, order, quality, cost = message
    order, quality, cost = np.asarray(order), np.asarray(quality), np.asarray(cost)
    return {
        job_id: (
            tuple(models[j] for j in order[k].tolist()),
            dict(zip(models, quality[k].tolist())),
            dict(zip(models, cost[k].tolist())),
        )
        for k, job_id in enumerate(ids)
    }


class ProcessDecider:
    """Ranks routing texts in a child process (`routerbench.serve.ranker`), with a deadline.

    Parameters
    ----------
    init
        What the child loads: ``{"artifact": path}`` or ``{"router": pickled router}``.
    models
        The router's model names, in its column order (the rankings' indices refer to them).
    timeout_s
        Longest a request waits for its ranking, queueing included.
    start_timeout_s
        Longest the child may take to load the router and answer a probe.
    """

    def __init__(
        self,
        init: dict[str, Any],
        models: tuple[str, ...],
        *,
        timeout_s: float = 1.0,
        start_timeout_s: float = 300.0,
    ) -> None:
        self._init = {"sys_path": list(sys.path), **init}
        self.models = tuple(models)
        self.timeout_s = timeout_s
        self.start_timeout_s = start_timeout_s
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future] = {}
        self._proc: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task | None = None
        self._restart: asyncio.Task | None = None
        self._closing = False
        self.restarts = 0

    # ------------------------------------------------------------------ life
    @property
    def pid(self) -> int | None:
        return None if self._proc is None else self._proc.pid

    @property
    def alive(self) -> bool:
        return self._proc is not None and self._proc.returncode is None and self._reader is not None

    async def start(self) -> None:
        """Start the child and wait until it has loaded the router (ConfigError-free)."""
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "routerbench.serve.ranker",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            env={**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"},
        )
        assert proc.stdin is not None and proc.stdout is not None
        try:
            proc.stdin.write(encode_frame(self._init))
            async with _timeout(self.start_timeout_s):
                reply = await self._read_frame(proc.stdout)
        except BaseException:
            await self._end(proc)
            raise
        if reply is None or reply[0] != "ready":
            await self._end(proc)
            why = "it exited" if reply is None else reply[1]
            raise DecisionError(f"the ranking process could not start: {why}")
        if tuple(reply[1]) != self.models:
            await self._end(proc)
            raise DecisionError(
                f"the ranking process's router has models {reply[1]}, expected {self.models}"
            )
        self._proc = proc
        self._reader = asyncio.get_running_loop().create_task(self._read_results(proc))

    async def aclose(self) -> None:
        """Stop the child: close its stdin (it exits), else terminate, else kill."""
        self._closing = True
        for task in (self._restart, self._reader):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        if self._proc is not None:
            await self._end(self._proc)
        self._fail_all(DecisionError("the server is stopping"))

    @staticmethod
    async def _end(proc: asyncio.subprocess.Process) -> None:
        if proc.stdin is not None:
            with contextlib.suppress(Exception):
                proc.stdin.close()
        for stop in (None, proc.terminate, proc.kill):
            if stop is not None:
                with contextlib.suppress(ProcessLookupError):
                    stop()
            try:
                await asyncio.wait_for(proc.wait(), 5.0)
                return
            except asyncio.TimeoutError:
                continue

    # -------------------------------------------------------------- requests
    async def decide(self, text: str, willingness_to_pay: float) -> RankedRow:
        """This text's ranking at this λ; DecisionError on router failure or deadline."""
        proc = self._proc
        if proc is None or not self.alive or proc.stdin is None:
            raise DecisionError("the ranking process is not running (restarting)")
        loop = asyncio.get_running_loop()
        job_id = next(self._ids)
        future = loop.create_future()
        start = time.perf_counter()
        wtp = float(willingness_to_pay)
        self._pending[job_id] = future
        try:
            proc.stdin.write(encode_frame((job_id, text, wtp, time.monotonic() + self.timeout_s)))
            async with _timeout(self.timeout_s):
                if proc.stdin.transport.get_write_buffer_size() > _HIGH_WATER:
                    await proc.stdin.drain()
                row = await future
        except (asyncio.TimeoutError, TimeoutError):
            raise DecisionError(
                f"the router did not decide within {self.timeout_s * 1000:.0f} ms"
            ) from None
        except (BrokenPipeError, ConnectionResetError):
            raise DecisionError("the ranking process went away") from None
        finally:
            self._pending.pop(job_id, None)
        if isinstance(row, DecisionError):
            raise row
        order, quality, cost = row
        return RankedRow(order, quality, cost, wtp, time.perf_counter() - start)

    # --------------------------------------------------------------- results
    @staticmethod
    async def _read_frame(stream: asyncio.StreamReader) -> Any:
        try:
            head = await stream.readexactly(HEADER.size)
            (size,) = HEADER.unpack(head)
            return pickle.loads(await stream.readexactly(size))
        except asyncio.IncompleteReadError:
            return None

    async def _read_results(self, proc: asyncio.subprocess.Process) -> None:
        assert proc.stdout is not None
        try:
            while True:
                message = await self._read_frame(proc.stdout)
                if message is None:
                    break
                for job_id, result in _results(message, self.models).items():
                    future = self._pending.get(job_id)
                    if future is not None and not future.done():
                        future.set_result(result)
        finally:
            if not self._closing:
                code = await proc.wait()
                logger.error("the ranking process exited with status %s; restarting", code)
                self._reader = None
                self._fail_all(DecisionError(f"the ranking process exited (status {code})"))
                self._restart = asyncio.get_running_loop().create_task(self._restart_loop())

    def _fail_all(self, err: DecisionError) -> None:
        for future in list(self._pending.values()):
            if not future.done():
                future.set_result(err)

    async def _restart_loop(self) -> None:
        delay = 0.5
        while not self._closing:
            await asyncio.sleep(delay)
            try:
                await self.start()
                self.restarts += 1
                return
            except Exception as exc:  # keep trying; requests fail open or closed meanwhile
                logger.error("the ranking process did not restart: %s", exc)
                delay = min(delay * 2, 30.0)
