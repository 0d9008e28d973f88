"""Baseline routers: one model for everything, uniform random, the Zero router and the Oracle.

Every learned router is judged against these: a router that cannot beat the Zero
router has learned nothing about the prompts; none can beat the Oracle.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np

from routerbench.data.benchmark import Benchmark
from routerbench.decision import Decision
from routerbench.errors import ConfigError, DataError
from routerbench.routers.base import Router
from routerbench.routers.params import Constraints, Interval, OneOf, Options, RouterTags


def _require_models(train: Benchmark, who: str) -> None:
    if train.n_models == 0:
        raise DataError(f"{who} needs at least one model", source=train.source or "<train>")


class SingleModelRouter(Router):
    """Send every prompt to one model (by name, or by index into the training models)."""

    name = "single"
    parameter_constraints: ClassVar[Constraints] = {
        "model": [OneOf((str,), "a model name"), Interval("int", 0)]
    }

    def __init__(self, model: str | int = 0) -> None:
        self.model = model

    @property
    def label(self) -> str:
        return f"single:{self.model}"

    def fit(self, train: Benchmark) -> SingleModelRouter:
        self._validate_params()
        _require_models(train, "SingleModelRouter")
        if isinstance(self.model, str):
            if self.model not in train.models:
                raise ConfigError(
                    f"single-model router: unknown model {self.model!r}; "
                    f"known: {', '.join(train.models)}"
                )
            index = train.models.index(self.model)
        else:
            index = int(self.model)
            if not 0 <= index < train.n_models:
                raise ConfigError(
                    f"single-model router: model index {index} outside [0, {train.n_models - 1}]"
                )
        self.index_ = index
        self.models_ = train.models
        return self

    def route(self, test: Benchmark) -> Decision:
        self._check_fitted()
        self._check_models(test)
        return Decision(np.full(test.n_prompts, self.index_, dtype=np.intp), label=self.label)


class RandomRouter(Router):
    """Each prompt to a model drawn uniformly at random (seeded): a no-information control."""

    name = "random"
    parameter_constraints: ClassVar[Constraints] = {"seed": [Interval("int", 0)]}

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed

    def __router_tags__(self) -> RouterTags:
        # Draws by row: a prompt's model depends on its position in the test set.
        return RouterTags(depends_on_test_set=True)

    def fit(self, train: Benchmark) -> RandomRouter:
        self._validate_params()
        _require_models(train, "RandomRouter")
        self.models_ = train.models
        return self

    def route(self, test: Benchmark, seed: int | None = None) -> Decision:
        self._check_fitted()
        self._check_models(test)
        s = self.seed if seed is None else seed
        rng = np.random.default_rng(s)
        choice = rng.integers(0, test.n_models, size=test.n_prompts)
        return Decision(choice, label=self.name, params={"seed": s})


class TrainedZeroRouter(Router):
    """The Zero router fitted on train: random mixtures of adjacent models on the train NDCH.

    Fitted on each model's mean cost per prompt and mean quality on train
    (`routerbench.frontier.zero_router`); a setting is a per-prompt budget in
    dollars, and `settings` lists the budgets of the curve's model vertices.
    At a budget between two vertices it sends a seeded random fraction of
    prompts to the dearer model, so its expected cost and quality lie on the
    train curve's chord. Unlike the Zero curve drawn from test points, it
    cannot know which models are on the test frontier.
    """

    name = "zero"
    parameter_constraints: ClassVar[Constraints] = {"seed": [Interval("int", 0)]}

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed

    def __router_tags__(self) -> RouterTags:
        # The budget mix draws a seeded share of the test prompts: it depends on the set.
        return RouterTags(depends_on_test_set=True, sweep_knob="budget")

    def fit(self, train: Benchmark) -> TrainedZeroRouter:
        from routerbench.frontier import zero_router

        self._validate_params()
        _require_models(train, "TrainedZeroRouter")
        q = np.nanmean(train.quality, axis=0)
        c = np.nanmean(train.cost, axis=0)
        bad = np.flatnonzero(np.isnan(q) | np.isnan(c))
        if bad.size:
            raise DataError(
                "model has no measured train quality or cost",
                source=train.source or "<train>",
                column=train.models[int(bad[0])],
            )
        self.zero_ = zero_router(c, q, train.models, null=True)
        self.models_ = train.models
        return self

    def settings(self, test: Benchmark | None = None) -> Sequence[Mapping[str, Any]]:
        """Budgets (dollars per prompt) at the curve's model vertices, cheapest first."""
        self._check_fitted()
        curve = self.zero_.curve
        keep = curve.index >= 0
        return [{"budget": float(b)} for b in curve.costs[keep]]

    def route(self, test: Benchmark, budget: float | None = None) -> Decision:
        """Mix models to spend `budget` per prompt in expectation (default: the dearest vertex)."""
        self._check_fitted()
        self._check_models(test)
        b = float(self.zero_.curve.costs[-1]) if budget is None else float(budget)
        choice = self.zero_.route(test.n_prompts, b, seed=self.seed)
        return Decision(choice, label=self.name, params={"budget": b})


class OracleRouter(Router):
    """Per prompt the best model in hindsight, the cheapest on ties: reads the test outcomes.

    An upper bound, not a router one could deploy. `no_correct` decides what a
    prompt no model gets right receives (see `routerbench.frontier.oracle_choice`).
    """

    name = "oracle"
    parameter_constraints: ClassVar[Constraints] = {
        "no_correct": [Options(("cheapest", "zero-cost"))]
    }

    def __init__(self, no_correct: str = "cheapest") -> None:
        self.no_correct = no_correct

    def __router_tags__(self) -> RouterTags:
        return RouterTags(reads_test_outcomes=True)

    def fit(self, train: Benchmark) -> OracleRouter:
        self._validate_params()
        self.models_ = train.models
        return self

    def route(self, test: Benchmark) -> Decision:
        from routerbench.frontier import oracle_choice

        self._check_fitted()
        self._check_models(test)
        # -1 (no answer, no cost) only under no_correct="zero-cost".
        choice = oracle_choice(test.quality, test.cost, no_correct=self.no_correct)  # type: ignore[arg-type]
        return Decision(choice, label=self.name, params={"no_correct": self.no_correct})


#: The name this class had before; `routerbench.frontier.ZeroRouter` is the curve it fits.
ZeroRouterBaseline = TrainedZeroRouter
