"""Task → dataset roll-up and the paper's dataset and model vocabulary.

RouterBench's files name fine tasks (`eval_name`: `mmlu-astronomy`, `mtbench-...`);
the paper reports on seven coarse datasets. This module is the one place that maps
one to the other, so every reader and report agrees.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

#: The seven datasets the RouterBench paper reports on (RAG was withdrawn).
PAPER_DATASETS: tuple[str, ...] = (
    "mmlu",
    "hellaswag",
    "gsm8k",
    "arc-challenge",
    "winogrande",
    "mbpp",
    "mtbench",
)

#: The 11 models of the published RouterBench files, in the paper's order.
PAPER_MODELS: tuple[str, ...] = (
    "WizardLM/WizardLM-13B-V1.2",
    "claude-instant-v1",
    "claude-v1",
    "claude-v2",
    "gpt-3.5-turbo-1106",
    "gpt-4-1106-preview",
    "meta/code-llama-instruct-34b-chat",
    "meta/llama-2-70b-chat",
    "mistralai/mistral-7b-chat",
    "mistralai/mixtral-8x7b-chat",
    "zero-one-ai/Yi-34B-Chat",
)

#: Per-token list prices (USD per million tokens, prompt and completion) of the 11
#: RouterBench models, as the original code priced them (withmartian/routerbench,
#: ``routers/common.py``; that file writes them as X / 10,000,000 per token, but the
#: released per-row costs match X per 1,000,000). None of these models has a per-request fee there.
PAPER_TOKEN_PRICES: Mapping[str, tuple[float, float]] = {
    "WizardLM/WizardLM-13B-V1.2": (0.3, 0.3),
    "claude-instant-v1": (0.8, 2.4),
    "claude-v1": (8.0, 24.0),
    "claude-v2": (8.0, 24.0),
    "gpt-3.5-turbo-1106": (1.0, 2.0),
    "gpt-4-1106-preview": (10.0, 30.0),
    "meta/code-llama-instruct-34b-chat": (0.776, 0.776),
    "meta/llama-2-70b-chat": (0.9, 0.9),
    "mistralai/mistral-7b-chat": (0.2, 0.2),
    "mistralai/mixtral-8x7b-chat": (0.6, 0.6),
    "zero-one-ai/Yi-34B-Chat": (0.8, 0.8),
}

_EXACT = {
    "grade-school-math": "gsm8k",
    "gsm8k": "gsm8k",
    "hellaswag": "hellaswag",
    "arc-challenge": "arc-challenge",
    "arc_challenge": "arc-challenge",
    "winogrande": "winogrande",
    "winograde": "winogrande",
    "mbpp": "mbpp",
    "mmlu": "mmlu",
    "mtbench": "mtbench",
    "mt-bench": "mtbench",
    "mt_bench": "mtbench",
}
_PREFIXES = (("mmlu-", "mmlu"), ("mmlu_", "mmlu"), ("mtbench", "mtbench"), ("mt-bench", "mtbench"))


def dataset_of(task: str) -> str:
    """Coarse dataset of a fine task name; tasks outside the paper map to themselves."""
    t = str(task).strip().lower()
    if t in _EXACT:
        return _EXACT[t]
    for prefix, ds in _PREFIXES:
        if t.startswith(prefix):
            return ds
    return t


def datasets_of(tasks: pd.Series | np.ndarray) -> np.ndarray:
    """Vectorised `dataset_of` over many tasks (maps each unique task once)."""
    codes, uniques = pd.factorize(pd.Series(tasks).astype(str), sort=False)
    mapped = np.array([dataset_of(u) for u in uniques], dtype=object)
    return mapped[codes] if len(mapped) else np.array([], dtype=object)


def is_paper_dataset(dataset: str) -> bool:
    """True for the seven datasets of the paper; False for the extra OpenAI-evals tasks."""
    return dataset in PAPER_DATASETS
