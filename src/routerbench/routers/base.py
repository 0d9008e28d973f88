"""The router contract: fit on a training Benchmark, turn a test Benchmark into Decisions.

Routers follow scikit-learn's habits so they compose and are easy to check: the
constructor only stores parameters, `fit` returns self, learned state ends in `_`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from routerbench.data.benchmark import Benchmark
from routerbench.decision import Decision
from routerbench.errors import NotFittedError
from routerbench.routers.params import (
    Params,
    RouterTags,
    changed_params,
    short_value,
    validate_params,
)


class Router(Params, ABC):
    """Base class of every router.

    Subclasses implement `fit` and `route`, and list the knob settings worth
    sweeping in `settings` (e.g. willingness-to-pay values, cascade thresholds).
    `sweep` turns a test benchmark into one Decision per setting; predictive
    routers override it to compute their estimates once, not once per setting.

    Parameters follow scikit-learn (`Params`): the constructor names and stores
    them, `get_params(deep=True)` / `set_params` reach parts as ``part__param``,
    `parameter_constraints` declares the allowed values (checked by `fit` via
    `_validate_params` and by the config planner; `validate_combination` what
    only values together can break), and `__router_tags__`
    declares what the router reads (`RouterTags`).
    """

    #: Short family name used in reports ("knn", "cascade", ...).
    name: str = "router"
    #: Parameters a report label never shows (runtime plumbing, not a setting).
    label_skips: tuple[str, ...] = ("cache", "embedder", "text", "max_settings", "lambdas")

    @property
    def label(self) -> str:
        """Report label naming the setting: the family, plus parameters off their defaults."""
        try:
            changed = changed_params(self, self.label_skips)
        except Exception:
            return self.name
        if not changed:
            return self.name
        return f"{self.name}({', '.join(f'{k}={short_value(v)}' for k, v in changed.items())})"

    def __router_tags__(self) -> RouterTags:
        """What this router reads and sweeps; subclasses `dataclasses.replace` what differs."""
        return RouterTags()

    def _validate_params(self) -> None:
        """Refuse a parameter outside its declared constraints (one ConfigError line)."""
        validate_params(self)

    def validate_combination(self) -> None:
        """Refuse values each allowed alone but not together (one ConfigError line).

        `parameter_constraints` checks one parameter at a time; a router whose
        parameters constrain each other says so here, so that the config planner
        (which calls this for every grid combination) refuses the combination
        before any work, not a worker at fit time. Nothing by default.
        """

    @abstractmethod
    def fit(self, train: Benchmark) -> Router:
        """Learn from a training benchmark; return self."""

    @abstractmethod
    def route(self, test: Benchmark, **setting: Any) -> Decision:
        """Route every prompt of `test` under one knob setting."""

    def settings(self, test: Benchmark | None = None) -> Sequence[Mapping[str, Any]]:
        """Knob settings to sweep; a router with no knobs has one empty setting."""
        return [{}]

    def sweep(self, test: Benchmark) -> Iterator[Decision]:
        """One Decision per setting of `settings(test)`."""
        for setting in self.settings(test):
            yield self.route(test, **setting)

    def rank_prompts(
        self,
        texts: Sequence[str],
        willingness_to_pay: float,
        *,
        tasks: Sequence[str] | None = None,
        datasets: Sequence[str] | None = None,
    ) -> Any:
        """Rank models per prompt from text alone: only predictive routers can.

        Raises
        ------
        NotPredictiveError
            Always, here: this router decides from something other than
            per-prompt estimates (a fixed model, a budget mix, the test outcomes).
        """
        from routerbench.routers.ranking import NotPredictiveError

        raise NotPredictiveError(
            f"{type(self).__name__} ({self.name!r}) is not a predictive router: it has no "
            "per-prompt quality and cost estimates, so it cannot rank prompts from their text"
        )

    def _check_fitted(self) -> None:
        fitted = [k for k in vars(self) if k.endswith("_") and not k.startswith("__")]
        if not fitted:
            raise NotFittedError(f"{type(self).__name__} is not fitted; call fit(train) first")

    def _check_models(self, test: Benchmark) -> None:
        """Refuse a test benchmark whose models differ from the training ones."""
        trained = getattr(self, "models_", None)
        if trained is not None and tuple(trained) != tuple(test.models):
            raise ValueError(
                f"{type(self).__name__} was fitted on models {list(trained)} "
                f"but the test benchmark has {list(test.models)}"
            )


def clone(router: Any) -> Any:
    """A fresh, unfitted copy with the same parameters, parts cloned recursively.

    scikit-learn's `clone`: parameters that are objects with `get_params` are
    cloned, others deep-copied, and the constructor must store every parameter
    unchanged (it raises ``RuntimeError`` naming the parameter otherwise).
    """
    from sklearn.base import clone as sklearn_clone

    return sklearn_clone(router)
