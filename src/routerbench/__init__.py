"""routerbench: benchmark and evaluate LLM routers on the cost–quality plane."""

from routerbench.data import PAPER_DATASETS, PAPER_MODELS, Benchmark, load
from routerbench.errors import ConfigError, DataError, RouterBenchError

__version__ = "0.1.0"

__all__ = [
    "PAPER_DATASETS",
    "PAPER_MODELS",
    "Benchmark",
    "ConfigError",
    "DataError",
    "RouterBenchError",
    "__version__",
    "load",
]
