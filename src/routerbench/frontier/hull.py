"""The non-decreasing convex hull (NDCH): the cost-quality frontier a set of settings can reach.

`ndch` builds it in O(n log n); `Curve` evaluates, inverts and integrates it exactly.

Why a hull, and what the null point does
----------------------------------------
Any two settings can be mixed: send a fraction ``w`` of prompts to one and the
rest to the other, and the expected (cost, quality) is the same mixture of the
two points. Budget can also be wasted, so quality at a larger budget is never
lower. The best quality reachable at budget ``c`` is therefore the upper
concave envelope of the points, made non-decreasing (flat after its highest
point). That is the RouterBench paper's NDCH (arXiv 2403.12031, Sec. 3).

The null router answers nothing and costs nothing: the point ``(0, 0)``. The
paper extrapolates below a system's cheapest point by mixing that point with
the null router. Taken literally ("``null=False``"), that treats the cheapest
point as special: it is always the first vertex, and the curve left of it is
the chord from the origin to it. But the null router is a setting like any
other, and mixing it with a *dearer* point can beat the cheapest point (a
cheap model whose quality per unit cost is worse than an expensive one's). So
the exact frontier is the NDCH of the points together with ``(0, 0)``
(``null=True``, the default): concave everywhere, never below the literal
construction, and equal to it whenever the cheapest point is on the hull of
the points with the origin. ``null=False`` is kept so figures built on the
paper's literal construction can be reproduced.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from routerbench.frontier.points import xy

#: Vectorised hull passes before falling back to the sequential monotone chain.
_MAX_PASSES = 32
#: Below this many candidates the sequential chain is cheaper than a numpy pass.
_SMALL = 2048


class Curve:
    """A piecewise-linear, non-decreasing, concave cost-quality frontier.

    Attributes
    ----------
    costs : np.ndarray
        Vertex costs, strictly increasing (read-only).
    qualities : np.ndarray
        Vertex qualities, strictly increasing (read-only).
    index : np.ndarray
        For each vertex, the position of the input point it came from; ``-1``
        marks the null point. This is how a frontier vertex is traced back to
        the setting (or model) that reaches it.
    null : bool
        Whether the null point ``(0, 0)`` took part in the construction.
    span : tuple of float
        ``(cheapest, dearest)`` cost among the input points (the null point
        excluded): the default AIQ window of this system on its own.

    Notes
    -----
    Evaluated anywhere at or above cost 0: linear interpolation between
    vertices; flat after the last vertex (spending more buys nothing); below
    the first vertex, the mixture of the null router with the first vertex
    (the chord from ``(0, 0)``). When ``null=True`` the first vertex is at
    cost 0, so that chord is part of the hull itself. Negative costs give NaN.
    """

    __slots__ = ("costs", "index", "null", "qualities", "span")

    def __init__(
        self,
        costs: ArrayLike,
        qualities: ArrayLike,
        *,
        index: ArrayLike | None = None,
        null: bool = True,
        span: tuple[float, float] | None = None,
    ) -> None:
        c = np.array(costs, dtype=float, ndmin=1)
        q = np.array(qualities, dtype=float, ndmin=1)
        if c.ndim != 1 or c.shape != q.shape or c.size == 0:
            raise ValueError(
                f"a curve needs two equal-length 1-D vertex arrays, got {c.shape} and {q.shape}"
            )
        if not (np.all(np.isfinite(c)) and np.all(np.isfinite(q))):
            raise ValueError("curve vertices must be finite")
        if c[0] < 0:
            raise ValueError(f"curve costs must be >= 0, got {c[0]}")
        if np.any(np.diff(c) <= 0) or np.any(np.diff(q) <= 0):
            raise ValueError("curve vertices must be strictly increasing in cost and quality")
        idx = np.full(c.size, -2, dtype=np.int64) if index is None else np.array(index, np.int64)
        if idx.shape != c.shape:
            raise ValueError(f"index has shape {idx.shape}, expected {c.shape}")
        for a in (c, q, idx):
            a.setflags(write=False)
        self.costs = c
        self.qualities = q
        self.index = idx
        self.null = bool(null)
        if span is None:
            real = c[idx != -1] if np.any(idx != -1) else c
            span = (float(real[0]), float(real[-1]))
        self.span = (float(span[0]), float(span[1]))

    # -- evaluation -----------------------------------------------------------------

    def __call__(self, c: ArrayLike) -> np.ndarray | float:
        """Best quality reachable at budget `c` (scalar in, float out)."""
        arr = np.asarray(c, dtype=float)
        out = np.interp(arr, self.costs, self.qualities)
        c0 = self.costs[0]
        if c0 > 0:
            out = np.where(arr < c0, self.qualities[0] * arr / c0, out)
        out = np.where(arr < 0, np.nan, out)
        return float(out) if out.ndim == 0 else out

    def cost_at(self, quality: ArrayLike) -> np.ndarray | float:
        """Least budget at which the curve reaches `quality` (``inf`` if never).

        The inverse of the frontier: "what does this quality cost?", the question
        behind cost-saving and call-threshold metrics.
        """
        qq = np.asarray(quality, dtype=float)
        out = np.interp(qq, self.qualities, self.costs)
        c0, q0 = self.costs[0], self.qualities[0]
        if c0 > 0 and q0 > 0:
            below = np.clip(qq, 0.0, None) / q0 * c0
        else:
            below = np.zeros_like(out)
        out = np.where(qq < q0, below, out)
        out = np.where(qq > self.qualities[-1], np.inf, out)
        out = np.where(np.isnan(qq), np.nan, out)
        return float(out) if out.ndim == 0 else out

    def area(self, lo: float, hi: float, *, log_cost: bool = False) -> float:
        """Exact integral of the curve over ``[lo, hi]``.

        Parameters
        ----------
        lo, hi : float
            The cost window, ``0 <= lo <= hi``.
        log_cost : bool
            Integrate against ``d log10(c)`` instead of ``dc`` (needs ``lo > 0``).
            Model prices span orders of magnitude; on a linear axis the cheap end,
            where most routing happens, is a sliver of the window.

        Notes
        -----
        The curve is linear between knots (vertices, and the origin when the
        first vertex is dearer than 0), so the trapezoid rule over the knots
        inside the window is exact. Against ``d log c``, a linear piece
        ``f(c) = a + b c`` integrates in closed form to
        ``a ln(v/u) + f(v) - f(u)`` (divided by ``ln 10``).
        """
        lo, hi = float(lo), float(hi)
        if not (np.isfinite(lo) and np.isfinite(hi)):
            raise ValueError(f"window must be finite, got [{lo}, {hi}]")
        if lo < 0 or hi < lo:
            raise ValueError(f"window must satisfy 0 <= lo <= hi, got [{lo}, {hi}]")
        if log_cost and lo <= 0:
            raise ValueError(f"a log-cost window must start above 0, got lo={lo}")
        if hi == lo:
            return 0.0
        knots = self.costs if self.costs[0] == 0 else np.concatenate(([0.0], self.costs))
        inner = knots[(knots > lo) & (knots < hi)]
        xs = np.concatenate(([lo], inner, [hi]))
        ys = np.asarray(self(xs))
        u, v, fu, fv = xs[:-1], xs[1:], ys[:-1], ys[1:]
        if not log_cost:
            return float(np.sum((v - u) * (fu + fv)) / 2.0)
        a = (v * fu - u * fv) / (v - u)
        return float(np.sum(a * np.log(v / u) + (fv - fu)) / np.log(10.0))

    # -- conveniences -----------------------------------------------------------------

    @property
    def vertices(self) -> np.ndarray:
        """``[k, 2]`` array of ``(cost, quality)`` vertices."""
        return np.column_stack([self.costs, self.qualities])

    def __len__(self) -> int:
        return int(self.costs.size)

    def __repr__(self) -> str:
        return (
            f"Curve({len(self)} vertices, cost {self.costs[0]:.4g}..{self.costs[-1]:.4g}, "
            f"quality {self.qualities[0]:.4g}..{self.qualities[-1]:.4g}, null={self.null})"
        )


def _chain(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Andrew's monotone chain, upper half, on points sorted by strictly increasing x."""
    xs, ys = x.tolist(), y.tolist()
    stack: list[int] = []
    for i in range(len(xs)):
        xi, yi = xs[i], ys[i]
        while len(stack) >= 2:
            o, a = stack[-2], stack[-1]
            # cross(o, a, i) >= 0: a is on or below the chord o-i, so not a vertex.
            if (xs[a] - xs[o]) * (yi - ys[o]) - (ys[a] - ys[o]) * (xi - xs[o]) >= 0:
                stack.pop()
            else:
                break
        stack.append(i)
    return np.asarray(stack, dtype=np.intp)


def _upper_hull(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Indices of the strict upper-hull vertices of points sorted by increasing x.

    Vectorised passes drop every point on or below the chord of its current
    neighbours; a true vertex is strictly above every chord that spans it, so
    no pass can drop one, and a sequence with no such point left is concave,
    hence the hull. Passes are O(n) numpy each and usually converge in a few;
    whatever remains after `_MAX_PASSES` (or once small) goes through the
    sequential monotone chain, which is exact in any case.
    """
    keep = np.arange(x.size)
    for _ in range(_MAX_PASSES):
        if keep.size < 3:
            return keep
        if keep.size <= _SMALL:
            break
        xs, ys = x[keep], y[keep]
        cross = (xs[1:-1] - xs[:-2]) * (ys[2:] - ys[:-2]) - (ys[1:-1] - ys[:-2]) * (
            xs[2:] - xs[:-2]
        )
        drop = cross >= 0
        if not drop.any():
            return keep
        mask = np.ones(keep.size, dtype=bool)
        mask[1:-1] = ~drop
        keep = keep[mask]
    return keep[_chain(x[keep], y[keep])]


def ndch(costs: Any, qualities: ArrayLike | None = None, *, null: bool = True) -> Curve:
    """Non-decreasing convex hull of a set of cost-quality points.

    Parameters
    ----------
    costs : array-like
        Point costs (``>= 0``). May instead be any system `xy` accepts (points,
        a Curve, ...) when `qualities` is omitted.
    qualities : array-like, optional
        Point qualities, same length as `costs`.
    null : bool
        Include the null router ``(0, 0)`` as a point (default). See the module
        docstring: ``True`` is the exact reachable frontier; ``False`` is the
        paper's literal construction (hull of the points alone, the cheapest
        point always a vertex, null mixing only to its left).

    Returns
    -------
    Curve
        Vertices are input points (or the null point, index ``-1``), strictly
        increasing in cost and quality, with strictly decreasing slopes.

    Notes
    -----
    O(n log n): one lexicographic sort (cost ascending, quality descending,
    input order on exact ties so the first duplicate wins), a running maximum
    that keeps only points strictly better than every cheaper one (this handles
    equal costs, equal qualities and duplicates exactly, and reduces random
    clouds to a few dozen candidates), then the upper hull of the survivors.
    Collinear middle points are not vertices. Works for 1 and 2 points.

    Raises
    ------
    ValueError
        Empty input, mismatched lengths, non-finite values, or negative costs.
    """
    if qualities is None:
        c, q = xy(costs)
    else:
        c = np.atleast_1d(np.asarray(costs, dtype=float))
        q = np.atleast_1d(np.asarray(qualities, dtype=float))
    if c.ndim != 1 or c.shape != q.shape:
        raise ValueError(
            f"costs and qualities must be 1-D of equal length, got {c.shape} and {q.shape}"
        )
    if c.size == 0:
        raise ValueError("ndch needs at least one point")
    bad = ~(np.isfinite(c) & np.isfinite(q))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"point {i} is not finite: cost={c[i]}, quality={q[i]}")
    if (c < 0).any():
        i = int(np.flatnonzero(c < 0)[0])
        raise ValueError(f"point {i} has negative cost {c[i]}")
    span = (float(c.min()), float(c.max()))
    idx = np.arange(c.size, dtype=np.int64)
    if null:
        # Appended last: on an exact tie with a real (0, 0) point the real one wins.
        c = np.append(c, 0.0)
        q = np.append(q, 0.0)
        idx = np.append(idx, -1)
    order = np.lexsort((-q, c))
    cs, qs, ids = c[order], q[order], idx[order]
    keep = np.empty(cs.size, dtype=bool)
    keep[0] = True
    keep[1:] = qs[1:] > np.maximum.accumulate(qs)[:-1]
    cs, qs, ids = cs[keep], qs[keep], ids[keep]
    sel = _upper_hull(cs, qs)
    return Curve(cs[sel], qs[sel], index=ids[sel], null=null, span=span)


def as_curve(system: Any, *, null: bool = True) -> Curve:
    """A system's NDCH: a `Curve` is returned as is, anything else goes through `ndch`."""
    if isinstance(system, Curve):
        return system
    inner = getattr(system, "curve", None)
    if isinstance(inner, Curve):
        return inner
    return ndch(*xy(system), null=null)
