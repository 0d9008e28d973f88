"""The vectorised bootstrap AIQ equals the frontier's one-hull-at-a-time definition."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from routerbench.experiment.batch import batched_aiq
from routerbench.frontier import aiq, bootstrap_aiq, ndch

# Costs and qualities from small grids make ties, duplicates and zero costs common.
costs = st.sampled_from([0.0, 0.0, 0.5, 1.0, 1.0, 2.0, 3.5, 10.0])
quals = st.sampled_from([0.0, 0.0, 0.2, 0.5, 0.5, 0.9, 1.0])


@st.composite
def point_sets(draw):
    b = draw(st.integers(1, 4))
    s = draw(st.integers(1, 7))
    c = np.array(draw(st.lists(costs, min_size=b * s, max_size=b * s))).reshape(b, s)
    q = np.array(draw(st.lists(quals, min_size=b * s, max_size=b * s))).reshape(b, s)
    lo = draw(st.sampled_from([0.0, 0.25, 0.5, 1.0, 3.0]))
    hi = lo + draw(st.sampled_from([0.0, 0.5, 1.0, 4.0, 20.0]))
    return c, q, (lo, hi)


@settings(max_examples=300, deadline=None)
@given(point_sets(), st.booleans())
def test_matches_frontier_aiq(data, log_cost: bool) -> None:
    c, q, window = data
    if log_cost and window[0] <= 0:
        window = (0.5, window[1] + 0.5)
    got = batched_aiq(c, q, window, log_cost=log_cost)
    for b in range(c.shape[0]):
        expected = aiq(ndch(c[b], q[b]), window=window, log_cost=log_cost)
        assert got[b] == pytest.approx(expected, abs=1e-12)


def test_matches_frontier_on_continuous_paths() -> None:
    rng = np.random.default_rng(0)
    c = np.sort(rng.random((50, 40)), axis=1) * 3
    q = np.sqrt(c / 3) + rng.normal(0, 0.02, c.shape)
    got = batched_aiq(c, q, (0.2, 2.5))
    expected = [aiq(ndch(c[b], q[b]), window=(0.2, 2.5)) for b in range(50)]
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)


def test_single_point_by_hand() -> None:
    # one model at (2, 0.6), window [1, 4]: ramp 0.3·x on [1, 2], then flat 0.6 on [2, 4]
    got = batched_aiq(np.array([[2.0]]), np.array([[0.6]]), (1.0, 4.0))
    assert got[0] == pytest.approx(((0.3 + 0.6) / 2 * 1 + 0.6 * 2) / 3)


def test_bootstrap_distribution_agrees_with_frontier() -> None:
    """Same estimand, different resampling streams: the intervals must roughly agree."""
    rng = np.random.default_rng(1)
    n = 400
    q = (rng.random((3, n)) < np.array([[0.3], [0.6], [0.8]])).astype(float)
    c = rng.uniform(0.5, 1.5, (3, n)) * np.array([[1e-4], [1e-3], [1e-2]])
    window = (float(c[0].sum()), float(c[2].sum()))
    ref = bootstrap_aiq(q, c, n_boot=2000, seed=0, window=window)
    from routerbench.frontier import resample_weights

    w = resample_weights(np.random.default_rng(5), n, 2000)
    reps = batched_aiq(w @ c.T, (w @ q.T) / n, window)
    assert np.std(reps) == pytest.approx(ref.se, rel=0.15)
    assert np.mean(reps) == pytest.approx(np.mean(ref.samples), abs=ref.se / 5)


def test_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="equal"):
        batched_aiq(np.zeros((2, 3)), np.zeros((2, 2)), (0, 1))
    with pytest.raises(ValueError, match="window"):
        batched_aiq(np.zeros((1, 1)), np.zeros((1, 1)), (2, 1))
    with pytest.raises(ValueError, match="log_cost"):
        batched_aiq(np.ones((1, 1)), np.ones((1, 1)), (0, 1), log_cost=True)
