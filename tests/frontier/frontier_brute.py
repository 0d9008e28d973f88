"""Independent brute-force constructions the frontier tests compare against.

O(n^2) straight from the definitions, sharing no code with `routerbench.frontier`.
"""

from __future__ import annotations

import numpy as np


def brute_envelope(costs, qualities, xs, *, null=True):
    """Best quality reachable at each budget in `xs` by a mixture of at most two points.

    Straight from the definition of the NDCH: any single point whose cost fits
    the budget, or any two points whose mixture has exactly the budget as
    expected cost (spending less than the budget is always allowed, so single
    points cover "waste the rest"). With ``null`` the point (0, 0) joins the
    set. Budgets below every point's cost give NaN.
    """
    c = np.asarray(costs, dtype=float)
    q = np.asarray(qualities, dtype=float)
    if null:
        c = np.append(c, 0.0)
        q = np.append(q, 0.0)
    xs = np.atleast_1d(np.asarray(xs, dtype=float))
    out = np.full(xs.shape, -np.inf)
    for k, x in enumerate(xs):
        fits = c <= x
        if fits.any():
            out[k] = q[fits].max()
        lo = c[:, None] <= x
        hi = c[None, :] > x
        pair = lo & hi
        if pair.any():
            i, j = np.nonzero(pair)
            w = (x - c[i]) / (c[j] - c[i])
            out[k] = max(out[k], float(np.max(q[i] + w * (q[j] - q[i]))))
    out[np.isneginf(out)] = np.nan
    return out


def brute_chords_below(curve, costs, qualities, *, tol=1e-9):
    """True if no chord between two input points rises above `curve` anywhere.

    A chord is linear and the curve piecewise linear, so it is enough to
    compare at the chord's endpoints and at every curve vertex between them.
    """
    c = np.asarray(costs, dtype=float)
    q = np.asarray(qualities, dtype=float)
    knots = np.asarray(curve.costs, dtype=float)
    for i in range(c.size):
        for j in range(c.size):
            if not c[i] < c[j]:
                continue
            xs = np.concatenate(([c[i], c[j]], knots[(knots > c[i]) & (knots < c[j])]))
            chord = q[i] + (xs - c[i]) * (q[j] - q[i]) / (c[j] - c[i])
            if np.any(chord > np.asarray(curve(xs)) + tol):
                return False
    return True


def exact_integral(f, knots, lo, hi):
    """Integral of a piecewise-linear `f` whose kinks all lie in `knots`, by trapezoids."""
    k = np.asarray(knots, dtype=float)
    xs = np.unique(np.concatenate(([lo, hi], k[(k > lo) & (k < hi)])))
    ys = np.asarray(f(xs), dtype=float)
    return float(np.sum(np.diff(xs) * (ys[1:] + ys[:-1]) / 2))
