"""The paired, symmetric cross-fitted gain over the Zero router."""

from __future__ import annotations

import numpy as np
import pytest

from routerbench.frontier import aiq, crossfit_delta, ndch, zero_router


def _table(seed: int = 0, n: int = 300, m: int = 4) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    skill = np.linspace(0.3, 0.85, m)
    q = (rng.random((n, m)) < skill).astype(float)
    c = np.geomspace(0.01, 1.0, m) * rng.uniform(0.8, 1.2, (n, m))
    return q, c


def _window(q: np.ndarray, c: np.ndarray) -> tuple[float, float]:
    return zero_router(c.sum(axis=0), q.mean(axis=0)).window


def test_a_system_offering_only_single_models_gains_exactly_nothing() -> None:
    q, c = _table()
    best = int(np.argmax(q.mean(axis=0)))
    for rows in ([best], [0, 2], list(range(4))):
        res = crossfit_delta((q.T[rows], c.T[rows]), (q.T, c.T), _window(q, c), n_boot=30)
        assert res.estimate == pytest.approx(0.0, abs=1e-12)
        assert res.low == pytest.approx(0.0, abs=1e-12)
        assert res.high == pytest.approx(0.0, abs=1e-12)


def test_own_crossfit_would_flatter_the_best_model_but_the_paired_delta_does_not() -> None:
    from routerbench.frontier import crossfit_aiq

    q, c = _table(seed=5, n=120)
    best = int(np.argmax(q.mean(axis=0)))
    w = _window(q, c)
    naive = crossfit_aiq(q.T[[best]], c.T[[best]], w) - crossfit_aiq(q.T, c.T, w)
    paired = crossfit_delta((q.T[[best]], c.T[[best]]), (q.T, c.T), w, n_boot=0).estimate
    assert paired == pytest.approx(0.0, abs=1e-12)
    assert abs(naive) > 1e-4  # the asymmetry the paired form removes


def test_noise_settings_lose_their_in_sample_gain() -> None:
    q, c = _table(seed=1)
    rng = np.random.default_rng(2)
    n = q.shape[0]
    # 80 random per-prompt mixtures of models 1..3: no information about the prompts.
    picks = rng.integers(1, 4, size=(80, n))
    sq, sc = q[np.arange(n), picks], c[np.arange(n), picks]
    w = _window(q, c)
    union = ndch(np.r_[sc.sum(1), c.sum(0)], np.r_[sq.mean(1), q.mean(0)])
    plain = aiq(union, window=w) - aiq(ndch(c.sum(0), q.mean(0)), window=w)
    res = crossfit_delta((sq, sc), (q.T, c.T), w, n_boot=100)
    assert plain > 0.003  # the plain hull picks lucky mixtures
    assert res.estimate < plain / 2
    assert res.low <= 0.0 <= res.high


def test_an_informed_router_keeps_a_significant_gain() -> None:
    q, c = _table(seed=3)
    n, m = q.shape
    # Route to the cheapest correct model when one is, else the cheapest: at several
    # price caps (the router only considers models up to index k).
    settings_q, settings_c = [], []
    for k in range(1, m + 1):
        ok = np.where(q[:, :k] > 0, c[:, :k], np.inf)
        pick = np.where(np.isfinite(ok).any(1), np.argmin(ok, 1), 0)
        settings_q.append(q[np.arange(n), pick])
        settings_c.append(c[np.arange(n), pick])
    res = crossfit_delta((np.array(settings_q), np.array(settings_c)), (q.T, c.T), _window(q, c))
    assert res.estimate > 0.05
    assert res.low > 0.0


def test_estimate_matches_a_by_hand_replay() -> None:
    q, c = _table(seed=4, n=60)
    rng = np.random.default_rng(9)
    picks = rng.integers(0, 4, size=(5, 60))
    sq, sc = q[np.arange(60), picks], c[np.arange(60), picks]
    w = _window(q, c)
    got = crossfit_delta((sq, sc), (q.T, c.T), w, reps=2, n_boot=0, seed=7).estimate
    allq, allc = np.vstack([sq, q.T]), np.vstack([sc, c.T])
    base = np.arange(5, 9)
    grid = np.linspace(*w, 200001)

    def held(rows: np.ndarray, a: np.ndarray, b: np.ndarray) -> float:
        hull = ndch(allc[rows][:, a].sum(1) * 2, allq[rows][:, a].mean(1))
        keep = rows[hull.index[hull.index >= 0]]
        xc, xq = allc[keep][:, b].sum(1) * 2, allq[keep][:, b].mean(1)
        o = np.argsort(xc, kind="stable")
        xs, ys = np.r_[0.0, xc[o]], np.r_[0.0, xq[o]]
        return float(np.trapezoid(np.interp(grid, xs, ys), grid) / (w[1] - w[0]))

    r = np.random.default_rng(7)
    want = []
    for _ in range(2):
        perm = r.permutation(60)
        h = (np.sort(perm[:30]), np.sort(perm[30:]))
        for a, b in (h, h[::-1]):
            want.append(held(np.arange(9), a, b) - held(base, a, b))
    assert got == pytest.approx(np.mean(want), abs=1e-6)


def test_shapes_are_checked() -> None:
    with pytest.raises(ValueError, match="same n"):
        crossfit_delta(
            (np.ones((2, 3)), np.ones((2, 3))), (np.ones((2, 4)), np.ones((2, 4))), (0, 1)
        )


def test_bad_windows_and_points_are_refused_as_by_the_one_at_a_time_path() -> None:
    """The batched path must refuse what `ndch` and `integrate_piecewise_linear` refuse."""
    q, c = _table(n=40)
    w = _window(q, c)
    ok = (q.T[:2], c.T[:2])
    for window, log_cost, match in (
        ((-1.0, w[1]), False, "0 <= lo"),
        ((w[1], w[0]), False, "0 <= lo"),
        ((w[0], np.inf), False, "finite"),
        ((0.0, w[1]), True, "above 0"),
    ):
        with pytest.raises(ValueError, match=match):
            crossfit_delta(ok, (q.T, c.T), window, n_boot=0, log_cost=log_cost)
    bad_q = q.T[:2].copy()
    bad_q[0, 3] = np.nan
    with pytest.raises(ValueError, match="finite"):
        crossfit_delta((bad_q, c.T[:2]), (q.T, c.T), w, n_boot=0)
    with pytest.raises(ValueError, match="costs >= 0"):
        crossfit_delta((q.T[:2], -c.T[:2]), (q.T, c.T), w, n_boot=0)


@pytest.mark.parametrize("log_cost", [False, True])
def test_batched_halvings_equal_the_one_at_a_time_reference(log_cost: bool) -> None:
    """`_held_out_gains` (all halvings as array passes) against `_held_out_gain` (one
    `ndch` and one `held_out_mean` per halving), on menus built to hit the edge cases:
    duplicated settings, a free setting, one that is never right, equal held-out costs."""
    from routerbench.frontier.crossfit import _held_out_gain, _held_out_gains

    rng = np.random.default_rng(11)
    q, c = _table(seed=6, n=80, m=5)
    n = q.shape[0]
    picks = rng.integers(0, 5, size=(30, n))
    sq, sc = q[np.arange(n), picks], c[np.arange(n), picks]
    sq = np.vstack([sq, sq[:3], np.zeros((1, n)), q.T[[2]]])  # copies; never right; a model
    sc = np.vstack([sc, sc[:3], np.full((1, n), 0.5), np.zeros((1, n))])  # ... and free
    allq, allc = np.vstack([sq, q.T]), np.vstack([sc, c.T])
    base = np.arange(sq.shape[0], allq.shape[0])
    w = _window(q, c)
    wa, wb = [], []
    for k in range(60):
        weights = rng.multinomial(n, np.full(n, 1 / n)).astype(float) if k % 2 else np.ones(n)
        mask = rng.random(n) < 0.5
        wa.append(weights * mask)
        wb.append(weights * ~mask)
    got = _held_out_gains(allq, allc, base, np.array(wa), np.array(wb), w, log_cost)
    want = [_held_out_gain(allq, allc, base, a, b, w, log_cost) for a, b in zip(wa, wb)]
    assert np.abs(got - np.array(want)).max() < 1e-12
    assert np.ptp(want) > 0.01  # the cases differ: the comparison is not between constants
