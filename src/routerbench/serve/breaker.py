"""A per-upstream circuit breaker: stop sending requests to a provider that keeps failing.

Closed: every request may try the upstream. After `threshold` failures in a row it
opens: requests skip it (falling back at once instead of waiting for a timeout) until
`cooldown_s` has passed. Then it is half-open: one probe request at a time may try it;
a success closes it, a failure opens it for another cool-down.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from enum import Enum

__all__ = ["BreakerState", "CircuitBreaker"]


class BreakerState(str, Enum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitBreaker:
    """State of one upstream; used from the event loop only, so it needs no lock.

    Parameters
    ----------
    threshold
        Consecutive failures that open the breaker.
    cooldown_s
        Seconds an open breaker waits before letting a probe through.
    clock
        Monotonic clock (injectable so tests need not sleep).
    """

    def __init__(
        self,
        threshold: int = 5,
        cooldown_s: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if threshold < 1:
            raise ValueError(f"threshold must be >= 1, got {threshold}")
        if cooldown_s < 0:
            raise ValueError(f"cooldown_s must be >= 0, got {cooldown_s}")
        self.threshold = threshold
        self.cooldown_s = cooldown_s
        self._clock = clock
        self._failures = 0
        self._opened_at: float | None = None
        self._probing = False

    @property
    def state(self) -> BreakerState:
        if self._opened_at is None:
            return BreakerState.CLOSED
        if self._clock() - self._opened_at >= self.cooldown_s:
            return BreakerState.HALF_OPEN
        return BreakerState.OPEN

    def allow(self) -> bool:
        """Whether a request may try this upstream now (claims the probe when half-open)."""
        state = self.state
        if state is BreakerState.CLOSED:
            return True
        if state is BreakerState.HALF_OPEN and not self._probing:
            self._probing = True
            return True
        return False

    def record_success(self) -> None:
        self._failures = 0
        self._opened_at = None
        self._probing = False

    def record_failure(self) -> None:
        self._failures += 1
        if self._probing or self._failures >= self.threshold:
            self._opened_at = self._clock()
        self._probing = False

    def release(self) -> None:
        """Give back a claimed probe without a verdict (e.g. the client went away)."""
        self._probing = False
