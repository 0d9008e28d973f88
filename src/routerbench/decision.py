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
    """

    choice: np.ndarray
    called: np.ndarray | None = None
    label: str = ""
    params: Mapping[str, Any] = field(default_factory=dict)

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
        """Per-prompt (quality, cost) read from the benchmark."""
        from routerbench.frontier import realised

        self.check_against(bench)
        return realised(bench.quality, bench.cost, self.choice, self.called)

    def point(self, bench: Benchmark, *, cost_mode: Literal["total", "mean"] = "total") -> Point:
        """This decision as one point of the cost–quality plane."""
        from routerbench.frontier import point_of

        self.check_against(bench)
        return point_of(
            bench.quality,
            bench.cost,
            self.choice,
            self.called,
            cost_mode=cost_mode,
            label=self.label,
            params=dict(self.params),
        )

    def model_counts(self, bench: Benchmark) -> dict[str, int]:
        """How often each model was chosen (and how often no model answered)."""
        counts = np.bincount(self.choice + 1, minlength=bench.n_models + 1)
        out = {m: int(c) for m, c in zip(bench.models, counts[1:])}
        if counts[0]:
            out["<no answer>"] = int(counts[0])
        return out
