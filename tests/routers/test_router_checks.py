"""The check suite as separate checks: new checks catch what they name (outcome blindness,
subset invariance, fit keeps params, route keeps the router, pickling), and every check runs
as its own pytest test through `parametrize_with_router_checks`.
"""

from __future__ import annotations

import threading

import numpy as np
import pytest

from routerbench.data.benchmark import Benchmark
from routerbench.decision import Decision
from routerbench.routers import (
    ComposedRouter,
    KNNRouter,
    OracleRouter,
    PromptFeatures,
    RandomRouter,
    Router,
    RouterCheckError,
    check_router,
    parametrize_with_router_checks,
    router_tags,
)
from routerbench.routers.checks import CHECKS, permuted_outcomes, run_router_check
from routerbench.routers.params import RouterTags


class _Fixed(Router):
    name = "fixed"

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed

    def fit(self, train: Benchmark):
        self.models_ = train.models
        return self

    def route(self, test: Benchmark) -> Decision:
        self._check_fitted()
        self._check_models(test)
        return Decision(np.zeros(test.n_prompts, dtype=int))


class Cheater(_Fixed):
    """Picks the cheapest model that was right on the TEST prompt: reads test outcomes."""

    def route(self, test: Benchmark) -> Decision:
        self._check_fitted()
        self._check_models(test)
        score = np.where(test.quality > 0, -test.cost, -np.inf)
        return Decision(np.argmax(score, axis=1))


class HonestCheater(Cheater):
    """The same router, declaring what it reads: the check lets it through."""

    def __router_tags__(self) -> RouterTags:
        return RouterTags(reads_test_outcomes=True)


class RowDrawer(_Fixed):
    """Draws a model per row position without declaring it depends on the test set."""

    def route(self, test: Benchmark) -> Decision:
        self._check_fitted()
        self._check_models(test)
        rng = np.random.default_rng(self.seed)
        return Decision(rng.integers(0, test.n_models, test.n_prompts))


class ChangesParams(_Fixed):
    def fit(self, train: Benchmark):
        self.seed = 7  # learned state must go in `name_`, not over a parameter
        return super().fit(train)


class LearnsWhileRouting(_Fixed):
    def route(self, test: Benchmark) -> Decision:
        decision = super().route(test)
        self.calls_ = getattr(self, "calls_", 0) + 1
        return decision


class Unpicklable(_Fixed):
    def fit(self, train: Benchmark):
        self.lock_ = threading.Lock()
        return super().fit(train)


class TakesKwargs(_Fixed):
    def __init__(self, seed: int = 0, **options) -> None:
        self.seed = seed
        self.options = options


class Crashes(_Fixed):
    def route(self, test: Benchmark) -> Decision:
        self._check_fitted()
        raise ZeroDivisionError("boom")


@pytest.mark.parametrize(
    ("router", "check"),
    [
        (Cheater, "outcome-blind"),
        (RowDrawer, "subset"),
        (ChangesParams, "fit-keeps-params"),
        (LearnsWhileRouting, "route-keeps-router"),
        (Unpicklable, "pickle"),
        (TakesKwargs, "params"),
        (Crashes, "route"),
    ],
)
def test_each_new_check_catches_what_it_names(router, check) -> None:
    with pytest.raises(RouterCheckError, match=rf"^\[{check}\]"):
        check_router(router)


def test_outcome_blindness_fails_a_cheater_and_passes_when_declared() -> None:
    with pytest.raises(RouterCheckError, match=r"reads the test quality or cost"):
        run_router_check(Cheater, "outcome-blind")
    run_router_check(HonestCheater, "outcome-blind")  # tagged: exempt
    run_router_check(OracleRouter, "outcome-blind")  # the Oracle says so too
    assert router_tags(OracleRouter()).reads_test_outcomes


def test_a_crash_inside_a_check_is_reported_by_name() -> None:
    with pytest.raises(RouterCheckError, match=r"^\[route\] raised ZeroDivisionError: boom"):
        check_router(Crashes)


def test_permuted_outcomes_keeps_prompts_and_moves_every_row() -> None:
    from routerbench.routers import check_bench

    bench = check_bench(n=20, m=3)
    other = permuted_outcomes(bench)
    assert other.prompts.equals(bench.prompts) and other.models == bench.models
    assert not np.array_equal(other.quality, bench.quality)
    np.testing.assert_array_equal(np.sort(other.cost, axis=None), np.sort(bench.cost, axis=None))


def test_subset_invariance_is_skipped_only_for_tagged_routers() -> None:
    assert router_tags(RandomRouter()).depends_on_test_set
    run_router_check(RandomRouter, "subset")  # draws by row, and says so
    with pytest.raises(RouterCheckError, match=r"^\[subset\]"):
        run_router_check(RowDrawer, "subset")


def _ridge_router() -> ComposedRouter:
    from sklearn.linear_model import Ridge

    return ComposedRouter(Ridge(alpha=2.0), PromptFeatures("hashing", dim=32), max_settings=32)


def _classifier_router() -> ComposedRouter:
    from sklearn.linear_model import LogisticRegression

    return ComposedRouter(LogisticRegression(C=0.5), PromptFeatures("hashing", dim=32))


@parametrize_with_router_checks(
    {
        "ridge": _ridge_router,
        "classifier": _classifier_router,
        "knn": lambda: KNNRouter(3, embedder="hashing", max_settings=32),
        "random": RandomRouter,
        "oracle": OracleRouter,
    }
)
def test_contract_one_check_per_test(router, check) -> None:
    run_router_check(router, check)


def test_parametrize_lists_every_check_per_router() -> None:
    mark = parametrize_with_router_checks([KNNRouter, RandomRouter])
    ids = mark.kwargs["ids"]
    assert len(ids) == 2 * len(CHECKS)
    assert "KNNRouter-outcome-blind" in ids and "RandomRouter-predictive" in ids


def test_an_unknown_check_name_is_refused() -> None:
    with pytest.raises(KeyError, match="unknown router check"):
        run_router_check(RandomRouter, "no-such-check")
