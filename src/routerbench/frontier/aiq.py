"""AIQ, the Average Improvement in Quality: the mean height of a system's NDCH over a cost window.

`aiq` is the exact definition; `aiq_legacy` reproduces the original code's convention.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from routerbench.frontier.hull import Curve, as_curve, ndch
from routerbench.frontier.points import xy

Window = tuple[float, float]


def refuse_two_readings(system: Any, what: str = "system") -> None:
    """Refuse two 2-item rows given as plain Python sequences: they read two ways.

    The documented pair form is a *tuple* ``(costs, qualities)`` of array-likes,
    and a ``[k, 2]`` numpy array is read as ``(cost, quality)`` rows. A *list* of
    two 2-item sequences (``[[0.1, 0.5], [0.3, 0.9]]``), or a tuple of two 2-item
    tuples, looks like rows but would be read as the pair: rather than guess,
    ask for a form that means one thing.
    """
    if not isinstance(system, (list, tuple)) or len(system) != 2:
        return
    inner = (list, tuple) if isinstance(system, list) else (tuple,)
    if all(isinstance(x, inner) and len(x) == 2 for x in system):
        raise ValueError(
            f"the {what} {system!r} reads two ways: (costs, qualities) or two "
            "(cost, quality) rows; pass the pair as a tuple of lists or arrays "
            "(costs, qualities), or rows as an np.array of shape [k, 2]"
        )


def _no_extra(fn: str, extra: tuple[Any, ...]) -> None:
    if extra:
        raise TypeError(
            f"{fn}() takes one system as its only positional argument; pass the cost "
            f"window by keyword ({fn}(system, window=(lo, hi))) and raw points as "
            f"{fn}(ndch(costs, qualities)); got {1 + len(extra)} positional arguments"
        )


def check_window(window: Sequence[float], log_cost: bool) -> Window:
    if len(window) != 2:
        raise ValueError(f"window must be (lo, hi), got {window!r}")
    lo, hi = float(window[0]), float(window[1])
    if not (np.isfinite(lo) and np.isfinite(hi)) or lo < 0 or hi < lo:
        raise ValueError(f"window must satisfy 0 <= lo <= hi (finite), got ({lo}, {hi})")
    if log_cost and lo <= 0:
        raise ValueError(f"log_cost needs a window above 0, got lo={lo}")
    return lo, hi


def shared_window(*systems: Any) -> Window:
    """The default cost window of a comparison: the union of the systems' cost spans.

    Parameters
    ----------
    *systems
        Anything `aiq` accepts (Curves, points, ``(costs, qualities)``, a ZeroRouter).

    Returns
    -------
    (lo, hi)
        ``lo`` = the cheapest point of any system, ``hi`` = the dearest point of
        any system. Every system is then judged on the same budgets, including
        budgets below its own cheapest point (where it mixes with the null
        router) and above its dearest (where it stays flat). Spans count input
        points, not just hull vertices, so a dominated expensive setting still
        widens the window: the window reflects the budgets the systems were
        tried at, not how well they did there.

    Notes
    -----
    Given an explicit window, a system's AIQ depends on that system alone, so
    adding or removing systems never changes it. Without one, adding a system
    with a cheaper or dearer point widens this default window and so moves every
    AIQ: pass a window explicitly when numbers must be stable across reports,
    e.g. the Zero router's span (``zero.window``: cheapest to dearest model).
    """
    if not systems:
        raise ValueError("shared_window needs at least one system")
    los, his = [], []
    for s in systems:
        if isinstance(s, Curve) or isinstance(getattr(s, "curve", None), Curve):
            lo, hi = as_curve(s).span
        else:
            c, _ = xy(s)
            if c.size == 0:
                raise ValueError("a system has no points")
            lo, hi = float(np.min(c)), float(np.max(c))
        los.append(lo)
        his.append(hi)
    return min(los), max(his)


def aiq(
    curve_or_points: Any,
    *extra: Any,
    window: Sequence[float] | None = None,
    log_cost: bool = False,
    null: bool = True,
) -> float:
    """Average Improvement in Quality: the mean of a system's NDCH over a cost window.

    Parameters
    ----------
    curve_or_points
        A `Curve`, or points in any form `ndch` accepts (an iterable of `Point`,
        ``(costs, qualities)``, a ``[k, 2]`` array, a ZeroRouter). The only
        positional argument: ``aiq(costs, qualities)`` and ``aiq(curve, (lo, hi))``
        would read the same way, so a second positional argument is refused, and
        so is a pair of plain 2-item lists (`refuse_two_readings`).
    window : (lo, hi), optional, keyword only
        Cost window. Default: the system's own span (cheapest to dearest input
        point). For comparisons pass one shared window (`shared_window`).
    log_cost : bool
        Average over ``log10(c)`` instead of ``c`` (window must be above 0).
    null : bool
        Hull construction for raw points (see `ndch`); ignored for a Curve.

    Notes
    -----
    RouterBench (arXiv 2403.12031, Sec. 3) defines
    ``AIQ(R) = 1 / (c_max - c_min) * integral_{c_min}^{c_max} R~(c) dc`` with
    ``R~`` the system's NDCH. Here the integral is exact (the curve is piecewise
    linear), the division is by the window width, and the part of the window
    left of the system's cheapest point counts, at the null-router mixture the
    paper itself uses to extrapolate there. The result depends on the system
    and the window only, never on other systems in a comparison.

    Returns
    -------
    float
        ``(1 / (hi - lo)) * integral_lo^hi R~(c) dc``, exact. A zero-width window
        (e.g. one point on its own) gives the curve's value there, the limit of
        the average as the window shrinks.
    """
    _no_extra("aiq", extra)
    refuse_two_readings(curve_or_points)
    curve = as_curve(curve_or_points, null=null)
    lo, hi = check_window(curve.span if window is None else window, log_cost)
    return curve.mean(lo, hi, log_cost=log_cost)


def compare_aiq(
    systems: Mapping[str, Any] | Sequence[Any],
    *extra: Any,
    window: Sequence[float] | None = None,
    log_cost: bool = False,
    null: bool = True,
) -> dict[Any, float]:
    """AIQ of several systems on one window (default: `shared_window` of them all).

    Returns a dict keyed by the mapping's keys (or by position for a sequence).
    With an explicit `window` (keyword only), each value equals
    ``aiq(system, window=window)``: one system's score never depends on which
    others are in the table.
    """
    _no_extra("compare_aiq", extra)
    items = list(systems.items()) if isinstance(systems, Mapping) else list(enumerate(systems))
    if not items:
        return {}
    for k, s in items:
        refuse_two_readings(s, f"system {k!r}")
    curves = {k: as_curve(s, null=null) for k, s in items}
    w = shared_window(*curves.values()) if window is None else window
    return {k: aiq(c, window=w, log_cost=log_cost) for k, c in curves.items()}


def _legacy_hull(costs: Any, qualities: ArrayLike | None) -> tuple[Curve, float]:
    """The original's hull of a system's own points, and the cost where it ends.

    The exact NDCH without the null point, ending -- as the original
    ``get_non_descreasing_convex_hull_of`` does -- at the *dearest* of the points
    tied at the top quality: the original keeps the last (dearest) input point
    whenever its quality is not below the hull's, so a flat top stretch counts
    towards ``max_x``.
    """
    if qualities is None:
        refuse_two_readings(costs)
        c, q = xy(costs)
    else:
        c, q = np.asarray(costs, dtype=float), np.asarray(qualities, dtype=float)
    curve = ndch(c, q, null=False)
    top = float(curve.qualities[-1])
    end = float(np.max(c[q == top])) if np.any(q == top) else float(curve.costs[-1])
    return curve, max(end, float(curve.costs[-1]))


def aiq_legacy(
    costs: Any,
    qualities: ArrayLike | None = None,
    *,
    max_cost: float | None = None,
) -> float:
    """AIQ as the original withmartian/routerbench code computed it, for comparison with
    published figures.

    The original (``evaluation/AIQ.py``, ``calc_AIQ``) builds each system's NDCH
    from its own points (no null point), ending at the dearest of the points tied
    at the top quality, extends every curve flat to ``max_x``, the largest hull
    end over *all systems in the comparison*, integrates with the trapezoid rule
    from the system's own cheapest point, and divides by ``max_x``. So the region
    left of a system's cheapest point counts as zero quality, the normaliser is a
    cost rather than a window width, and a system's score changes whenever a
    dearer system joins the comparison. This function keeps that convention but
    uses the exact hull (the original's O(n^3) hull could drop a top point tied
    at the highest cost and failed on 1-2 points), so figures agree wherever the
    original hull was right: ``(0.1, 0.5), (0.5, 0.9), (0.8, 0.9)`` scores
    ``0.55 / 0.8 = 0.6875`` in both.

    Parameters
    ----------
    costs, qualities
        The system's points (``aiq_legacy(costs, qualities)``); or pass any system
        as `costs` alone.
    max_cost : float, optional
        The comparison's ``max_x``: the largest hull end of all systems compared
        (see `legacy_max_cost`). Default: this system's own, i.e. the system
        compared alone.

    Returns
    -------
    float
        ``trapz(NDCH extended to max_cost) / max_cost``. A single point compared
        alone scores 0 (its curve has no width), as in the original convention.
    """
    curve, own_max = _legacy_hull(costs, qualities)
    mx = own_max if max_cost is None else float(max_cost)
    if mx < own_max:
        raise ValueError(
            f"max_cost {mx} is below this system's hull end {own_max}; the original "
            "takes max_x over all compared systems, so it is never smaller"
        )
    if mx <= 0:
        raise ValueError("aiq_legacy divides by the largest cost, which must be > 0")
    return curve.area(float(curve.costs[0]), mx) / mx


def legacy_max_cost(*systems: Any) -> float:
    """The original code's ``max_x``: the largest hull end (dearest tied top point) over systems."""
    if not systems:
        raise ValueError("legacy_max_cost needs at least one system")
    return max(_legacy_hull(s, None)[1] for s in systems)
