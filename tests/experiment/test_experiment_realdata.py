"""The paper protocol on real RouterBench rows (ARC-Challenge, MBPP, Winogrande) via the CLI.

Skips without ../shared/realdata. Table 1 is checked against a computation straight from the CSVs.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from typer.testing import CliRunner

from routerbench.cli import app

REPO = Path(__file__).resolve().parents[2]
COST = "|total_cost"


def csv_table1(folder: Path) -> pd.DataFrame:
    """Per dataset: each model's mean quality and total cost, and the Oracle's, from raw CSVs.

    Rows that split one sample_id are merged: each model's quality and cost come from the
    row that carries that model's result (its quality is not empty).
    """
    raw = pd.concat([pd.read_csv(p) for p in sorted(folder.glob("*.csv"))], ignore_index=True)
    models = [c[: -len(COST)] for c in raw.columns if c.endswith(COST)]
    ids = raw.drop_duplicates("sample_id")[["sample_id", "eval_name"]].set_index("sample_id")
    merged = ids.copy()
    for m in models:
        carrying = raw[raw[m].notna()].drop_duplicates("sample_id").set_index("sample_id")
        merged[m] = carrying[m]
        merged[m + COST] = carrying[m + COST]
    rows = []
    for ds, grp in merged.groupby("eval_name", sort=False):
        q = grp[models].to_numpy(dtype=float)
        c = grp[[m + COST for m in models]].to_numpy(dtype=float)
        for j, m in enumerate(models):
            rows.append((ds, m, q[:, j].mean(), c[:, j].sum(), len(grp)))
        best = q.max(axis=1, keepdims=True)
        masked = np.where(q == best, c, np.inf)
        pick = np.where(best[:, 0] > 0, masked.argmin(axis=1), c.argmin(axis=1))
        idx = np.arange(len(grp))
        rows.append((ds, "Oracle", q[idx, pick].mean(), c[idx, pick].sum(), len(grp)))
    return pd.DataFrame(rows, columns=["dataset", "model", "quality", "total_cost", "n"])


def test_paper_config_on_real_data_via_cli(routerdc_dir: Path, tmp_path: Path) -> None:
    paper = yaml.safe_load((REPO / "configs" / "paper.yaml").read_text(encoding="utf-8"))
    # Keep the test fast: the paper's protocols, windows and cascade grid, one KNN on
    # fit-free hashed n-grams (TF-IDF + SVD fitting dominates the time on 3k prompts).
    paper["embedding"] = {"spec": "hashing"}
    paper["routers"] = [r for r in paper["routers"] if r["name"] == "cascade"] + [
        {"name": "knn", "grid": {"n_neighbors": [10]}}
    ]
    paper["bootstrap"]["n_boot"] = 100
    paper["verdict"].update(control_seeds=5, crossfit_boot=50)
    paper["n_jobs"] = 1
    cfg = tmp_path / "paper-small.yaml"
    cfg.write_text(yaml.safe_dump(paper, sort_keys=False), encoding="utf-8")
    out = tmp_path / "out"
    result = CliRunner().invoke(
        app,
        ["run", "--config", str(cfg), "--data", str(routerdc_dir), "--out", str(out), "--quiet"],
    )
    assert result.exit_code == 0, result.output

    aiq = pd.read_csv(out / "aiq.csv")
    datasets = {"arc-challenge", "winogrande", "mbpp"}
    assert set(aiq["dataset"]) == datasets
    assert set(aiq["protocol"]) == {"in-domain", "out-of-domain"}  # the config's labels
    for _, grp in aiq.groupby(["protocol", "dataset"]):
        # The cascade is scored once per judge error rate (one curve per ε, as the paper).
        want = {"knn", "cascade ε=0", "cascade ε=0.8", "Oracle", "Zero", "gpt-4-1106-preview",
                "Oracle frontier", "prior control", "length control"}  # fmt: skip
        assert want <= set(grp["system"])
        assert "cascade" not in set(grp["system"])
        booted = grp[grp["kind"] != "control"]  # controls: only their cross-fitted gain
        assert grp["aiq"].notna().all() and (booted["ci_low"] <= booted["ci_high"]).all()

    t1 = pd.read_csv(out / "table1.csv")
    assert list(pd.unique(t1["variant"])) == ["full", "paper-test"]
    t1 = t1[t1["variant"] == "full"]
    expected = csv_table1(routerdc_dir)
    assert len(t1) == len(expected) == 3 * 12
    got = t1.set_index(["dataset", "model"]).sort_index()
    exp = expected.set_index(["dataset", "model"]).sort_index()
    np.testing.assert_allclose(got["quality"], exp["quality"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(got["total_cost"], exp["total_cost"], rtol=1e-9)
    assert (got["n"] == exp["n"]).all()

    results = pd.read_parquet(out / "results.parquet")
    paper_rows = results[(results["protocol"] == "in-domain") & (results["kind"] == "model")]
    # 30% of each dataset is tested: the paper split of 1470 / 1267 / 427 prompts
    n_test = paper_rows.groupby("dataset")["n"].first().to_dict()
    assert n_test == {"arc-challenge": 1470 - 1029, "winogrande": 1267 - 886, "mbpp": 427 - 298}
