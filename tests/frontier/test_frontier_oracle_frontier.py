"""The Oracle frontier against a brute force over every willingness-to-pay breakpoint."""

from __future__ import annotations

import numpy as np
import pytest

from routerbench.frontier import aiq, ndch, oracle_choice, realised, zero_router
from routerbench.frontier.oracle_frontier import oracle_frontier


def _brute_points(q: np.ndarray, c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Points of argmax_j lam*q - c at every breakpoint lam and between them (ties: cheaper)."""
    lams = {0.0}
    for i in range(q.shape[0]):
        for a in range(q.shape[1]):
            for b in range(q.shape[1]):
                dq, dc = q[i, b] - q[i, a], c[i, b] - c[i, a]
                if dq > 0 and dc > 0:
                    lams.add(dc / dq)
    grid = np.array(sorted(lams))
    mids = np.concatenate([grid, (grid[:-1] + grid[1:]) / 2, [grid[-1] * 2 + 1, 1e12]])
    costs, quals = [], []
    for lam in mids:
        score = lam * q - c
        best = score.max(axis=1, keepdims=True)
        tied = np.isclose(score, best, rtol=0, atol=1e-12)
        pick = np.argmin(np.where(tied, c, np.inf), axis=1)
        rq, rc = realised(q, c, pick)
        costs.append(rc.sum())
        quals.append(rq.mean())
    return np.array(costs), np.array(quals)


@pytest.mark.parametrize("seed", range(12))
def test_oracle_frontier_equals_brute_force_over_all_breakpoints(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n, m = rng.integers(1, 9), rng.integers(1, 6)
    q = rng.integers(0, 4, size=(n, m)) / 3.0 if seed % 2 else rng.uniform(0, 1, (n, m))
    c = (
        rng.choice([0.5, 1.0, 2.0, 3.0], size=(n, m))
        if seed % 3 == 0
        else rng.uniform(0, 2, (n, m))
    )
    front = oracle_frontier(q, c)
    bc, bq = _brute_points(q, c)
    window = (float(c.sum(axis=0).min()), float(c.sum(axis=0).max()) + 0.5)
    want = aiq(ndch(bc, bq), window=window)
    got = aiq(front.curve(), window=window)
    assert got == pytest.approx(want, abs=1e-12)
    # The path ends at the Oracle's own point (best model, cheapest on ties)...
    oq, oc = realised(q, c, oracle_choice(q, c))
    pc, pq = front.points()
    assert pq[-1] == pytest.approx(oq.mean()) and pc[-1] == pytest.approx(oc.sum())
    # ...and bounds the Zero router everywhere.
    zero = zero_router(c.sum(axis=0), q.mean(axis=0))
    assert got >= aiq(zero, window=window) - 1e-12


def test_oracle_frontier_weights_equal_repeated_prompts() -> None:
    rng = np.random.default_rng(3)
    q, c = rng.uniform(0, 1, (6, 4)), rng.uniform(0.1, 1, (6, 4))
    w = np.array([0, 2, 1, 3, 0, 1])
    rows = np.repeat(np.arange(6), w)
    fc, fq = oracle_frontier(q, c).points(w.astype(float)[None, :])
    ref = oracle_frontier(q[rows], c[rows]).curve()
    window = (0.0, float(c[rows].sum(axis=0).max()))
    assert aiq(ndch(fc[0], fq[0]), window=window) == pytest.approx(
        aiq(ref, window=window), abs=1e-12
    )


def test_oracle_frontier_beats_single_oracle_point_where_the_oracle_is_dear() -> None:
    # The Oracle point alone pays for the dear model on prompt 1: the frontier also reaches
    # the cheap half-right mixture, so its AIQ over the models' window is higher.
    q = np.array([[1.0, 1.0], [0.0, 1.0]])
    c = np.array([[1.0, 10.0], [1.0, 10.0]])
    window = (2.0, 20.0)
    oq, oc = realised(q, c, oracle_choice(q, c))
    single = aiq(ndch([oc.sum()], [oq.mean()]), window=window)
    assert aiq(oracle_frontier(q, c).curve(), window=window) > single


def test_oracle_frontier_refuses_nan() -> None:
    with pytest.raises(ValueError, match="measured"):
        oracle_frontier(np.array([[np.nan, 1.0]]), np.ones((1, 2)))
