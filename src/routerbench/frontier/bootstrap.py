"""Bootstrap confidence intervals for AIQ, resampling prompts, and paired comparisons.

A benchmark is a sample of prompts; these intervals say how much an AIQ would move on another.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from routerbench.errors import DataError
from routerbench.frontier.aiq import aiq, check_window
from routerbench.frontier.hull import ndch
from routerbench.frontier.points import COST_MODES, CostMode

#: Bootstrap weights are built this many cells (replicates x prompts) at a time.
_CHUNK_CELLS = 1 << 22


@dataclass(frozen=True, eq=False)
class BootstrapResult:
    """A statistic, its percentile confidence interval, and the replicates behind it.

    Attributes
    ----------
    estimate : float
        The statistic on the full sample.
    low, high : float
        The ``alpha/2`` and ``1 - alpha/2`` quantiles of the replicates.
    samples : np.ndarray
        ``[n_boot]`` replicate values, kept so callers can plot or combine them.
    alpha : float
        One minus the nominal coverage.
    window : (lo, hi) or None
        The fixed AIQ window used (None for `bootstrap_metric`).
    """

    estimate: float
    low: float
    high: float
    samples: np.ndarray
    alpha: float
    window: tuple[float, float] | None = None

    @property
    def se(self) -> float:
        """Bootstrap standard error (standard deviation of the replicates)."""
        return float(np.std(self.samples, ddof=1)) if self.samples.size > 1 else float("nan")


@dataclass(frozen=True, eq=False)
class PairedBootstrapResult:
    """AIQ(a) - AIQ(b) over shared resamples: interval, two-sided p-value, replicates.

    Attributes
    ----------
    estimate : float
        ``AIQ(a) - AIQ(b)`` on the full sample.
    low, high : float
        Percentile interval of the difference.
    p_value : float
        Two-sided bootstrap p-value for "no difference":
        ``min(1, 2 min(P*(d <= 0), P*(d >= 0)))`` with the ``(k + 1) / (B + 1)``
        correction so it is never exactly 0. It is below ``alpha`` about when the
        ``1 - alpha`` interval excludes 0.
    samples : np.ndarray
        ``[n_boot]`` replicate differences.
    a, b : BootstrapResult
        Each system's own interval from the same replicates.
    """

    estimate: float
    low: float
    high: float
    p_value: float
    samples: np.ndarray
    a: BootstrapResult
    b: BootstrapResult
    alpha: float
    window: tuple[float, float]


def _settings(q: np.ndarray, c: np.ndarray, name: str) -> tuple[np.ndarray, np.ndarray]:
    qa = np.asarray(q, dtype=float)
    ca = np.asarray(c, dtype=float)
    if qa.ndim == 1:
        qa, ca = qa[None, :], np.asarray(ca, dtype=float).reshape(1, -1)
    if qa.ndim != 2 or qa.shape != ca.shape:
        raise ValueError(f"{name}: q and c must both be [S, n], got {qa.shape} and {ca.shape}")
    if qa.shape[1] == 0 or qa.shape[0] == 0:
        raise ValueError(f"{name}: need at least one setting and one prompt, got {qa.shape}")
    for what, t in (("quality", qa), ("cost", ca)):
        bad = ~np.isfinite(t)
        if bad.any():
            s, i = (int(v) for v in np.argwhere(bad)[0])
            raise DataError(f"{name}: non-finite realised {what}", column=f"setting {s}", row=i)
    return qa, ca


def _check_common(n_boot: int, alpha: float, cost_mode: str) -> None:
    if int(n_boot) < 1:
        raise ValueError(f"n_boot must be >= 1, got {n_boot}")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must lie in (0, 1), got {alpha}")
    if cost_mode not in COST_MODES:
        raise ValueError(f"cost_mode must be one of {COST_MODES}, got {cost_mode!r}")


def resample_weights(rng: np.random.Generator, n: int, size: int) -> np.ndarray:
    """``[size, n]`` multinomial counts: how often each prompt appears in each resample.

    Drawn as ``n`` uniform indices per row and counted with one `bincount`, which
    is the multinomial(n, 1/n) distribution and several times faster than
    ``rng.multinomial`` for large ``n``.
    """
    idx = rng.integers(0, n, size=(size, n))
    idx += (np.arange(size) * n)[:, None]
    return np.bincount(idx.ravel(), minlength=size * n).reshape(size, n).astype(float)


def _points(w: np.ndarray, q: np.ndarray, c: np.ndarray, cost_mode: str) -> tuple[np.ndarray, ...]:
    """Replicate points ``[B, S]`` (costs, qualities) from weights ``[B, n]``."""
    n = q.shape[1]
    quals = (w @ q.T) / n
    costs = w @ c.T
    if cost_mode == "mean":
        costs /= n
    return costs, quals


def _aiq_rows(
    costs: np.ndarray, quals: np.ndarray, window: tuple[float, float], log_cost: bool, null: bool
) -> np.ndarray:
    # Bootstrap totals of non-negative costs can go a hair negative only by float
    # round-off; clip so the hull's cost check does not reject them.
    costs = np.maximum(costs, 0.0)
    return np.array(
        [
            aiq(ndch(cr, qr, null=null), window=window, log_cost=log_cost)
            for cr, qr in zip(costs, quals)
        ]
    )


def _full_points(q: np.ndarray, c: np.ndarray, cost_mode: str) -> tuple[np.ndarray, np.ndarray]:
    costs = c.sum(axis=1) if cost_mode == "total" else c.mean(axis=1)
    return costs, q.mean(axis=1)


def _interval(samples: np.ndarray, alpha: float) -> tuple[float, float]:
    lo, hi = np.quantile(samples, [alpha / 2, 1 - alpha / 2])
    return float(lo), float(hi)


def _replicates(
    systems: Sequence[tuple[np.ndarray, np.ndarray]],
    *,
    n_boot: int,
    seed: int | None,
    window: tuple[float, float],
    log_cost: bool,
    cost_mode: str,
    null: bool,
) -> list[np.ndarray]:
    """AIQ replicates of each system under one shared sequence of prompt resamples."""
    n = systems[0][0].shape[1]
    rng = np.random.default_rng(seed)
    chunk = max(1, min(int(n_boot), _CHUNK_CELLS // n))
    out: list[list[np.ndarray]] = [[] for _ in systems]
    done = 0
    while done < n_boot:
        b = min(chunk, n_boot - done)
        w = resample_weights(rng, n, b)
        for k, (q, c) in enumerate(systems):
            costs, quals = _points(w, q, c, cost_mode)
            out[k].append(_aiq_rows(costs, quals, window, log_cost, null))
        done += b
    return [np.concatenate(parts) for parts in out]


def bootstrap_aiq(
    q: np.ndarray,
    c: np.ndarray,
    *,
    n_boot: int = 1000,
    seed: int | None = 0,
    window: Sequence[float] | None = None,
    log_cost: bool = False,
    alpha: float = 0.05,
    cost_mode: CostMode = "total",
    null: bool = True,
) -> BootstrapResult:
    """Percentile bootstrap interval for the AIQ of one system, resampling prompts.

    Parameters
    ----------
    q, c : np.ndarray
        ``[S, n]`` per-prompt realised quality and cost of the system's ``S``
        settings (rows) on the same ``n`` prompts (``realised`` of each setting,
        stacked). A 1-D pair is one setting.
    n_boot : int
        Number of replicates.
    seed : int or None
        Seed of the resampling; the same seed gives the same replicates.
    window : (lo, hi), optional
        AIQ window, held fixed across replicates. Default: the span of the
        full-sample points.
    log_cost, null
        As in `aiq` / `ndch`.
    alpha : float
        The interval is ``[alpha/2, 1 - alpha/2]`` quantiles of the replicates.
    cost_mode : {"total", "mean"}
        Point cost: total over prompts or mean per prompt (as in `point_of`).

    Returns
    -------
    BootstrapResult

    Notes
    -----
    One replicate draws ``n`` prompts with replacement, the *same* draw for
    every setting, recomputes each setting's point, their NDCH and the AIQ. A
    draw is a row of multinomial counts ``W[b]``, so the replicate totals of
    all settings are the matrix product ``W @ q.T``: the ``n``-sized work is a
    BLAS call, not a loop over prompts or settings. Only the hull over ``S``
    points is a per-replicate Python loop. The window is held fixed across
    replicates so every replicate estimates the same quantity (a window moving
    with the resample would change the estimand). Percentile interval.
    """
    _check_common(n_boot, alpha, cost_mode)
    qa, ca = _settings(q, c, "system")
    pc, pq = _full_points(qa, ca, cost_mode)
    full = ndch(pc, pq, null=null)
    w = check_window(full.span if window is None else window, log_cost)
    est = aiq(full, window=w, log_cost=log_cost)
    (samples,) = _replicates(
        [(qa, ca)],
        n_boot=int(n_boot),
        seed=seed,
        window=w,
        log_cost=log_cost,
        cost_mode=cost_mode,
        null=null,
    )
    lo, hi = _interval(samples, alpha)
    return BootstrapResult(est, lo, hi, samples, alpha, w)


def paired_bootstrap(
    sys_a: tuple[np.ndarray, np.ndarray],
    sys_b: tuple[np.ndarray, np.ndarray],
    *,
    n_boot: int = 1000,
    seed: int | None = 0,
    window: Sequence[float] | None = None,
    log_cost: bool = False,
    alpha: float = 0.05,
    cost_mode: CostMode = "total",
    null: bool = True,
) -> PairedBootstrapResult:
    """Paired bootstrap of ``AIQ(a) - AIQ(b)`` for two systems run on the same prompts.

    Both systems see the same resample in every replicate, so prompt difficulty,
    shared by both, cancels out of the difference: the interval is much tighter
    than two independent intervals would suggest, and it is the right one for
    "is a better than b on this distribution of prompts".

    Parameters
    ----------
    sys_a, sys_b : (q, c)
        Each ``[S, n]`` per-prompt realised quality and cost, same ``n`` prompts
        in the same order (``S`` may differ).
    window : (lo, hi), optional
        Default: `shared_window` of the two full-sample point sets, fixed across
        replicates.
    Other parameters as in `bootstrap_aiq`.
    """
    _check_common(n_boot, alpha, cost_mode)
    qa, ca = _settings(*sys_a, "sys_a")
    qb, cb = _settings(*sys_b, "sys_b")
    if qa.shape[1] != qb.shape[1]:
        raise ValueError(
            f"paired systems must share prompts: {qa.shape[1]} vs {qb.shape[1]} prompts"
        )
    fa = ndch(*_full_points(qa, ca, cost_mode), null=null)
    fb = ndch(*_full_points(qb, cb, cost_mode), null=null)
    if window is None:
        window = (min(fa.span[0], fb.span[0]), max(fa.span[1], fb.span[1]))
    w = check_window(window, log_cost)
    est_a = aiq(fa, window=w, log_cost=log_cost)
    est_b = aiq(fb, window=w, log_cost=log_cost)
    sa, sb = _replicates(
        [(qa, ca), (qb, cb)],
        n_boot=int(n_boot),
        seed=seed,
        window=w,
        log_cost=log_cost,
        cost_mode=cost_mode,
        null=null,
    )
    d = sa - sb
    nb = d.size
    p = min(1.0, 2.0 * min((np.sum(d <= 0) + 1) / (nb + 1), (np.sum(d >= 0) + 1) / (nb + 1)))
    lo, hi = _interval(d, alpha)
    ra = BootstrapResult(est_a, *_interval(sa, alpha), sa, alpha, w)
    rb = BootstrapResult(est_b, *_interval(sb, alpha), sb, alpha, w)
    return PairedBootstrapResult(est_a - est_b, lo, hi, float(p), d, ra, rb, alpha, w)


def bootstrap_metric(
    fn: Callable[..., float],
    *arrays: np.ndarray,
    n_boot: int = 1000,
    seed: int | None = 0,
    alpha: float = 0.05,
) -> BootstrapResult:
    """Percentile bootstrap of any statistic of per-prompt arrays.

    Every array is indexed on its *last* axis by prompt (``[n]``, ``[S, n]``,
    ...); each replicate draws one set of prompt indices with replacement and
    passes every array, resampled with it, to ``fn``. This is the generic,
    loop-over-replicates path (``n_boot`` calls of ``fn``): use it for metrics
    without a fast path, e.g. APGR or the arena score of a router.
    """
    if not arrays:
        raise ValueError("bootstrap_metric needs at least one array")
    _check_common(n_boot, alpha, "total")
    arrs = [np.asarray(a) for a in arrays]
    n = arrs[0].shape[-1]
    if n == 0 or any(a.shape[-1] != n for a in arrs):
        raise ValueError(f"all arrays need the same non-zero last axis (prompts), got {n}")
    rng = np.random.default_rng(seed)
    est = float(fn(*arrs))
    samples = np.empty(int(n_boot))
    for b in range(int(n_boot)):
        idx = rng.integers(0, n, size=n)
        samples[b] = float(fn(*(a[..., idx] for a in arrs)))
    lo, hi = _interval(samples, alpha)
    return BootstrapResult(est, lo, hi, samples, alpha, None)
