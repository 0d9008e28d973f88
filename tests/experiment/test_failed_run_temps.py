"""A run that fails leaves no temp file behind, even one a worker could not clean up itself."""

from __future__ import annotations

import sys
import textwrap

import pytest

from routerbench.errors import DataError
from routerbench.experiment import run_experiment
from routerbench.experiment.config import parse_config
from tests.experiment.conftest import two_dataset_bench

# A router whose fit leaves a half-written temp file (as a worker killed mid-write does:
# SIGKILL skips every cleanup), then fails.
ROUTER = """
    import os
    from pathlib import Path

    from routerbench.errors import DataError
    from routerbench.routers.base import Router


    class LeakyRouter(Router):
        name = "leaky"

        def __init__(self, seed: int = 0) -> None:
            self.seed = seed

        def fit(self, train):
            cache = Path(os.environ["LEAKY_OUT"]) / "cache" / "routers"
            cache.mkdir(parents=True, exist_ok=True)
            (cache / ".0123abcd.pkl.x1y2z3.tmp").write_bytes(b"half a pickle")
            raise DataError("the leaky router always fails")

        def route(self, test):  # never reached: fit fails
            raise AssertionError("route after a failed fit")
"""


def test_a_failed_run_removes_the_temp_files_its_workers_left(tmp_path, monkeypatch):
    (tmp_path / "leakypkg").mkdir()
    (tmp_path / "leakypkg" / "__init__.py").write_text("")
    (tmp_path / "leakypkg" / "router.py").write_text(textwrap.dedent(ROUTER))
    monkeypatch.syspath_prepend(str(tmp_path))
    out = tmp_path / "out"
    out.mkdir()
    (out / "kept.txt").write_text("the user's file")  # what was there before stays
    monkeypatch.setenv("LEAKY_OUT", str(out))
    spec = {"name": "leakypkg.router:LeakyRouter"}
    cfg = parse_config({"routers": [spec], "seeds": [0], "out": str(out), "n_jobs": 1})
    try:
        with pytest.raises(DataError, match="always fails"):
            run_experiment(cfg, bench=two_dataset_bench(n=60), quiet=True, report=False)
    finally:
        sys.modules.pop("leakypkg.router", None)
        sys.modules.pop("leakypkg", None)
    assert list(out.rglob("*.tmp")) == []
    assert (out / "kept.txt").read_text() == "the user's file"
