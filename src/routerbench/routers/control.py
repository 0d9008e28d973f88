"""A no-information control: willingness-to-pay routing on train base rates plus seeded noise.

It knows nothing about any prompt, so whatever AIQ it gains over the Zero router
is what the evaluation itself hands out: read it as the noise floor of a comparison.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pandas as pd

from routerbench.data.benchmark import Benchmark
from routerbench.routers.costs import CostModel, dataset_rows, group_means
from routerbench.routers.params import Constraints, Interval
from routerbench.routers.predictive import LAMBDA_CONSTRAINTS, PredictiveRouter, require_trainable

_MASK64 = np.uint64(0xFFFFFFFFFFFFFFFF)


def _splitmix(x: np.ndarray) -> np.ndarray:
    """SplitMix64 finaliser: a well-mixed 64-bit hash of each input word (vectorised)."""
    with np.errstate(over="ignore"):
        z = (x + np.uint64(0x9E3779B97F4A7C15)) & _MASK64
        z = ((z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)) & _MASK64
        z = ((z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)) & _MASK64
        return z ^ (z >> np.uint64(31))


def prompt_noise(keys: pd.Series, n_models: int, seed: int) -> np.ndarray:
    """Standard normal noise ``[n, m]`` that depends only on (key, model, seed).

    Keyed on the prompt (its text), not its row, so a prompt gets the same noise
    in any subset or order of a benchmark (the contract's subset check relies on
    it) and when a server ranks it from its text alone.
    """
    ids = pd.util.hash_pandas_object(pd.Series(keys, dtype=object), index=False)
    h = ids.to_numpy(dtype=np.uint64)[:, None]
    cols = np.arange(2 * n_models, dtype=np.uint64)[None, :]
    salt = _splitmix(np.array([seed], dtype=np.uint64))
    bits = _splitmix(h ^ _splitmix(cols + salt))
    u = ((bits >> np.uint64(11)).astype(np.float64) + 0.5) / float(2**53)
    u1, u2 = u[:, :n_models], u[:, n_models:]
    return np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)  # Box-Muller


class PriorRouter(PredictiveRouter):
    """P̂[i, j] = model j's train mean quality in prompt i's dataset, plus N(0, noise²) per cell.

    With ``noise=0`` every prompt of a dataset gets the same estimates, so the
    willingness-to-pay path moves whole datasets between models: a train-fitted
    Zero router. With ``noise>0`` it splits prompts at random, exactly like a
    predictive router whose scores carry no information, and so shows how much
    AIQ an NDCH over hundreds of settings picks up from sampling noise alone.
    Compare any router's gain over the Zero router with this control's.
    """

    name = "prior"
    parameter_constraints: ClassVar[Constraints] = {
        **LAMBDA_CONSTRAINTS,
        "noise": [Interval("real", 0.0)],
        "seed": [Interval("int", 0)],
    }

    def __init__(
        self,
        noise: float = 0.02,
        seed: int = 0,
        *,
        lambdas: Any = "exact",
        max_settings: int = 1000,
    ) -> None:
        self.noise = noise
        self.seed = seed
        self.lambdas = lambdas
        self.max_settings = max_settings

    @property
    def label(self) -> str:
        return f"prior(noise={self.noise})"

    def fit(self, train: Benchmark) -> PriorRouter:
        self._validate_params()
        require_trainable(train, "PriorRouter")
        self.datasets_ = tuple(train.datasets)
        labels = train.prompts["dataset"].to_numpy()
        self.quality_table_ = group_means(train.quality, labels, self.datasets_)
        self.cost_model_ = CostModel("mean").fit(train)
        self.models_ = train.models
        self._memo = None
        return self

    def _compute_prompts(self, prompts: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        rows = dataset_rows(self.datasets_, prompts["dataset"].to_numpy())
        p = self.quality_table_[rows]
        if self.noise > 0:
            m = self.quality_table_.shape[1]
            p = p + self.noise * prompt_noise(prompts["prompt"].astype(str), m, self.seed)
        return p, self.cost_model_.predict(prompts)
