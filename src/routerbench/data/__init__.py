"""The benchmark table: the `Benchmark` type, readers and writers, validation, splits."""

from routerbench.data.benchmark import MISSING_POLICIES, Benchmark, ResponseStore
from routerbench.data.datasets import PAPER_DATASETS, PAPER_MODELS, dataset_of
from routerbench.data.readers import load

__all__ = [
    "MISSING_POLICIES",
    "PAPER_DATASETS",
    "PAPER_MODELS",
    "Benchmark",
    "ResponseStore",
    "dataset_of",
    "load",
]
