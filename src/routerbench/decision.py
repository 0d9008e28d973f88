"""A router's decision on a set of prompts: which model answers, which were paid for.

A Decision carries no quality or cost of its own: both are always read from the
Benchmark it is evaluated on, so a router cannot grade its own homework.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

if TYPE_CHECKING:
    from routerbench.data.benchmark import Benchmark
    from routerbench.frontier import Point

#: `choice` value meaning "no model answers" (quality 0; only called models are paid).
NO_ANSWER = -1


@dataclass(frozen=True, eq=False)
class Decision:
    """The outcome of routing one benchmark with one setting of a router's knobs.

    Parameters
    ----------
    choice
        Int array ``[n_prompts]``: index (into the benchmark's models) of the model
        whose answer is returned, or `NO_ANSWER` (-1).
    called
        Optional bool array ``[n_prompts, n_models]`` of models that were called and
        paid for (a cascade calls several). None means exactly the chosen model.
    label, params
        The router's name and the knob setting that produced this decision.
    extra_cost
        Optional float array ``[n_prompts]`` of dollars spent outside the table's
        model calls, e.g. a cascade's judge calls. It is a priced consequence of
        the router's own configuration, never a claim about model outcomes.
    """

    choice: np.ndarray
    called: np.ndarray | None = None
    label: str = ""
    params: Mapping[str, Any] = field(default_factory=dict)
    extra_cost: np.ndarray | None = None

    def __post_init__(self) -> None:
        choice = np.asarray(self.choice)
        if choice.ndim != 1 or not np.issubdtype(choice.dtype, np.integer):
            raise ValueError(
                f"choice must be a 1-d integer array, got {choice.dtype} {choice.shape}"
            )
        object.__setattr__(self, "choice", choice.astype(np.intp, copy=False))
        if self.called is not None:
            called = np.asarray(self.called, dtype=bool)
            if called.ndim != 2 or called.shape[0] != choice.shape[0]:
                raise ValueError(
                    f"called must be [n_prompts, n_models] bool, got shape {called.shape} "
                    f"for {choice.shape[0]} prompts"
                )
            rows = np.flatnonzero(choice >= 0)
            if not called[rows, choice[rows]].all():
                raise ValueError("every chosen model must also be marked as called")
            object.__setattr__(self, "called", called)
        if self.extra_cost is not None:
            extra = np.asarray(self.extra_cost, dtype=np.float64)
            if extra.shape != choice.shape or not np.isfinite(extra).all() or (extra < 0).any():
                raise ValueError("extra_cost must be finite, >= 0 and one value per prompt")
            object.__setattr__(self, "extra_cost", extra)

    def __len__(self) -> int:
        return len(self.choice)

    def check_against(self, bench: Benchmark) -> None:
        """Raise if this decision does not fit the benchmark's shape."""
        n, m = bench.shape
        if len(self.choice) != n:
            raise ValueError(f"decision covers {len(self.choice)} prompts, benchmark has {n}")
        if self.choice.size and (self.choice.max() >= m or self.choice.min() < NO_ANSWER):
            raise ValueError(f"choice holds a model index outside [-1, {m - 1}]")
        if self.called is not None and self.called.shape != (n, m):
            raise ValueError(f"called has shape {self.called.shape}, expected {(n, m)}")

    def realised(self, bench: Benchmark) -> tuple[np.ndarray, np.ndarray]:
        """Per-prompt (quality, cost) read from the benchmark, plus any `extra_cost`."""
        from routerbench.frontier import realised

        self.check_against(bench)
        q, c = realised(bench.quality, bench.cost, self.choice, self.called)
        if self.extra_cost is not None:
            c = c + self.extra_cost
        return q, c

    def point(self, bench: Benchmark, *, cost_mode: Literal["total", "mean"] = "total") -> Point:
        """This decision as one point of the cost–quality plane."""
        from routerbench.frontier import Point

        if cost_mode not in ("total", "mean"):
            raise ValueError(f"cost_mode must be 'total' or 'mean', got {cost_mode!r}")
        q, c = self.realised(bench)
        n = max(len(c), 1)
        cost = float(c.sum()) if cost_mode == "total" else float(c.sum()) / n
        return Point(
            cost=cost, quality=float(q.sum()) / n, label=self.label, params=dict(self.params)
        )

    def model_counts(self, bench: Benchmark) -> dict[str, int]:
        """How often each model was chosen (and how often no model answered)."""
        counts = np.bincount(self.choice + 1, minlength=bench.n_models + 1)
        out = {m: int(c) for m, c in zip(bench.models, counts[1:])}
        if counts[0]:
            out["<no answer>"] = int(counts[0])
        return out
