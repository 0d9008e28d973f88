"""Experiments: a YAML config expanded into runs, executed in parallel, scored into AIQ tables.

`load_config` → `run_experiment` → ``results.parquet``, ``aiq.csv``, ``table1.csv`` and a report.
"""

from routerbench.experiment.compare import compare_runs
from routerbench.experiment.config import ExperimentConfig, load_config, parse_config
from routerbench.experiment.evaluate import evaluate, load_points
from routerbench.experiment.plan import expand_grid, make_plan
from routerbench.experiment.runner import ExperimentResult, prepare_benchmark, run_experiment

__all__ = [
    "ExperimentConfig",
    "ExperimentResult",
    "compare_runs",
    "evaluate",
    "expand_grid",
    "load_config",
    "load_points",
    "make_plan",
    "parse_config",
    "prepare_benchmark",
    "run_experiment",
]
