"""Shared pieces of the serve tests: real upstream servers, a routing server, a table router."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from routerbench.endpoints import parse_models_config
from routerbench.routers.ranking import Ranking, ranking_of
from routerbench.serve.app import RouterHandle, create_app
from routerbench.serve.local import LocalServer
from routerbench.serve.settings import ServeSettings

from .upstreams import Upstream, models_yaml, refused_url


def table_rank(models: Sequence[str], quality: Sequence[float], cost: Sequence[float]):
    """A router that scores every prompt the same: fixed P̂ and ĉ per model, ranked by λ."""
    q = np.asarray(quality, dtype=float)
    c = np.asarray(cost, dtype=float)

    def rank(texts: Sequence[str], willingness_to_pay: float) -> Ranking:
        n = len(texts)
        p_hat, c_hat = np.broadcast_to(q, (n, q.size)), np.broadcast_to(c, (n, c.size))
        return ranking_of(models, p_hat, c_hat, willingness_to_pay)

    return rank


@dataclass
class Stack:
    url: str
    upstreams: dict[str, Upstream]
    server: Any

    @property
    def base_url(self) -> str:
        return f"{self.url}/v1"


@contextlib.contextmanager
def serve_stack(
    upstreams: dict[str, str],
    *,
    rank: Any = None,
    router_models: Sequence[str] | None = None,
    name: str = "table",
    settings: ServeSettings | None = None,
    extra_models: dict[str, str] | None = None,
    handle: RouterHandle | None = None,
) -> Iterator[Stack]:
    """Start one upstream server per ``name -> mode`` ("refuse": nothing listens) and the router.

    The default router ranks the upstreams in the given order (P̂ falls, ĉ is equal);
    `handle` serves another router (e.g. one that ranks in a child process).
    """
    names = list(upstreams)
    router_models = list(router_models or names)
    if rank is None:
        k = len(router_models)
        rank = table_rank(router_models, np.linspace(0.9, 0.5, k), np.full(k, 1e-3))
    fakes = {n: Upstream(n, m) for n, m in upstreams.items() if m != "refuse"}
    with contextlib.ExitStack() as stack:
        urls = {}
        for n, mode in upstreams.items():
            urls[n] = (
                refused_url()
                if mode == "refuse"
                else (stack.enter_context(LocalServer(fakes[n].app)).url + "/v1")
            )
        urls.update(extra_models or {})
        config = parse_models_config(models_yaml(urls))
        handle = handle or RouterHandle.probe(name, rank)
        app = create_app(handle, config, settings or ServeSettings())
        srv = stack.enter_context(LocalServer(app))
        yield Stack(srv.url, fakes, app.state.server)


def metric(text: str, name: str, **labels: str) -> float:
    """The value of one sample in Prometheus text, 0 when absent."""
    from prometheus_client.parser import text_string_to_metric_families

    total = 0.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                total += sample.value
    return total


__all__ = ["Stack", "metric", "serve_stack", "table_rank"]
