"""The Zero router: the frontier reachable by mixing single models, with no per-prompt routing.

A router that cannot beat this baseline has learned nothing about the prompts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from routerbench.errors import DataError
from routerbench.frontier.hull import Curve, ndch
from routerbench.frontier.points import COST_MODES, CostMode


@dataclass(frozen=True, eq=False)
class ZeroRouter:
    """Random mixtures of single models along their NDCH.

    RouterBench (arXiv 2403.12031, Sec. 3) defines the Zero router as the NDCH
    of the single models' points: at any budget it sends a fixed fraction of
    prompts, chosen at random, to one of two adjacent hull models. It uses the
    same hull (and null-point rule) as every other system, so routers and the
    Zero router are compared on equal terms.

    Attributes
    ----------
    curve : Curve
        NDCH of the single models' points; ``curve.index`` holds model indices
        (``-1`` for the null router).
    model_costs, model_qualities : np.ndarray
        The points it was built from, in the caller's cost units.
    models : tuple of str
        Model names (``"0"``, ``"1"``, ... when none were given).
    """

    curve: Curve
    model_costs: np.ndarray
    model_qualities: np.ndarray
    models: tuple[str, ...]

    @property
    def window(self) -> tuple[float, float]:
        """Cheapest to dearest single model: a natural fixed AIQ window for a benchmark."""
        return self.curve.span

    def mixture(self, budget: float) -> tuple[int, int, float]:
        """The two models, and the weight of the dearer one, that realise the curve at `budget`.

        Parameters
        ----------
        budget : float
            In the same cost units as the model points (total or per prompt).

        Returns
        -------
        (j_lo, j_hi, w_hi)
            Send a fraction ``w_hi`` of prompts to model ``j_hi`` and the rest to
            ``j_lo``: expected cost ``budget`` (capped at the top model's cost)
            and expected quality ``curve(budget)``. ``-1`` is the null router (no
            answer). At or above the last vertex both are the top model and
            ``w_hi`` is 0: extra budget buys nothing.
        """
        b = float(budget)
        if not np.isfinite(b) or b < 0:
            raise ValueError(f"budget must be finite and >= 0, got {budget}")
        k, idx = self.curve.costs, self.curve.index
        if b >= k[-1]:
            return int(idx[-1]), int(idx[-1]), 0.0
        if b < k[0]:  # only when the null point is not on the curve (null=False)
            return -1, int(idx[0]), b / float(k[0])
        s = int(np.searchsorted(k, b, side="right")) - 1
        w = (b - k[s]) / (k[s + 1] - k[s])
        return int(idx[s]), int(idx[s + 1]), float(w)

    def route(self, n_prompts: int, budget: float, seed: int | None = 0) -> np.ndarray:
        """A seeded ``[n_prompts]`` choice array realising `mixture` at `budget`.

        The number of prompts sent to the dearer model is ``w_hi * n`` rounded
        up or down at random with the right odds (so it is exact in
        expectation and off by less than one prompt), and which prompts get it
        is a seeded random subset.
        """
        n = int(n_prompts)
        if n < 0:
            raise ValueError(f"n_prompts must be >= 0, got {n_prompts}")
        j_lo, j_hi, w = self.mixture(budget)
        rng = np.random.default_rng(seed)
        whole = int(np.floor(w * n))
        k = whole + int(rng.random() < (w * n - whole))
        choice = np.full(n, j_lo, dtype=np.int64)
        choice[rng.permutation(n)[:k]] = j_hi
        return choice

    @classmethod
    def from_table(
        cls,
        quality: np.ndarray,
        cost: np.ndarray,
        models: Sequence[str] | None = None,
        *,
        cost_mode: CostMode = "total",
        null: bool = True,
    ) -> ZeroRouter:
        """Build from a ``[n_prompts, n_models]`` table: each model's mean quality and
        total (or mean) cost. NaN cells raise: a model's point needs every prompt."""
        if cost_mode not in COST_MODES:
            raise ValueError(f"cost_mode must be one of {COST_MODES}, got {cost_mode!r}")
        q = np.asarray(quality, dtype=float)
        c = np.asarray(cost, dtype=float)
        if q.ndim != 2 or q.shape != c.shape or q.shape[0] == 0:
            raise ValueError(f"quality and cost must be equal non-empty 2-D tables, got {q.shape}")
        for name, t in (("quality", q), ("cost", c)):
            bad = np.isnan(t)
            if bad.any():
                r, j = (int(v) for v in np.argwhere(bad)[0])
                msg = f"NaN {name}: a single-model point needs every prompt"
                raise DataError(msg, column=j, row=r)
        costs = c.sum(axis=0) if cost_mode == "total" else c.mean(axis=0)
        return zero_router(costs, q.mean(axis=0), models, null=null)


def zero_router(
    model_costs: ArrayLike,
    model_qualities: ArrayLike,
    models: Sequence[str] | None = None,
    *,
    null: bool = True,
) -> ZeroRouter:
    """The Zero router of a set of single models given as points.

    Parameters
    ----------
    model_costs, model_qualities : array-like
        One point per model, in whatever cost units the comparison uses.
    models : sequence of str, optional
        Model names, for reports.
    null : bool
        Include the null router as a mixable point (see `ndch`).
    """
    c = np.array(model_costs, dtype=float, ndmin=1)
    q = np.array(model_qualities, dtype=float, ndmin=1)
    names = tuple(str(i) for i in range(c.size)) if models is None else tuple(map(str, models))
    if len(names) != c.size:
        raise ValueError(f"{len(names)} model names for {c.size} models")
    curve = ndch(c, q, null=null)
    c.setflags(write=False)
    q.setflags(write=False)
    return ZeroRouter(curve=curve, model_costs=c, model_qualities=q, models=names)
