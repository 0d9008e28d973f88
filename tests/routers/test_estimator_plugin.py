"""A predictive router written by subclassing nothing: a scikit-learn regressor as the quality
model goes through `check_router`, `routerbench run` with a nested grid, and `train` + load."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import Ridge
from typer.testing import CliRunner

from routerbench.cli import app
from routerbench.data.readers import load
from routerbench.data.splits import paper_split
from routerbench.data.writers import write_long
from routerbench.routers import ComposedRouter, PromptFeatures, check_bench, check_router
from routerbench.routers.artifact import load_router, read_manifest

runner = CliRunner()


def ridge_router(alpha: float = 1.0) -> ComposedRouter:
    return ComposedRouter(Ridge(alpha=alpha), PromptFeatures("hashing", dim=64), max_settings=50)


@pytest.fixture(scope="module")
def data_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("plugin") / "bench.parquet"
    write_long(check_bench(n=120, m=3, seed=8), path)
    return path


def test_a_ridge_quality_model_passes_every_check() -> None:
    passed = check_router(lambda: ridge_router(2.0))
    assert {"outcome-blind", "predictive", "pickle", "subset", "params"} <= set(passed)


def test_run_from_a_config_with_a_nested_grid(data_file, tmp_path) -> None:
    config = tmp_path / "exp.yaml"
    config.write_text(
        "routers:\n"
        "  - name: wtp\n"
        "    params: {quality: 'sklearn.linear_model:Ridge', features: hashing}\n"
        "    grid: {quality__alpha: [0.01, 1000.0]}\n"
        "protocols: [{name: paper, train_on: all}]\n"
        "max_settings: 50\n"
        "bootstrap: {n_boot: 20}\n"
    )
    out = tmp_path / "out"
    res = runner.invoke(
        app,
        ["run", "--config", str(config), "--data", str(data_file), "--out", str(out), "--quiet"],
    )
    assert res.exit_code == 0, res.output
    results = pd.read_parquet(out / "results.parquet")
    mine = results[results["kind"] == "router"]
    assert set(mine["system"]) == {"wtp(quality__alpha=0.01)", "wtp(quality__alpha=1000.0)"}
    assert set(mine["family"]) == {"ridge"}
    aiq = pd.read_csv(out / "aiq.csv")
    assert {"wtp(quality__alpha=0.01)", "wtp(quality__alpha=1000.0)"} <= set(aiq["system"])
    # Independently: the same router fitted by hand on the same split gives the same points.
    bench = load(str(data_file))
    split = paper_split(bench, fraction=0.7, seed=42)
    for alpha in (0.01, 1000.0):
        router = ComposedRouter(Ridge(alpha=alpha), PromptFeatures("hashing"), max_settings=50)
        router.fit(bench.subset(split.train_index))
        label = f"wtp(quality__alpha={alpha})"
        for dataset in bench.datasets:
            test_rows = np.sort(
                split.test_index[bench.prompts["dataset"].to_numpy()[split.test_index] == dataset]
            )
            test = bench.subset(test_rows)
            points = [d.point(test) for d in router.sweep(test)]
            rows = mine[(mine["system"] == label) & (mine["dataset"] == dataset)]
            np.testing.assert_allclose(rows["quality"].to_numpy(), [p.quality for p in points])
            np.testing.assert_allclose(rows["cost"].to_numpy(), [p.cost for p in points])
            assert json.loads(rows["params"].iloc[0])["quality__alpha"] == alpha


def test_train_and_load_an_artifact(data_file, tmp_path) -> None:
    out = tmp_path / "ridge.rbr"
    res = runner.invoke(
        app,
        [
            "train", "--data", str(data_file), "--router", "wtp", "--out", str(out),
            "--param", "quality=sklearn.linear_model:Ridge", "--param", "quality__alpha=5",
            "--param", "features=hashing",
        ],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    loaded = load_router(out)
    assert isinstance(loaded.quality, Ridge) and loaded.quality.alpha == 5
    bench = load(str(data_file))
    direct = ComposedRouter(Ridge(alpha=5), PromptFeatures("hashing"), max_settings=200)
    direct.fit(bench)
    texts = ["apple river", "stone light music garden", "winter"]
    for lam in (0.0, 3.0, 1e3):
        a, b = direct.rank_prompts(texts, lam), loaded.rank_prompts(texts, lam)
        np.testing.assert_array_equal(a.order, b.order)
        np.testing.assert_array_equal(a.quality, b.quality)
    assert read_manifest(out)["router"]["params"]["quality__alpha"] == 5
