"""`routerbench train`: fit through the config machinery, write one artifact, fail in one line."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from routerbench.cli import app
from routerbench.data.readers import load
from routerbench.data.writers import write_long
from routerbench.routers import check_bench, get_router
from routerbench.routers.artifact import load_router, read_manifest
from routerbench.routers.cli import parse_params

runner = CliRunner()


@pytest.fixture(scope="module")
def data_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("train") / "bench.parquet"
    write_long(check_bench(n=60, m=3, seed=2), path)
    return path


def test_train_writes_an_artifact_that_routes_like_a_direct_fit(data_file, tmp_path) -> None:
    out = tmp_path / "knn.rbr"
    args = ["train", "--data", str(data_file), "--router", "knn", "--out", str(out)]
    args += ["--param", "n_neighbors=3", "--param", "metric=euclidean", "--embedder", "hashing"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert f"wrote {out}" in result.stdout and "knn(k=3)" in result.stdout
    loaded = load_router(out)
    assert loaded.n_neighbors == 3 and loaded.metric == "euclidean"
    bench = load(str(data_file))
    # The same config machinery as `run`: the default settings cap is injected.
    direct = get_router(
        "knn", n_neighbors=3, metric="euclidean", embedder="hashing", max_settings=200
    ).fit(bench)
    texts = ["apple river stone", "winter ocean signal music"]
    for lam in (0.0, 1.0, 100.0):
        a, b = direct.rank_prompts(texts, lam), loaded.rank_prompts(texts, lam)
        np.testing.assert_array_equal(a.order, b.order)
        np.testing.assert_array_equal(a.quality, b.quality)
    manifest = read_manifest(out)
    assert manifest["train"]["fingerprint"] == bench.fingerprint()
    assert manifest["router"]["params"]["max_settings"] == 200


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (["--router", "knn", "--param", "n_neighbors"], "--param: expected KEY=VALUE"),
        (["--router", "knn", "--param", "colour=red"], "--param colour: knn has no parameter"),
        (["--router", "knn", "--param", "k=1", "--param", "k=2"], "'k' is given twice"),
        (["--router", "nosuch"], "unknown router 'nosuch'"),
    ],
    ids=["no-equals", "unknown-param", "twice", "unknown-router"],
)
def test_train_user_errors_are_one_line(data_file, tmp_path, extra, expected) -> None:
    out = tmp_path / "x.rbr"
    result = runner.invoke(app, ["train", "--data", str(data_file), "--out", str(out), *extra])
    assert result.exit_code == 2, result.output
    assert expected in result.output
    assert "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert not list(tmp_path.iterdir())


def test_parse_params_reads_yaml_values() -> None:
    assert parse_params(["k=40", "lambdas=[0.1, 1]", "per_model=true", "text=final-turn"]) == {
        "k": 40,
        "lambdas": [0.1, 1],
        "per_model": True,
        "text": "final-turn",
    }
