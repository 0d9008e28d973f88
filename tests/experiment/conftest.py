"""Helpers for the experiment tests: a small two-dataset benchmark and a router that reports
what it was trained on (importable by worker processes as ``tests.experiment.conftest:SpyRouter``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import pytest

from routerbench.data.benchmark import Benchmark
from routerbench.decision import Decision
from routerbench.routers.base import Router

SPY = "tests.experiment.conftest:SpyRouter"


def two_dataset_bench(n: int = 120, m: int = 4, seed: int = 0) -> Benchmark:
    """Binary quality, positive costs spanning two orders of magnitude, datasets mmlu and gsm8k."""
    rng = np.random.default_rng(seed)
    ds = np.where(np.arange(n) % 3 == 0, "gsm8k", "mmlu")
    prompts = pd.DataFrame(
        {
            "sample_id": [f"p{i}" for i in range(n)],
            "task": ds,
            "prompt": [f"{d} question {i} about topic {i % 7}" for i, d in enumerate(ds)],
        }
    )
    quality = (rng.random((n, m)) < np.linspace(0.3, 0.9, m)).astype(float)
    cost = rng.uniform(0.5, 1.5, (n, m)) * np.geomspace(1e-4, 1e-2, m)
    return Benchmark(prompts, tuple(f"model-{j}" for j in range(m)), quality, cost, source="t")


class SpyRouter(Router):
    """Sends a seeded random share of prompts to the dearest model, the rest to the cheapest.

    Its decisions record which datasets and how many prompts it was trained on,
    so tests can check what each protocol trained on from the results table.
    """

    name = "spy"

    def __init__(
        self,
        shares: Sequence[float] = (0.0, 0.5, 1.0),
        bias: float = 0.0,
        seed: int = 0,
        cheat: bool = False,
        fail_on: str | None = None,
    ) -> None:
        self.shares = shares
        self.bias = bias
        self.seed = seed
        self.cheat = cheat
        self.fail_on = fail_on

    def fit(self, train: Benchmark) -> SpyRouter:
        if self.fail_on in train.datasets:
            raise RuntimeError(f"spy refuses to train on {self.fail_on}")
        self.models_ = train.models
        self.mean_cost_ = train.cost.mean(axis=0)
        self.trained_on_ = "+".join(sorted(train.datasets))
        self.n_train_ = train.n_prompts
        return self

    def route(self, test: Benchmark, share: float = 0.5) -> Decision:
        self._check_fitted()
        rng = np.random.default_rng(self.seed)
        cheap, dear = int(np.argmin(self.mean_cost_)), int(np.argmax(self.mean_cost_))
        pick = rng.random(test.n_prompts) < min(1.0, share + self.bias)
        choice = np.where(pick, dear, cheap)
        if self.cheat:  # peeks at the test outcomes: the Oracle, for tests that need a winner
            from routerbench.frontier import oracle_choice

            choice = oracle_choice(test.quality, test.cost)
        params = {"share": share, "trained_on": self.trained_on_, "n_train": self.n_train_}
        return Decision(choice, label=self.name, params=params)

    def settings(self, test: Benchmark | None = None) -> list[Mapping[str, Any]]:
        return [{"share": float(s)} for s in self.shares]


@pytest.fixture
def bench() -> Benchmark:
    return two_dataset_bench()


class NeedyRouter(SpyRouter):
    """A plug-in whose constructor has a required parameter (validated, never run here)."""

    def __init__(self, level: float, seed: int = 0) -> None:
        super().__init__(seed=seed)
        if level < 0:
            raise ValueError(f"level must be >= 0, got {level}")
        self.level = level


PICKY = "tests.experiment.conftest:PickyRouter"


class PickyRouter(SpyRouter):
    """Refuses, as a user's input error (`DataError`), a training set under `min_train` prompts."""

    name = "picky"

    def __init__(self, min_train: int = 50, seed: int = 0) -> None:
        super().__init__(seed=seed)
        self.min_train = min_train

    def fit(self, train: Benchmark) -> PickyRouter:
        from routerbench.errors import DataError

        if train.n_prompts < self.min_train:
            raise DataError(
                f"needs at least {self.min_train} training prompts, got {train.n_prompts}"
            )
        return super().fit(train)
