"""The RouterBench paper's own Table 1 (Hu et al. 2024), and the prompt counts it refers to.

Reports put the paper's numbers beside ours, and the synthetic default is calibrated to
them, so both read the one shipped copy of the published table (``resources/paper_table1.csv``).
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

import pandas as pd

from routerbench.data.datasets import PAPER_DATASETS, PAPER_MODELS
from routerbench.errors import DataError

__all__ = [
    "PAPER_ORACLE",
    "PAPER_TABLE1_FILE",
    "PAPER_TRAIN_FRACTION",
    "RELEASE_PROMPTS",
    "load_paper_table1",
    "paper_test_size",
]

PAPER_TABLE1_FILE = "paper_table1.csv"
#: The name of the Oracle's row in the paper's table.
PAPER_ORACLE = "oracle"
#: The paper trains predictive routers on 70% of each dataset and tests on the rest.
PAPER_TRAIN_FRACTION = 0.7

#: Prompts per dataset in RouterBench's 5-shot release (unique sample_ids): ARC-Challenge,
#: Winogrande and MBPP counted on the released rows; MMLU, HellaSwag, GSM8K and MT-Bench as
#: counted on the same release by third parties (resources/README.md).
RELEASE_PROMPTS: dict[str, int] = {
    "mmlu": 14042,
    "hellaswag": 10042,
    "gsm8k": 7450,
    "arc-challenge": 1470,
    "winogrande": 1267,
    "mbpp": 427,
    "mtbench": 80,
}


def paper_test_size(n: int, fraction: float = PAPER_TRAIN_FRACTION) -> int:
    """Prompts in the test part of the paper's split of `n` prompts: ``n - int(n * fraction)``.

    The paper's costs match sums over this part of the released rows (within 5% for 32 of
    the 33 model cells of ARC-Challenge, Winogrande and MBPP), not over all prompts (3.0-3.4x
    larger), which is why the synthetic default scales costs by ``n / paper_test_size(n)``.
    """
    return int(n) - int(int(n) * fraction)


@lru_cache(maxsize=1)
def _paper_table1() -> pd.DataFrame:
    path = resources.files("routerbench.data").joinpath("resources").joinpath(PAPER_TABLE1_FILE)
    try:
        with path.open("r", encoding="utf-8") as fh:
            table = pd.read_csv(fh, comment="#")
    except FileNotFoundError:
        raise DataError(
            "the paper's Table 1 is missing from the package", source=path.name
        ) from None
    need = {"paper_name", "model", "dataset", "quality", "total_cost"}
    if not need <= set(table.columns):
        raise DataError(f"needs columns {sorted(need)}", source=PAPER_TABLE1_FILE)
    cells = set(zip(table["dataset"], table["model"]))
    want = {(d, m) for d in PAPER_DATASETS for m in (*PAPER_MODELS, PAPER_ORACLE)}
    if cells != want or len(table) != len(want):
        raise DataError(
            "must hold one row per paper dataset x (11 paper models + oracle)",
            source=PAPER_TABLE1_FILE,
        )
    return table


def load_paper_table1() -> pd.DataFrame:
    """The paper's Table 1: one row per (dataset, model), the Oracle as model ``"oracle"``.

    Columns ``paper_name, model, dataset, quality, total_cost``: quality is the paper's
    Perf (mean score), total_cost its Cost in dollars, summed over the paper's test part
    of each dataset (see `paper_test_size`). Published figures, read off the paper.
    """
    return _paper_table1().copy()
