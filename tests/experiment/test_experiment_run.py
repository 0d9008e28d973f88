"""A tiny experiment end to end: files, resume, byte-identical re-runs, independent checks."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from routerbench.cli import app
from routerbench.data.benchmark import Benchmark
from routerbench.data.splits import leave_dataset_out, paper_split
from routerbench.experiment import parse_config, run_experiment
from routerbench.experiment.compare import compare_runs
from routerbench.experiment.evaluate import AIQ_COLUMNS, RESULT_COLUMNS, points_path
from routerbench.experiment.runner import read_finished
from routerbench.frontier import oracle_choice
from tests.experiment.conftest import SPY, two_dataset_bench


def config(out: Path, **extra: object) -> dict:
    base = {
        "routers": [{"name": SPY, "label": "spy", "grid": {"bias": [0.0, 0.2]}}],
        "protocols": [{"name": "paper"}, {"name": "leave-out"}],
        "bootstrap": {"n_boot": 200, "seed": 1},
        "verdict": {"control_seeds": 3, "crossfit_boot": 40, "crossfit_reps": 4},
        "out": str(out),
    }
    base.update(extra)
    return base


def run(bench: Benchmark, out: Path, **extra: object):
    return run_experiment(
        parse_config(config(out, **extra)),
        bench=bench,
        quiet=True,
        report=False,
        echo=lambda s: None,
    )


@pytest.fixture(scope="module")
def first(tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("exp") / "out"
    bench = two_dataset_bench()
    return bench, out, run(bench, out)


def test_writes_every_file(first) -> None:
    _, out, res = first
    for name in ("results.parquet", "aiq.csv", "table1.csv", "run.json", "config.yaml"):
        assert (out / name).is_file(), name
    results = pd.read_parquet(out / "results.parquet")
    assert list(results.columns) == list(RESULT_COLUMNS)
    aiq = pd.read_csv(out / "aiq.csv")
    assert list(aiq.columns) == list(AIQ_COLUMNS)
    for run_id in results["run_id"].unique():
        with np.load(points_path(out, run_id)) as z:
            n_rows = int((results["run_id"] == run_id).sum())
            assert z["q"].shape[0] == n_rows and z["q"].shape == z["c"].shape
    # every system on every (protocol, dataset), baselines included
    systems = {"spy(bias=0.0)", "spy(bias=0.2)", "Oracle", "Zero", "model-0", "model-3"}
    for (_, _), grp in aiq.groupby(["protocol", "dataset"]):
        assert systems <= set(grp["system"])
    assert set(aiq["protocol"]) == {"paper", "leave-out"}
    assert res.executed == len(res.plan.runs) and res.reused == 0


def test_rerun_reuses_everything_and_is_byte_identical(first) -> None:
    bench, out, res = first
    before = (out / "aiq.csv").read_bytes()
    again = run(bench, out)
    assert again.reused == len(res.plan.runs) and again.executed == 0 and again.fitted == 0
    assert (out / "aiq.csv").read_bytes() == before
    pd.testing.assert_frame_equal(again.results, res.results)


def test_partial_rerun_executes_only_missing_runs(tmp_path: Path) -> None:
    bench = two_dataset_bench(n=60)
    out = tmp_path / "out"
    res = run(bench, out)
    victim = res.results[res.results["kind"] == "router"]["run_id"].iloc[0]
    points_path(out, victim).unlink()
    again = run(bench, out)
    assert again.executed == 1 and again.reused == len(res.plan.runs) - 1
    assert again.fitted == 0  # the fitted router came back from the router cache
    pd.testing.assert_frame_equal(again.aiq, res.aiq)


def test_model_rows_agree_with_the_benchmark(first) -> None:
    bench, _, res = first
    results = res.results
    split = paper_split(bench)
    labels = bench.prompts["dataset"].to_numpy()
    for ds in bench.datasets:
        test = split.test_index[labels[split.test_index] == ds]
        rows = results[(results["protocol"] == "paper") & (results["dataset"] == ds)]
        for j, model in enumerate(bench.models):
            row = rows[rows["system"] == model].iloc[0]
            assert row["n"] == test.size
            assert row["quality"] == pytest.approx(bench.quality[test, j].mean(), abs=1e-12)
            assert row["cost"] == pytest.approx(bench.cost[test, j].sum(), rel=1e-12)
            assert json.loads(row["model_share"]) == {model: 1.0}
        q, c = bench.quality[test], bench.cost[test]
        pick = oracle_choice(q, c)
        oracle = rows[rows["system"] == "Oracle"].iloc[0]
        assert oracle["quality"] == pytest.approx(q[np.arange(test.size), pick].mean())
        assert oracle["cost"] == pytest.approx(c[np.arange(test.size), pick].sum())
        zero = rows[rows["system"] == "Zero"]
        assert len(zero) == bench.n_models  # one point per model: the Zero router's hull


def test_single_model_aiq_matches_a_hand_computation(first) -> None:
    """A single point (c, q) with the null point: the curve is q·min(x / c, 1)."""
    _, _, res = first
    aiq = res.aiq.set_index(["protocol", "dataset", "system"])
    rows = res.results
    for (protocol, ds), grp in rows.groupby(["protocol", "dataset"]):
        models = grp[grp["kind"] == "model"]
        lo, hi = models["cost"].min(), models["cost"].max()
        for r in models.itertuples():
            c, q = r.cost, r.quality
            if c <= lo:
                expected = q
            else:
                ramp_end = min(c, hi)
                area = q / c * (ramp_end**2 - lo**2) / 2 + q * max(hi - c, 0.0)
                expected = area / (hi - lo)
            got = aiq.loc[(protocol, ds, r.system)]
            assert got["aiq"] == pytest.approx(expected, rel=1e-9)
            assert got["window_lo"] == pytest.approx(lo) and got["window_hi"] == pytest.approx(hi)
            assert got["ci_low"] <= got["aiq"] + 1e-12 <= got["ci_high"] + 2e-12


def test_oracle_beats_every_single_model_on_aiq(first) -> None:
    _, _, res = first
    for _, grp in res.aiq.groupby(["protocol", "dataset"]):
        oracle = grp[grp["system"] == "Oracle"]["aiq"].iloc[0]
        zero = grp[grp["system"] == "Zero"]["aiq"].iloc[0]
        assert oracle >= grp[grp["kind"] == "model"]["aiq"].max()
        assert zero >= grp[grp["kind"] == "model"]["aiq"].max() - 1e-12


def test_protocols_train_on_what_they_should(first) -> None:
    bench, _, res = first
    routers = res.results[res.results["kind"] == "router"]
    for r in routers.itertuples():
        setting = json.loads(r.setting)
        trained = set(setting["trained_on"].split("+"))
        if r.protocol == "paper":
            assert trained == {r.dataset}
            split = paper_split(bench.subset(datasets=r.dataset))
            assert setting["n_train"] == split.train.n_prompts
        else:
            assert r.dataset not in trained and trained == set(bench.datasets) - {r.dataset}
            split = leave_dataset_out(bench, r.dataset)
            assert setting["n_train"] == split.train.n_prompts
            assert r.n == split.test.n_prompts


def test_kfold_and_seeds_average_runs(tmp_path: Path) -> None:
    bench = two_dataset_bench(n=90)
    res = run(
        bench,
        tmp_path / "out",
        protocols=[{"name": "kfold", "k": 3}],
        seeds=[0, 1],
        routers=[{"name": SPY, "label": "spy"}],
    )
    spy = res.results[res.results["system"] == "spy"]
    assert sorted(spy["fold"].unique()) == [0, 1, 2] and sorted(spy["seed"].unique()) == [0, 1]
    # every prompt of a dataset is tested exactly once per seed across the folds
    per_fold = spy.drop_duplicates("run_id").groupby(["dataset", "seed"])["n"].sum()
    counts = bench.prompts["dataset"].value_counts()
    for (ds, _), n in per_fold.items():
        assert n == counts[ds]
    row = res.aiq[(res.aiq["system"] == "spy")].iloc[0]
    assert row["n_runs"] == 6
    assert row["ci_low"] <= row["aiq"] <= row["ci_high"]


def test_parallel_processes_give_the_same_results(tmp_path: Path) -> None:
    bench = two_dataset_bench(n=60)
    one = run(bench, tmp_path / "one")
    two = run(bench, tmp_path / "two", n_jobs=2)
    pd.testing.assert_frame_equal(one.results, two.results)
    assert (tmp_path / "one" / "aiq.csv").read_bytes() == (
        tmp_path / "two" / "aiq.csv"
    ).read_bytes()


def test_compare_same_run_is_zero_and_detects_a_better_router(tmp_path: Path) -> None:
    bench = two_dataset_bench(n=150)
    a = tmp_path / "a"
    b = tmp_path / "b"
    run(bench, a, routers=[{"name": SPY, "label": "spy", "params": {"bias": 0.0}}])
    run(bench, b, routers=[{"name": SPY, "label": "spy", "params": {"bias": 0.0}}])
    same = compare_runs(a, b, n_boot=200)
    assert (same["diff"].abs() < 1e-12).all() and (same["p_value"] == 1.0).all()
    # a router that peeks at the outcomes (the Oracle's choices) must win, significantly
    c = tmp_path / "c"
    run(bench, c, routers=[{"name": SPY, "label": "spy", "params": {"cheat": True}}])
    better = compare_runs(a, c, n_boot=200)
    spy = better[better["system"] == "spy"]
    assert (spy["diff"] < 0).all() and (spy["p_value"] < 0.05).all()
    assert (spy["ci_high"] < 0).all()
    # ...and each side's own verdict (aiq.csv's, the one definition) travels with it.
    assert (spy["verdict_b"] == "beats Zero").all() and (spy["verdict_a"] != "beats Zero").all()
    assert (better.loc[better["kind"] == "model", "verdict_a"] == "").all()
    oracle = better[better["system"] == "Oracle"]
    assert (oracle["diff"].abs() < 1e-12).all()
    d = tmp_path / "d"
    run(bench, d, routers=[])
    only = compare_runs(a, d, n_boot=50)
    spy_rows = only[only["system"] == "spy"]
    assert (spy_rows["note"] == "only in A").all() and spy_rows["diff"].isna().all()


def test_cli_run_and_compare(tmp_path: Path) -> None:
    from routerbench.data.writers import write_long

    bench = two_dataset_bench(n=60)
    data = tmp_path / "bench.parquet"
    write_long(bench, data)
    cfg = tmp_path / "exp.yaml"
    cfg.write_text(
        f"routers:\n  - name: {SPY}\n    label: spy\nbootstrap: {{n_boot: 50}}\nout: {tmp_path}/x\n"
    )
    runner = CliRunner()
    out = tmp_path / "cli-out"
    res = runner.invoke(
        app, ["run", "--config", str(cfg), "--data", str(data), "--out", str(out), "--quiet"]
    )
    assert res.exit_code == 0, res.output
    assert (out / "aiq.csv").is_file() and (out / "index.html").is_file()
    assert not (tmp_path / "x").exists()  # --out overrides the config's out
    first_csv = (out / "aiq.csv").read_bytes()
    res = runner.invoke(
        app, ["run", "--config", str(cfg), "--data", str(data), "--out", str(out), "--quiet"]
    )
    assert res.exit_code == 0, res.output
    assert "0 executed" in res.output and (out / "aiq.csv").read_bytes() == first_csv
    res = runner.invoke(app, ["compare", str(out), str(out / "results.parquet"), "--n-boot", "50"])
    assert res.exit_code == 0, res.output
    assert "spy" in res.output and "+0" in res.output
    res = runner.invoke(app, ["compare", str(out), str(tmp_path)])
    assert res.exit_code == 2 and "results.parquet" in res.output


def test_other_metrics_where_they_apply(first) -> None:
    _, _, res = first
    aiq = res.aiq
    assert (aiq[aiq["kind"] != "router"]["apgr"].isna()).all()
    assert (aiq[aiq["system"] == "Oracle"]["gap_at_oracle"].abs() < 1e-12).all()
    assert (aiq[aiq["system"] == "Oracle"]["pareto_distance"].isna()).all()
    for (protocol, ds), grp in res.results.groupby(["protocol", "dataset"]):
        models = grp[grp["kind"] == "model"]
        best = models.sort_values(["quality", "cost"], ascending=[False, True]).iloc[0]
        weak = models.sort_values("cost").iloc[0]
        row = aiq[(aiq["protocol"] == protocol) & (aiq["dataset"] == ds)].set_index("system")
        assert row.loc[best["system"], "perf_gain"] == pytest.approx(0.0, abs=1e-12)
        spy = grp[grp["system"] == "spy(bias=0.0)"]
        shares = [json.loads(s) for s in spy["model_share"]]
        if all(set(s) <= {weak["system"], best["system"]} for s in shares):
            # hand-made APGR: trapezoid of the recovered gap over the strong model's share
            frac = np.array([s.get(best["system"], 0.0) for s in shares])
            pgr = (spy["quality"].to_numpy() - weak["quality"]) / (
                best["quality"] - weak["quality"]
            )
            order = np.argsort(frac)
            f, p = frac[order], pgr[order]
            if f[0] > 0:
                f, p = np.r_[0.0, f], np.r_[0.0, p]
            if f[-1] < 1:
                f, p = np.r_[f, 1.0], np.r_[p, 1.0]
            expected = float(np.sum(np.diff(f) * (p[1:] + p[:-1]) / 2))
            assert row.loc["spy(bias=0.0)", "apgr"] == pytest.approx(expected, rel=1e-9)
        else:
            assert np.isnan(row.loc["spy(bias=0.0)", "apgr"])


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_a_failing_run_stops_the_experiment_and_keeps_finished_runs(
    tmp_path: Path, n_jobs: int
) -> None:
    bench = two_dataset_bench(n=60)
    out = tmp_path / "out"
    routers = [
        {"name": SPY, "label": "ok"},
        {"name": SPY, "label": "bad", "params": {"fail_on": "gsm8k"}},
    ]
    with pytest.raises(RuntimeError, match="refuses to train on gsm8k"):
        run(bench, out, routers=routers, protocols=[{"name": "paper"}], n_jobs=n_jobs)
    saved = list((out / "cache" / "points").glob("*.npz"))
    assert saved and not (out / "results.parquet").exists()
    systems = [read_finished(out, p.stem)[0]["system"] for p in saved]
    again = run(bench, out, routers=routers[:1], protocols=[{"name": "paper"}], n_jobs=n_jobs)
    kept = sum(s != "bad" for s in systems)
    assert again.reused == kept and again.executed == len(again.plan.runs) - kept


def test_crossfit_aiq_is_wired_to_each_runs_arrays(first) -> None:
    from routerbench.frontier import crossfit_aiq

    _, out, res = first
    aiq = res.aiq.set_index(["protocol", "dataset", "system"])
    runs = res.results.drop_duplicates("run_id")
    runs = runs[runs["kind"] != "control"]  # a control's row averages its seeds
    windows = res.windows.set_index(["protocol", "fold", "dataset"])
    checked = 0
    for r in runs[runs["protocol"] == "paper"].itertuples():
        with np.load(points_path(out, r.run_id)) as z:
            q, c = z["q"], z["c"]
        w = windows.loc[(r.protocol, r.fold, r.dataset)]
        got = aiq.loc[(r.protocol, r.dataset, r.system), "aiq_crossfit"]
        try:
            expected = crossfit_aiq(q, c, (w["window_lo"], w["window_hi"]), reps=20, seed=1)
        except IndexError:  # a half whose frontier is the null router alone: not scored
            assert np.isnan(got)
            continue
        assert got == pytest.approx(expected, abs=1e-12)
        checked += 1
    assert checked >= len(runs[runs["protocol"] == "paper"]) // 2


# --------------------------------------------------------------------------- verdict
@pytest.fixture(scope="module")
def judged(tmp_path_factory: pytest.TempPathFactory):
    """A no-information spy, a spy that peeks at the truth, and 6 control seeds."""
    out = tmp_path_factory.mktemp("verdict") / "out"
    bench = two_dataset_bench(n=240)
    shares = [i / 10 for i in range(11)]
    routers = [
        {"name": SPY, "label": "spy", "params": {"shares": shares}},
        {"name": SPY, "label": "cheat", "params": {"cheat": True, "shares": [0.5]}},
    ]
    extra = {
        "routers": routers,
        "protocols": [{"name": "paper", "label": "in-domain"}],
        "verdict": {"control_seeds": 6, "crossfit_boot": 60, "crossfit_reps": 6},
    }
    return bench, out, run(bench, out, **extra)


def _unit_arrays(out: Path, res, dataset: str, system: str) -> tuple[np.ndarray, np.ndarray]:
    runs = res.results[(res.results["dataset"] == dataset) & (res.results["system"] == system)]
    with np.load(points_path(out, runs["run_id"].iloc[0])) as z:
        return np.asarray(z["q"]), np.asarray(z["c"])


def test_paired_delta_ci_equals_an_independent_paired_bootstrap(judged) -> None:
    from routerbench.frontier import paired_bootstrap

    _, out, res = judged
    aiq = res.aiq.set_index(["dataset", "system"])
    assert set(res.aiq["protocol"]) == {"in-domain"}  # the configured label, not "paper"
    for ds in aiq.index.get_level_values(0).unique():
        w = res.windows.set_index("dataset").loc[ds]
        zero = _unit_arrays(out, res, ds, "Zero")
        for system in ("spy", "Oracle", "cheat"):
            got = aiq.loc[(ds, system)]
            ref = paired_bootstrap(
                _unit_arrays(out, res, ds, system), zero, n_boot=200, seed=1,
                window=(w["window_lo"], w["window_hi"]),
            )  # fmt: skip
            assert got["delta_zero"] == pytest.approx(ref.estimate, abs=1e-12)
            assert got["delta_ci_low"] == pytest.approx(ref.low, abs=1e-12)
            assert got["delta_ci_high"] == pytest.approx(ref.high, abs=1e-12)


def test_oracle_frontier_row_equals_a_brute_force_over_willingness_to_pay(judged) -> None:
    from routerbench.frontier import aiq as aiq_of
    from routerbench.frontier import ndch, oracle_frontier
    from tests.frontier.test_frontier_oracle_frontier import _brute_points

    _, out, res = judged
    table = res.aiq.set_index(["dataset", "system"])
    for ds in table.index.get_level_values(0).unique():
        q, c = _unit_arrays(out, res, ds, "Zero")  # one row per model: the test table
        w = res.windows.set_index("dataset").loc[ds]
        window = (w["window_lo"], w["window_hi"])
        bc, bq = _brute_points(q.T[:40], c.T[:40])  # brute force is cubic: 40 prompts
        small = (window[0] * 40 / q.shape[1], window[1] * 40 / q.shape[1])
        mine = oracle_frontier(q.T[:40], c.T[:40]).curve()
        assert aiq_of(mine, window=small) == pytest.approx(
            aiq_of(ndch(bc, bq), window=small), abs=1e-12
        )
        row = table.loc[(ds, "Oracle frontier")]
        full = oracle_frontier(q.T, c.T).curve()
        assert row["aiq"] == pytest.approx(aiq_of(full, window=window), abs=1e-12)
        assert row["ci_low"] <= row["aiq"] <= row["ci_high"]
        # The upper bound: above Zero, the Oracle point and every router.
        others = table.loc[ds].drop(index="Oracle frontier")
        assert row["aiq"] >= others["aiq"].max() - 1e-12
        zero = table.loc[(ds, "Zero"), "aiq"]
        for system in ("spy", "cheat"):
            r = table.loc[(ds, system)]
            assert r["gap_closed"] == pytest.approx((r["aiq"] - zero) / (row["aiq"] - zero))
            assert r["oracle_frontier"] == pytest.approx(row["aiq"])


def test_verdict_needs_crossfit_ci_above_zero_and_both_controls(judged) -> None:
    from routerbench.experiment.evaluate import BEATS_ZERO, verdict_of

    _, _, res = judged
    aiq = res.aiq
    for _, grp in aiq.groupby(["protocol", "dataset"]):
        g = grp.set_index("system")
        assert g.loc["Zero", "delta_crossfit"] == 0.0
        assert g.loc["prior control", "n_runs"] == 6 and g.loc["prior control", "kind"] == "control"
        assert g.loc["length control", "kind"] == "control"
        assert int(g.loc["spy", "n_control_seeds"]) == 6
        # The peeking spy beats Zero; the no-information one must not.
        assert g.loc["cheat", "verdict"] == BEATS_ZERO
        assert g.loc["cheat", "crossfit_ci_low"] > 0
        assert g.loc["spy", "verdict"] != BEATS_ZERO
        for system, r in g.iterrows():
            want = verdict_of(
                r["kind"], r["delta_crossfit"], r["crossfit_ci_low"], r["control_max"],
                r["length_control"],
            )  # fmt: skip
            assert (r["verdict"] if isinstance(r["verdict"], str) else "") == want, system
            if r["kind"] != "router":
                assert not isinstance(r["verdict"], str) or r["verdict"] == ""


def test_control_max_is_the_max_over_seeds_of_their_crossfit_gain(judged) -> None:
    from routerbench.frontier import crossfit_delta

    _, out, res = judged
    runs = res.results.drop_duplicates("run_id")
    ds = runs["dataset"].iloc[0]
    w = res.windows.set_index("dataset").loc[ds]
    zero = _unit_arrays(out, res, ds, "Zero")
    gains = []
    for r in runs[(runs["dataset"] == ds) & (runs["system"] == "prior control")].itertuples():
        with np.load(points_path(out, r.run_id)) as z:
            sysarr = (np.asarray(z["q"]), np.asarray(z["c"]))
        gains.append(
            crossfit_delta(sysarr, zero, (w["window_lo"], w["window_hi"]), reps=6, n_boot=0,
                           seed=1).estimate
        )  # fmt: skip
    row = res.aiq[(res.aiq["dataset"] == ds) & (res.aiq["system"] == "spy")].iloc[0]
    assert len(gains) == 6
    assert row["control_max"] == pytest.approx(max(gains), abs=1e-12)


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_a_router_refusing_its_training_set_says_which_fit_it_was(tmp_path, n_jobs):
    """A router's own words ("needs at least 50 training prompts, got 28") lead with the router,
    the protocol and dataset it was fitted on, and the training-set size; nothing half-written."""
    from routerbench.errors import DataError
    from tests.experiment.conftest import PICKY

    out = tmp_path / "out"
    cfg = config(out, routers=[{"name": PICKY, "label": "picky"}], n_jobs=n_jobs)
    cfg["protocols"] = [{"name": "paper", "label": "in-domain"}]
    with pytest.raises(DataError) as info:
        run_experiment(parse_config(cfg), bench=two_dataset_bench(), quiet=True, report=False,
                       echo=lambda s: None)  # fmt: skip
    msg = str(info.value)
    assert msg == (
        "routers[0] (picky), fitted on 28 training prompts of in-domain / gsm8k: "
        "needs at least 50 training prompts, got 28"
    )
    assert not (out / "aiq.csv").exists()
