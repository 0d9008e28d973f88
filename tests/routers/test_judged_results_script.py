"""scripts/judged_results.py renders aiq.csv's verdicts; it never decides "beats Zero" itself."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from routerbench.verdicts import BEATS_ZERO, REFERENCE_ABOVE_ZERO, SIMULATED_ABOVE_ZERO

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "judged_results.py"


def _script():
    spec = importlib.util.spec_from_file_location("judged_results", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # dataclasses look their module up
    spec.loader.exec_module(mod)
    return mod


def _row(ds, system, kind, aiq, family="", verdict="", cf=np.nan, gap=np.nan):
    return {
        "protocol": "in-domain", "dataset": ds, "system": system, "family": family,
        "kind": kind, "aiq": aiq, "delta_zero": aiq - 0.8, "delta_ci_low": 0.0,
        "delta_ci_high": 0.01, "delta_crossfit": cf, "crossfit_ci_low": cf - 0.01,
        "crossfit_ci_high": cf + 0.01, "control_max": 0.005, "length_control": -0.001,
        "n_control_seeds": 50, "gap_closed_crossfit": gap, "verdict": verdict,
    }  # fmt: skip


def test_render_reads_the_verdict_and_counts_gap_only_where_it_beats_zero():
    mod = _script()
    rows = []
    for ds, verdict in (("a", BEATS_ZERO), ("b", "not above prior control")):
        rows += [
            _row(ds, "Zero", "zero", 0.8),
            _row(ds, "Oracle frontier", "oracle-frontier", 0.9),
            _row(ds, "judged", "router", 0.83, "judged-cascade", verdict, cf=0.03, gap=0.3),
            _row(ds, "worse", "router", 0.81, "judged-cascade", "within noise", cf=0.01, gap=0.1),
            _row(ds, "cascade ε=0.1", "router", 0.85, "cascade", SIMULATED_ABOVE_ZERO, cf=0.05),
            _row(ds, "prior", "control", 0.8, "prior"),
        ]
    judge = mod.Judge(0.9, 0.1, 0.3, 0.3, 0.7, 100)
    text = mod.render(pd.DataFrame(rows), {"a": judge, "b": judge}, n_configs=2)
    assert "| a | judged | 0.8300 |" in text and BEATS_ZERO in text
    assert "| b | judged |" in text and "not above prior control" in text
    # best per dataset by cross-fitted Δ; the mean counts b's 30% as 0 (its verdict fails)
    assert "| a | judged | 30% | beats Zero |" in text
    assert "15% counting only verdicts" in text and "30% raw" in text
    # the simulated cascade is an ε column of the judge table, not a router row
    assert "| a | cascade ε=0.1 |" not in text and "ε=0.1" in text
    assert "Configurations compared (routers that do not read test quality): 2" in text
    assert "Reading every model's response free" not in text  # no reference in this run


def test_the_all_responses_reference_is_shown_but_never_counted_as_the_best_router():
    mod = _script()
    rows = [
        _row("a", "Zero", "zero", 0.8),
        _row("a", "Oracle frontier", "oracle-frontier", 0.9),
        _row("a", "judged", "router", 0.81, "judged-cascade", "within noise", cf=0.01, gap=0.1),
        _row("a", "every response", "router", 0.86, "all-responses", REFERENCE_ABOVE_ZERO,
             cf=0.06, gap=0.6),
    ]  # fmt: skip
    text = mod.render(pd.DataFrame(rows), {}, n_configs=1)
    assert "| a | every response | 0.8600 |" in text and REFERENCE_ABOVE_ZERO in text
    assert "| a | judged | 10% | within noise |" in text  # the best *router*, not the reference
    assert "0% counting only verdicts" in text and "10% raw" in text
    assert "the same verifier closes a 60% of the gap: mean 60%." in text


def test_bad_marker_and_bad_datasets_exit_2_with_one_line_and_write_nothing(tmp_path, capsys):
    from tests.routers.judges_helpers import mc_bench

    mod = _script()
    doc_before = mod.DOC.read_text(encoding="utf-8")
    data = tmp_path / "bench.parquet"
    pd.DataFrame({"x": [1]}).to_parquet(data)  # never read: the marker is checked first
    rc = mod.main(["--data", str(data), "--marker", "no-such-block", "--write-docs"])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1 and "no-such-block:start" in err

    frame = _long(mc_bench(n=40))
    frame.to_parquet(data)
    out = tmp_path / "out"
    rc = mod.main(["--data", str(data), "--datasets", "nope", "--out", str(out), "--no-judges"])
    err = capsys.readouterr().err
    assert rc == 2 and err.startswith("error: datasets: 'nope' is not in the data")
    assert "Traceback" not in err
    assert not out.exists() or not any(out.rglob("*.csv"))
    assert mod.DOC.read_text(encoding="utf-8") == doc_before


def _long(bench, tasks=None) -> pd.DataFrame:
    """`bench` as a long-format frame (one row per prompt × model), tasks per prompt."""
    tasks = np.full(bench.n_prompts, "arc-challenge") if tasks is None else np.asarray(tasks)
    return pd.DataFrame(
        {
            "sample_id": np.repeat(bench.prompts["sample_id"].to_numpy(), bench.n_models),
            "task": np.repeat(tasks, bench.n_models),
            "prompt": np.repeat(bench.prompts["prompt"].to_numpy(), bench.n_models),
            "model": np.tile(bench.models, bench.n_prompts),
            "quality": bench.quality.ravel(),
            "cost": bench.cost.ravel(),
            "response": bench.responses.load().ravel(),
        }
    )


def test_group_option_merges_datasets_for_the_run_and_the_judge_measurement(tmp_path, capsys):
    from tests.routers.judges_helpers import mc_bench

    from routerbench.experiment import load_config
    from routerbench.experiment.config import parse_config

    mod = _script()
    data = tmp_path / "bench.parquet"
    bench = mc_bench(n=120, seed=3)
    tasks = np.where(np.arange(bench.n_prompts) % 2 == 0, "tiny_a", "tiny_b")
    _long(bench, tasks).to_parquet(data)
    for bad in ("merged", "=*", "merged="):  # no pattern, no name, empty pattern list
        rc = mod.main(["--data", str(data), "--group", bad, "--no-judges"])
        err = capsys.readouterr().err
        assert rc == 2 and err.count("\n") == 1 and "expected NAME=PATTERN" in err
    # a pattern that matches nothing is the config's error: one line, exit 2, before any run
    out = tmp_path / "out"
    rc = mod.main(
        ["--data", str(data), "--group", "merged=nomatch_*", "--out", str(out), "--no-judges"]
    )
    err = capsys.readouterr().err
    assert rc == 2 and "groups.merged: pattern 'nomatch_*' matches no dataset" in err
    assert "Traceback" not in err and (not out.exists() or not any(out.rglob("*.csv")))

    # the judge measurement reads the run's own data: grouped, so one dataset of 120 prompts
    cfg, _ = load_config(mod.CONFIG)
    merged = cfg.model_dump(exclude_unset=True)
    merged.update(data=str(data), groups={"merged": ["tiny_*"]})
    cfg = parse_config(merged, source="test")
    judged = mod.judges(cfg, ["merged"])
    assert list(judged) == ["merged"]
    n_test = 120 - round(0.7 * 120)
    assert judged["merged"].n % n_test == 0 and judged["merged"].n >= n_test


def test_rounding_noise_below_zero_prints_as_plus_zero():
    mod = _script()
    assert mod._ci(-1e-17, 1e-17) == "[+0.0000, +0.0000]"
    assert mod._f(-1e-12) == "+0.0000" and mod._f(-0.00006) == "-0.0001"
    assert mod._f(-0.004, ".0f") == "0" and mod._f(-0.6, ".0f") == "-1"
