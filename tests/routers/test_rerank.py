"""Tests of overgenerate-and-rerank: the Oracle at the price of every model, ties, noise.

Expected choices come from hand-worked tables and a per-prompt reference loop.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.conftest import bench_from_arrays

from routerbench.data.benchmark import Benchmark
from routerbench.errors import ConfigError, DataError, NotFittedError
from routerbench.routers.cascade import PAPER_ERROR_RATES
from routerbench.routers.rerank import RerankRouter

bench = bench_from_arrays


def random_bench(n: int, m: int, seed: int, binary: bool = True) -> Benchmark:
    rng = np.random.default_rng(seed)
    if binary:
        quality = (rng.random((n, m)) < np.linspace(0.3, 0.8, m)).astype(float)
    else:
        quality = rng.random((n, m)).round(1)
    cost = rng.uniform(0.5, 1.5, (n, m)) * np.geomspace(1e-4, 1e-2, m)
    return bench(quality, cost, np.where(np.arange(n) % 2, "mmlu", "gsm8k"))


def chosen_quality(b: Benchmark, d) -> np.ndarray:
    return b.quality[np.arange(b.n_prompts), d.choice]


def test_perfect_reward_model_is_the_oracle_at_the_cost_of_all_models():
    train, test = random_bench(100, 6, seed=0), random_bench(500, 6, seed=1)
    d = RerankRouter().fit(train).route(test, error_rate=0.0)
    np.testing.assert_array_equal(chosen_quality(test, d), test.quality.max(axis=1))
    assert d.called.all()
    paid = np.where(d.called, test.cost, 0.0).sum(axis=1)
    np.testing.assert_allclose(paid, test.cost.sum(axis=1))
    assert d.label == "rerank"


def test_oracle_through_the_frontier_realised():
    try:
        from routerbench.frontier import realised
    except ImportError:
        pytest.skip("routerbench.frontier does not export realised yet")
    if not callable(realised):
        pytest.skip("routerbench.frontier does not export realised yet")
    train, test = random_bench(50, 4, seed=2), random_bench(200, 4, seed=3, binary=False)
    d = RerankRouter().fit(train).route(test)
    q, c = realised(test.quality, test.cost, d.choice, d.called)
    np.testing.assert_array_equal(q, test.quality.max(axis=1))
    np.testing.assert_allclose(c, test.cost.sum(axis=1))


def test_ties_go_to_the_cheaper_model_then_the_lower_index():
    # Train mean costs: m0 = 2, m1 = 1, m2 = 3, m3 = 1.
    train = bench(np.zeros((2, 4)), [2.0, 1.0, 3.0, 1.0])
    test = bench([[1, 1, 0, 0], [1, 0, 1, 0], [0, 1, 1, 1], [0.5, 0.5, 0.5, 0.5]], 1.0)
    d = RerankRouter().fit(train).route(test)
    # row 0: m0/m1 tie -> m1 (cheaper); row 1: m0/m2 -> m0; row 2: m1/m2/m3 -> m1 (lower index
    # among the two cheapest); row 3: all tie -> m1.
    assert d.choice.tolist() == [1, 0, 1, 1]


def test_error_rate_one_returns_the_documented_random_draws():
    train, test = random_bench(20, 5, seed=4), random_bench(300, 5, seed=5)
    d = RerankRouter(seed=9).fit(train).route(test, error_rate=1.0)
    rng = np.random.default_rng(9)
    rng.standard_normal(test.shape)
    rng.random(test.n_prompts)
    np.testing.assert_array_equal(d.choice, rng.integers(0, test.n_models, test.n_prompts))


def test_failures_nest_and_quality_falls_as_error_grows():
    train, test = random_bench(50, 6, seed=6), random_bench(3000, 6, seed=7)
    r = RerankRouter(seed=1).fit(train)
    best = r.route(test).choice
    prev_failed = np.zeros(test.n_prompts, dtype=bool)
    qualities = []
    for d in r.sweep(test):
        failed = d.choice != best
        assert (failed >= prev_failed).all()  # common random numbers: failures only grow
        prev_failed = failed
        qualities.append(chosen_quality(test, d).mean())
    assert len(qualities) == len(PAPER_ERROR_RATES)
    assert all(a >= b for a, b in itertools.pairwise(qualities))
    assert qualities[0] > qualities[-1] + 0.1


def test_gaussian_noise_lowers_quality_and_vanishes_when_small():
    train, test = random_bench(50, 5, seed=8, binary=False), random_bench(2000, 5, seed=9)
    r = RerankRouter(seed=2).fit(train)
    tiny = r.route(test, noise_sd=1e-9)
    np.testing.assert_array_equal(chosen_quality(test, tiny), test.quality.max(axis=1))
    q = [chosen_quality(test, r.route(test, noise_sd=s)).mean() for s in (0.0, 0.3, 1.0, 10.0)]
    assert all(a > b for a, b in itertools.pairwise(q)), q


@st.composite
def rerank_cases(draw):
    n, m = draw(st.integers(1, 8)), draw(st.integers(1, 5))
    vals = st.sampled_from([0.0, 0.5, 1.0])
    q = np.array(draw(st.lists(vals, min_size=n * m, max_size=n * m))).reshape(n, m)
    costs = np.array(draw(st.lists(st.sampled_from([0.0, 0.5, 1.0, 2.0]), min_size=m, max_size=m)))
    knobs = {
        "error_rate": draw(st.sampled_from([0.0, 0.3, 1.0])),
        "noise_sd": draw(st.sampled_from([0.0, 0.0, 0.2])),
        "seed": draw(st.integers(0, 1000)),
    }
    return bench(q, costs), knobs


@settings(max_examples=150, deadline=None)
@given(rerank_cases())
def test_rerank_equals_a_per_prompt_reference(case):
    b, k = case
    d = (
        RerankRouter(noise_sd=k["noise_sd"], seed=k["seed"])
        .fit(b)
        .route(b, error_rate=k["error_rate"])
    )
    n, m = b.shape
    rng = np.random.default_rng(k["seed"])
    z, u, r = rng.standard_normal((n, m)), rng.random(n), rng.integers(0, m, n)
    mean_cost = b.cost.mean(axis=0)
    for i in range(n):
        if u[i] < k["error_rate"]:
            expected = r[i]
        else:
            reward = [b.quality[i, j] + k["noise_sd"] * z[i, j] for j in range(m)]
            expected = min(range(m), key=lambda j, rw=reward: (-rw[j], mean_cost[j], j))
        assert d.choice[i] == expected


def test_settings_sweep_and_errors():
    b = random_bench(20, 3, seed=0)
    with pytest.raises(NotFittedError):
        RerankRouter().route(b)
    r = RerankRouter(error_rates=(0.0, 0.5)).fit(b)
    assert r.settings() == [{"error_rate": 0.0}, {"error_rate": 0.5}]
    assert [d.params["error_rate"] for d in r.sweep(b)] == [0.0, 0.5]
    with pytest.raises(ConfigError, match="error_rate"):
        r.route(b, error_rate=-0.1)
    with pytest.raises(ConfigError, match="noise_sd"):
        RerankRouter(noise_sd=-1.0).fit(b)
    q = b.quality.copy()
    q[3, 1] = np.nan
    with pytest.raises(DataError, match="m1"):
        r.route(bench(q, b.cost))
