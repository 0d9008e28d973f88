"""Prometheus metrics of the server, one registry per app (several apps may share a process).

With ``--workers N`` the workers write to prometheus_client's multiprocess directory
and ``/metrics`` sums them; the in-flight gauge then adds up live workers.
"""

from __future__ import annotations

import os

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

__all__ = ["ServeMetrics"]

_FAST = (
    0.0001,
    0.00025,
    0.0005,
    0.001,
    0.002,
    0.003,
    0.005,
    0.01,
    0.015,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
)
_SLOW = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)


class ServeMetrics:
    """Every counter, histogram and gauge the server exports."""

    def __init__(self) -> None:
        self.multiprocess = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter(
            "routerbench_requests",
            "Chat completion requests by router, chosen model and status.",
            ["router", "model", "status"],
            registry=r,
        )
        self.fallbacks = Counter(
            "routerbench_fallbacks",
            "Moves from one model to the next, by reason.",
            ["from_model", "to_model", "reason"],
            registry=r,
        )
        self.upstream_errors = Counter(
            "routerbench_upstream_errors",
            "Failed upstream attempts by model and error class.",
            ["model", "error"],
            registry=r,
        )
        self.decision_seconds = Histogram(
            "routerbench_decision_seconds",
            "Time to the router's ranking (queue included).",
            ["router"],
            buckets=_FAST,
            registry=r,
        )
        self.overhead_seconds = Histogram(
            "routerbench_overhead_seconds",
            "Time the server adds: request time (to first byte for streams) minus upstream time.",
            ["stream"],
            buckets=_FAST,
            registry=r,
        )
        self.upstream_seconds = Histogram(
            "routerbench_upstream_seconds",
            "Upstream time per successful attempt (to first content chunk for streams).",
            ["model", "stream"],
            buckets=_SLOW,
            registry=r,
        )
        self.tokens = Counter(
            "routerbench_tokens",
            "Tokens the upstreams reported, by model and kind.",
            ["model", "kind"],
            registry=r,
        )
        self.dollars = Counter(
            "routerbench_cost_usd",
            "Dollars spent by model, from reported usage and MODELS.yaml prices.",
            ["model"],
            registry=r,
        )
        self.in_flight = Gauge(
            "routerbench_in_flight",
            "Requests being served now.",
            registry=r,
            multiprocess_mode="livesum",
        )
        self.breaker_open = Counter(
            "routerbench_breaker_opened",
            "Times a model's circuit breaker opened.",
            ["model"],
            registry=r,
        )

    def render(self) -> bytes:
        """The text exposition of every metric (summed over workers in multiprocess mode)."""
        if self.multiprocess:
            from prometheus_client import multiprocess

            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)
            return generate_latest(registry)
        return generate_latest(self.registry)
