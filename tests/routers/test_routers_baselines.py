"""Tests of the baseline routers against hand-built tables and brute-force loops."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from routerbench.data.benchmark import Benchmark
from routerbench.errors import ConfigError, NotFittedError
from routerbench.routers import OracleRouter, RandomRouter, SingleModelRouter, ZeroRouterBaseline


def bench(quality, cost, models=None) -> Benchmark:
    q = np.asarray(quality, dtype=float)
    n, m = q.shape
    prompts = pd.DataFrame(
        {"sample_id": [f"p{i}" for i in range(n)], "task": "mmlu", "prompt": ["x"] * n}
    )
    c = np.broadcast_to(np.asarray(cost, dtype=float), (n, m)).copy()
    return Benchmark(prompts, models or tuple(f"m{j}" for j in range(m)), q, c)


def random_bench(n=200, m=4, seed=0) -> Benchmark:
    rng = np.random.default_rng(seed)
    q = (rng.random((n, m)) < np.linspace(0.3, 0.9, m)).astype(float)
    c = rng.uniform(0.5, 1.5, (n, m)) * np.geomspace(1e-3, 1e-1, m)
    return bench(q, c)


def test_single_model_by_name_and_index():
    b = random_bench()
    assert (SingleModelRouter("m2").fit(b).route(b).choice == 2).all()
    assert (SingleModelRouter(1).fit(b).route(b).choice == 1).all()
    with pytest.raises(ConfigError, match="unknown model 'gpt-9'; known: m0"):
        SingleModelRouter("gpt-9").fit(b)
    with pytest.raises(ConfigError, match="outside"):
        SingleModelRouter(7).fit(b)
    with pytest.raises(NotFittedError):
        SingleModelRouter("m0").route(b)


def test_random_router_is_seeded_and_roughly_uniform():
    b = random_bench(n=4000)
    a = RandomRouter(seed=1).fit(b).route(b).choice
    assert np.array_equal(a, RandomRouter(seed=1).fit(b).route(b).choice)
    assert not np.array_equal(a, RandomRouter(seed=2).fit(b).route(b).choice)
    counts = np.bincount(a, minlength=4) / len(a)
    np.testing.assert_allclose(counts, 0.25, atol=0.03)


def test_zero_router_settings_are_train_curve_vertices():
    # m1 is dominated (dearer than m2, worse): it must not be a vertex.
    q = np.array([[1.0, 0.0, 1.0, 1.0], [1.0, 0.0, 1.0, 1.0], [0, 1, 1, 1], [0, 0, 0, 1]] * 10)
    train = bench(q, [1.0, 3.0, 2.0, 10.0])
    zero = ZeroRouterBaseline().fit(train)
    budgets = [s["budget"] for s in zero.settings()]
    assert budgets == [1.0, 2.0, 10.0]  # m0, m2, m3 per-prompt costs
    # At a vertex's budget every prompt goes to that model.
    for b, j in zip(budgets, [0, 2, 3]):
        assert (zero.route(train, budget=b).choice == j).all()
    # Halfway between m2 and m3 in budget: half the prompts to each (exact count).
    choice = zero.route(train, budget=6.0).choice
    assert set(np.unique(choice)) == {2, 3}
    assert (choice == 3).sum() == 20
    # Below the cheapest model: mixes with "no answer" at zero cost.
    low = zero.route(train, budget=0.5).choice
    assert set(np.unique(low)) <= {-1, 0} and (low == -1).sum() == 20


def test_oracle_matches_a_brute_force_loop():
    b = random_bench(n=300, m=5, seed=3)
    got = OracleRouter().fit(b).route(b).choice
    for i in range(b.n_prompts):
        best = max(b.quality[i])
        cands = [j for j in range(5) if b.quality[i, j] == best] if best > 0 else list(range(5))
        expected = min(cands, key=lambda j: (b.cost[i, j], j))
        assert got[i] == expected
    zero_cost = OracleRouter(no_correct="zero-cost").fit(b).route(b).choice
    none = b.quality.max(axis=1) == 0
    assert (zero_cost[none] == -1).all() and (zero_cost[~none] == got[~none]).all()
    with pytest.raises(ConfigError):
        OracleRouter(no_correct="free").fit(b)
