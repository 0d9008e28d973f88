"""Routing prompts without an outcome table: per prompt, the models best first with P̂ and ĉ.

Serving has only a prompt; the benchmark path routes a test table. Both reach a
predictive router through `prompt_frame` and `Ranking`, so they cannot diverge.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from routerbench.data.datasets import datasets_of
from routerbench.errors import (
    DataError,
    NotPredictiveError,
)

__all__ = [
    "NotPredictiveError",
    "PromptColumns",
    "Ranking",
    "prompt_columns",
    "prompt_frame",
    "ranking_of",
]


@dataclass(frozen=True)
class Ranking:
    """Per prompt, a router's models best first by λ·P̂ − ĉ, with the estimates behind it.

    Attributes
    ----------
    models
        The router's models: the column order of `quality` and `cost`, and what
        the indices in `order` refer to.
    order
        ``int [n_prompts, n_models]``: model indices best first by λ·P̂ − ĉ; ties
        go to the cheaper ĉ, then the lower index. Column 0 is exactly the model
        `route` picks at this λ.
    quality
        ``float [n_prompts, n_models]``: P̂, the estimated quality.
    cost
        ``float [n_prompts, n_models]``: ĉ, estimated dollars for that one call.
    willingness_to_pay
        The λ the order was computed at.
    """

    models: tuple[str, ...]
    order: np.ndarray
    quality: np.ndarray
    cost: np.ndarray
    willingness_to_pay: float

    @property
    def choice(self) -> np.ndarray:
        """``[n_prompts]``: the model index picked per prompt (column 0 of `order`)."""
        return self.order[:, 0]

    @property
    def n_prompts(self) -> int:
        return int(self.order.shape[0])

    def ranked_names(self, i: int) -> list[str]:
        """Model names of prompt `i`, best first (what a fallback chain walks)."""
        return [self.models[j] for j in self.order[int(i)].tolist()]


def ranking_of(
    models: Sequence[str], p_hat: np.ndarray, c_hat: np.ndarray, willingness_to_pay: float
) -> Ranking:
    """The `Ranking` of estimates (P̂, ĉ) at λ, with the tie rule of `wtp_choice`."""
    from routerbench.routers.wtp import wtp_rank

    order = wtp_rank(p_hat, c_hat, willingness_to_pay)
    quality = np.array(p_hat, dtype=float)
    cost = np.array(c_hat, dtype=float)
    for a in (order, quality, cost):
        a.setflags(write=False)
    return Ranking(tuple(models), order, quality, cost, float(willingness_to_pay))


def _column(values: Sequence[str] | None, n: int, what: str) -> np.ndarray | None:
    if values is None:
        return None
    if isinstance(values, str):
        raise DataError(f"{what} must be one string per prompt, got one string", source=what)
    out = np.asarray(list(values), dtype=object)
    if out.shape != (n,):
        raise DataError(f"{what} has {out.size} entries for {n} prompts", source=what)
    bad = [i for i, v in enumerate(out) if not isinstance(v, str)]
    if bad:
        raise DataError(f"expected a str, got {out[bad[0]]!r}", source=what, row=bad[0])
    return out


@dataclass(frozen=True)
class PromptColumns:
    """The columns of a prompts table a router reads, without a pandas frame.

    What `prompt_frame` puts in a DataFrame, as a list and two object arrays: a
    server ranks one prompt per request, and building a DataFrame costs more
    than routing it. Parts that read prompts (`PromptFeatures`, `CostModel`)
    accept either form and read the same values from both.

    Attributes
    ----------
    prompt
        The prompt texts (validated strings).
    task, dataset
        ``object [n]`` task and dataset per prompt (``""`` when unknown).
    """

    prompt: list[str]
    task: np.ndarray
    dataset: np.ndarray

    def __len__(self) -> int:
        return len(self.prompt)

    def frame(self) -> pd.DataFrame:
        """The same prompts as a DataFrame (`prompt_frame`'s columns and values)."""
        n = len(self.prompt)
        return pd.DataFrame(
            {
                "sample_id": [str(i) for i in range(n)],
                "task": self.task,
                "dataset": self.dataset,
                "prompt": self.prompt,
            }
        )


def prompt_columns(
    texts: Sequence[str],
    *,
    tasks: Sequence[str] | None = None,
    datasets: Sequence[str] | None = None,
) -> PromptColumns:
    """Texts and metadata checked and completed as `prompt_frame` does, without pandas.

    ``dataset`` comes from the task's roll-up when only tasks are given, ``task``
    from the dataset when only datasets are; unknown metadata is the empty string.
    """
    from routerbench.embed.base import as_texts

    items = as_texts(texts, "prompts")
    n = len(items)
    task = _column(tasks, n, "tasks")
    dataset = _column(datasets, n, "datasets")
    if task is None:
        task = np.full(n, "", dtype=object) if dataset is None else dataset.copy()
    if dataset is None:
        dataset = (
            np.asarray(datasets_of(task), dtype=object)
            if tasks is not None
            else np.full(n, "", dtype=object)
        )
    return PromptColumns(items, task, dataset)


def prompt_frame(
    texts: Sequence[str],
    *,
    tasks: Sequence[str] | None = None,
    datasets: Sequence[str] | None = None,
) -> pd.DataFrame:
    """The prompts table a router reads, built from texts and optional metadata only.

    Columns as in `Benchmark.prompts`: ``sample_id`` (the row number; no router
    may read it), ``task``, ``dataset`` (from the task's roll-up when only tasks
    are given) and ``prompt``. Unknown metadata is the empty string, which every
    part treats as a dataset it never saw in training.
    """
    return prompt_columns(texts, tasks=tasks, datasets=datasets).frame()
