"""Every built-in router passes `check_router`; routers breaking the contract are caught.

The broken routers below each violate one rule, so each check is shown to fail
when it should, not only to pass.
"""

from __future__ import annotations

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from routerbench.data.benchmark import Benchmark
from routerbench.decision import Decision
from routerbench.embed import TfidfSvdEmbedder
from routerbench.routers import (
    FactorRouter,
    KNNRouter,
    LogisticRouter,
    MLPRouter,
    OracleRouter,
    PriorRouter,
    RandomRouter,
    Router,
    RouterCheckError,
    SingleModelRouter,
    SVRRouter,
    ZeroRouterBaseline,
    check_bench,
    check_router,
    get_router,
)


@pytest.fixture(scope="module", autouse=True)
def _one_blas_thread():
    # Tiny matrix products are much faster on one BLAS thread on a shared 2-core box.
    with threadpool_limits(1):
        yield


def small_embedder() -> TfidfSvdEmbedder:
    return TfidfSvdEmbedder(dim=8, min_df=1, ngram_max=1)


FAST = {"embedder": small_embedder(), "max_settings": 64}

#: One factory per built-in router, with small settings so the file stays fast.
FACTORIES = {
    "knn": lambda: KNNRouter(5, **FAST),
    "knn-paper-lambdas": lambda: KNNRouter(5, lambdas="paper", cost="mean", **FAST),
    "mlp": lambda: MLPRouter((8,), max_iter=30, **FAST),
    "svr": lambda: SVRRouter(**FAST),
    "logreg": lambda: LogisticRouter(alphas=(1e-2, 1e-1), cv=2, **FAST),
    "logreg-regress-cost": lambda: LogisticRouter(alphas=(1e-2,), cv=2, cost="regress", **FAST),
    "mf": lambda: FactorRouter(ranks=(2,), alphas=(1e-2,), cv=2, **FAST),
    "oracle": OracleRouter,
    "prior": lambda: PriorRouter(noise=0.05, max_settings=64),
    "prior-no-noise": lambda: PriorRouter(noise=0.0),
    "length": lambda: get_router("length", max_settings=64),
    "zero": ZeroRouterBaseline,
    "random": RandomRouter,
    "single": lambda: SingleModelRouter("model-2"),
    "single-by-spec": lambda: get_router("single:model-0"),
    "wtp-ridge": lambda: get_router(
        "wtp", quality="sklearn.linear_model:Ridge", features="hashing", quality__alpha=3.0
    ),
}
for _name in ("cascade", "rerank"):  # the colleague's routers, once importable
    try:
        get_router(_name)
    except Exception:  # not there yet: skip rather than fail this file
        continue
    FACTORIES[_name] = lambda _n=_name: get_router(_n)


@pytest.mark.parametrize("name", sorted(FACTORIES))
def test_builtin_router_passes_the_contract(name):
    passed = check_router(FACTORIES[name])
    expected = {
        "params",
        "not-fitted",
        "fit-returns-self",
        "route",
        "sweep",
        "deterministic",
        "no-mutation",
        "subset",
        "models",
    }
    assert expected <= set(passed)
    router = FACTORIES[name]()
    if hasattr(router, "predict_quality"):
        assert "predictive" in passed


def test_check_router_accepts_an_instance_and_another_benchmark():
    bench = check_bench(n=50, m=3, seed=4)
    assert "predictive" in check_router(KNNRouter(3, **FAST), bench)


def test_every_registered_builtin_name_is_covered():
    from routerbench.routers.registry import _BUILTIN

    covered = {n.split("-")[0] for n in FACTORIES} | {"carrot"}
    # judged-cascade, hybrid, judged-cv and all-responses need stored responses, which check_bench
    # lacks: they run check_router on a benchmark with responses in
    # tests/routers/test_judged_routers.py and tests/routers/test_all_responses.py
    judged = {"judged-cascade", "hybrid", "judged-cv", "all-responses"}
    missing = set(_BUILTIN) - covered - {"cascade", "rerank"} - judged
    assert not missing


# ------------------------------------------------------------------- broken routers
class _Base(Router):
    name = "broken"

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed

    def fit(self, train: Benchmark):
        self.models_ = train.models
        return self

    def route(self, test: Benchmark) -> Decision:
        self._check_fitted()
        self._check_models(test)
        return Decision(np.zeros(test.n_prompts, dtype=int), label=self.name)


class LearnsInConstructor(_Base):
    def __init__(self, seed: int = 0) -> None:
        super().__init__(seed)
        self.table_ = {}


class HidesAParameter(_Base):
    def __init__(self, seed: int = 0) -> None:
        self.rng = seed  # stored under another name: get_params cannot find "seed"


class ForgetsToReturnSelf(_Base):
    def fit(self, train: Benchmark):
        super().fit(train)


class RoutesUnfitted(_Base):
    def route(self, test: Benchmark) -> Decision:
        return Decision(np.zeros(test.n_prompts, dtype=int))


class WrongLength(_Base):
    def route(self, test: Benchmark) -> Decision:
        self._check_fitted()
        return Decision(np.zeros(test.n_prompts + 1, dtype=int))


class Unseeded(_Base):
    def route(self, test: Benchmark) -> Decision:
        self._check_fitted()
        self._check_models(test)
        return Decision(np.random.default_rng().integers(0, test.n_models, test.n_prompts))


class IgnoresModels(_Base):
    def route(self, test: Benchmark) -> Decision:
        self._check_fitted()
        return Decision(np.zeros(test.n_prompts, dtype=int))


class MutatesPrompts(_Base):
    def route(self, test: Benchmark) -> Decision:
        self._check_fitted()
        self._check_models(test)
        test.prompts["prompt"] = "overwritten"
        return Decision(np.zeros(test.n_prompts, dtype=int))


@pytest.mark.parametrize(
    ("router", "check"),
    [
        (LearnsInConstructor, "params"),
        (HidesAParameter, "params"),
        (RoutesUnfitted, "not-fitted"),
        (ForgetsToReturnSelf, "fit-returns-self"),
        (WrongLength, "route"),
        (Unseeded, "sweep"),
        (MutatesPrompts, "no-mutation"),
        (IgnoresModels, "models"),
    ],
)
def test_contract_violations_are_named(router, check):
    with pytest.raises(RouterCheckError, match=rf"^\[{check}\]"):
        check_router(router)


class BadRank(KNNRouter):
    def rank(self, test, willingness_to_pay):
        return super().rank(test, willingness_to_pay)[:, ::-1]


def test_a_predictive_router_whose_rank_disagrees_with_route_is_caught():
    with pytest.raises(RouterCheckError, match=r"^\[predictive\]"):
        check_router(lambda: BadRank(3, **FAST))
