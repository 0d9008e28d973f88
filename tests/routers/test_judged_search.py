"""The judged routers' chain search at scale: capped prompts, fits shared, nothing changed by it.

The search fits one logistic regression per (window, model) of up to 176 chains,
which is what makes a judged router slow on RouterBench's 10,000-prompt
datasets. These tests pin down the three things that keep it affordable and
check that each leaves the decisions as they were where it should.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from tests.routers.judges_helpers import halves, mc_bench

from routerbench.data.benchmark import Benchmark, ResponseStore
from routerbench.errors import ConfigError
from routerbench.routers.judged_cascade import POOLED, JudgedCascadeRouter
from routerbench.routers.judged_cv import JudgedCVRouter
from routerbench.routers.judges import verifier

FAST = (0.0, 0.5, 0.7, 0.8, 0.9, 0.95, 1.01)


def _cascade(**kw) -> JudgedCascadeRouter:
    return JudgedCascadeRouter(thresholds=FAST, run_code=False, search_depth=3, **kw)


def _decisions(router, test: Benchmark) -> list[tuple[np.ndarray, np.ndarray]]:
    return [(d.choice, d.called) for d in router.sweep(test)]


def _same(a, b) -> bool:
    return len(a) == len(b) and all(
        np.array_equal(x[0], y[0]) and np.array_equal(x[1], y[1]) for x, y in zip(a, b)
    )


def test_a_cap_at_or_above_the_train_size_changes_nothing():
    train, test = halves(mc_bench(n=400, seed=3))
    capped = _cascade(search_rows=train.n_prompts).fit(train)
    uncapped = _cascade(search_rows=None).fit(train)
    assert _same(_decisions(capped, test), _decisions(uncapped, test))


def test_the_search_scores_chains_on_the_cap_and_fits_the_chosen_one_on_all_of_train(
    monkeypatch,
):
    """With 200 train prompts and a cap of 60: every search fit sees 60 prompts, the last 200."""
    train, test = halves(mc_bench(n=400, seed=3))
    seen: list[int] = []
    real_fit = verifier.WindowVerifier.fit

    def spy(self, ev, quality, windows, *, memo=None):
        seen.append(len(quality))
        return real_fit(self, ev, quality, windows, memo=memo)

    monkeypatch.setattr(verifier.WindowVerifier, "fit", spy)
    router = _cascade(search_rows=60).fit(train)
    assert seen[-1] == train.n_prompts and set(seen[:-1]) == {60} and len(seen) > 5
    # the chain still ends at the dearest model of the train Zero router over all prompts
    hull_top = _cascade(chain="hull").fit(train).units_["arc-challenge"].chain[-1]
    assert router.units_["arc-challenge"].chain[-1] == hull_top
    assert len(router.route(test, start=0, threshold=0.9)) == test.n_prompts
    # the draw is seeded: the same train gives the same chain
    assert _cascade(search_rows=60).fit(train).units_["arc-challenge"].chain == (
        router.units_["arc-challenge"].chain
    )


@pytest.mark.parametrize("bad", [0, 1, -5, 2.5, "all", True])
def test_a_bad_cap_is_a_config_error(bad):
    train, _ = halves(mc_bench(n=80))
    with pytest.raises(ConfigError, match="search_rows"):
        _cascade(search_rows=bad).fit(train)


def test_one_dataset_fits_one_unit_and_two_datasets_fit_three():
    """The pooled fall-back of a one-dataset train is that dataset's unit, fitted once."""
    one, _ = halves(mc_bench(n=200, seed=1))
    router = _cascade().fit(one)
    assert router.units_[POOLED] is router.units_["arc-challenge"]

    a = mc_bench(n=120, seed=1, dataset="arc-challenge")
    b = mc_bench(n=120, seed=2, dataset="winogrande")
    prompts = pd.concat(
        [a.prompts, b.prompts.assign(sample_id=[f"w{i}" for i in range(b.n_prompts)])],
        ignore_index=True,
    )
    texts = np.vstack([a.responses.load(), b.responses.load()])
    both = Benchmark(
        prompts,
        a.models,
        np.vstack([a.quality, b.quality]),
        np.vstack([a.cost, b.cost]),
        responses=ResponseStore(lambda: texts.copy()),
    )
    router = _cascade().fit(both)
    units = [router.units_[k] for k in (POOLED, "arc-challenge", "winogrande")]
    assert len({id(u) for u in units}) == 3


def _count_fits(monkeypatch) -> list[int]:
    calls = [0]
    real = verifier._fit_one

    def counting(x, y, c):
        calls[0] += 1
        return real(x, y, c)

    monkeypatch.setattr(verifier, "_fit_one", counting)
    return calls


def test_judged_cv_candidates_share_their_fits_and_choose_exactly_as_without(monkeypatch):
    """Sharing fitted regressions between a fold's candidates saves fits, changes no gain."""
    train, test = halves(mc_bench(n=360, seed=4))
    cands = (
        {"thresholds": FAST, "search_depth": 3},
        {"thresholds": FAST, "search_depth": 3, "stop": "gain"},
        {"router": "hybrid", "thresholds": FAST, "search_depth": 3, "lambdas": (1e-3, 1e-1)},
    )
    calls = _count_fits(monkeypatch)
    shared = JudgedCVRouter(candidates=cands, folds=2, reps=2, run_code=False).fit(train)
    with_sharing = calls[0]

    real_gain = JudgedCVRouter._fold_gain

    def unshared(self, overrides, train, fold, k, memo=None):
        return real_gain(self, overrides, train, fold, k, None)

    monkeypatch.setattr(JudgedCVRouter, "_fold_gain", unshared)
    calls[0] = 0
    alone = JudgedCVRouter(candidates=cands, folds=2, reps=2, run_code=False).fit(train)
    assert alone.cv_gains_ == shared.cv_gains_  # exactly: the same regressions, reused
    assert alone.chosen_index_ == shared.chosen_index_
    assert with_sharing < 0.75 * calls[0]
    assert _same(_decisions(alone, test), _decisions(shared, test))
    # nothing of the folds' sharing is left on the fitted router (artifacts stay small)
    assert shared.chosen_._search_memo is None
