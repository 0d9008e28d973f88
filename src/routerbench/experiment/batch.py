"""AIQ of many point sets at once: the NDCH and its exact integral, vectorised over replicates.

A bootstrap needs thousands of small hulls: one numpy pass per point, not one call per hull.
"""

from __future__ import annotations

import numpy as np

__all__ = ["batched_aiq"]


def _sorted_candidates(costs: np.ndarray, quals: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Candidate NDCH vertices of each row, sorted by cost, the null point (0, 0) included.

    Points that are not strictly better than every cheaper point cannot be NDCH
    vertices and are dropped; rows keep a rectangular shape by repeating their
    last candidate, which the hull pass drops as a duplicate. The hull loop then
    runs over the longest row's candidates only, not over all points.
    """
    b = costs.shape[0]
    c = np.concatenate([np.zeros((b, 1)), np.maximum(costs, 0.0)], axis=1)
    q = np.concatenate([np.zeros((b, 1)), quals], axis=1)
    # Equal costs need no quality order: the running maximum below drops a worse
    # point that follows a better one, and the hull pass pops a worse one that
    # precedes a better one (a zero-width step at cost 0 integrates to nothing).
    order = np.argsort(c, axis=1, kind="stable")
    c = np.take_along_axis(c, order, axis=1)
    q = np.take_along_axis(q, order, axis=1)
    keep = np.ones_like(q, dtype=bool)
    keep[:, 1:] = q[:, 1:] > np.maximum.accumulate(q, axis=1)[:, :-1]
    # Move each row's candidates to the front (stable), then cut to the longest row.
    front = np.argsort(~keep, axis=1, kind="stable")
    count = keep.sum(axis=1)
    width = int(count.max())
    pick = np.take_along_axis(
        front, np.minimum(np.arange(width)[None, :], (count - 1)[:, None]), axis=1
    )
    return np.take_along_axis(c, pick, axis=1), np.take_along_axis(q, pick, axis=1)


def _upper_hulls(c: np.ndarray, q: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Andrew's monotone chain run on every row at once.

    Returns the hull vertices per row, left-aligned in ``[B, K]`` arrays, and
    each row's vertex count. A middle point on or below the chord of its
    neighbours is popped (collinear points are not vertices), as in
    `routerbench.frontier.ndch`.
    """
    b, k = c.shape
    # Flat row-major stacks indexed by row * k + depth: np.take on 1-D arrays is
    # several times faster than 2-D fancy indexing in this tight loop.
    hx = np.zeros(b * k)
    hy = np.zeros(b * k)
    h = np.zeros(b, dtype=np.intp)
    base = np.arange(b) * k
    for i in range(k):
        xi, yi = c[:, i], q[:, i]
        while True:
            can = h >= 2
            if not can.any():
                break
            a = base + np.maximum(h - 1, 0)
            ox, oy = hx.take(a - 1 + (~can)), hy.take(a - 1 + (~can))
            ax, ay = hx.take(a), hy.take(a)
            pop = can & ((ax - ox) * (yi - oy) - (ay - oy) * (xi - ox) >= 0)
            if not pop.any():
                break
            h = h - pop
        hx[base + h] = xi
        hy[base + h] = yi
        h = h + 1
    return hx.reshape(b, k), hy.reshape(b, k), h


def batched_aiq(
    costs: np.ndarray,
    quals: np.ndarray,
    window: tuple[float, float],
    *,
    log_cost: bool = False,
) -> np.ndarray:
    """AIQ of each row's points over one window: ``[B, S]`` points in, ``[B]`` values out.

    Row ``b`` gives the same value as
    ``frontier.aiq(frontier.ndch(costs[b], quals[b]), window=window, log_cost=log_cost)``
    (null point included; a test checks agreement), computed for all rows
    together: the hull is one pass over the ``S + 1`` sorted points with the
    stack of every row held in arrays, and the integral is exact (trapezoids
    on a piecewise-linear curve, or the closed form against ``d log10 c``).
    Costs a hair below 0 (bootstrap round-off) are clipped to 0.
    """
    c = np.asarray(costs, dtype=float)
    q = np.asarray(quals, dtype=float)
    if c.ndim != 2 or c.shape != q.shape or c.shape[1] == 0:
        raise ValueError(f"costs and quals must be equal [B, S] arrays, got {c.shape}, {q.shape}")
    lo, hi = float(window[0]), float(window[1])
    if not (np.isfinite(lo) and np.isfinite(hi)) or lo < 0 or hi < lo:
        raise ValueError(f"window must satisfy 0 <= lo <= hi (finite), got ({lo}, {hi})")
    if log_cost and lo <= 0:
        raise ValueError(f"log_cost needs a window above 0, got lo={lo}")
    cs, qs = _sorted_candidates(c, q)
    hx, hy, h = _upper_hulls(cs, qs)
    rows = np.arange(hx.shape[0])
    k = hx.shape[1]
    # Pad every row after its last vertex with that vertex: zero-length segments.
    pos = np.minimum(np.arange(k)[None, :], (h - 1)[:, None])
    hx = np.take_along_axis(hx, pos, axis=1)
    hy = np.take_along_axis(hy, pos, axis=1)
    xl, yl = hx[rows, h - 1], hy[rows, h - 1]
    if hi == lo:
        return _value_at(hx, hy, xl, yl, lo)
    x0, x1, y0, y1 = hx[:, :-1], hx[:, 1:], hy[:, :-1], hy[:, 1:]
    length = x1 - x0
    real = length > 0
    safe = np.where(real, length, 1.0)
    u = np.clip(x0, lo, hi)
    v = np.clip(x1, lo, hi)
    fu = y0 + (y1 - y0) * (u - x0) / safe
    fv = y0 + (y1 - y0) * (v - x0) / safe
    inside = real & (v > u)
    tail_u = np.maximum(lo, xl)
    if not log_cost:
        area = np.where(inside, (v - u) * (fu + fv) / 2.0, 0.0).sum(axis=1)
        area += yl * np.maximum(hi - tail_u, 0.0)
        return area / (hi - lo)
    uu = np.where(inside, u, 1.0)
    vv = np.where(inside, v, 2.0)
    a = (vv * fu - uu * fv) / (vv - uu)
    pieces = np.where(inside, a * np.log(vv / uu) + (fv - fu), 0.0).sum(axis=1)
    tail = np.where(hi > tail_u, yl * np.log(hi / np.where(hi > tail_u, tail_u, hi)), 0.0)
    return (pieces + tail) / np.log(10.0) / np.log10(hi / lo)


def _value_at(
    hx: np.ndarray, hy: np.ndarray, xl: np.ndarray, yl: np.ndarray, x: float
) -> np.ndarray:
    """Each row's curve at cost `x`: a concave curve is the minimum of its segments' lines."""
    x0, x1, y0, y1 = hx[:, :-1], hx[:, 1:], hy[:, :-1], hy[:, 1:]
    length = x1 - x0
    real = length > 0
    slope = np.where(real, (y1 - y0) / np.where(real, length, 1.0), 0.0)
    lines = np.where(real, y0 + slope * (x - x0), np.inf)
    return np.minimum(lines.min(axis=1, initial=np.inf), yl)
