"""Tests of the report's tables: Table 1, Oracle shares, the AIQ ordering and the text summary.

Numbers are checked against per-prompt loops written independently of the vectorised code.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console

import routerbench as rb
from routerbench.data.benchmark import Benchmark
from routerbench.errors import DataError
from routerbench.report import (
    ORACLE,
    aiq_sorted,
    oracle_selection,
    summary_lines,
    table1,
    table1_markdown,
    table1_rich,
    table1_wide,
)
from routerbench.report.tables import NO_ANSWER, money

ROUTERDC = Path(__file__).resolve().parents[2].parent / "shared" / "realdata"
ROUTERDC = ROUTERDC / "routerbench-subset-routerdc"


def bench_from(quality: np.ndarray, cost: np.ndarray, datasets: list[str]) -> Benchmark:
    n, m = quality.shape
    prompts = pd.DataFrame(
        {
            "sample_id": [f"s{i}" for i in range(n)],
            "task": datasets,
            "prompt": [f"p{i}" for i in range(n)],
        }
    )
    return Benchmark(prompts, tuple(f"m{j}" for j in range(m)), quality, cost, source="test")


def random_bench(n: int = 60, m: int = 5, seed: int = 0, nan_frac: float = 0.0) -> Benchmark:
    rng = np.random.default_rng(seed)
    q = rng.choice([0.0, 0.5, 1.0], size=(n, m), p=[0.4, 0.2, 0.4])
    c = rng.choice([0.001, 0.002, 0.01], size=(n, m))  # few values: many exact ties
    if nan_frac:
        q[rng.random((n, m)) < nan_frac] = np.nan
    ds = ["mmlu" if i % 3 else "gsm8k" for i in range(n)]
    return bench_from(q, c, ds)


def brute_oracle(q: np.ndarray, c: np.ndarray) -> list[int]:
    """Per prompt by hand: best quality, cheapest on ties, cheapest model if none scores."""
    out = []
    for i in range(q.shape[0]):
        valid = [j for j in range(q.shape[1]) if not (math.isnan(q[i, j]) or math.isnan(c[i, j]))]
        if not valid:
            out.append(-1)
            continue
        best = max(q[i, j] for j in valid)
        pool = [j for j in valid if q[i, j] == best] if best > 0 else valid
        out.append(min(pool, key=lambda j: (c[i, j], j)))
    return out


def brute_table1(bench: Benchmark) -> dict[tuple[str, str], tuple[float, float, int]]:
    out = {}
    ds = bench.prompts["dataset"].tolist()
    for d in dict.fromkeys(ds):
        rows = [i for i, x in enumerate(ds) if x == d]
        for j, m in enumerate(bench.models):
            cells = [
                (bench.quality[i, j], bench.cost[i, j])
                for i in rows
                if not (np.isnan(bench.quality[i, j]) or np.isnan(bench.cost[i, j]))
            ]
            qs = [a for a, _ in cells]
            out[(d, m)] = (
                sum(qs) / len(qs) if qs else math.nan,
                sum(b for _, b in cells),
                len(cells),
            )
        choice = brute_oracle(bench.quality[rows], bench.cost[rows])
        oq = [bench.quality[i, j] if j >= 0 else 0.0 for i, j in zip(rows, choice)]
        oc = [bench.cost[i, j] if j >= 0 else 0.0 for i, j in zip(rows, choice)]
        out[(d, ORACLE)] = (sum(oq) / len(oq), sum(oc), len(rows))
    return out


def assert_table1_matches(t1: pd.DataFrame, bench: Benchmark) -> None:
    want = brute_table1(bench)
    assert list(t1.columns) == ["dataset", "model", "quality", "total_cost", "n"]
    assert len(t1) == len(want)
    for row in t1.itertuples(index=False):
        q, c, n = want[(row.dataset, row.model)]
        if math.isnan(q):
            assert math.isnan(row.quality)
        else:
            assert row.quality == pytest.approx(q, rel=1e-12, abs=1e-12)
        assert row.total_cost == pytest.approx(c, rel=1e-12, abs=1e-15)
        assert row.n == n


def test_table1_matches_brute_force_with_ties_and_gaps():
    bench = random_bench(nan_frac=0.1)
    t1 = table1(bench)
    assert_table1_matches(t1, bench)
    # Oracle rows come last within each dataset, datasets in benchmark order.
    assert t1.groupby("dataset", sort=False)["model"].last().eq(ORACLE).all()
    assert list(pd.unique(t1["dataset"])) == bench.datasets


def test_table1_hand_worked_example():
    # Prompt 0: m1 and m2 right, m2 cheaper -> m2. Prompt 1: none right -> cheapest (m0).
    q = np.array([[0.0, 1.0, 1.0], [0.0, 0.0, 0.0]])
    c = np.array([[1.0, 3.0, 2.0], [0.5, 4.0, 6.0]])
    t1 = table1(bench_from(q, c, ["mmlu", "mmlu"])).set_index("model")
    assert t1.loc[ORACLE, "quality"] == 0.5
    assert t1.loc[ORACLE, "total_cost"] == 2.5
    assert t1.loc["m1", "quality"] == 0.5 and t1.loc["m1", "total_cost"] == 7.0


def test_table1_on_real_data():
    if not ROUTERDC.is_dir():
        pytest.skip("../shared/realdata/routerbench-subset-routerdc is not present")
    bench = rb.load(ROUTERDC)
    t1 = table1(bench)
    # Models: an independent pandas group-by over the long format.
    long = bench.to_long()
    g = long.groupby(["dataset", "model"]).agg(quality=("quality", "mean"), cost=("cost", "sum"))
    models = t1[t1["model"] != ORACLE].set_index(["dataset", "model"])
    np.testing.assert_allclose(models["quality"], g.loc[models.index, "quality"], rtol=1e-12)
    np.testing.assert_allclose(models["total_cost"], g.loc[models.index, "cost"], rtol=1e-12)
    # Oracle: per-prompt loop.
    ds = bench.prompts["dataset"].to_numpy()
    for d in bench.datasets:
        rows = np.flatnonzero(ds == d)
        ch = brute_oracle(bench.quality[rows], bench.cost[rows])
        row = t1[(t1["dataset"] == d) & (t1["model"] == ORACLE)].iloc[0]
        assert row.quality == pytest.approx(np.mean(bench.quality[rows, ch]), rel=1e-12)
        assert row.total_cost == pytest.approx(np.sum(bench.cost[rows, ch]), rel=1e-12)
        assert row.quality >= models.loc[d, "quality"].max()


def _original_test_ids(ids_in_order: list[str]) -> list[str]:
    """The paper's test part of one dataset, by the original code's literal steps."""
    ids = list(dict.fromkeys(ids_in_order))
    np.random.seed(42)
    np.random.shuffle(ids)
    return ids[int(len(ids) * 0.7) :]


def _paper_resource() -> pd.DataFrame:
    from importlib import resources

    path = resources.files("routerbench.data").joinpath("resources", "paper_table1.csv")
    with path.open("r", encoding="utf-8") as fh:
        return pd.read_csv(fh, comment="#")


def test_table1_paper_test_variant_sums_the_papers_test_part():
    bench = random_bench(n=90, nan_frac=0.05)
    got = table1(bench, variant="paper-test")
    ds = bench.prompts["dataset"].to_numpy()
    keep = set()
    for d in bench.datasets:
        keep |= set(_original_test_ids(list(bench.sample_ids[ds == d])))
    part = bench.subset(np.flatnonzero([i in keep for i in bench.sample_ids]))
    assert part.n_prompts == (30 - int(30 * 0.7)) + (60 - int(60 * 0.7))
    assert_table1_matches(got, part)
    with pytest.raises(ValueError, match="variant"):
        table1(bench, variant="test")


def test_table1_report_puts_the_papers_numbers_beside_ours():
    from routerbench.report.tables import TABLE1_REPORT_COLUMNS, table1_report

    paper = _paper_resource().set_index(["dataset", "model"])
    models = ("gpt-4-1106-preview", "mistralai/mistral-7b-chat", "not-in-paper")
    rng = np.random.default_rng(1)
    n = 40
    prompts = pd.DataFrame(
        {
            "sample_id": [f"x{i}" for i in range(n)],
            "task": ["mmlu-astronomy" if i % 2 else "other-task" for i in range(n)],
            "prompt": ["p"] * n,
        }
    )
    q = rng.integers(0, 2, (n, 3)).astype(float)
    c = rng.uniform(0.001, 0.01, (n, 3))
    bench = Benchmark(prompts, models, q, c, source="t")
    t1 = table1_report(bench)
    assert tuple(t1.columns) == TABLE1_REPORT_COLUMNS
    assert list(pd.unique(t1["variant"])) == ["full", "paper-test"]
    for v in ("full", "paper-test"):
        part = t1[t1["variant"] == v].drop(columns="variant").reset_index(drop=True)
        base = table1(bench, variant=v)
        pd.testing.assert_frame_equal(part[list(base.columns)], base)
    for r in t1.itertuples(index=False):
        key = (r.dataset, "oracle" if r.model == ORACLE else r.model)
        if key in paper.index:
            assert r.paper_quality == paper.loc[key, "quality"]
            assert r.paper_total_cost == paper.loc[key, "total_cost"]
            assert r.quality_diff == pytest.approx(r.quality - r.paper_quality, abs=1e-15)
            assert r.cost_ratio == pytest.approx(r.total_cost / r.paper_total_cost, rel=1e-12)
        else:  # no such cell in the paper: no number invented
            assert math.isnan(r.paper_quality) and math.isnan(r.cost_ratio)
    assert t1.loc[t1["dataset"] == "mmlu", "paper_quality"].notna().sum() == 2 * 3  # 2 + Oracle


def test_paper_agreement_names_cells_no_variant_reproduces():
    from routerbench.report.tables import paper_agreement

    t1 = pd.DataFrame(
        {
            "dataset": ["d"] * 4,
            "model": ["a", "b", "a", "b"],
            "variant": ["full", "full", "paper-test", "paper-test"],
            "quality": [0.50, 0.70, 0.505, 0.60],
            "total_cost": [3.0, 2.0, 1.04, 2.5],
            "n": [10, 10, 3, 3],
            "paper_quality": [0.5, 0.9, 0.5, 0.9],
            "paper_total_cost": [1.0, 2.0, 1.0, 2.0],
        }
    )
    got = paper_agreement(t1).set_index(["model", "measure"])
    assert got.loc[("a", "quality"), "reproduced_by"] == "full,paper-test"
    assert got.loc[("a", "cost"), "reproduced_by"] == "paper-test"
    assert got.loc[("b", "quality"), "reproduced_by"] == ""  # 0.2 and 0.3 off
    assert got.loc[("b", "quality"), "closest"] == 0.70
    assert got.loc[("b", "quality"), "closest_variant"] == "full"
    assert got.loc[("b", "cost"), "reproduced_by"] == "full"


def _independent_test_part_sums(folder: Path) -> pd.DataFrame:
    """Per dataset and model: quality mean and cost sum over the paper's test part, from CSVs."""
    raw = pd.concat(
        [pd.read_csv(f, dtype={"sample_id": str}) for f in sorted(folder.glob("*.csv"))]
    ).sort_values("Unnamed: 0", kind="stable")
    models = [c[: -len("|total_cost")] for c in raw.columns if c.endswith("|total_cost")]
    rows = []
    for ds, grp in raw.groupby("eval_name", sort=False):
        test = _original_test_ids(list(grp["sample_id"]))
        for m in models:
            carrying = grp[grp[m].notna()].drop_duplicates("sample_id").set_index("sample_id")
            cell = carrying.loc[test]
            rows.append((ds, m, cell[m].mean(), cell[m + "|total_cost"].sum(), len(test)))
    return pd.DataFrame(rows, columns=["dataset", "model", "quality", "total_cost", "n"])


def test_real_rows_paper_test_part_reproduces_the_papers_costs():
    """Issue 8: on the paper's test part, ARC/Winogrande/MBPP costs are the paper's (5%).

    The one model cell that no variant reproduces is MBPP claude-v1 (the released rows'
    claude-v1 MBPP responses cost 14% less than the paper says), and the MBPP Oracle's
    cost matches no variant: both are said in the report rather than hidden.
    """
    from routerbench.report.tables import paper_agreement, table1_report

    if not ROUTERDC.is_dir():
        pytest.skip("../shared/realdata/routerbench-subset-routerdc is not present")
    t1 = table1_report(rb.load(ROUTERDC))
    test = t1[t1["variant"] == "paper-test"].set_index(["dataset", "model"])
    want = _independent_test_part_sums(ROUTERDC).set_index(["dataset", "model"])
    got = test.loc[want.index]
    np.testing.assert_allclose(got["quality"], want["quality"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(got["total_cost"], want["total_cost"], rtol=1e-9)
    assert (got["n"] == want["n"]).all()
    assert got.groupby("dataset")["n"].first().to_dict() == {
        "arc-challenge": 441,
        "mbpp": 129,
        "winogrande": 381,
    }
    paper = _paper_resource().set_index(["dataset", "model"])
    ratio = got["total_cost"] / paper.loc[got.index, "total_cost"].to_numpy()
    off = ratio[(ratio - 1).abs() > 0.05]
    assert list(off.index) == [("mbpp", "claude-v1")], off
    assert 0.8 < off.iloc[0] < 0.9
    full = t1[t1["variant"] == "full"].set_index(["dataset", "model"]).loc[want.index]
    full_ratio = full["total_cost"] / paper.loc[want.index, "total_cost"].to_numpy()
    assert (full_ratio > 3.0).all()  # the full sums are ~3.3x the paper's
    agree = paper_agreement(t1).set_index(["dataset", "model", "measure"])
    assert agree.loc[("mbpp", ORACLE, "cost"), "reproduced_by"] == ""
    assert agree.loc[("mbpp", "claude-v1", "cost"), "reproduced_by"] == ""
    none_q = agree.xs("quality", level="measure")
    none_q = none_q[none_q["reproduced_by"] == ""]
    worst = (none_q["closest"] - none_q["paper"]).abs().max()
    assert 0.05 < worst < 0.08  # "some quality cells differ by up to 0.07 on every variant"


def test_table1_html_labels_variants_and_shows_the_paper():
    from routerbench.report import table1_html
    from routerbench.report.tables import table1_report

    models = ("gpt-4-1106-preview", "mistralai/mistral-7b-chat")
    prompts = pd.DataFrame(
        {
            "sample_id": [f"x{i}" for i in range(20)],
            "task": ["winogrande"] * 20,
            "prompt": ["p"] * 20,
        }
    )
    q = np.tile([1.0, 0.0], (20, 1))
    bench = Benchmark(prompts, models, q, np.full((20, 2), 0.01), source="t")
    html = table1_html(table1_report(bench))
    assert "Full benchmark: every prompt of the dataset" in html
    assert "The paper&#x27;s test part" in html
    assert "paper 0.858 / $1.35" in html  # gpt-4 on Winogrande, Table 1
    assert "No variant reproduces the paper" in html
    assert html.count("<table>") == 2


def test_oracle_selection_rows_sum_to_one_and_match_loop():
    bench = random_bench(seed=3)
    share = oracle_selection(bench)
    assert list(share.columns) == list(bench.models)
    np.testing.assert_allclose(share.sum(axis=1), 1.0)
    ds = bench.prompts["dataset"].to_numpy()
    for d in bench.datasets:
        rows = np.flatnonzero(ds == d)
        ch = brute_oracle(bench.quality[rows], bench.cost[rows])
        counts = np.bincount(ch, minlength=bench.n_models) / len(rows)
        np.testing.assert_allclose(share.loc[d].to_numpy(), counts)


def test_oracle_selection_counts_unanswerable_prompts():
    q = np.array([[1.0, 0.0], [np.nan, np.nan], [0.0, 1.0]])
    c = np.array([[1.0, 1.0], [1.0, 1.0], [1.0, 1.0]])
    share = oracle_selection(bench_from(q, c, ["mmlu"] * 3))
    assert share.columns[0] == NO_ANSWER
    np.testing.assert_allclose(share.loc["mmlu"].to_numpy(), [1 / 3, 1 / 3, 1 / 3])


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 30), m=st.integers(1, 5), seed=st.integers(0, 10_000), nan=st.booleans())
def test_oracle_properties(n, m, seed, nan):
    bench = random_bench(n=n, m=m, seed=seed, nan_frac=0.15 if nan else 0.0)
    share = oracle_selection(bench)
    np.testing.assert_allclose(share.sum(axis=1), 1.0)
    assert (share.to_numpy() >= 0).all()
    if not nan:  # per-prompt max >= any single model, so the mean is too
        t1 = table1(bench)
        for _, grp in t1.groupby("dataset"):
            oracle = grp[grp["model"] == ORACLE]["quality"].iloc[0]
            assert oracle >= grp[grp["model"] != ORACLE]["quality"].max() - 1e-12


def test_table1_wide_shape_and_cells():
    t1 = pd.DataFrame(
        {
            "dataset": ["mmlu", "mmlu", "mmlu", "gsm8k", "gsm8k", "gsm8k"],
            "model": ["a", ORACLE, "b", "a", "b", ORACLE],
            "quality": [0.5, 0.9, 0.25, 0.75, np.nan, 1.0],
            "total_cost": [1234.5, 0.004, 12.0, 0.5, 0.0, 0.25],
            "n": [10] * 6,
        }
    )
    wide = table1_wide(t1)
    assert list(wide.index) == ["a", "b", ORACLE]
    assert list(wide.columns) == ["mmlu", "gsm8k"]
    assert wide.loc["a", "mmlu"] == "0.500 / $1,234"
    assert wide.loc[ORACLE, "mmlu"] == "0.900 / $0.004"
    assert wide.loc["b", "gsm8k"] == "– / $0"
    md = table1_markdown(t1)
    assert md.splitlines()[0] == "| model | mmlu | gsm8k |"
    assert "| **Oracle** | 0.900 / $0.004 | 1.000 / $0.250 |" in md


def test_rich_table_does_not_interpret_markup():
    t1 = pd.DataFrame(
        {"dataset": ["d"], "model": ["[bold]evil[/bold]"], "quality": [0.5], "total_cost": [1.0]}
    )
    console = Console(record=True, width=120)
    console.print(table1_rich(t1))
    assert "[bold]evil[/bold]" in console.export_text()


def test_money_formats():
    assert money(0) == "$0"
    assert money(0.00123) == "$0.0012"
    assert money(0.5) == "$0.500"
    assert money(5) == "$5.00"
    assert money(12345.6) == "$12,346"


def test_table1_frame_without_column_is_a_data_error():
    with pytest.raises(DataError, match="total_cost"):
        table1_wide(pd.DataFrame({"dataset": ["d"], "model": ["m"], "quality": [0.1]}))


def _aiq_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "protocol": ["paper"] * 8,
            "dataset": ["b"] * 4 + ["a"] * 4,
            "system": ["Zero", "knn", "mlp", ORACLE, "knn", "Zero", "mlp", ORACLE],
            "family": ["zero", "knn", "mlp", "oracle", "knn", "zero", "mlp", "oracle"],
            "kind": ["zero", "router", "router", "oracle", "router", "zero", "router", "oracle"],
            "aiq": [0.60, 0.70, 0.65, 0.95, 0.50, 0.55, np.nan, 0.9],
            "ci_low": [0.58, 0.68, 0.60, 0.94, 0.45, 0.50, np.nan, 0.88],
            "ci_high": [0.62, 0.72, 0.70, 0.96, 0.56, 0.60, np.nan, 0.92],
        }
    )


def test_aiq_sorted_orders_within_groups_and_adds_delta():
    out = aiq_sorted(_aiq_frame())
    assert list(out["dataset"]) == ["b"] * 4 + ["a"] * 4  # group order kept
    assert list(out["system"]) == [ORACLE, "knn", "mlp", "Zero", ORACLE, "Zero", "knn", "mlp"]
    delta = out.set_index(["dataset", "system"])["delta_zero"]
    assert delta[("b", "knn")] == pytest.approx(0.10)
    assert delta[("a", "knn")] == pytest.approx(-0.05)
    assert np.isnan(delta[("a", "mlp")])


def test_summary_lines_hand_worked():
    lines = summary_lines(_aiq_frame())
    assert lines == [
        "b: best knn AIQ 0.7000 [0.6800, 0.7200] vs Zero AIQ 0.6000 [0.5800, 0.6200]: "
        "+0.1000 (in sample; no cross-fitted verdict)",
        "a: best knn AIQ 0.5000 [0.4500, 0.5600] vs Zero AIQ 0.5500 [0.5000, 0.6000]: "
        "-0.0500 (in sample; no cross-fitted verdict)",
    ]


def test_summary_without_routers_or_zero():
    df = _aiq_frame()
    only_models = df[df["kind"] != "router"]
    assert summary_lines(only_models) == ["b: no router evaluated", "a: no router evaluated"]
    no_zero = df[df["kind"] != "zero"]
    assert summary_lines(no_zero)[0].endswith("; no Zero router to compare")


def test_aiq_frame_without_aiq_column_is_a_data_error():
    with pytest.raises(DataError, match="'aiq'"):
        summary_lines(pd.DataFrame({"dataset": ["d"], "system": ["s"]}))


def test_summary_lines_use_the_cross_fitted_verdict_and_keep_the_cascade_apart():
    nan = float("nan")
    base = {"protocol": "p", "dataset": "d", "ci_low": nan, "ci_high": nan,
            "control_max": 0.004, "length_control": 0.002, "crossfit_ci_high": nan}  # fmt: skip
    rows = [
        {**base, "system": "knn", "kind": "router", "aiq": 0.80, "delta_crossfit": 0.010,
         "crossfit_ci_low": 0.002, "gap_closed_crossfit": 0.25, "verdict": "beats Zero"},
        {**base, "system": "mlp", "kind": "router", "aiq": 0.85, "delta_crossfit": 0.001,
         "crossfit_ci_low": -0.01, "gap_closed_crossfit": 0.02, "verdict": "within noise"},
        {**base, "system": "cascade ε=0", "kind": "router", "aiq": 0.95, "delta_crossfit": 0.2,
         "crossfit_ci_low": 0.1, "gap_closed_crossfit": 0.9, "verdict": "beats Zero"},
        {**base, "system": "cascade ε=0.4", "kind": "router", "aiq": 0.6, "delta_crossfit": -0.1,
         "crossfit_ci_low": -0.2, "gap_closed_crossfit": -1, "verdict": "within noise"},
        {**base, "system": "Zero", "kind": "zero", "aiq": 0.79, "delta_crossfit": 0.0,
         "crossfit_ci_low": 0.0, "gap_closed_crossfit": 0.0, "verdict": ""},
    ]  # fmt: skip
    lines = summary_lines(pd.DataFrame(rows))
    # The best learned router is the one with the largest cross-fitted gain (knn), not the
    # highest in-sample AIQ (mlp), and the simulated-judge cascade is reported on its own line.
    assert lines[0].startswith("d: best learned router knn cross-fitted Δ vs Zero +0.0100")
    assert "25% of the gap" in lines[0] and lines[0].endswith("-> beats Zero")
    assert "prior max +0.0040, length +0.0020" in lines[0]
    assert lines[1] == (
        "d: cascade with a simulated judge (reads test outcomes): above Zero at ε = 0 of 0, 0.4"
    )


def test_a_reference_that_reads_unpaid_responses_is_never_the_best_learned_router():
    """The all-responses reference may gain most, but the summary names a deployable router."""
    from routerbench.report.html import aiq_html, headline_html
    from routerbench.verdicts import REFERENCE_ABOVE_ZERO

    nan = float("nan")
    base = {"protocol": "p", "dataset": "d", "ci_low": nan, "ci_high": nan,
            "control_max": 0.004, "length_control": 0.002, "crossfit_ci_high": nan}  # fmt: skip
    rows = [
        {**base, "system": "judged", "family": "judged-cascade", "kind": "router", "aiq": 0.80,
         "delta_crossfit": 0.003, "crossfit_ci_low": -0.01, "gap_closed_crossfit": 0.1,
         "verdict": "within noise"},
        {**base, "system": "every response", "family": "all-responses", "kind": "router",
         "aiq": 0.9, "delta_crossfit": 0.05, "crossfit_ci_low": 0.02, "gap_closed_crossfit": 0.6,
         "verdict": REFERENCE_ABOVE_ZERO},
        {**base, "system": "Zero", "family": "zero", "kind": "zero", "aiq": 0.79,
         "delta_crossfit": 0.0, "crossfit_ci_low": 0.0, "gap_closed_crossfit": 0.0,
         "verdict": ""},
    ]  # fmt: skip
    frame = pd.DataFrame(rows)
    lines = summary_lines(frame)
    assert lines[0].startswith("d: best learned router judged cross-fitted Δ vs Zero +0.0030")
    head = headline_html(frame)
    assert "judged" in head and "every response" not in head
    html = aiq_html(frame)  # the reference keeps its row, with its own verdict, but not the top
    assert "every response" in html and REFERENCE_ABOVE_ZERO in html
