"""The non-decreasing convex hull (NDCH): the cost-quality frontier a set of settings can reach.

`ndch` builds it in O(n log n); `Curve` evaluates, inverts and integrates it exactly.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from routerbench.frontier.points import xy

#: Vectorised hull passes before falling back to the sequential monotone chain.
_MAX_PASSES = 32
#: Below this many candidates the sequential chain is cheaper than a numpy pass.
_SMALL = 2048
#: Point sets larger than this are first thinned against the hull of a sample.
_PREFILTER = 65536
#: Size of that sample.
_SAMPLE = 4096


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
        the setting (or model) that reaches it. A curve built directly from
        vertices (not by `ndch`) numbers them ``0..k-1`` unless told otherwise.
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
    cost 0, so that chord is part of the hull itself and the whole curve is
    concave; with ``null=False`` the chord may be steeper or shallower than the
    first edge (the literal construction's defect). Negative costs give NaN.
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
        idx = np.arange(c.size, dtype=np.int64) if index is None else np.array(index, np.int64)
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
            # min() keeps arr / c0 <= 1, so a tiny c0 cannot overflow the unused branch.
            out = np.where(arr < c0, self.qualities[0] * (np.minimum(arr, c0) / c0), out)
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
        # Left of the first vertex the curve is the chord from the origin (or 0 at cost 0).
        scale = c0 / q0 if (c0 > 0 and q0 > 0) else 0.0
        below = np.clip(qq, 0.0, None) * scale
        out = np.where(qq < q0, below, out)
        out = np.where(qq > self.qualities[-1], np.inf, out)
        # Whatever the curve already gives at budget 0 costs nothing.
        out = np.where(qq <= (q0 if c0 == 0 else 0.0), 0.0, out)
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
        return self._integrate(lo, hi, log_cost=log_cost, normalise=False)

    def mean(self, lo: float, hi: float, *, log_cost: bool = False) -> float:
        """Average of the curve over ``[lo, hi]`` (against ``log10 c`` if `log_cost`): AIQ.

        Segment widths are divided by the window width before summing, so
        windows of any scale (tiny or huge) give the mean without underflow.
        A zero-width window gives the value there.
        """
        return self._integrate(lo, hi, log_cost=log_cost, normalise=True)

    def _integrate(self, lo: float, hi: float, *, log_cost: bool, normalise: bool) -> float:
        knots = self.costs if self.costs[0] == 0 else np.concatenate(([0.0], self.costs))
        return integrate_piecewise_linear(
            self, knots, lo, hi, log_cost=log_cost, normalise=normalise
        )

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
        Include the null router ``(0, 0)`` as a point (default). See Notes:
        ``True`` is the exact reachable frontier; ``False`` is the
        paper's literal construction (hull of the points alone, the cheapest
        point always a vertex, null mixing only to its left).

    Returns
    -------
    Curve
        Vertices are input points (or the null point, index ``-1``), strictly
        increasing in cost and quality, with strictly decreasing slopes.

    Notes
    -----
    Why a hull: any two settings can be mixed (send a fraction ``w`` of prompts
    to one, the rest to the other) and the expected (cost, quality) is the same
    mixture of their points; budget can also be wasted, so quality never drops
    as budget grows. The best quality reachable at budget ``c`` is therefore the
    upper concave envelope of the points, made non-decreasing (flat after its
    highest point): the RouterBench paper's NDCH (arXiv 2403.12031, Sec. 3).

    The null point: the null router answers nothing and costs nothing, the point
    ``(0, 0)``. The paper extrapolates below a system's cheapest point by mixing
    that point with the null router. Taken literally (``null=False``), that
    treats the cheapest point as special: it is always the first vertex, and
    the curve left of it is the chord from the origin to it. But the null
    router is a setting like any other, and mixing it with a *dearer* point can
    beat the cheapest point (a cheap model whose quality per unit cost is worse
    than an expensive one's). So the exact frontier is the NDCH of the points
    together with ``(0, 0)`` (``null=True``, the default): concave everywhere,
    never below the literal construction, and equal to it whenever the
    cheapest point is on the hull of the points with the origin. ``null=False``
    is kept to reproduce figures built on the literal construction.

    Algorithm, O(n log n): one sort (cost ascending, quality descending on equal
    costs, input order on exact ties so the first duplicate wins), a running
    maximum that keeps only points strictly better than every cheaper one (this
    handles equal costs, equal qualities and duplicates exactly, and reduces
    random clouds to a few dozen candidates), then the upper hull of the
    survivors. Above 65,536 points a sample's hull first discards every point
    strictly below it (`_prefilter`), so a million random points cost one
    interpolation and a small sort. Collinear middle points are not vertices.
    Works for 1 and 2 points.

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
    if c.size > _PREFILTER:
        cand = _prefilter(c, q)
        c, q, idx = c[cand], q[cand], idx[cand]
    sel = _exact(c, q)
    return Curve(c[sel], q[sel], index=idx[sel], null=null, span=span)


def _exact(c: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Positions of the NDCH vertices of ``(c, q)``, in increasing cost."""
    order = np.argsort(c, kind="stable")
    cs = c[order]
    if np.any(cs[1:] == cs[:-1]):
        # Equal costs: best quality first (then input order), so the running max keeps it.
        # lexsort is ~3x slower than one argsort, so only pay for it when needed.
        order = np.lexsort((-q, c))
    qs = q[order]
    keep = np.empty(qs.size, dtype=bool)
    keep[0] = True
    keep[1:] = qs[1:] > np.maximum.accumulate(qs)[:-1]
    order = order[keep]
    return order[_upper_hull(c[order], q[order])]


def _prefilter(c: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Positions (in input order) that can still be NDCH vertices of a large point set.

    The NDCH of any subset lies on or below the NDCH of the whole set, so a
    point strictly below the subset's curve is not a vertex. The subset is a
    stride through the input plus the cheapest and the best point (so its
    curve covers every cost); only points on or above its curve survive,
    typically a tiny fraction. Points exactly on it are kept, so exact ties and
    duplicates are resolved by the exact pass, in input order, as without
    the filter. Sorting the survivors instead of all points is what makes a
    million points cost milliseconds, not a second.
    """
    n = c.size
    sample = np.arange(0, n, max(1, n // _SAMPLE))
    sample = np.union1d(sample, [int(np.argmin(c)), int(np.argmax(q)), n - 1])
    sub = sample[_exact(c[sample], q[sample])]
    return np.flatnonzero(q >= np.interp(c, c[sub], q[sub]))


def as_curve(system: Any, *, null: bool = True) -> Curve:
    """A system's NDCH: a `Curve` is returned as is, anything else goes through `ndch`."""
    if isinstance(system, Curve):
        return system
    inner = getattr(system, "curve", None)
    if isinstance(inner, Curve):
        return inner
    return ndch(*xy(system), null=null)


def check_window(lo: float, hi: float, *, log_cost: bool = False) -> tuple[float, float]:
    """``(lo, hi)`` as floats, or a ValueError saying what an integration window must be."""
    lo, hi = float(lo), float(hi)
    if not (np.isfinite(lo) and np.isfinite(hi)):
        raise ValueError(f"window must be finite, got [{lo}, {hi}]")
    if lo < 0 or hi < lo:
        raise ValueError(f"window must satisfy 0 <= lo <= hi, got [{lo}, {hi}]")
    if log_cost and lo <= 0:
        raise ValueError(f"a log-cost window must start above 0, got lo={lo}")
    return lo, hi


def integrate_piecewise_linear(
    fn: Callable[[np.ndarray], np.ndarray | float],
    knots: np.ndarray,
    lo: float,
    hi: float,
    *,
    log_cost: bool = False,
    normalise: bool = True,
) -> float:
    """Exact integral (or mean, if `normalise`) over ``[lo, hi]`` of a piecewise-linear `fn`.

    The trapezoid rule over the knots inside the window is exact for a
    piecewise-linear `fn`. Against ``d log c``, a linear piece ``f(c) = a + b c``
    integrates in closed form to ``a ln(v/u) + f(v) - f(u)`` (divided by ``ln 10``).
    """
    lo, hi = check_window(lo, hi, log_cost=log_cost)
    if hi == lo:
        return float(fn(np.asarray(lo))) if normalise else 0.0
    knots = np.asarray(knots, dtype=float)
    inner = knots[(knots > lo) & (knots < hi)]
    xs = np.concatenate(([lo], inner, [hi]))
    ys = np.asarray(fn(xs))
    u, v, fu, fv = xs[:-1], xs[1:], ys[:-1], ys[1:]
    if not log_cost:
        width = (v - u) / (hi - lo) if normalise else v - u
        return float(np.sum(width * (fu + fv)) / 2.0)
    a = (v * fu - u * fv) / (v - u)
    scale = np.log(hi / lo) if normalise else np.log(10.0)
    return float(np.sum(a * (np.log(v / u) / scale) + (fv - fu) / scale))
