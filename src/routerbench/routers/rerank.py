"""Overgenerate-and-rerank: call every model, return the answer a noisy reward model likes best.

The upper bound of non-predictive routing at the price of all models: with a perfect
reward model it reaches the Oracle's quality, paying every model on every prompt.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from routerbench.data.benchmark import Benchmark
from routerbench.decision import Decision
from routerbench.errors import ConfigError, DataError
from routerbench.routers.base import Router
from routerbench.routers.cascade import (
    PAPER_ERROR_RATES,
    ExpectedCost,
    check_rate,
    require_measured,
)
from routerbench.routers.params import RouterTags


def _check_sd(value: float) -> float:
    value = float(value)
    if not (value >= 0 and np.isfinite(value)):
        raise ConfigError(f"noise_sd must be finite and >= 0, got {value}")
    return value


class RerankRouter(Router):
    """Call all models and keep the answer with the highest simulated reward.

    The reward of model j on prompt i is its true quality plus Gaussian noise
    ``noise_sd · z[i, j]``; the best reward wins, ties going to the model with
    the lower expected (train mean) cost, then the lower index. With
    probability ε (`error_rate`) the reward model fails outright and a model
    drawn uniformly from all of them is returned instead. Every model is paid
    for (``called`` is all True), so cost never depends on the setting.

    Parameters
    ----------
    error_rates
        Error rates ε swept by `settings` (the cascade's judge grid by default).
    noise_sd
        Standard deviation σ of the reward's Gaussian noise (quality units).
    per_dataset
        Break ties by per-dataset train mean cost (else the overall mean).
    seed
        Seed of the noise. Draws, in this order from ``np.random.default_rng(seed)``:
        ``z = standard_normal((n, m))``, ``u = random(n)``, ``r = integers(0, m, n)``;
        prompt i fails iff ``u[i] < ε`` and then returns model ``r[i]``. Every
        setting reuses them, so a larger ε fails on a superset of prompts.
    """

    name = "rerank"

    def __router_tags__(self) -> RouterTags:
        # The reward is the test quality plus noise, drawn by row.
        return RouterTags(
            reads_test_outcomes=True, depends_on_test_set=True, sweep_knob="error_rate"
        )

    def __init__(
        self,
        error_rates: Sequence[float] = PAPER_ERROR_RATES,
        noise_sd: float = 0.0,
        per_dataset: bool = True,
        seed: int = 0,
    ) -> None:
        self.error_rates = error_rates
        self.noise_sd = noise_sd
        self.per_dataset = per_dataset
        self.seed = seed

    def fit(self, train: Benchmark) -> RerankRouter:
        """Learn only the train mean costs used to break reward ties toward the cheaper model."""
        for e in self.error_rates:
            check_rate(e, "error_rates")
        _check_sd(self.noise_sd)
        require_measured(train, "overgenerate-and-rerank")
        if train.n_prompts == 0:
            raise DataError("cannot fit rerank on an empty benchmark", source=train.source)
        self.models_ = tuple(train.models)
        self.expected_cost_ = ExpectedCost.fit(train, per_dataset=self.per_dataset)
        return self

    def route(
        self, test: Benchmark, error_rate: float = 0.0, noise_sd: float | None = None
    ) -> Decision:
        """Pick one model per prompt by the noisy reward; all models are called.

        Parameters
        ----------
        test
            Prompts to route; its quality is read only to simulate the reward model.
        error_rate
            Probability ε that a uniformly random model is returned instead.
        noise_sd
            Override the constructor's σ for this call.
        """
        self._check_fitted()
        self._check_models(test)
        require_measured(test, "overgenerate-and-rerank")
        eps = check_rate(error_rate, "error_rate")
        sd = _check_sd(self.noise_sd if noise_sd is None else noise_sd)
        n, m = test.shape
        rng = np.random.default_rng(self.seed)
        z = rng.standard_normal((n, m))
        u = rng.random(n)
        r = rng.integers(0, m, n) if m else np.zeros(n, dtype=np.intp)
        reward = test.quality + sd * z if sd > 0 else test.quality
        exp_cost = self.expected_cost_.table[self.expected_cost_.rows_of(test)]
        top = reward == reward.max(axis=1, keepdims=True)
        best = np.argmin(np.where(top, exp_cost, np.inf), axis=1)  # first index on cost ties
        choice = np.where(u < eps, r, best).astype(np.intp)
        called = np.ones((n, m), dtype=bool)
        params: dict[str, Any] = {"error_rate": eps, "noise_sd": sd, "seed": self.seed}
        return Decision(choice, called, label=self.name, params=params)

    def settings(self, test: Benchmark | None = None) -> list[Mapping[str, Any]]:
        """One setting per error rate ε."""
        return [{"error_rate": float(e)} for e in self.error_rates]
