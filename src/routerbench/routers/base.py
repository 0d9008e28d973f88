"""The router contract: fit on a training Benchmark, turn a test Benchmark into Decisions.

Routers follow scikit-learn's habits so they compose and are easy to check: the
constructor only stores parameters, `fit` returns self, learned state ends in `_`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from routerbench.data.benchmark import Benchmark
from routerbench.decision import Decision
from routerbench.errors import NotFittedError


class Router(ABC):
    """Base class of every router.

    Subclasses implement `fit` and `route`, and list the knob settings worth
    sweeping in `settings` (e.g. willingness-to-pay values, cascade thresholds).
    `sweep` turns a test benchmark into one Decision per setting; predictive
    routers override it to compute their estimates once, not once per setting.
    """

    #: Short family name used in reports ("knn", "cascade", ...).
    name: str = "router"

    def get_params(self) -> dict[str, Any]:
        """Constructor parameters (scikit-learn style), read from attributes of the same name."""
        import inspect

        sig = inspect.signature(type(self).__init__)
        return {
            p: getattr(self, p)
            for p in sig.parameters
            if p != "self"
            and sig.parameters[p].kind
            not in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
        }

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


class PredictiveRouter(Router):
    """A router that estimates quality (and cost) per prompt and model, then decides.

    `predict_quality` returns P̂ ``[n_prompts, n_models]``; `predict_cost` returns
    ĉ of the same shape. Exposing scores, not only the argmax, lets cascades,
    fallbacks, explanations and the HTTP server reuse them.
    """

    @abstractmethod
    def predict_quality(self, test: Benchmark) -> np.ndarray:
        """Estimated quality P̂[i, j] of model j on prompt i."""

    def predict_cost(self, test: Benchmark) -> np.ndarray:
        """Estimated cost ĉ[i, j]; default: the model's mean cost per prompt on train."""
        self._check_fitted()
        mean_cost = np.asarray(self.mean_cost_)
        return np.broadcast_to(mean_cost, (test.n_prompts, len(mean_cost))).copy()

    def rank(self, test: Benchmark, willingness_to_pay: float) -> np.ndarray:
        """Models ordered best first per prompt by λ·P̂ − ĉ, ``[n_prompts, n_models]``.

        Ties go to the cheaper ĉ, then the lower index, as in willingness-to-pay
        routing, so column 0 is always the model `route` picks at that λ.
        """
        from routerbench.routers.wtp import wtp_rank

        return wtp_rank(self.predict_quality(test), self.predict_cost(test), willingness_to_pay)


def clone(router: Router) -> Router:
    """A fresh, unfitted router with the same constructor parameters (scikit-learn's `clone`)."""
    return type(router)(**router.get_params())
