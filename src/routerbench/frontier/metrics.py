"""Other papers' router metrics, defined once and documented with their sources.

RouteLLM (APGR, CPT), LLMRouterBench (PerfGain, CostSave, OracleGap, ParetoDist), RouterArena (S).
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike

from routerbench.frontier.hull import Curve, as_curve, ndch
from routerbench.frontier.points import Point, xy

# -- RouteLLM (Ong et al., arXiv 2406.18665; lm-sys/RouteLLM) -----------------------------


def _pgr_curve(
    strong_frac: ArrayLike, quality: ArrayLike, q_weak: float, q_strong: float, anchor: bool
) -> tuple[np.ndarray, np.ndarray]:
    f = np.atleast_1d(np.asarray(strong_frac, dtype=float))
    y = np.atleast_1d(np.asarray(quality, dtype=float))
    if f.ndim != 1 or f.shape != y.shape or f.size == 0:
        raise ValueError(
            f"strong_frac and quality must be equal non-empty 1-D, got {f.shape}, {y.shape}"
        )
    if not (np.all(np.isfinite(f)) and np.all(np.isfinite(y))):
        raise ValueError("strong_frac and quality must be finite")
    if f.min() < 0 or f.max() > 1:
        raise ValueError("strong_frac is a fraction of calls and must lie in [0, 1]")
    if not np.isfinite(q_weak) or not np.isfinite(q_strong) or q_strong == q_weak:
        raise ValueError(f"PGR needs q_strong != q_weak (finite), got {q_strong}, {q_weak}")
    uf, inv = np.unique(f, return_inverse=True)
    uy = np.bincount(inv, weights=y) / np.bincount(inv)  # repeated fractions: mean quality
    if anchor:
        if uf[0] > 0:
            uf, uy = np.concatenate(([0.0], uf)), np.concatenate(([q_weak], uy))
        if uf[-1] < 1:
            uf, uy = np.concatenate((uf, [1.0])), np.concatenate((uy, [q_strong]))
    return uf, (uy - q_weak) / (q_strong - q_weak)


def apgr(
    strong_frac: ArrayLike,
    quality: ArrayLike,
    *,
    q_weak: float,
    q_strong: float,
    anchor: bool = True,
) -> float:
    """Average Performance Gap Recovered of a two-model (weak/strong) router.

    RouteLLM (arXiv 2406.18665, Sec. 4): ``PGR = (r - r_weak) / (r_strong - r_weak)``
    and ``APGR = integral_0^1 PGR d(fraction of calls to the strong model)``.

    Parameters
    ----------
    strong_frac : array-like
        Fraction of prompts sent to the strong model at each threshold, in [0, 1].
    quality : array-like
        Router quality at each threshold.
    q_weak, q_strong : float
        Quality of always-weak and always-strong.
    anchor : bool
        Add the endpoints ``(0, q_weak)`` and ``(1, q_strong)`` when missing, since
        a threshold router at its extreme thresholds *is* the weak or the strong
        model, and integrate over [0, 1] (the paper's definition). ``False``
        averages PGR over the observed range of fractions only, as RouteLLM's
        ``evaluate.py`` does with ``np.trapz`` over its threshold grid.

    Returns
    -------
    float
        0.5 for a random router (PGR = fraction), 1 for one that recovers the
        whole gap with no strong calls. The curve is linear between thresholds
        (mixing two thresholds interpolates); repeated fractions are averaged.
    """
    uf, pgr = _pgr_curve(strong_frac, quality, q_weak, q_strong, anchor)
    if uf.size == 1:
        return float(pgr[0])
    area = np.sum(np.diff(uf) * (pgr[1:] + pgr[:-1])) / 2.0
    return float(area / (uf[-1] - uf[0]))


def cpt(
    x: float,
    strong_frac: ArrayLike,
    quality: ArrayLike,
    *,
    q_weak: float,
    q_strong: float,
    anchor: bool = True,
) -> float:
    """Call-Performance Threshold: the least fraction of strong-model calls reaching PGR ``x``.

    RouteLLM (arXiv 2406.18665, Sec. 4): ``CPT(x%)`` is the minimum percentage of
    calls to the strong model needed to reach ``x%`` PGR. Here both are
    fractions: ``cpt(0.5, ...)`` returns e.g. 0.26 for "CPT(50%) = 26%".

    The router curve is piecewise linear in the fraction (see `apgr`); the
    first crossing of ``x`` is returned, NaN if it is never reached. For a
    monotone curve this is RouteLLM's ``np.interp(target, accuracy, strong_pct)``.
    """
    if not np.isfinite(x):
        raise ValueError(f"x must be finite, got {x}")
    uf, pgr = _pgr_curve(strong_frac, quality, q_weak, q_strong, anchor)
    hit = np.flatnonzero(pgr >= x)
    if hit.size == 0:
        return float("nan")
    i = int(hit[0])
    if i == 0:
        return float(uf[0])
    f0, f1, p0, p1 = uf[i - 1], uf[i], pgr[i - 1], pgr[i]
    return float(f0 + (x - p0) * (f1 - f0) / (p1 - p0))


# -- LLMRouterBench (Li et al., arXiv 2601.07206; ynulihao/LLMRouterBench) ----------------
# The paper's tables report these; its README describes them in words (PerfGain:
# "maximum performance improvement over the best single model"; CostSave: "cost
# reduction achieved while maintaining comparable accuracy to the best single
# model"; OracleGap: "gap to Oracle"; ParetoDist: "average distance to the Pareto
# frontier"). We could not retrieve the exact formulas, so each function states
# the one it computes.


def perf_gain(router_qualities: ArrayLike, best_quality: float, *, relative: bool = False) -> float:
    """PerfGain: the router's best quality over the best single model's.

    ``max_k q_k - q_best`` over the router's operating points (``relative=True``
    divides by ``q_best``). Negative when no setting beats the best model.
    """
    q = np.atleast_1d(np.asarray(router_qualities, dtype=float))
    if q.size == 0 or not np.all(np.isfinite(q)):
        raise ValueError("router_qualities must be non-empty and finite")
    gain = float(q.max() - best_quality)
    return gain / float(best_quality) if relative else gain


def cost_save(
    router_costs: ArrayLike,
    router_qualities: ArrayLike,
    best_cost: float,
    best_quality: float,
    *,
    tolerance: float = 0.0,
    hull: bool = False,
) -> float:
    """CostSave: the fraction of the best single model's cost saved at its quality.

    ``1 - c* / c_best``, where ``c*`` is the cheapest router setting with quality
    ``>= q_best - tolerance`` (``hull=True``: the cheapest budget on the router's
    NDCH, i.e. mixtures of settings count). NaN when the router never gets
    there; negative when it gets there only by spending more.
    """
    c = np.atleast_1d(np.asarray(router_costs, dtype=float))
    q = np.atleast_1d(np.asarray(router_qualities, dtype=float))
    if c.shape != q.shape or c.size == 0:
        raise ValueError("router_costs and router_qualities must be equal and non-empty")
    if not best_cost > 0:
        raise ValueError(f"best_cost must be > 0, got {best_cost}")
    target = float(best_quality) - float(tolerance)
    if hull:
        star = float(ndch(c, q, null=True).cost_at(target))
    else:
        ok = q >= target
        star = float(c[ok].min()) if ok.any() else float("inf")
    return float("nan") if not np.isfinite(star) else 1.0 - star / float(best_cost)


def _cq(point: Point | tuple[float, float] | Any) -> tuple[float, float]:
    if isinstance(point, Point):
        return point.cost, point.quality
    c, q = point
    return float(c), float(q)


def gap_at_oracle(
    system: Any,
    oracle: Point | tuple[float, float],
    *,
    at_cost: bool = True,
    null: bool = True,
) -> float:
    """OracleGap: how much quality the system lacks relative to the Oracle router.

    ``at_cost=True``: ``q_oracle - R~(c_oracle)``, the gap at the oracle's own
    budget on the system's NDCH (a system that matches the oracle's quality only
    by spending more has not closed the gap). ``at_cost=False``: ``q_oracle -
    max quality of the system``, the performance-only gap LLMRouterBench reports
    for routing without costs.

    Parameters
    ----------
    system
        A Curve or points (anything `aiq` accepts).
    oracle : Point or (cost, quality)
        The oracle's point, e.g. ``point_of(q, c, oracle_choice(q, c))``.
    """
    oc, oq = _cq(oracle)
    curve = as_curve(system, null=null)
    reached = float(curve.qualities[-1]) if not at_cost else float(curve(oc))
    return oq - reached


def pareto_distance(
    points: Any,
    reference: Any,
    *,
    mode: Literal["vertical", "euclidean"] = "vertical",
    cost_scale: float | None = None,
    quality_scale: float = 1.0,
    null: bool = True,
) -> float:
    """ParetoDist: the mean distance of a method's points below a reference frontier.

    Parameters
    ----------
    points
        The method's operating points (anything `xy` accepts).
    reference
        The points that define the frontier, typically every method's and every
        model's points pooled (include the method's own points to measure it
        against the joint frontier). Its NDCH is the frontier.
    mode : {"vertical", "euclidean"}
        ``"vertical"``: quality shortfall at the point's own cost,
        ``max(0, F(c) - q)``, in quality units: what the same budget could have
        bought. ``"euclidean"``: shortest distance to the frontier polyline after
        dividing costs by `cost_scale` and qualities by `quality_scale`.
    cost_scale : float, optional
        Default: the largest cost among reference and points, so costs lie in [0, 1].
    quality_scale : float
        Default 1 (qualities already in [0, 1]).

    Returns
    -------
    float
        Mean over the method's points; 0 when all lie on or above the frontier.
    """
    pc, pq = xy(points)
    rc, rq = xy(reference)
    if pc.size == 0:
        raise ValueError("pareto_distance needs at least one point")
    frontier: Curve = ndch(rc, rq, null=null)
    if mode == "vertical":
        return float(np.mean(np.maximum(0.0, np.asarray(frontier(pc)) - pq)))
    if mode != "euclidean":
        raise ValueError(f"mode must be 'vertical' or 'euclidean', got {mode!r}")
    cs = float(max(pc.max(), rc.max())) if cost_scale is None else float(cost_scale)
    if not cs > 0 or not quality_scale > 0:
        raise ValueError("cost_scale and quality_scale must be > 0")
    vx, vy = frontier.costs, frontier.qualities
    if vx[0] > 0:  # the null-mixture chord left of the first vertex is part of the curve
        vx, vy = np.concatenate(([0.0], vx)), np.concatenate(([0.0], vy))
    end = max(float(pc.max()), float(vx[-1]))
    if end > vx[-1]:
        vx, vy = np.concatenate((vx, [end])), np.concatenate((vy, [vy[-1]]))
    vx, vy = vx / cs, vy / quality_scale
    px, py = pc / cs, pq / quality_scale
    below = py < np.interp(px, vx, vy)
    if vx.size == 1:
        d = np.hypot(px - vx[0], py - vy[0])
    else:
        ax, ay, bx, by = vx[:-1], vy[:-1], vx[1:], vy[1:]
        dx, dy = bx - ax, by - ay
        t = ((px[:, None] - ax) * dx + (py[:, None] - ay) * dy) / (dx * dx + dy * dy)
        t = np.clip(t, 0.0, 1.0)
        d = np.hypot(px[:, None] - (ax + t * dx), py[:, None] - (ay + t * dy)).min(axis=1)
    return float(np.mean(np.where(below, d, 0.0)))


# -- RouterArena (RouteWorks/RouterArena) ---------------------------------------------------


def arena_score(
    accuracy: ArrayLike,
    cost: ArrayLike,
    *,
    beta: float = 0.1,
    c_min: float = 0.0044,
    c_max: float = 200.0,
    clip: bool = True,
) -> np.ndarray | float:
    """RouterArena score ``S = (1 + beta) A C / (beta A + C)``.

    ``C = (log2 c_max - log2 c) / (log2 c_max - log2 c_min)`` is the cost
    normalised on a log scale (1 at ``c_min``, 0 at ``c_max``), ``A`` the
    accuracy; ``S`` is a weighted harmonic mean in which ``beta = 0.1`` weights
    accuracy about ten times more than cost (RouterArena, ``llm_evaluation/run.py``).

    Parameters
    ----------
    accuracy, cost : array-like
        Broadcastable. RouterArena's defaults for `c_min`/`c_max` assume cost in
        dollars per 1000 queries; pass your own bounds for other units.
    clip : bool
        Clip cost to ``[c_min, c_max]`` and accuracy to ``[0, 1]`` first, so S stays
        in [0, 1]. RouterArena's reference code does not clip; ``clip=False``
        reproduces it (and raises on cost <= 0, where log2 is undefined).

    Returns
    -------
    float or np.ndarray
        0 where ``beta A + C == 0``.
    """
    if not (0 < c_min < c_max):
        raise ValueError(f"need 0 < c_min < c_max, got {c_min}, {c_max}")
    if beta < 0:
        raise ValueError(f"beta must be >= 0, got {beta}")
    a = np.asarray(accuracy, dtype=float)
    c = np.asarray(cost, dtype=float)
    if clip:
        a = np.clip(a, 0.0, 1.0)
        c = np.clip(c, c_min, c_max)
    elif np.any(c <= 0):
        raise ValueError("cost must be > 0 for the log-normalised cost")
    cn = (np.log2(c_max) - np.log2(c)) / (np.log2(c_max) - np.log2(c_min))
    den = beta * a + cn
    with np.errstate(divide="ignore", invalid="ignore"):
        s = np.where(den != 0, (1.0 + beta) * a * cn / np.where(den != 0, den, 1.0), 0.0)
    return float(s) if s.ndim == 0 else s
