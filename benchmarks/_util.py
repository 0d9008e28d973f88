"""Shared helpers for benchmark modules: wall time and peak memory of a call."""

from __future__ import annotations

import resource
import time
import tracemalloc
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def timed(fn: Callable[[], T], repeat: int = 1) -> tuple[T, float]:
    """Run `fn` `repeat` times; return the last result and the best wall time in seconds."""
    best = float("inf")
    result: T
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t0)
    return result, best


def traced_peak(fn: Callable[[], T]) -> tuple[T, float]:
    """Run `fn` under tracemalloc; return its result and peak Python-heap MiB (numpy included)."""
    tracemalloc.start()
    try:
        result = fn()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return result, peak / 2**20


def max_rss_mib() -> float:
    """Peak resident set size of this process so far, MiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
