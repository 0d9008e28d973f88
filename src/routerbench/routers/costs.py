"""Cost estimates ĉ[i, j] a router may use before calling a model: never the test prompt's bill.

Three estimators: the train mean per dataset (default), a per-prompt regressor
(CARROT-style), and the paper's per-token price index (legacy, for reproduction).
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from routerbench.data.benchmark import Benchmark
from routerbench.data.datasets import PAPER_TOKEN_PRICES
from routerbench.errors import ConfigError, DataError
from routerbench.routers.features import (
    Prompts,
    prompt_char_lengths,
    prompt_datasets,
    prompts_of,
)
from routerbench.routers.params import Constraints, Interval, Options, Params

COST_KINDS: tuple[str, ...] = ("mean", "regress", "legacy")


def legacy_price_index(models: tuple[str, ...] | list[str]) -> np.ndarray:
    """The original code's ĉ_j: prompt + completion price of one token, in dollars.

    The paper's routers subtract ``completion + request / mean_response_tokens +
    prompt`` per-token prices from λ·P̂; the request fee is 0 for all 11 models,
    so the index is a constant per model. It is a price per token, not per
    prompt, which is why the paper's λ values span 1e-10 to 1e9.
    """
    missing = [m for m in models if m not in PAPER_TOKEN_PRICES]
    if missing:
        raise ConfigError(
            f"cost='legacy' knows the per-token prices of the 11 RouterBench models only; "
            f"no price for {missing[0]!r}. Use cost='mean' or 'regress' for other models"
        )
    return np.array([sum(PAPER_TOKEN_PRICES[m]) / 1e6 for m in models])


def group_means(values: np.ndarray, labels: np.ndarray, names: tuple[str, ...]) -> np.ndarray:
    """``[len(names) + 1, m]`` NaN-aware column means per label, the overall mean last.

    A model never measured within a dataset gets its overall mean there.
    """
    overall = np.nanmean(values, axis=0)
    rows = []
    for g in names:  # one row per dataset
        block = values[labels == g]
        seen = (~np.isnan(block)).any(axis=0)
        sums = np.nansum(block, axis=0)
        counts = np.maximum((~np.isnan(block)).sum(axis=0), 1)
        rows.append(np.where(seen, sums / counts, overall))
    rows.append(overall)
    return np.vstack(rows)


def dataset_rows(names: tuple[str, ...], labels: np.ndarray) -> np.ndarray:
    """Row of a `group_means` table for each label: its dataset's row, else the overall row.

    Vectorised over prompts: each distinct label is looked up once.
    """
    lookup = {d: k for k, d in enumerate(names)}
    labels = np.asarray(labels)
    if not len(labels):
        return np.zeros(0, dtype=np.intp)
    uniques, inverse = np.unique(labels.astype(str), return_inverse=True)
    codes = np.array([lookup.get(u, len(names)) for u in uniques], dtype=np.intp)
    return codes[inverse]


class CostModel(Params):
    """Fitted estimator of ĉ[i, j] (dollars per call) for the prompts of a benchmark.

    Parameters
    ----------
    kind
        ``"mean"``: each model's mean train cost per prompt within the prompt's
        dataset (overall mean for datasets train never saw). ``"regress"``: a
        per-model ridge regression of log cost on prompt features and log
        prompt length, smeared back to dollars (CARROT, arXiv 2502.03261, also
        predicts each model's cost per query); input tokens are known before a
        call, output length is what it learns. ``"legacy"``: the paper's
        per-token price index (same for every prompt).
    alpha
        Ridge penalty of ``"regress"``.
    """

    parameter_constraints: ClassVar[Constraints] = {
        "kind": [Options(COST_KINDS)],
        "alpha": [Interval("real", 0.0)],
    }

    def __init__(self, kind: str = "mean", *, alpha: float = 1.0) -> None:
        self.kind = kind
        self.alpha = alpha

    def fit(self, train: Benchmark, features: np.ndarray | None = None) -> CostModel:
        """Learn from train costs (and `features` ``[n, d]`` for ``"regress"``)."""
        if self.kind not in COST_KINDS:
            raise ConfigError(f"cost must be one of {COST_KINDS}, got {self.kind!r}")
        c = train.cost
        measured = ~np.isnan(c)
        empty = ~measured.any(axis=0)
        if empty.any():
            j = int(np.flatnonzero(empty)[0])
            raise DataError(
                "no measured train cost for this model; cannot estimate its cost",
                source=train.source or "<train>",
                column=train.models[j],
            )
        self.models_ = train.models
        self.datasets_ = tuple(train.datasets)
        self.table_ = group_means(c, train.prompts["dataset"].to_numpy(), self.datasets_)
        if self.kind == "legacy":
            self.index_ = legacy_price_index(train.models)
        elif self.kind == "regress":
            self._fit_regression(train, features)
        return self

    def _design(self, bench: Prompts, features: np.ndarray | None) -> np.ndarray:
        if features is None:
            raise ValueError("cost='regress' needs prompt features")
        length = np.log1p(prompt_char_lengths(bench))[:, None]
        base = self._dataset_rows(bench)
        # Dataset means in log space carry most of the signal; features refine it.
        log_mean = np.log(np.maximum(self.table_[base], 1e-12))
        return np.hstack([features, length, log_mean])

    def _fit_regression(self, train: Benchmark, features: np.ndarray | None) -> None:
        from sklearn.linear_model import Ridge

        x = self._design(train, features)
        c = train.cost
        floor = np.nanmin(np.where(c > 0, c, np.nan)) if np.any(c > 0) else 1e-12
        log_c = np.log(np.maximum(c, floor))
        self.floor_ = float(floor)
        self.regs_ = []
        smear = []
        for j in range(c.shape[1]):  # one small ridge per model
            ok = ~np.isnan(c[:, j])
            reg = Ridge(alpha=float(self.alpha)).fit(x[ok], log_c[ok, j])
            resid = log_c[ok, j] - reg.predict(x[ok])
            self.regs_.append(reg)
            # Duan's smearing: E[exp(resid)] turns a log-scale fit back into a mean.
            smear.append(float(np.mean(np.exp(resid))))
        self.smear_ = np.array(smear)

    def _dataset_rows(self, bench: Prompts) -> np.ndarray:
        return dataset_rows(self.datasets_, prompt_datasets(bench))

    def predict(self, bench: Prompts, features: np.ndarray | None = None) -> np.ndarray:
        """ĉ ``[n_prompts, n_models]`` in dollars per call (legacy: dollars per token).

        Reads only the prompts table (text and dataset), so a Benchmark and the
        prompts a server receives get the same estimates.
        """
        if not hasattr(self, "table_"):
            raise RuntimeError("CostModel.predict called before fit")
        if self.kind == "legacy":
            n = len(prompts_of(bench))
            return np.broadcast_to(self.index_, (n, self.index_.size)).copy()
        if self.kind == "mean":
            return self.table_[self._dataset_rows(bench)]
        x = self._design(bench, features)
        pred = np.column_stack([reg.predict(x) for reg in self.regs_])
        return np.exp(pred) * self.smear_
