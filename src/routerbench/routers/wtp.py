"""Willingness to pay: route by argmax_j λ·P̂[i, j] − ĉ[i, j], and the exact path over all λ ≥ 0.

The path lists every λ at which some prompt's decision changes, and the realised
(cost, quality) of each decision region, without re-routing once per λ.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from routerbench.errors import DataError

#: The 32 willingness-to-pay values of the original code (withmartian/routerbench,
#: ``utils.py``, ``WILLINGNESS_TO_PAY``), used with its per-token price index.
PAPER_LAMBDAS: tuple[float, ...] = (
    1e-10, 1e-9, 1e-8, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 5e-3, 1e-2, 0.1, 0.5, 1.0, 1.5, 2.0,
    10.0, 50.0, 100.0, 500.0, 1e3, 2e3, 3e3, 4e3, 5e3, 7.5e3, 1e4, 2.5e4, 5e4, 7.5e4, 1e5,
    1e6, 1e9,
)  # fmt: skip


#: Relative gap below which two breakpoints are merged into one.
MERGE_RTOL = 1e-9


def _check_tables(p_hat: np.ndarray, c_hat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    p = np.asarray(p_hat, dtype=float)
    c = np.asarray(c_hat, dtype=float)
    if p.ndim != 2 or p.shape[1] == 0:
        raise ValueError(f"P_hat must be a [n_prompts, n_models] table, got shape {p.shape}")
    if c.shape != p.shape:
        raise ValueError(f"c_hat has shape {c.shape}, expected {p.shape} like P_hat")
    for name, t in (("P_hat", p), ("c_hat", c)):
        bad = ~np.isfinite(t)
        if bad.any():
            i, j = (int(v) for v in np.argwhere(bad)[0])
            raise DataError(f"{name} must be finite, got {t[i, j]!r}", column=f"model {j}", row=i)
    return p, c


def _check_lambda(lam: float) -> float:
    value = float(lam)
    if not np.isfinite(value) or value < 0:
        raise ValueError(f"willingness_to_pay must be finite and >= 0, got {lam!r}")
    return value


def wtp_choice(p_hat: np.ndarray, c_hat: np.ndarray, willingness_to_pay: float) -> np.ndarray:
    """Per prompt, argmax_j λ·P̂[i, j] − ĉ[i, j]; ties go to the cheaper ĉ, then the lower index.

    The tie rule makes the decision at a breakpoint the cheaper of the two
    crossing models, i.e. the one chosen just below it, so decision regions are
    ``[0, b1], (b1, b2], ...`` and `wtp_path` agrees with this function at every λ.

    Returns
    -------
    np.ndarray
        ``[n_prompts]`` model indices (intp).
    """
    p, c = _check_tables(p_hat, c_hat)
    lam = _check_lambda(willingness_to_pay)
    score = lam * p - c
    tied = score == score.max(axis=1, keepdims=True)
    return np.argmin(np.where(tied, c, np.inf), axis=1).astype(np.intp)


def wtp_rank(p_hat: np.ndarray, c_hat: np.ndarray, willingness_to_pay: float) -> np.ndarray:
    """Models best first per prompt by λ·P̂ − ĉ, ties as in `wtp_choice` (column 0 = its choice)."""
    p, c = _check_tables(p_hat, c_hat)
    lam = _check_lambda(willingness_to_pay)
    n, m = p.shape
    score = lam * p - c
    # lexsort sorts by the last key first: score descending, then ĉ, then index.
    order = np.lexsort((np.broadcast_to(np.arange(m), (n, m)), c, -score), axis=1)
    return order.astype(np.intp)


def _start_choice(p: np.ndarray, c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Decision at λ = 0 and just above it (λ → 0+), per prompt.

    At 0 only ĉ counts (cheapest, then lowest index); just above 0 the
    cheapest model with the highest P̂ wins. They differ only when several
    models share the lowest ĉ, which makes 0 itself a breakpoint.
    """
    cheapest = c == c.min(axis=1, keepdims=True)
    at0 = np.argmax(cheapest, axis=1)
    p_cheap = np.where(cheapest, p, -np.inf)
    at0plus = np.argmax(p_cheap == p_cheap.max(axis=1, keepdims=True), axis=1)
    return at0.astype(np.intp), at0plus.astype(np.intp)


def _envelope_events(
    p: np.ndarray, c: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Every change of decision of every prompt as λ grows from 0: (λ, row, from, to), and d(0).

    Walks each prompt's upper envelope of the lines λ ↦ λ·P̂ij − ĉij from the
    line on top just above 0 to ever steeper ones: from line j the next is the
    steeper line whose crossing with j comes first (the steepest of those
    crossing there). At most m − 1 steps, each vectorised over the prompts still
    walking, so the cost is O(n·m²) array work (m ≤ a few dozen in practice).
    """
    n, m = p.shape
    at0, cur = _start_choice(p, c)
    lam_parts, row_parts, src_parts, dst_parts = [], [], [], []
    # λ = 0 is a breakpoint for prompts whose decision at 0 differs from 0+.
    z = np.flatnonzero(at0 != cur)
    if z.size:
        lam_parts.append(np.zeros(z.size))
        row_parts.append(z)
        src_parts.append(at0[z])
        dst_parts.append(cur[z])
    rows = np.arange(n)
    cols = np.arange(m)
    lam_cur = np.zeros(n)
    for _ in range(m - 1):
        pj = p[rows, cur][:, None]
        cj = c[rows, cur][:, None]
        dp = p[rows] - pj
        steeper = dp > 0
        with np.errstate(divide="ignore", invalid="ignore"):
            cross = np.where(steeper, (c[rows] - cj) / dp, np.inf)
        # Rounding can put a crossing a hair below the current λ; it cannot be
        # truly earlier (the current line is on top there), so clamp it.
        cross = np.where(steeper, np.maximum(cross, lam_cur[:, None]), np.inf)
        first = cross.min(axis=1)
        alive = np.isfinite(first)
        if not alive.any():
            break
        rows, cur, cross, first, dp = rows[alive], cur[alive], cross[alive], first[alive], dp[alive]
        # Among lines crossing first, the steepest wins after the crossing (then the
        # lowest index: equal slope and equal crossing means the same line).
        at_first = cross == first[:, None]
        steep = np.where(at_first, dp, -np.inf)
        nxt = np.argmax(steep == steep.max(axis=1, keepdims=True), axis=1)
        lam_parts.append(first)
        row_parts.append(rows)
        src_parts.append(cur)
        dst_parts.append(cols[nxt])
        cur = cols[nxt]
        lam_cur = first
    if not lam_parts:
        empty = np.zeros(0, dtype=np.intp)
        return np.zeros(0), empty, empty, empty, at0
    return (
        np.concatenate(lam_parts),
        np.concatenate(row_parts).astype(np.intp),
        np.concatenate(src_parts).astype(np.intp),
        np.concatenate(dst_parts).astype(np.intp),
        at0,
    )


@dataclass(frozen=True, eq=False)
class WtpPath:
    """The exact willingness-to-pay path of one router on one benchmark.

    Region ``r`` (``0 <= r <= K``) is the set of λ with exactly ``r``
    breakpoints strictly below it: ``[0, b1]``, ``(b1, b2]``, ..., ``(bK, ∞)``.
    Every λ in a region gives the same decision on every prompt.

    Attributes
    ----------
    lambdas : np.ndarray
        ``[K]`` sorted distinct breakpoints ``b1 < ... < bK`` (``b1`` may be 0).
    start : np.ndarray
        ``[n_prompts]`` decision at λ = 0 (region 0).
    event_lambda, event_row, event_from, event_to : np.ndarray
        Every per-prompt change of decision, sorted by λ: at ``event_lambda``,
        prompt ``event_row`` moves from model ``event_from`` to ``event_to``
        (for λ just above it).
    group_end : np.ndarray
        ``[K]``: events ``[group_end[r-1], group_end[r])`` happen at ``lambdas[r]``.
    est_costs : np.ndarray
        ``[K + 1]`` total estimated cost Σ ĉ of each region's decisions, which
        never decreases along the path (a label-free axis for thinning).
    costs, qualities : np.ndarray or None
        ``[K + 1]`` realised total cost and mean quality of each region (None
        when no outcomes were given).
    """

    lambdas: np.ndarray
    start: np.ndarray
    event_lambda: np.ndarray
    event_row: np.ndarray
    event_from: np.ndarray
    event_to: np.ndarray
    group_end: np.ndarray
    est_costs: np.ndarray
    costs: np.ndarray | None = None
    qualities: np.ndarray | None = None

    @property
    def n_regions(self) -> int:
        return int(self.lambdas.size) + 1

    def region_of(self, willingness_to_pay: float) -> int:
        """Index of the region holding λ (number of breakpoints strictly below it)."""
        lam = _check_lambda(willingness_to_pay)
        return int(np.searchsorted(self.lambdas, lam, side="left"))

    def representatives(self) -> np.ndarray:
        """One λ inside each region: 0 or half of b1, midpoints, then 2·bK (1 if bK is 0).

        Midpoints are far from both ends, so `wtp_choice` at them reproduces the
        region's decision despite rounding in the breakpoints.
        """
        b = self.lambdas
        if b.size == 0:
            return np.array([1.0])
        first = 0.0 if b[0] == 0 else b[0] / 2.0
        last = 2.0 * b[-1] if b[-1] > 0 else 1.0
        return np.concatenate(([first], (b[:-1] + b[1:]) / 2.0, [last]))

    def choice(self, region: int) -> np.ndarray:
        """Decisions of one region, replayed from the start: ``[n_prompts]``."""
        r = int(region)
        if not 0 <= r < self.n_regions:
            raise IndexError(f"region {r} out of range [0, {self.n_regions - 1}]")
        out = self.start.copy()
        upto = 0 if r == 0 else int(self.group_end[r - 1])
        # Events of one prompt are in increasing λ, so the last write wins correctly.
        out[self.event_row[:upto]] = self.event_to[:upto]
        return out

    def choices(self, regions: np.ndarray | None = None) -> Iterator[tuple[int, np.ndarray]]:
        """(region, decisions) for the given regions (default all), in increasing order.

        Applies the events once, incrementally: O(n + events) in all, plus a copy
        of the decisions per region yielded.
        """
        wanted = np.arange(self.n_regions) if regions is None else np.unique(regions)
        if wanted.size and (wanted[0] < 0 or wanted[-1] >= self.n_regions):
            raise IndexError(f"regions must lie in [0, {self.n_regions - 1}]")
        cur = self.start.copy()
        applied = 0
        for r in wanted.tolist():
            upto = 0 if r == 0 else int(self.group_end[r - 1])
            cur[self.event_row[applied:upto]] = self.event_to[applied:upto]
            applied = upto
            yield r, cur.copy()

    def thin(self, max_regions: int) -> np.ndarray:
        """At most `max_regions` region indices, evenly spread along the estimated cost.

        Uses only ĉ (never outcomes), so choosing which settings to report does
        not peek at the test labels. Always keeps the first and the last region.
        """
        k = int(max_regions)
        if k < 2:
            raise ValueError(f"max_regions must be >= 2, got {max_regions}")
        if self.n_regions <= k:
            return np.arange(self.n_regions)
        targets = np.linspace(self.est_costs[0], self.est_costs[-1], k)
        picked = np.searchsorted(self.est_costs, targets, side="left")
        picked = np.clip(picked, 0, self.n_regions - 1)
        return np.unique(np.concatenate(([0], picked, [self.n_regions - 1])))


def wtp_path(
    p_hat: np.ndarray,
    c_hat: np.ndarray,
    quality: np.ndarray | None = None,
    cost: np.ndarray | None = None,
) -> WtpPath:
    """The exact path of `wtp_choice` over every λ ≥ 0.

    Parameters
    ----------
    p_hat, c_hat : np.ndarray
        ``[n, m]`` estimated quality and cost the router decides on.
    quality, cost : np.ndarray, optional
        ``[n, m]`` realised outcomes to score each region with (the test table).
        Must be fully measured (apply ``Benchmark.handle_missing`` first).

    Returns
    -------
    WtpPath

    Notes
    -----
    Per prompt the decision is the top of the upper envelope of m lines; it
    changes only where the envelope switches lines, at most m − 1 times.
    Breakpoints within a relative 1e-9 of each other (`MERGE_RTOL`) are merged:
    they differ only by rounding of ``(ĉk − ĉj) / (P̂k − P̂j)``. The
    aggregate path sorts all these events (O(E log E), E ≤ n·(m − 1)) and gets
    every region's total cost and quality by cumulative sums of per-event
    deltas, never by re-routing per λ.
    """
    p, c = _check_tables(p_hat, c_hat)
    lam, row, src, dst, start = _envelope_events(p, c)
    order = np.argsort(lam, kind="stable")
    lam, row, src, dst = lam[order], row[order], src[order], dst[order]
    if lam.size:
        # Breakpoints closer than MERGE_RTOL (relative) are one: they differ by rounding
        # only, and a midpoint between them would not be a reliable λ to route with.
        boundary = np.flatnonzero(np.diff(lam) > MERGE_RTOL * lam[1:])
        group_end = np.concatenate((boundary + 1, [lam.size])).astype(np.intp)
        lambdas = lam[group_end - 1]
    else:
        group_end = np.zeros(0, dtype=np.intp)
        lambdas = np.zeros(0)
    n = p.shape[0]
    rows0 = np.arange(n)

    def along(table: np.ndarray) -> np.ndarray:
        base = table[rows0, start].sum()
        steps = np.cumsum(table[row, dst] - table[row, src])
        return (
            np.concatenate(([base], base + steps[group_end - 1])) if lam.size else np.array([base])
        )

    est = along(c)
    costs = qualities = None
    if quality is not None or cost is not None:
        if quality is None or cost is None:
            raise ValueError("give both quality and cost to score the path, or neither")
        q = np.asarray(quality, dtype=float)
        cc = np.asarray(cost, dtype=float)
        if q.shape != p.shape or cc.shape != p.shape:
            raise ValueError(
                f"quality {q.shape} and cost {cc.shape} must match P_hat's shape {p.shape}"
            )
        for name, t in (("quality", q), ("cost", cc)):
            bad = np.isnan(t)
            if bad.any():
                i, j = (int(v) for v in np.argwhere(bad)[0])
                raise DataError(
                    f"{name} is NaN: a path's points need every cell measured; "
                    "apply Benchmark.handle_missing first",
                    column=f"model {j}",
                    row=i,
                )
        costs = along(cc)
        qualities = along(q) / max(n, 1)
    return WtpPath(lambdas, start, lam, row, src, dst, group_end, est, costs, qualities)
