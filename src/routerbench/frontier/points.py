"""Points on the cost-quality plane and the per-prompt outcomes they summarise.

A router decision becomes a point by a gather (`realised`) and a mean (`point_of`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike

from routerbench.errors import DataError

CostMode = Literal["total", "mean"]
COST_MODES: tuple[str, ...] = ("total", "mean")


@dataclass(frozen=True)
class Point:
    """One system setting on the cost-quality plane.

    Parameters
    ----------
    cost : float
        What the setting spends: total over the prompts (the paper's plots) or
        the mean per prompt, whichever the caller chose consistently.
    quality : float
        Mean quality over the prompts.
    label : str
        Human-readable name of the setting (e.g. ``"knn k=5 lambda=0.1"``).
    params : Mapping[str, Any]
        The hyper-parameters that produced the setting, kept so a frontier
        vertex can be traced back to the configuration that reaches it. Not
        part of the hash, so points stay usable as dict keys.
    """

    cost: float
    quality: float
    label: str = ""
    params: Mapping[str, Any] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        # Coerce numpy scalars to float so points compare and print uniformly.
        object.__setattr__(self, "cost", float(self.cost))
        object.__setattr__(self, "quality", float(self.quality))


def _check_table(quality: np.ndarray, cost: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    q = np.asarray(quality, dtype=float)
    c = np.asarray(cost, dtype=float)
    if q.ndim != 2:
        raise ValueError(f"quality must be a 2-D [n_prompts, n_models] array, got shape {q.shape}")
    if c.shape != q.shape:
        raise ValueError(f"cost shape {c.shape} differs from quality shape {q.shape}")
    return q, c


def _first_bad(mask: np.ndarray) -> tuple[int, int]:
    row, col = np.argwhere(mask)[0]
    return int(row), int(col)


def realised(
    quality: np.ndarray,
    cost: np.ndarray,
    choice: np.ndarray,
    called: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Per-prompt realised quality and cost of a routing decision.

    Parameters
    ----------
    quality, cost : np.ndarray
        ``[n, m]`` float tables: what each model scores and costs on each prompt.
    choice : np.ndarray
        ``[n]`` ints, the model whose answer is returned; ``-1`` means no answer
        (quality 0), which is how a null router or an abstaining cascade is written.
    called : np.ndarray, optional
        ``[n, m]`` bools, the models that were called and so paid for. A cascade
        pays for every model it tried, not only the one it answers with, so its
        cost is not a gather. ``None`` means exactly the chosen model (nothing
        for ``-1``).

    Returns
    -------
    (q, c) : tuple of np.ndarray
        ``[n]`` realised quality and cost per prompt.

    Raises
    ------
    ValueError
        On shape mismatch, a choice out of range, a returned answer from a model
        that was not called, or NaN in a cell the decision uses (the message
        names the row index and model column). NaN in unused cells is fine:
        missing outcomes only matter where a decision reads them.
    """
    q, c = _check_table(quality, cost)
    n, m = q.shape
    ch = np.asarray(choice)
    if ch.shape != (n,):
        raise ValueError(f"choice must have shape ({n},), got {ch.shape}")
    if not np.issubdtype(ch.dtype, np.integer) and ch.size:
        integral = np.issubdtype(ch.dtype, np.floating) and bool(np.all(ch == np.round(ch)))
        if not integral:
            raise ValueError(f"choice must hold integer model indices, got dtype {ch.dtype}")
    ch = ch.astype(np.int64, copy=False)
    if ch.size and (ch.min() < -1 or ch.max() >= m):
        bad = int(np.flatnonzero((ch < -1) | (ch >= m))[0])
        raise DataError(f"choice {int(ch[bad])} is outside [-1, {m - 1}]", column="choice", row=bad)
    answered = ch >= 0
    col = np.where(answered, ch, 0)
    rows = np.arange(n)
    q_used = q[rows, col]
    nan_q = answered & np.isnan(q_used)
    if nan_q.any():
        r = int(np.flatnonzero(nan_q)[0])
        raise DataError("NaN quality in a cell the decision returns", column=int(ch[r]), row=r)
    q_out = np.where(answered, q_used, 0.0)

    if called is None:
        c_used = c[rows, col]
        nan_c = answered & np.isnan(c_used)
        if nan_c.any():
            r = int(np.flatnonzero(nan_c)[0])
            raise DataError("NaN cost in a cell the decision pays for", column=int(ch[r]), row=r)
        c_out = np.where(answered, c_used, 0.0)
        return q_out, c_out

    k = np.asarray(called)
    if k.shape != (n, m):
        raise ValueError(f"called must have shape ({n}, {m}), got {k.shape}")
    k = k.astype(bool, copy=False)
    not_called = answered & ~k[rows, col]
    if not_called.any():
        r = int(np.flatnonzero(not_called)[0])
        raise DataError(
            "the returned model was not called (a cascade answers only with a model it paid for)",
            column=int(ch[r]),
            row=r,
        )
    nan_paid = k & np.isnan(c)
    if nan_paid.any():
        r, j = _first_bad(nan_paid)
        raise DataError("NaN cost in a cell the decision pays for", column=j, row=r)
    c_out = np.where(k, c, 0.0).sum(axis=1)
    return q_out, c_out


def point_of(
    quality: np.ndarray,
    cost: np.ndarray,
    choice: np.ndarray,
    called: np.ndarray | None = None,
    *,
    cost_mode: CostMode = "total",
    label: str = "",
    params: Mapping[str, Any] | None = None,
) -> Point:
    """The point a routing decision lands on: mean quality and total (or mean) cost.

    Parameters
    ----------
    quality, cost, choice, called
        As in `realised`.
    cost_mode : {"total", "mean"}
        ``"total"`` sums cost over prompts, as the RouterBench paper plots it;
        ``"mean"`` gives cost per prompt, which stays comparable across subsets
        of different sizes. Pick one per comparison: AIQ is not unit-free.
    label, params
        Copied onto the `Point`.
    """
    if cost_mode not in COST_MODES:
        raise ValueError(f"cost_mode must be one of {COST_MODES}, got {cost_mode!r}")
    q, c = realised(quality, cost, choice, called)
    if q.size == 0:
        raise ValueError("cannot summarise a decision over zero prompts")
    total = float(c.sum())
    return Point(
        cost=total if cost_mode == "total" else total / q.size,
        quality=float(q.mean()),
        label=label,
        params=dict(params or {}),
    )


def xy(system: Any) -> tuple[np.ndarray, np.ndarray]:
    """Costs and qualities of a system given in any of the accepted forms.

    Accepted: a `Point`; an iterable of `Point`; a pair ``(costs, qualities)``
    of array-likes; an ``[k, 2]`` array of ``(cost, quality)`` rows; anything
    with ``costs``/``qualities`` attributes (a `Curve`) or a ``curve``
    attribute (a `ZeroRouter`). One coercion keeps every public function
    honest about what it was given.
    """
    if hasattr(system, "curve") and hasattr(system.curve, "costs"):
        system = system.curve
    if hasattr(system, "costs") and hasattr(system, "qualities"):
        return np.asarray(system.costs, dtype=float), np.asarray(system.qualities, dtype=float)
    if isinstance(system, Point):
        return np.array([system.cost]), np.array([system.quality])
    if isinstance(system, np.ndarray):
        if system.ndim == 2 and system.shape[1] == 2:
            return system[:, 0].astype(float), system[:, 1].astype(float)
        raise ValueError(f"an array system must have shape [k, 2], got {system.shape}")
    items = list(system)
    if items and all(isinstance(p, Point) for p in items):
        return (
            np.array([p.cost for p in items], dtype=float),
            np.array([p.quality for p in items], dtype=float),
        )
    if len(items) == 2 and not any(isinstance(p, Point) for p in items):
        costs = np.atleast_1d(np.asarray(items[0], dtype=float))
        quals = np.atleast_1d(np.asarray(items[1], dtype=float))
        if costs.ndim != 1 or costs.shape != quals.shape:
            raise ValueError(
                f"(costs, qualities) must be two 1-D arrays of equal length, "
                f"got shapes {costs.shape} and {quals.shape}"
            )
        return costs, quals
    raise ValueError(
        "a system must be a Curve, Point(s), (costs, qualities), or a [k, 2] array; "
        f"got {type(system).__name__}"
    )


def as_points(costs: ArrayLike, qualities: ArrayLike, labels: Any = None) -> list[Point]:
    """Zip cost and quality arrays into `Point` objects (labels optional)."""
    c = np.asarray(costs, dtype=float).ravel()
    q = np.asarray(qualities, dtype=float).ravel()
    if c.shape != q.shape:
        raise ValueError(f"costs {c.shape} and qualities {q.shape} differ in length")
    names = [""] * c.size if labels is None else [str(s) for s in labels]
    if len(names) != c.size:
        raise ValueError(f"{len(names)} labels for {c.size} points")
    return [Point(ci, qi, li) for ci, qi, li in zip(c, q, names, strict=True)]
