"""Bootstrap CIs of AIQ: exact replicates, coverage on known truth, paired comparisons."""

from __future__ import annotations

import numpy as np
import pytest

from routerbench.errors import DataError
from routerbench.frontier import (
    aiq,
    bootstrap_aiq,
    bootstrap_metric,
    ndch,
    paired_bootstrap,
    resample_weights,
)

# True settings of a synthetic system: cost per prompt is fixed, quality is Bernoulli.
# The points are strictly concave with wide margins, so the hull's vertex set is stable
# under sampling noise and AIQ is (almost surely) linear in the estimated qualities.
TRUE_C = np.array([1.0, 2.0, 4.0, 8.0])
TRUE_P = np.array([0.30, 0.55, 0.70, 0.78])


def _system(rng, n, p=TRUE_P, c=TRUE_C):
    """[S, n] realised quality and cost; a shared latent difficulty per prompt makes
    the settings' outcomes correlated, as a sweep of one router's settings is."""
    u = rng.random(n)
    q = (u[None, :] < p[:, None]).astype(float)
    cost = np.broadcast_to(c[:, None], q.shape).copy()
    return q, cost


def test_resample_weights_are_multinomial_counts():
    rng = np.random.default_rng(0)
    w = resample_weights(rng, 50, 2000)
    assert w.shape == (2000, 50)
    assert np.all(w.sum(axis=1) == 50) and np.all(w >= 0) and np.all(w == np.round(w))
    # each count is Binomial(50, 1/50): mean 1, variance 49/50
    assert w.mean() == pytest.approx(1.0, abs=0.02)
    assert w.var() == pytest.approx(49 / 50, abs=0.05)


def test_replicates_equal_explicit_resampling():
    rng = np.random.default_rng(1)
    q, c = _system(rng, 60)
    c = c * rng.lognormal(0, 0.3, c.shape)
    window = (1.5 * 60, 6.0 * 60)
    res = bootstrap_aiq(q, c, n_boot=25, seed=7, window=window)
    w = resample_weights(np.random.default_rng(7), 60, 25).astype(int)
    for b in range(25):
        idx = np.repeat(np.arange(60), w[b])  # the resampled prompts, explicitly
        qb, cb = q[:, idx], c[:, idx]
        expected = aiq(ndch(cb.sum(axis=1), qb.mean(axis=1)), window=window)
        assert res.samples[b] == pytest.approx(expected, abs=1e-12)


def test_estimate_window_and_determinism():
    rng = np.random.default_rng(2)
    q, c = _system(rng, 300)
    res = bootstrap_aiq(q, c, n_boot=200, seed=3, cost_mode="mean")
    assert res.window == (1.0, 8.0)  # full-sample span, in mean-cost units
    assert res.estimate == pytest.approx(aiq((c.mean(axis=1), q.mean(axis=1)), window=(1.0, 8.0)))
    assert res.low <= res.estimate <= res.high
    assert res.samples.shape == (200,) and res.se > 0
    again = bootstrap_aiq(q, c, n_boot=200, seed=3, cost_mode="mean")
    np.testing.assert_array_equal(res.samples, again.samples)
    other = bootstrap_aiq(q, c, n_boot=200, seed=4, cost_mode="mean")
    assert not np.array_equal(res.samples, other.samples)
    total = bootstrap_aiq(q, c, n_boot=200, seed=3)
    assert total.window == (300.0, 2400.0)
    assert total.estimate == pytest.approx(res.estimate)  # a rescaled axis, same average


def test_ci_covers_true_aiq_at_nominal_rate():
    window = (1.0, 8.0)
    truth = aiq((TRUE_C, TRUE_P), window=window)
    rng = np.random.default_rng(20240318)
    reps, hits, alpha = 150, 0, 0.1
    for r in range(reps):
        q, c = _system(rng, 500)
        res = bootstrap_aiq(q, c, n_boot=300, seed=r, window=window, alpha=alpha, cost_mode="mean")
        hits += res.low <= truth <= res.high
    # nominal 90%; binomial sd over 150 reps is about 2.4 points
    assert 0.82 <= hits / reps <= 0.97


def test_paired_identical_systems():
    rng = np.random.default_rng(5)
    q, c = _system(rng, 200)
    res = paired_bootstrap((q, c), (q, c), n_boot=200, cost_mode="mean")
    assert res.estimate == 0.0 and res.low == 0.0 and res.high == 0.0
    assert res.p_value == 1.0
    np.testing.assert_array_equal(res.a.samples, res.b.samples)


def test_paired_detects_a_real_difference_and_beats_unpaired_width():
    rng = np.random.default_rng(6)
    n = 800
    u = rng.random(n)
    qa = (u[None, :] < TRUE_P[:, None]).astype(float)
    qb = (u[None, :] < (TRUE_P - 0.04)[:, None]).astype(float)  # same prompts, a bit worse
    c = np.broadcast_to(TRUE_C[:, None], qa.shape).copy()
    res = paired_bootstrap((qa, c), (qb, c), n_boot=400, seed=1, cost_mode="mean")
    assert res.window == (1.0, 8.0)
    assert res.estimate == pytest.approx(
        aiq((TRUE_C, qa.mean(1)), window=(1.0, 8.0)) - aiq((TRUE_C, qb.mean(1)), window=(1.0, 8.0))
    )
    assert res.low > 0 and res.p_value < 0.01
    # pairing cancels the shared prompt difficulty: the difference is far tighter
    # than the two systems' own intervals
    assert res.high - res.low < 0.5 * (res.a.high - res.a.low)
    np.testing.assert_allclose(res.samples, res.a.samples - res.b.samples)


def test_paired_p_value_is_not_small_under_the_null():
    # b is a, evaluated on the same prompts but with independent noise of the same law
    rng = np.random.default_rng(8)
    p_values = []
    for r in range(30):
        qa, c = _system(rng, 300)
        qb, _ = _system(rng, 300)
        p_values.append(
            paired_bootstrap((qa, c), (qb, c), n_boot=200, seed=r, cost_mode="mean").p_value
        )
    p_values = np.array(p_values)
    assert np.mean(p_values < 0.05) <= 0.2 and np.median(p_values) > 0.2


def test_bootstrap_validation():
    q = np.ones((2, 5))
    c = np.ones((2, 5))
    with pytest.raises(ValueError):
        bootstrap_aiq(q, c[:, :4])
    with pytest.raises(ValueError):
        bootstrap_aiq(q, c, n_boot=0)
    with pytest.raises(ValueError):
        bootstrap_aiq(q, c, alpha=1.5)
    with pytest.raises(ValueError):
        bootstrap_aiq(q, c, cost_mode="sum")
    bad = q.copy()
    bad[1, 3] = np.nan
    with pytest.raises(DataError, match="row 3"):
        bootstrap_aiq(bad, c)
    with pytest.raises(ValueError, match="share prompts"):
        paired_bootstrap((q, c), (q[:, :4], c[:, :4]))


def test_one_setting_as_1d_arrays():
    rng = np.random.default_rng(9)
    q = (rng.random(400) < 0.6).astype(float)
    c = np.full(400, 2.0)
    res = bootstrap_aiq(q, c, n_boot=300, window=(1.0, 4.0), cost_mode="mean")
    # one point (2, p): AIQ over [1, 4] = (0.75 p * 1 + p * 2) / 3, linear in p
    p = q.mean()
    assert res.estimate == pytest.approx((0.75 * p + 2 * p) / 3)
    sd = np.sqrt(p * (1 - p) / 400) * (2.75 / 3)
    assert res.se == pytest.approx(sd, rel=0.15)


def test_bootstrap_metric_generic():
    rng = np.random.default_rng(10)
    x = rng.normal(1.0, 2.0, 500)
    res = bootstrap_metric(np.mean, x, n_boot=500, seed=0)
    assert res.estimate == pytest.approx(x.mean())
    assert res.se == pytest.approx(2.0 / np.sqrt(500), rel=0.15)
    assert res.window is None
    # several arrays share the same prompt draw
    y = 2 * x
    both = bootstrap_metric(lambda a, b: float(np.mean(b - 2 * a)), x, y, n_boot=50)
    assert np.all(np.abs(both.samples) < 1e-12)
    with pytest.raises(ValueError):
        bootstrap_metric(np.mean, x, x[:10])
