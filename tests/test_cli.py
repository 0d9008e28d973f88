"""The command line: info (rich and JSON), convert --from, user errors exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

import routerbench
from routerbench.cli import app
from routerbench.data.datasets import PAPER_DATASETS, PAPER_MODELS
from routerbench.data.synthetic import load_table1

runner = CliRunner()


def test_info_default_json_matches_table1() -> None:
    result = runner.invoke(app, ["info", "default", "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["n_datasets"] == 7 and set(summary["datasets"]) == set(PAPER_DATASETS)
    assert summary["n_models"] == 11 and summary["models"] == list(PAPER_MODELS)
    assert summary["synthetic"] is True
    table = load_table1()
    for row in table.itertuples():
        cell = summary["per_dataset"][row.dataset]["models"][row.model]
        assert cell["quality"] == pytest.approx(row.quality, rel=0.05)
        assert cell["total_cost"] == pytest.approx(row.total_cost, rel=0.05)


def test_info_renders_a_table_and_flags_synthetic() -> None:
    result = runner.invoke(app, ["info", "default"])
    assert result.exit_code == 0, result.output
    assert "SYNTHETIC" in result.output
    assert "gpt-4-1106-preview" in result.output


def test_convert_real_wide_to_long_and_back(routerdc_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "rb.parquet"
    result = runner.invoke(app, ["convert", str(routerdc_dir), str(out), "--no-responses"])
    assert result.exit_code == 0, result.output
    assert "merged 14" in " ".join(result.output.split())
    long = pd.read_parquet(out)
    assert len(long) == 3164 * 11 and "response" not in long.columns
    assert routerbench.load(out).fingerprint() == routerbench.load(routerdc_dir).fingerprint()


def test_convert_routerarena_folder(realdata: Path, tmp_path: Path) -> None:
    out = tmp_path / "arena.jsonl"
    result = runner.invoke(app, ["convert", str(realdata / "routerarena"), str(out)])
    assert result.exit_code == 0, result.output
    bench = routerbench.load(out)
    assert bench.shape == (809, 2)


def test_bad_option_values_exit_2(tmp_path: Path) -> None:
    assert runner.invoke(app, ["info", "default", "--missing", "fillna"]).exit_code == 2
    res = runner.invoke(app, ["convert", "x", str(tmp_path / "y.parquet"), "--from", "nope"])
    assert res.exit_code == 2
    assert not (tmp_path / "y.parquet").exists()


def test_a_plain_key_error_is_a_bug_and_keeps_its_traceback() -> None:
    """Only routerbench's own errors (unknown names included) are user errors; a bare
    KeyError is a bug and must not be dressed up as a one-line message."""
    import typer

    from routerbench.cli import user_errors
    from tests.conftest import make_bench

    @user_errors
    def buggy() -> None:
        {}["missing"]

    @user_errors
    def typo() -> None:
        make_bench().subset(datasets=["mmlu", "hellaswag"])

    with pytest.raises(KeyError):
        buggy()
    with pytest.raises(typer.Exit) as exit_:
        typo()
    assert exit_.value.exit_code == 2


def test_unknown_names_are_their_own_error_type() -> None:
    from routerbench.data.splits import leave_dataset_out
    from routerbench.errors import RouterBenchError, UnknownNameError
    from tests.conftest import make_bench

    bench = make_bench()
    for call in (
        lambda: bench.model_index("gpt-5"),
        lambda: bench.subset(datasets="hellaswag"),
        lambda: bench.subset(tasks="nope"),
        lambda: leave_dataset_out(bench, "hellaswag"),
    ):
        with pytest.raises(UnknownNameError) as err:
            call()
        assert isinstance(err.value, RouterBenchError) and isinstance(err.value, KeyError)
        assert not str(err.value).startswith(("'", '"'))  # not KeyError's quoted repr
    with pytest.raises(UnknownNameError) as err:
        bench.model_index("x")
    assert str(err.value) == "unknown model 'x'; known: model-0, model-1, model-2, model-3"


def test_usage_errors_are_one_line_and_help_still_works() -> None:
    res = runner.invoke(app, ["info", "default", "--nope"])
    assert res.exit_code == 2
    assert res.stderr.strip().splitlines() == [
        "error: No such option: --nope (see 'routerbench info --help')"
    ]
    res = runner.invoke(app, ["info", "--help"])
    assert res.exit_code == 0 and "Summarise a benchmark" in res.stdout
    res = runner.invoke(app, [])
    assert res.exit_code == 2 and "compare" in res.output  # no arguments: the help text


def test_sigterm_becomes_an_interrupt_only_inside_the_block() -> None:
    import os
    import signal

    from routerbench.cli import sigterm_as_interrupt
    from routerbench.errors import Terminated

    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(Terminated), sigterm_as_interrupt():
        os.kill(os.getpid(), signal.SIGTERM)
        for _ in range(1000):  # the handler runs between bytecodes, right after the kill
            pass
    assert signal.getsignal(signal.SIGTERM) == before
