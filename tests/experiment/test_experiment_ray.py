"""The same tiny experiment on a local Ray instance gives the same results as local processes."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from routerbench.experiment import parse_config, run_experiment
from tests.experiment.conftest import SPY, two_dataset_bench

ray = pytest.importorskip("ray")


def test_ray_executor_matches_local(tmp_path: Path) -> None:
    bench = two_dataset_bench(n=60)
    outs = {}
    for executor in ("local", "ray"):
        cfg = parse_config(
            {
                "routers": [{"name": SPY, "label": "spy", "grid": {"bias": [0.0, 0.3]}}],
                "protocols": [{"name": "paper"}, {"name": "leave-out"}],
                "bootstrap": {"n_boot": 100},
                "executor": executor,
                "n_jobs": 2,
                "out": str(tmp_path / executor),
            }
        )
        outs[executor] = run_experiment(cfg, bench=bench, quiet=True, report=False)
    assert outs["ray"].executed == len(outs["ray"].plan.runs) > 0
    assert outs["ray"].fitted == outs["local"].fitted > 0
    pd.testing.assert_frame_equal(outs["local"].results, outs["ray"].results)
    local_csv, ray_csv = (tmp_path / e / "aiq.csv" for e in ("local", "ray"))
    assert local_csv.read_bytes() == ray_csv.read_bytes()
    assert not ray.is_initialized()  # the runner shuts down the instance it started
