"""The report's tables: the paper's Table 1, the Oracle's model shares and the sorted AIQ table.

Pure DataFrame computations over the benchmark's dense arrays; rendering lives elsewhere.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from routerbench.data.benchmark import Benchmark
from routerbench.errors import DataError
from routerbench.frontier import oracle_choice, realised

ORACLE = "Oracle"
NO_ANSWER = "(no answer)"
TABLE1_COLUMNS: tuple[str, ...] = ("dataset", "model", "quality", "total_cost", "n")
AIQ_REQUIRED: tuple[str, ...] = ("dataset", "system", "aiq")


def _dataset_rows(bench: Benchmark) -> list[tuple[str, np.ndarray]]:
    ds = bench.prompts["dataset"].to_numpy()
    return [(d, np.flatnonzero(ds == d)) for d in bench.datasets]


def table1(bench: Benchmark) -> pd.DataFrame:
    """Each model's and the Oracle's mean quality and total cost per dataset (paper Table 1).

    Parameters
    ----------
    bench
        The full benchmark: Table 1 describes the data, not a test split.

    Returns
    -------
    DataFrame
        Columns ``dataset, model, quality, total_cost, n``; per dataset one row
        per model (benchmark order) then ``"Oracle"``. A model's quality and cost
        skip unmeasured (NaN) cells and ``n`` counts its measured cells, so a
        gap in the data shows as a smaller ``n`` rather than a silent zero. The
        Oracle is `frontier.oracle_choice` with its default (best quality, the
        cheapest on ties, the cheapest model when none is right) over all the
        dataset's prompts; ``n`` is the number of prompts.
    """
    rows: list[dict[str, object]] = []
    for ds, idx in _dataset_rows(bench):
        q, c = bench.quality[idx], bench.cost[idx]
        measured = ~(np.isnan(q) | np.isnan(c))
        n_meas = measured.sum(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean_q = np.where(measured, q, 0.0).sum(axis=0) / n_meas
        total_c = np.where(measured, c, 0.0).sum(axis=0)
        for j, model in enumerate(bench.models):
            rows.append(
                {
                    "dataset": ds,
                    "model": model,
                    "quality": float(mean_q[j]) if n_meas[j] else np.nan,
                    "total_cost": float(total_c[j]),
                    "n": int(n_meas[j]),
                }
            )
        choice = oracle_choice(q, c)
        oq, oc = realised(np.nan_to_num(q), np.nan_to_num(c), choice)
        rows.append(
            {
                "dataset": ds,
                "model": ORACLE,
                "quality": float(oq.mean()) if oq.size else np.nan,
                "total_cost": float(oc.sum()),
                "n": int(idx.size),
            }
        )
    return pd.DataFrame(rows, columns=list(TABLE1_COLUMNS))


def oracle_selection(bench: Benchmark) -> pd.DataFrame:
    """Share of each dataset's prompts that the Oracle sends to each model (paper Figure 3, right).

    Returns
    -------
    DataFrame
        Index ``dataset``, one column per model (benchmark order), rows summing
        to 1. A ``"(no answer)"`` column appears only if some prompt has no
        measured cell at all, so the shares still add up.
    """
    m = bench.n_models
    shares: dict[str, np.ndarray] = {}
    any_none = False
    for ds, idx in _dataset_rows(bench):
        choice = oracle_choice(bench.quality[idx], bench.cost[idx])
        counts = np.bincount(choice + 1, minlength=m + 1).astype(float)
        any_none |= bool(counts[0])
        shares[ds] = counts / max(idx.size, 1)
    cols = [NO_ANSWER, *bench.models]
    out = pd.DataFrame.from_dict(shares, orient="index", columns=cols)
    out.index.name = "dataset"
    return out if any_none else out.drop(columns=NO_ANSWER)


def check_table1(t1: pd.DataFrame) -> None:
    """Refuse a Table 1 frame without the columns the renderers read."""
    missing = [c for c in ("dataset", "model", "quality", "total_cost") if c not in t1.columns]
    if missing:
        raise DataError(
            "Table 1 frame lacks a column; expected dataset, model, quality, total_cost, n",
            source="table1",
            column=missing[0],
        )


def money(x: float) -> str:
    """Dollars with as many digits as the size needs (Table 1 spans $0.01 to $1,000)."""
    if not np.isfinite(x):
        return "–"
    if abs(x) >= 100:
        return f"${x:,.0f}"
    if abs(x) >= 1:
        return f"${x:,.2f}"
    if x == 0:
        return "$0"
    return f"${x:.2g}" if abs(x) < 0.01 else f"${x:.3f}"


def table1_wide(t1: pd.DataFrame, *, digits: int = 3) -> pd.DataFrame:
    """Table 1 in the paper's shape: rows models then Oracle, columns datasets, "q / $c" cells.

    Rows and columns keep the order of first appearance in `t1` (the
    benchmark's model and dataset order), with the Oracle last.
    """
    check_table1(t1)
    models = [m for m in pd.unique(t1["model"]) if m != ORACLE]
    if (t1["model"] == ORACLE).any():
        models.append(ORACLE)
    datasets = list(pd.unique(t1["dataset"]))
    q = t1["quality"].to_numpy(dtype=float)
    c = t1["total_cost"].to_numpy(dtype=float)
    cells = [
        ("–" if not np.isfinite(qi) else f"{qi:.{digits}f}") + " / " + money(ci)
        for qi, ci in zip(q, c)
    ]
    long = pd.DataFrame({"model": t1["model"], "dataset": t1["dataset"], "cell": cells})
    wide = long.pivot_table(index="model", columns="dataset", values="cell", aggfunc="first")
    wide = wide.reindex(index=models, columns=datasets).fillna("–")
    wide.index.name = "model"
    wide.columns.name = None
    return wide


def best_models(t1: pd.DataFrame) -> dict[str, str]:
    """Per dataset, the single model with the highest quality (the Oracle excluded)."""
    check_table1(t1)
    models = t1[(t1["model"] != ORACLE) & t1["quality"].notna()]
    if models.empty:
        return {}
    best = models.loc[models.groupby("dataset", sort=False)["quality"].idxmax()]
    return dict(zip(best["dataset"], best["model"]))


def check_aiq(aiq: pd.DataFrame) -> None:
    """Refuse an AIQ frame without the columns the report reads."""
    missing = [c for c in AIQ_REQUIRED if c not in aiq.columns]
    if missing:
        raise DataError(
            "AIQ frame lacks a column; expected at least dataset, system, aiq "
            "(and protocol, kind, ci_low, ci_high)",
            source="aiq",
            column=missing[0],
        )


def aiq_sorted(aiq: pd.DataFrame) -> pd.DataFrame:
    """The AIQ table grouped by (protocol, dataset), best AIQ first, with a Δ-vs-Zero column.

    Groups keep their order of first appearance (the runner's dataset order);
    within a group rows are sorted by AIQ descending, NaN last. ``delta_zero``
    is the system's AIQ minus the Zero router's in the same group (NaN if
    the group has no Zero row): the paper's question is whether a router beats
    mixing models without looking at prompts.
    """
    check_aiq(aiq)
    df = aiq.copy()
    if "protocol" not in df.columns:
        df["protocol"] = ""
    for col in ("kind", "family"):
        if col not in df.columns:
            df[col] = ""
    for col in ("ci_low", "ci_high"):
        if col not in df.columns:
            df[col] = np.nan
    df["aiq"] = pd.to_numeric(df["aiq"], errors="coerce")
    keys = ["protocol", "dataset"]
    if "delta_zero" not in df.columns:  # aiq.csv carries it; a hand-made frame may not
        zero = df[(df["kind"] == "zero") | (df["system"] == "Zero")]
        zero = zero.drop_duplicates(keys).set_index(keys)["aiq"].rename("_zero")
        df = df.join(zero, on=keys)
        df["delta_zero"] = df["aiq"] - df.pop("_zero")
    group_order = {g: i for i, g in enumerate(dict.fromkeys(zip(df["protocol"], df["dataset"])))}
    df["_g"] = [group_order[g] for g in zip(df["protocol"], df["dataset"])]
    df["_neg"] = -df["aiq"]
    df = df.sort_values(["_g", "_neg"], na_position="last", kind="stable")
    return df.drop(columns=["_g", "_neg"]).reset_index(drop=True)
