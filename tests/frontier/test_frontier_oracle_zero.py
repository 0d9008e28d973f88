"""Baselines: the Oracle router's choices and the Zero router's mixtures."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from routerbench.errors import DataError
from routerbench.frontier import ZeroRouter, aiq, ndch, oracle_choice, realised, zero_router

# -- Oracle -------------------------------------------------------------------------------


def _oracle_brute(q, c, no_correct):
    n, m = q.shape
    out = []
    for i in range(n):
        cells = [j for j in range(m) if not (np.isnan(q[i, j]) or np.isnan(c[i, j]))]
        if not cells:
            out.append(-1)
            continue
        best = max(q[i, j] for j in cells)
        if not best > 0:
            if no_correct == "zero-cost":
                out.append(-1)
            else:
                out.append(min(cells, key=lambda j: (c[i, j], j)))
            continue
        tied = [j for j in cells if q[i, j] == best]
        out.append(min(tied, key=lambda j: (c[i, j], j)))
    return np.array(out)


@settings(max_examples=200, deadline=None)
@given(
    st.integers(1, 12),
    st.integers(1, 5),
    st.integers(0, 2**31 - 1),
    st.sampled_from(["cheapest", "zero-cost"]),
)
def test_oracle_matches_brute_force(n, m, seed, mode):
    rng = np.random.default_rng(seed)
    # few distinct values, so ties in quality and cost are common
    q = rng.integers(-1, 3, (n, m)).astype(float) / 2
    c = rng.integers(0, 3, (n, m)).astype(float)
    q[rng.random((n, m)) < 0.15] = np.nan
    c[rng.random((n, m)) < 0.1] = np.nan
    got = oracle_choice(q, c, no_correct=mode)
    np.testing.assert_array_equal(got, _oracle_brute(q, c, mode))
    ok = got >= 0
    assert not np.any(np.isnan(q[np.arange(n)[ok], got[ok]]))  # NaN never chosen
    assert not np.any(np.isnan(c[np.arange(n)[ok], got[ok]]))


def test_oracle_ties_go_to_cheapest():
    q = np.array([[1.0, 1.0, 1.0], [0.5, 1.0, 1.0]])
    c = np.array([[3.0, 1.0, 2.0], [0.1, 5.0, 4.0]])
    assert oracle_choice(q, c).tolist() == [1, 2]


def test_oracle_no_correct_modes():
    q = np.array([[0.0, 0.0, 0.0], [-1.0, -0.5, 0.0], [0.0, 1.0, 0.0]])
    c = np.array([[3.0, 1.0, 2.0], [3.0, 2.0, 1.5], [1.0, 9.0, 1.0]])
    assert oracle_choice(q, c).tolist() == [1, 2, 1]
    assert oracle_choice(q, c, no_correct="zero-cost").tolist() == [-1, -1, 1]
    # the zero-cost rows flatter the oracle: same quality, less cost
    cheap = realised(q, c, oracle_choice(q, c))
    flat = realised(q, c, oracle_choice(q, c, no_correct="zero-cost"))
    assert flat[1].sum() < cheap[1].sum()
    with pytest.raises(ValueError):
        oracle_choice(q, c, no_correct="best")


def test_oracle_nan_never_chosen_and_all_nan_row():
    q = np.array([[np.nan, 0.2, 1.0], [np.nan, np.nan, np.nan]])
    c = np.array([[0.0, 1.0, np.nan], [1.0, 1.0, 1.0]])
    assert oracle_choice(q, c).tolist() == [1, -1]


def test_oracle_is_vectorised_enough():
    rng = np.random.default_rng(0)
    q = (rng.random((200_000, 11)) < 0.5).astype(float)
    c = rng.random((200_000, 11))
    choice = oracle_choice(q, c)
    assert choice.shape == (200_000,) and choice.min() >= 0


# -- Zero router --------------------------------------------------------------------------

COSTS = np.array([1.0, 2.0, 4.0, 3.0, 8.0])
QUALS = np.array([0.4, 0.6, 0.75, 0.5, 0.74])


def test_zero_router_curve_and_window():
    z = zero_router(COSTS, QUALS, ["a", "b", "c", "d", "e"])
    assert z.curve.index.tolist() == [-1, 0, 1, 2]
    assert z.window == (1.0, 8.0)
    assert z.models[2] == "c"


@pytest.mark.parametrize("budget", [0.0, 0.3, 1.0, 1.5, 2.0, 2.9, 3.99, 4.0, 10.0])
def test_mixture_realises_the_curve(budget):
    z = zero_router(COSTS, QUALS)
    j_lo, j_hi, w = z.mixture(budget)
    assert 0.0 <= w <= 1.0

    def pt(j):
        return (0.0, 0.0) if j == -1 else (COSTS[j], QUALS[j])

    (c_lo, q_lo), (c_hi, q_hi) = pt(j_lo), pt(j_hi)
    cost = (1 - w) * c_lo + w * c_hi
    qual = (1 - w) * q_lo + w * q_hi
    assert cost == pytest.approx(min(budget, 4.0))
    assert qual == pytest.approx(z.curve(budget))


def test_mixture_endpoints_and_literal_curve():
    z = zero_router(COSTS, QUALS)
    assert z.mixture(0.5) == (-1, 0, pytest.approx(0.5))
    assert z.mixture(100.0) == (2, 2, 0.0)
    lit = zero_router(COSTS, QUALS, null=False)
    assert lit.mixture(0.25) == (-1, 0, pytest.approx(0.25))
    with pytest.raises(ValueError):
        z.mixture(-1.0)


def test_route_is_seeded_and_exact_in_expectation():
    z = zero_router(COSTS, QUALS)
    a = z.route(1000, 1.5, seed=3)
    assert np.array_equal(a, z.route(1000, 1.5, seed=3))
    assert not np.array_equal(a, z.route(1000, 1.5, seed=4))
    assert set(np.unique(a)) == {0, 1}
    assert abs(np.sum(a == 1) - 500) <= 1
    counts = [np.sum(z.route(7, 1.5, seed=s) == 1) for s in range(400)]
    assert set(counts) <= {3, 4} and np.mean(counts) == pytest.approx(3.5, abs=0.15)
    assert z.route(0, 1.5).shape == (0,)


def test_route_on_a_table_lands_on_the_curve():
    rng = np.random.default_rng(1)
    n, m = 4000, 4
    per_prompt = np.array([0.1, 0.3, 0.5, 1.0])
    p = np.array([0.3, 0.6, 0.7, 0.8])
    q = (rng.random((n, m)) < p).astype(float)
    c = np.broadcast_to(per_prompt, (n, m)).copy()
    z = ZeroRouter.from_table(q, c, cost_mode="mean")
    np.testing.assert_allclose(z.model_costs, per_prompt)
    np.testing.assert_allclose(z.model_qualities, q.mean(axis=0))
    budget = 0.42
    rq, rc = realised(q, c, z.route(n, budget, seed=0))
    j_lo, j_hi, _ = z.mixture(budget)
    assert abs(rc.mean() - budget) <= (per_prompt[j_hi] - per_prompt[j_lo]) / n + 1e-12
    assert rq.mean() == pytest.approx(z.curve(budget), abs=0.03)
    total = ZeroRouter.from_table(q, c)
    np.testing.assert_allclose(total.model_costs, per_prompt * n)


def test_zero_router_validation():
    with pytest.raises(ValueError):
        zero_router([1.0, 2.0], [0.5, 0.6], ["only-one"])
    q = np.ones((3, 2))
    q[1, 1] = np.nan
    with pytest.raises(DataError, match=r"column 1.*row 1"):
        ZeroRouter.from_table(q, np.ones((3, 2)))


def test_zero_router_aiq_uses_same_hull():
    z = zero_router(COSTS, QUALS)
    assert aiq(z, window=(1.0, 8.0)) == aiq(ndch(COSTS, QUALS), window=(1.0, 8.0))
