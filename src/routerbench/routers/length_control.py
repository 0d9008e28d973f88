"""A length-only control: train base rates per dataset plus a cost estimate from prompt length.

It reads nothing of a prompt but its length, so a learned router must beat it to show that it
learned more than "long prompts cost more": the second control beside the no-information one.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pandas as pd

from routerbench.data.benchmark import Benchmark
from routerbench.routers.costs import dataset_rows, group_means
from routerbench.routers.params import Constraints
from routerbench.routers.predictive import LAMBDA_CONSTRAINTS, PredictiveRouter, require_trainable


def prompt_lengths(prompts: pd.DataFrame) -> np.ndarray:
    """``[n]`` prompt length in characters: the only thing the control reads of a prompt."""
    return prompts["prompt"].astype(str).str.len().to_numpy(dtype=float)


class LengthControlRouter(PredictiveRouter):
    """P̂[i, j] = model j's train mean quality in prompt i's dataset; ĉ[i, j] from prompt length.

    The cost estimate is a per-model least-squares line of cost on prompt
    length within each dataset, fitted on train (clipped at the model's
    cheapest train call). At a willingness to pay λ it therefore sends long
    prompts to cheaper models and short ones to dearer ones: everything a
    router can gain from length alone. Compare a learned router's gain over
    the Zero router with this control's.
    """

    name = "length"
    parameter_constraints: ClassVar[Constraints] = LAMBDA_CONSTRAINTS

    def __init__(self, *, lambdas: Any = "exact", max_settings: int = 1000) -> None:
        self.lambdas = lambdas
        self.max_settings = max_settings

    @property
    def label(self) -> str:
        return "length control"

    def fit(self, train: Benchmark) -> LengthControlRouter:
        self._validate_params()
        require_trainable(train, "LengthControlRouter")
        self.datasets_ = tuple(train.datasets)
        labels = train.prompts["dataset"].to_numpy()
        self.quality_table_ = group_means(train.quality, labels, self.datasets_)
        x = prompt_lengths(train.prompts)
        groups = [labels == d for d in self.datasets_] + [np.ones(len(x), dtype=bool)]
        coefs = []
        for rows in groups:  # per dataset, then all of train for datasets never seen
            design = np.column_stack([np.ones(int(rows.sum())), x[rows]])
            y = np.nan_to_num(train.cost[rows], nan=np.nanmean(train.cost, axis=0))
            coefs.append(np.linalg.lstsq(design, y, rcond=None)[0])  # [2, m]
        self.coef_ = np.stack(coefs)  # [groups, 2, m]
        self.floor_ = np.nanmin(train.cost, axis=0)
        self.models_ = train.models
        self._memo = None
        return self

    def _compute_prompts(self, prompts: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        rows = dataset_rows(self.datasets_, prompts["dataset"].to_numpy())
        p = self.quality_table_[rows]
        x = prompt_lengths(prompts)
        coef = self.coef_[rows]  # [n, 2, m]
        c = coef[:, 0, :] + x[:, None] * coef[:, 1, :]
        return p, np.maximum(c, self.floor_[None, :])
