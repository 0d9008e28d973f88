"""The Oracle frontier: the exact willingness-to-pay path of a router that knows every outcome.

The single Oracle point is not an upper bound on AIQ (it sits at one cost); this curve is.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from routerbench.frontier.hull import Curve, ndch

__all__ = ["OracleFrontier", "oracle_frontier"]


@dataclass(frozen=True, eq=False)
class OracleFrontier:
    """Every vertex of the Oracle's willingness-to-pay path, as per-prompt moves.

    For a willingness to pay λ the Oracle sends each prompt to
    ``argmax_j λ·q[i, j] − c[i, j]`` on the *true* outcomes. As λ grows from 0
    a prompt climbs its own upper hull of (cost, quality) points, one segment
    at a time; the path of the whole test set is those segments taken in order
    of falling slope (quality bought per dollar). Holding the moves, rather
    than the summed points, lets a bootstrap reweight prompts without redoing
    the sort: a prompt's weight scales both ends of its segments and leaves
    their slopes unchanged.

    Attributes
    ----------
    start_cost, start_quality : np.ndarray
        ``[n]`` per prompt, the λ → 0 choice: the cheapest model, the best of
        the cheapest on ties.
    prompt : np.ndarray
        ``[k]`` prompt of each move, in path order (falling slope).
    d_cost, d_quality : np.ndarray
        ``[k]`` the move's extra cost (> 0) and extra quality (> 0).
    """

    start_cost: np.ndarray
    start_quality: np.ndarray
    prompt: np.ndarray
    d_cost: np.ndarray
    d_quality: np.ndarray

    @property
    def n_prompts(self) -> int:
        return int(self.start_cost.size)

    def points(
        self, weights: np.ndarray | None = None, *, cost_mode: str = "total"
    ) -> tuple[np.ndarray, np.ndarray]:
        """The path's vertices ``(costs [k+1], qualities [k+1])``, optionally prompt-weighted.

        Parameters
        ----------
        weights
            ``[n]`` prompt weights (e.g. bootstrap counts), or ``[B, n]`` for B
            reweightings at once (then both outputs are ``[B, k+1]``). Default: 1.
        cost_mode
            ``total``: summed cost; ``mean``: cost per prompt. Quality is always
            the (weighted) mean over prompts.
        """
        n = self.n_prompts
        w = np.ones(n) if weights is None else np.asarray(weights, dtype=float)
        two_d = w.ndim == 2
        w2 = np.atleast_2d(w)
        total = w2.sum(axis=1, keepdims=True)
        c0 = w2 @ self.start_cost
        q0 = w2 @ self.start_quality
        wk = w2[:, self.prompt]
        costs = np.concatenate([c0[:, None], c0[:, None] + np.cumsum(wk * self.d_cost, 1)], 1)
        quals = np.concatenate(
            [q0[:, None], q0[:, None] + np.cumsum(wk * self.d_quality, axis=1)], axis=1
        )
        quals = quals / total
        if cost_mode == "mean":
            costs = costs / total
        return (costs, quals) if two_d else (costs[0], quals[0])

    def curve(self, *, cost_mode: str = "total") -> Curve:
        """The NDCH of the path's points (the null router included, as for every system)."""
        c, q = self.points(cost_mode=cost_mode)
        return ndch(c, q)


def oracle_frontier(quality: np.ndarray, cost: np.ndarray) -> OracleFrontier:
    """The Oracle frontier of a test table ``quality, cost [n_prompts, n_models]``.

    Parameters
    ----------
    quality, cost
        The true per-prompt outcomes and prices of every model (no NaN).

    Returns
    -------
    OracleFrontier
        Its NDCH (`OracleFrontier.curve`) is the best curve any router that
        picks one model per prompt can reach, at every budget; its AIQ is the
        denominator of "gap closed". Computed per prompt by a gift-wrapping
        climb along each prompt's upper hull, vectorised over prompts (one
        numpy pass per hull step, and hulls of m models have at most m steps).
    """
    q = np.asarray(quality, dtype=float)
    c = np.asarray(cost, dtype=float)
    if q.ndim != 2 or q.shape != c.shape or q.shape[1] == 0:
        raise ValueError(f"quality and cost must be equal 2-D tables, got {q.shape}, {c.shape}")
    if not (np.isfinite(q).all() and np.isfinite(c).all()):
        raise ValueError("the Oracle frontier needs every cell measured (no NaN or inf)")
    n, m = q.shape
    rows = np.arange(n)
    cheapest = c.min(axis=1, keepdims=True)
    at_min = np.where(c == cheapest, q, -np.inf)
    cur = np.argmax(at_min, axis=1)
    start_c, start_q = c[rows, cur], q[rows, cur]
    moves_p, moves_dc, moves_dq = [], [], []
    active = rows
    for _ in range(m):
        cc, cq = c[active, cur[active]][:, None], q[active, cur[active]][:, None]
        dc = c[active] - cc
        dq = q[active] - cq
        up = (dc > 0) & (dq > 0)
        with np.errstate(divide="ignore", invalid="ignore"):
            slope = np.where(up, dq / np.where(up, dc, 1.0), -np.inf)
        best = slope.max(axis=1)
        # Among models on the steepest ray, go to the farthest: collinear points are not vertices.
        on_ray = up & (slope >= best[:, None] * (1 - 1e-12))
        nxt = np.argmax(np.where(on_ray, dc, -np.inf), axis=1)
        going = np.isfinite(best)
        if not going.any():
            break
        idx = active[going]
        j = nxt[going]
        moves_p.append(idx)
        moves_dc.append(c[idx, j] - c[idx, cur[idx]])
        moves_dq.append(q[idx, j] - q[idx, cur[idx]])
        cur[idx] = j
        active = idx
    if moves_p:
        p = np.concatenate(moves_p)
        dcs = np.concatenate(moves_dc)
        dqs = np.concatenate(moves_dq)
    else:
        p, dcs, dqs = np.empty(0, np.intp), np.empty(0), np.empty(0)
    order = np.argsort(-(dqs / dcs) if dcs.size else dcs, kind="stable")
    return OracleFrontier(start_c, start_q, p[order], dcs[order], dqs[order])
