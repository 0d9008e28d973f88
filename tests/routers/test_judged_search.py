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


# ---------------------------------------------------------------- many models: the pool cut
def _many(n: int = 300, m: int = 9, seed: int = 5) -> Benchmark:
    acc = tuple(np.linspace(0.45, 0.95, m))
    price = tuple(np.geomspace(1e-4, 5e-3, m))
    return mc_bench(n=n, acc=acc, price=price, refuse=(0.0,) * m, seed=seed)


def _searched(monkeypatch, router, train) -> list[tuple[int, ...]]:
    """The distinct chains a search scores, in the order it scores them."""
    seen: list[tuple[int, ...]] = []
    real = JudgedCascadeRouter._unit

    def spy(self, ev, quality, chain, memo=None):
        if chain not in seen:
            seen.append(tuple(chain))
        return real(self, ev, quality, chain, memo)

    monkeypatch.setattr(JudgedCascadeRouter, "_unit", spy)
    router.fit(train)
    monkeypatch.setattr(JudgedCascadeRouter, "_unit", real)
    return seen


def _exhaustive_count(n_pool: int, depth: int) -> int:
    from math import comb

    return 1 + sum(comb(n_pool, k) for k in range(1, depth))


@pytest.mark.parametrize("depth", [1, 2, 3, 4])
def test_pool_size_is_the_largest_pool_whose_search_fits_the_count(depth):
    from routerbench.routers.judged_cascade import _pool_size

    for n_pool in (1, 5, 10, 40):
        for most in (1, 3, 11, 56, 176, 256, 10_000):
            size = _pool_size(n_pool, depth, most)
            assert 1 <= size <= n_pool
            fits = [p for p in range(1, n_pool + 1) if _exhaustive_count(p, depth) <= most]
            assert size == (max(fits) if fits else 1)


def test_a_chain_count_at_or_above_the_exhaustive_one_changes_nothing(monkeypatch):
    """RouterBench's 11 models at depth 4 are 176 chains, under the default 256: exhaustive."""
    from routerbench.routers.judged_cascade import SEARCH_CHAINS

    assert _exhaustive_count(10, 4) <= SEARCH_CHAINS
    train, test = halves(_many())
    exact = _exhaustive_count(train.n_models - 1, 3)
    at = _cascade(search_chains=exact)
    huge = _cascade(search_chains=10**6)
    assert _searched(monkeypatch, at, train) == _searched(monkeypatch, huge, train)
    assert _same(_decisions(at, test), _decisions(huge, test))


def test_with_too_many_models_the_longer_chains_use_the_best_pairs_models(monkeypatch):
    """9 models at depth 3: 37 chains exhaustive; capped at 16, the 3-model chains come from
    the 5 models whose two-model chains score best on train (1 + 5 + 10 = 16)."""
    from routerbench.frontier import aiq, ndch, realised, zero_router
    from routerbench.routers.judged_cascade import SEARCH_THRESHOLDS

    train, test = halves(_many())
    router = _cascade(search_chains=16, per_dataset=False)
    chains = _searched(monkeypatch, router, train)
    top = chains[0][-1]  # the hull chain is scored first; every chain ends at its last model
    pairs = [c for c in chains if len(c) == 2]
    triples = [c for c in chains if len(c) == 3]
    assert len(pairs) == train.n_models - 1 and all(c[-1] == top for c in chains)
    used = sorted({j for c in triples for j in c if j != top})
    assert len(used) == 5 and len(triples) == 10  # C(5, 2): every pair of the kept five

    # independently: each two-model chain's train AIQ, from a cascade fitted on it alone
    def pair_score(j: int) -> float:
        fixed = _cascade(chain=[train.models[i] for i in sorted((j, top))], per_dataset=False)
        fixed.fit(train)
        zero = zero_router(train.cost.sum(axis=0), train.quality.mean(axis=0))
        qs, cs = [], []
        for start in range(2):
            for tau in SEARCH_THRESHOLDS:
                d = fixed.route(train, start=start, threshold=tau)
                q, c = realised(train.quality, train.cost, d.choice, d.called)
                qs.append(q.mean())
                cs.append(c.sum())
        return aiq(ndch(np.asarray(cs), np.asarray(qs)), window=zero.window)

    pool = [j for j in range(train.n_models) if j != top]
    cost = np.nanmean(train.cost, axis=0)
    best_five = sorted(sorted(pool, key=lambda j: (-pair_score(j), cost[j], j))[:5])
    assert used == best_five
    assert router.units_[POOLED].chain in chains
    assert len(router.route(test, start=0, threshold=0.9)) == test.n_prompts


@pytest.mark.parametrize("bad", [0, -1, 2.5, None, "many"])
def test_a_bad_chain_count_is_a_config_error(bad):
    train, _ = halves(mc_bench(n=80))
    with pytest.raises(ConfigError, match="search_chains"):
        _cascade(search_chains=bad).fit(train)


@pytest.mark.parametrize("stop", ["confidence", "gain"])
def test_the_search_s_grid_of_points_equals_deciding_each_setting_in_turn(stop):
    """`_grid_points` (every start and τ at once) gives bit-identical points to the loop."""
    from routerbench.frontier import realised
    from routerbench.routers.judged_cascade import SEARCH_THRESHOLDS, _grid_points
    from routerbench.routers.judges.evidence import response_evidence

    train, _ = halves(mc_bench(n=400, seed=5))
    router = _cascade(stop=stop).fit(train)
    ev = response_evidence(train, code_runner=None, kinds=router.kinds_)
    rows = np.arange(train.n_prompts)
    for chain in [router.units_[POOLED].chain, (0, 1, 2, 3), (0, 2, 3), (3,), (1, 3)]:
        unit = router._unit(ev, train.quality, chain)
        scored = router._score_windows(ev, rows, unit)
        qs, cs = _grid_points(train.quality, train.cost, chain, scored)
        want_q, want_c = [], []
        for start in range(len(chain)):
            for tau in SEARCH_THRESHOLDS:
                choice, called = router._decide([(rows, unit, scored)], *train.shape, start, tau)
                q, c = realised(train.quality, train.cost, choice, called)
                want_q.append(q.mean())
                want_c.append(c.sum())
        assert np.array_equal(qs, want_q) and np.array_equal(cs, want_c), chain
        assert len(set(np.round(qs, 12))) > 1 or len(chain) == 1  # the thresholds do differ


def test_a_chain_search_on_a_table_with_unmeasured_cells_says_so():
    """A hole in train would leave every chain unscored: one error naming the fix, not a NaN."""
    from routerbench.errors import DataError

    train, test = halves(mc_bench(n=200, seed=5))
    quality = train.quality.copy()
    quality[7, 2] = np.nan
    holed = Benchmark(
        train.prompts, train.models, quality, train.cost, responses=train.responses,
        source="holed", synthetic=True,
    )  # fmt: skip
    with pytest.raises(DataError, match=r"1 are not .*drop-prompts.*chain='hull'"):
        _cascade().fit(holed)
    hull = _cascade(chain="hull").fit(holed)  # the fix the message names does fit
    assert all(len(d) == test.n_prompts for d in hull.sweep(test))
