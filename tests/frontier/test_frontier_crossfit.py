"""Cross-fitted AIQ removes the optimism of picking lucky settings on the scored prompts."""

from __future__ import annotations

import numpy as np
import pytest

from routerbench.frontier import aiq, crossfit_aiq, ndch


def test_single_setting_equals_mean_of_half_scores() -> None:
    rng = np.random.default_rng(0)
    q = (rng.random((1, 200)) < 0.6).astype(float)
    c = rng.uniform(0.5, 1.5, (1, 200))
    window = (10.0, 400.0)
    got = crossfit_aiq(q, c, window, reps=3, seed=1)
    # independent: replay the same halvings by hand
    rng2 = np.random.default_rng(1)
    want = []
    for _ in range(3):
        perm = rng2.permutation(200)
        for half in (perm[:100], perm[100:]):
            want.append(aiq(ndch([c[0, half].sum() * 2], [q[0, half].mean()]), window=window))
    assert got == pytest.approx(np.mean(want))


def test_no_information_settings_lose_their_plain_advantage() -> None:
    """Many settings that differ only by noise: the plain NDCH is optimistic, cross-fit is not."""
    rng = np.random.default_rng(3)
    n, s = 400, 60
    base_q = 0.7
    q = (rng.random((s, n)) < base_q).astype(float)  # every setting is the same coin
    c = np.tile(np.linspace(0.1, 1.0, s)[:, None], (1, n))  # rising prices
    window = (float(c[0].sum()), float(c[-1].sum()))
    plain = aiq(ndch(c.sum(axis=1), q.mean(axis=1)), window=window)
    cross = crossfit_aiq(q, c, window, reps=10)
    assert plain > base_q + 0.01  # selection on the scored prompts flatters
    assert abs(cross - base_q) < 0.02  # held-out scoring does not
    assert cross < plain


def test_shape_errors() -> None:
    with pytest.raises(ValueError, match="same shape"):
        crossfit_aiq(np.ones((2, 3)), np.ones((2, 4)), (0.0, 1.0))
    with pytest.raises(ValueError, match="two prompts"):
        crossfit_aiq(np.ones((1, 1)), np.ones((1, 1)), (0.0, 1.0))


def test_settings_that_all_score_zero_on_a_half_give_zero_not_an_error() -> None:
    q = np.zeros((3, 10))
    q[:, 0] = 1.0  # only one prompt is ever answered right
    c = np.ones((3, 10)) * np.array([[1.0], [2.0], [3.0]])
    value = crossfit_aiq(q, c, (10.0, 30.0), reps=5)
    assert 0.0 <= value <= 0.1
