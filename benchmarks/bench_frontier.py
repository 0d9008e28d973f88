"""Speed of the frontier math: NDCH + AIQ on a million points, bootstrap CIs on a paper-sized table.

Targets: NDCH + AIQ of 1,000,000 random points < 1 s; 1,000 AIQ resamples of a 32-setting
sweep on 36,497 prompts x 11 models < 30 s; the cross-fitted gain over Zero with its
interval (20 halvings on each of 200 resamples, a 100-setting router on a real test part's
441 prompts x 11 models) < 1 s.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from _util import timed
from routerbench.frontier import (
    aiq,
    bootstrap_aiq,
    crossfit_delta,
    ndch,
    oracle_choice,
    paired_bootstrap,
    realised,
)

N_POINTS = 1_000_000
N_PROMPTS, N_MODELS, N_SETTINGS, N_BOOT = 36_497, 11, 32, 1000


def _table(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A RouterBench-sized 0/1 quality table, per-call prices spanning 1e-5..1e-2 dollars,
    and a noisy per-prompt quality prediction a router would act on."""
    rng = np.random.default_rng(seed)
    skill = np.linspace(-1.0, 2.0, N_MODELS)
    difficulty = rng.normal(0.0, 1.0, N_PROMPTS)
    p = 1.0 / (1.0 + np.exp(-(skill[None, :] - difficulty[:, None])))
    quality = (rng.random((N_PROMPTS, N_MODELS)) < p).astype(float)
    cost = rng.uniform(0.5, 1.5, (N_PROMPTS, N_MODELS)) * np.geomspace(1e-5, 1e-2, N_MODELS)
    predicted = np.clip(p + rng.normal(0.0, 0.15, p.shape), 0.0, 1.0)
    return quality, cost, predicted


def _sweep(quality: np.ndarray, cost: np.ndarray, predicted: np.ndarray, shift: float = 0.0):
    """[S, n] realised quality and cost of a willingness-to-pay sweep: each prompt goes to
    argmax(lambda * predicted quality - cost), for S values of lambda."""
    qs, cs = [], []
    for lam in np.geomspace(1e-4, 1e1, N_SETTINGS) * (1.0 + shift):
        q, c = realised(quality, cost, np.argmax(lam * predicted - cost, axis=1))
        qs.append(q)
        cs.append(c)
    return np.array(qs), np.array(cs)


def run(emit: Callable[..., None]) -> None:
    """Emit the frontier figures."""
    rng = np.random.default_rng(1)
    x, y = rng.random(N_POINTS), rng.random(N_POINTS)
    _, seconds = timed(lambda: aiq(ndch(x, y), window=(0.0, 1.0)), repeat=3)
    emit(f"NDCH + AIQ of {N_POINTS:,} random points", seconds, "s", "< 1 s", seconds < 1.0)

    # Worst case for the hull: every point is a vertex (a concave curve, shuffled).
    xc = rng.random(N_POINTS)
    yc = np.sqrt(xc)
    _, seconds = timed(lambda: aiq(ndch(xc, yc), window=(0.0, 1.0)), repeat=1)
    emit(
        f"NDCH + AIQ of {N_POINTS:,} points all on the hull (worst case)",
        seconds,
        "s",
        "< 2 s",
        seconds < 2.0,
    )

    quality, cost, predicted = _table()
    _, seconds = timed(lambda: oracle_choice(quality, cost), repeat=3)
    emit(f"oracle choice on {N_PROMPTS:,}x{N_MODELS}", seconds, "s", "< 0.5 s", seconds < 0.5)

    q, c = _sweep(quality, cost, predicted)
    result, seconds = timed(lambda: bootstrap_aiq(q, c, n_boot=N_BOOT, seed=0), repeat=1)
    emit(
        f"bootstrap AIQ, {N_BOOT} resamples, {N_PROMPTS:,} prompts x {N_SETTINGS} settings"
        f" ({N_MODELS} models)",
        seconds,
        "s",
        "< 30 s",
        seconds < 30.0,
    )
    emit("  its 95% CI half-width", (result.high - result.low) / 2, "AIQ", "informational")

    q2, c2 = _sweep(quality, cost, np.clip(predicted + rng.normal(0, 0.05, predicted.shape), 0, 1))
    paired, seconds = timed(
        lambda: paired_bootstrap((q, c), (q2, c2), n_boot=N_BOOT, seed=0), repeat=1
    )
    emit(
        f"paired bootstrap, {N_BOOT} resamples, two {N_SETTINGS}-setting systems",
        seconds,
        "s",
        "< 60 s",
        seconds < 60.0,
    )
    emit("  its p-value", paired.p_value, "", "informational")

    # The verdict's number: what the aiq.csv of an experiment computes for each router.
    n, m, settings = 441, N_MODELS, 100
    small_q = (rng.random((n, m)) < np.linspace(0.3, 0.9, m)).astype(float)
    small_c = np.geomspace(1e-4, 5e-3, m) * rng.uniform(0.8, 1.2, (n, m))
    picks = rng.integers(0, m, size=(settings, n))
    sys_q, sys_c = small_q[np.arange(n), picks], small_c[np.arange(n), picks]
    window = (float(small_c.sum(axis=0).min()), float(small_c.sum(axis=0).max()))
    _, seconds = timed(
        lambda: crossfit_delta((sys_q, sys_c), (small_q.T, small_c.T), window), repeat=3
    )
    emit(
        f"cross-fitted gain + interval, {n} prompts x {settings} settings, 200 x 20 halvings",
        seconds,
        "s",
        "< 1 s",
        seconds < 1.0,
    )
