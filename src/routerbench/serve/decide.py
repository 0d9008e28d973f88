"""The decision path: routing text from a conversation, then the router's ranking, off the loop.

Ranking runs in worker threads, never on the event loop, and every request waits for it
with a deadline. Requests that arrive while a worker is busy are ranked together in one
`rank_prompts` call (one vectorised batch per λ), so throughput grows with load while a
lone request pays no batching delay. Nothing here makes a remote call.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import numpy as np

__all__ = [
    "ROUTE_ON",
    "Decider",
    "DecisionError",
    "RankFn",
    "RankedRow",
    "routing_text",
]

ROUTE_ON: tuple[str, ...] = ("last-user", "conversation")


class RankingLike(Protocol):
    """What `routerbench.routers.ranking.Ranking` provides and the server reads."""

    models: tuple[str, ...]
    order: np.ndarray
    quality: np.ndarray
    cost: np.ndarray


RankFn = Callable[[Sequence[str], float], RankingLike]


class DecisionError(Exception):
    """The router could not decide in time (timeout) or raised; the server fails open or closed."""


def _content_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # multimodal parts: route on their text parts only
        return "\n".join(
            p["text"]
            for p in content
            if isinstance(p, dict) and p.get("type") == "text" and isinstance(p.get("text"), str)
        )
    return ""


def routing_text(
    messages: Sequence[dict[str, Any]], route_on: Literal["last-user", "conversation"]
) -> str:
    """The text the router sees: the last user turn (default) or every turn, never truncated."""
    if route_on == "conversation":
        return "\n\n".join(t for t in (_content_text(m.get("content")) for m in messages) if t)
    for message in reversed(messages):
        if message.get("role") == "user":
            return _content_text(message.get("content"))
    return _content_text(messages[-1].get("content"))


@dataclass(frozen=True)
class RankedRow:
    """One prompt's ranking: model names best first, with the router's P̂ and ĉ per name."""

    order: tuple[str, ...]
    quality: dict[str, float]
    cost: dict[str, float]
    willingness_to_pay: float
    decision_s: float


@dataclass
class _Job:
    text: str
    wtp: float
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future
    deadline: float
    queued_at: float


def _row(ranking: RankingLike, i: int, wtp: float, decision_s: float) -> RankedRow:
    names = ranking.models
    q = np.asarray(ranking.quality[i], dtype=float)
    c = np.asarray(ranking.cost[i], dtype=float)
    return RankedRow(
        order=tuple(names[j] for j in np.asarray(ranking.order[i]).tolist()),
        quality=dict(zip(names, q.tolist())),
        cost=dict(zip(names, c.tolist())),
        willingness_to_pay=wtp,
        decision_s=decision_s,
    )


def _resolve(items: list[tuple[asyncio.Future, Any, bool]]) -> None:
    for future, value, failed in items:
        if future.done():  # the request gave up waiting (deadline) or went away
            continue
        if failed:
            future.set_exception(value)
        else:
            future.set_result(value)


def _fast_sklearn() -> Callable[[], contextlib.AbstractContextManager[Any]]:
    """A context factory that skips scikit-learn's input checks (thread-local settings).

    Imported at start-up, never on a request's path.
    """
    try:
        import sklearn
    except ImportError:  # a router without scikit-learn parts
        return contextlib.nullcontext
    return lambda: sklearn.config_context(assume_finite=True, skip_parameter_validation=True)


class Decider:
    """Ranks routing texts in worker threads, batching what queues up, with a deadline.

    Parameters
    ----------
    rank
        ``rank(texts, willingness_to_pay) -> Ranking`` (a fitted router's `rank_prompts`).
    timeout_s
        Longest a request waits for its ranking (queueing included) before a DecisionError.
    threads
        Worker threads (one is enough for vectorised routers: batches grow under load).
    max_batch
        Largest number of prompts ranked in one call.
    """

    def __init__(
        self, rank: RankFn, *, timeout_s: float = 1.0, threads: int = 1, max_batch: int = 256
    ) -> None:
        self._rank = rank
        self.timeout_s = timeout_s
        self.max_batch = max_batch
        self._quiet_checks = _fast_sklearn()
        self._queue: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._threads = [
            threading.Thread(target=self._work, name=f"routerbench-decide-{i}", daemon=True)
            for i in range(threads)
        ]
        for t in self._threads:
            t.start()

    async def decide(self, text: str, willingness_to_pay: float) -> RankedRow:
        """This text's ranking at this λ; DecisionError on router failure or deadline."""
        loop = asyncio.get_running_loop()
        now = time.perf_counter()
        job = _Job(
            text, float(willingness_to_pay), loop, loop.create_future(), now + self.timeout_s, now
        )
        self._queue.put(job)
        try:
            return await asyncio.wait_for(job.future, self.timeout_s)
        except asyncio.TimeoutError:
            raise DecisionError(
                f"the router did not decide within {self.timeout_s * 1000:.0f} ms"
            ) from None

    def _drain(self, first: _Job) -> list[_Job]:
        jobs = [first]
        while len(jobs) < self.max_batch:
            try:
                job = self._queue.get_nowait()
            except queue.Empty:
                break
            if job is None:
                self._queue.put(None)  # let the other workers see the stop signal too
                break
            jobs.append(job)
        return jobs

    def _work(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                self._queue.put(None)
                return
            jobs = self._drain(first)
            now = time.perf_counter()
            live = [j for j in jobs if j.deadline > now and not j.future.done()]
            by_wtp: dict[float, list[_Job]] = {}
            for job in live:
                by_wtp.setdefault(job.wtp, []).append(job)
            for wtp, group in by_wtp.items():
                self._rank_group(wtp, group)

    def _rank_group(self, wtp: float, group: list[_Job]) -> None:
        try:
            # scikit-learn's checks are thread-local settings: skipping them for fitted
            # estimators on our own arrays saves a few milliseconds per call.
            with self._quiet_checks():
                ranking = self._rank([j.text for j in group], wtp)
            if len(ranking.order) != len(group):
                raise DecisionError(
                    f"router returned {len(ranking.order)} rankings for {len(group)} prompts"
                )
            done = time.perf_counter()
            results = [
                (j.future, _row(ranking, i, wtp, done - j.queued_at), False)
                for i, j in enumerate(group)
            ]
        except Exception as exc:  # a router failure must reach the request, not kill the worker
            err = (
                exc
                if isinstance(exc, DecisionError)
                else DecisionError(f"the router failed: {type(exc).__name__}: {exc}")
            )
            results = [(j.future, err, True) for j in group]
        by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future, Any, bool]]] = {}
        for job, item in zip(group, results):
            by_loop.setdefault(job.loop, []).append(item)
        for loop, items in by_loop.items():
            with contextlib.suppress(RuntimeError):  # a closed loop: its requests are gone
                loop.call_soon_threadsafe(_resolve, items)

    def close(self) -> None:
        """Stop the workers (queued requests time out on their own deadline)."""
        self._queue.put(None)
        for t in self._threads:
            t.join(timeout=5)
