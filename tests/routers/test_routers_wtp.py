"""Tests of willingness-to-pay routing and its exact λ path.

Hand-worked envelopes, exact ties on dyadic numbers, and a hypothesis property
test against a brute-force dense λ grid and brute-force pairwise crossings.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from routerbench.errors import DataError
from routerbench.routers.wtp import PAPER_LAMBDAS, wtp_choice, wtp_path, wtp_rank


def brute_choice(p: np.ndarray, c: np.ndarray, lam: float) -> np.ndarray:
    """Per-row Python loop: max score, then min cost, then min index."""
    out = []
    for i in range(p.shape[0]):
        best = None
        for j in range(p.shape[1]):
            key = (-(lam * p[i, j] - c[i, j]), c[i, j], j)
            if best is None or key < best:
                best = key
        out.append(best[2])
    return np.array(out)


# ------------------------------------------------------------------ hand-worked
def test_three_rising_models_switch_at_hand_computed_lambdas():
    p = np.array([[0.5, 0.7, 0.9]])
    c = np.array([[1.0, 2.0, 4.0]])
    path = wtp_path(p, c, quality=np.array([[0.0, 1.0, 1.0]]), cost=c)
    # 0 -> 1 where 0.5λ - 1 = 0.7λ - 2 (λ = 5); 1 -> 2 where 0.7λ - 2 = 0.9λ - 4 (λ = 10).
    np.testing.assert_allclose(path.lambdas, [5.0, 10.0])
    assert [path.choice(r)[0] for r in range(3)] == [0, 1, 2]
    np.testing.assert_allclose(path.costs, [1.0, 2.0, 4.0])
    np.testing.assert_allclose(path.qualities, [0.0, 1.0, 1.0])


def test_a_line_never_on_top_is_skipped():
    p = np.array([[0.5, 0.6, 0.9]])
    c = np.array([[1.0, 3.0, 4.0]])
    path = wtp_path(p, c)
    # Model 2 overtakes model 0 at λ = 3 / 0.4 = 7.5, before model 1 would (λ = 20).
    np.testing.assert_allclose(path.lambdas, [7.5])
    assert path.choice(1)[0] == 2
    assert all(1 not in ch for _, ch in path.choices())


def test_three_lines_through_one_point_make_one_breakpoint():
    p = np.array([[0.0, 0.5, 1.0]])
    c = np.array([[0.0, 1.0, 2.0]])  # all three lines meet at λ = 2
    path = wtp_path(p, c)
    np.testing.assert_allclose(path.lambdas, [2.0])
    assert path.choice(1)[0] == 2
    assert wtp_choice(p, c, 2.0)[0] == 0  # at the meeting point: the cheapest
    assert wtp_choice(p, c, 2.0 + 1e-9)[0] == 2


def test_equal_cheapest_costs_make_zero_a_breakpoint():
    p = np.array([[0.3, 0.6]])
    c = np.array([[1.0, 1.0]])
    path = wtp_path(p, c)
    np.testing.assert_allclose(path.lambdas, [0.0])
    assert wtp_choice(p, c, 0.0)[0] == 0  # only ĉ counts at 0: lower index
    assert wtp_choice(p, c, 1e-12)[0] == 1
    assert path.choice(0)[0] == 0 and path.choice(1)[0] == 1
    assert path.representatives()[0] == 0.0


def test_identical_models_go_to_the_lower_index_everywhere():
    p = np.array([[0.4, 0.4]])
    c = np.array([[2.0, 2.0]])
    path = wtp_path(p, c)
    assert path.n_regions == 1
    for lam in (0.0, 1.0, 1e9):
        assert wtp_choice(p, c, lam)[0] == 0


def test_exact_tie_at_a_breakpoint_goes_to_the_cheaper_model():
    # Dyadic values: the crossing λ = (0.75 - 0.25) / (0.75 - 0.5) = 2 is exact.
    p = np.array([[0.5, 0.75]])
    c = np.array([[0.25, 0.75]])
    path = wtp_path(p, c)
    assert path.lambdas.tolist() == [2.0]
    assert wtp_choice(p, c, 2.0)[0] == 0
    assert path.region_of(2.0) == 0
    assert path.region_of(2.0000001) == 1


def test_rank_orders_by_score_then_cost_then_index():
    p = np.array([[0.5, 0.5, 0.25, 1.0]])
    c = np.array([[0.5, 0.5, 0.0, 1.5]])
    # λ = 2: scores 0.5, 0.5, 0.5, 0.5 -> all tied: by cost (2 first), then index.
    assert wtp_rank(p, c, 2.0)[0].tolist() == [2, 0, 1, 3]
    assert wtp_rank(p, c, 2.0)[0, 0] == wtp_choice(p, c, 2.0)[0]


def test_inputs_are_checked():
    p = np.array([[0.5, np.nan]])
    with pytest.raises(DataError, match="P_hat must be finite"):
        wtp_path(p, np.ones((1, 2)))
    with pytest.raises(ValueError, match="c_hat has shape"):
        wtp_choice(np.ones((2, 2)), np.ones((2, 3)), 1.0)
    with pytest.raises(ValueError, match="willingness_to_pay"):
        wtp_choice(np.ones((1, 2)), np.ones((1, 2)), -1.0)
    with pytest.raises(DataError, match="quality is NaN"):
        wtp_path(np.ones((1, 2)), np.ones((1, 2)), np.array([[np.nan, 1.0]]), np.ones((1, 2)))


def test_paper_lambdas_are_the_original_32():
    assert len(PAPER_LAMBDAS) == 32
    assert list(PAPER_LAMBDAS) == sorted(PAPER_LAMBDAS)
    assert PAPER_LAMBDAS[0] == 1e-10 and PAPER_LAMBDAS[-1] == 1e9


def test_thin_keeps_ends_and_spreads_along_estimated_cost():
    rng = np.random.default_rng(3)
    p, c = rng.random((300, 6)), rng.random((300, 6))
    path = wtp_path(p, c)
    assert path.n_regions > 50
    picked = path.thin(20)
    assert picked[0] == 0 and picked[-1] == path.n_regions - 1
    assert len(picked) <= 22 and np.all(np.diff(picked) > 0)
    # Estimated costs are non-decreasing along the path, and the picks spread over them.
    assert np.all(np.diff(path.est_costs) >= -1e-9)
    gaps = np.diff(path.est_costs[picked])
    assert gaps.max() < 0.2 * (path.est_costs[-1] - path.est_costs[0])


def test_scale_thousands_of_prompts_is_fast_and_consistent():
    rng = np.random.default_rng(0)
    n, m = 20_000, 11
    p, c = rng.random((n, m)), rng.random((n, m)) * 1e-3
    q, k = (rng.random((n, m)) < 0.6).astype(float), rng.random((n, m))
    path = wtp_path(p, c, q, k)
    reps = path.representatives()
    for r in (0, path.n_regions // 3, path.n_regions - 1):
        ch = wtp_choice(p, c, reps[r])
        np.testing.assert_allclose(path.costs[r], k[np.arange(n), ch].sum(), rtol=1e-9)
        np.testing.assert_allclose(path.qualities[r], q[np.arange(n), ch].mean(), atol=1e-9)


# ------------------------------------------------------------- property tests
dyadic = st.integers(0, 8).map(lambda v: v / 8)
real = st.integers(0, 10**6).map(lambda v: v / 10**6)


@st.composite
def tables(draw):
    n = draw(st.integers(1, 5))
    m = draw(st.integers(1, 5))
    cell = draw(st.sampled_from([dyadic, real]))
    p = np.array([[draw(cell) for _ in range(m)] for _ in range(n)])
    c = np.array([[draw(cell) for _ in range(m)] for _ in range(n)])
    q = np.array([[draw(st.sampled_from([0.0, 1.0])) for _ in range(m)] for _ in range(n)])
    return p, c, q


def true_breakpoints(p: np.ndarray, c: np.ndarray) -> set[float]:
    """Brute force: pairwise crossings at which some prompt's decision really changes."""
    out = set()
    n, m = p.shape
    for i in range(n):
        for j in range(m):
            for k in range(m):
                if p[i, k] > p[i, j]:
                    lam = (c[i, k] - c[i, j]) / (p[i, k] - p[i, j])
                    if lam < 0:
                        continue
                    eps = 1e-7 * max(1.0, lam)
                    at = max(lam - eps, 0.0) if lam > 0 else 0.0
                    below = brute_choice(p[i : i + 1], c[i : i + 1], at)[0]
                    above = brute_choice(p[i : i + 1], c[i : i + 1], lam + eps)[0]
                    if below != above:
                        out.add(lam)
    return out


@settings(max_examples=120, deadline=None)
@given(tables())
def test_exact_path_agrees_with_a_dense_grid_and_pairwise_crossings(table):
    p, c, q = table
    cost = c + 0.01
    path = wtp_path(p, c, q, cost)
    # 1. The breakpoints are exactly the crossings where a decision changes.
    expected = sorted(true_breakpoints(p, c))
    np.testing.assert_allclose(path.lambdas, expected, rtol=1e-9, atol=1e-12)
    # 2. On a dense grid (away from breakpoints), routing equals the region's decision
    #    and its realised point equals the path's cumulative-sum point.
    grid = np.concatenate([[0.0], np.geomspace(1e-3, 1e3, 120)])
    seen = set()
    for lam in grid:
        if path.lambdas.size and np.min(np.abs(path.lambdas - lam)) < 1e-9 * max(1, lam):
            continue
        r = path.region_of(lam)
        direct = brute_choice(p, c, lam)
        np.testing.assert_array_equal(direct, path.choice(r))
        np.testing.assert_array_equal(wtp_choice(p, c, lam), direct)
        rows = np.arange(p.shape[0])
        np.testing.assert_allclose(path.costs[r], cost[rows, direct].sum(), atol=1e-12)
        np.testing.assert_allclose(path.qualities[r], q[rows, direct].mean(), atol=1e-12)
        seen.add(tuple(direct))
    # 3. Representatives reproduce every region; incremental replay equals direct replay.
    for (r, ch), lam in zip(path.choices(), path.representatives()):
        np.testing.assert_array_equal(ch, path.choice(r))
        np.testing.assert_array_equal(brute_choice(p, c, lam), ch)
    # Consecutive regions differ (no spurious breakpoints).
    chs = [ch for _, ch in path.choices()]
    assert all((a != b).any() for a, b in itertools.pairwise(chs))
    assert len(seen) <= path.n_regions
