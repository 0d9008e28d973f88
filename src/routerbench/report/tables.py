"""The report's tables: the paper's Table 1, the Oracle's model shares and the sorted AIQ table.

Pure DataFrame computations over the benchmark's dense arrays; rendering lives elsewhere.
Table 1 comes in two variants -- the full benchmark and the paper's 30% test part, over
which the paper's own costs were summed -- each beside the paper's published numbers.
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
#: Table 1's variants: which prompts of each dataset the sums and means run over.
TABLE1_VARIANTS: dict[str, str] = {
    "full": "full benchmark: every prompt of the dataset",
    "paper-test": (
        "the paper's test part: the 30% of each dataset's prompts that the paper's seed-42 "
        "70/30 split holds out (the paper's costs are sums over this part)"
    ),
}
#: Columns of the report's Table 1 (`table1_report`, ``table1.csv``).
TABLE1_REPORT_COLUMNS: tuple[str, ...] = (
    "dataset",
    "model",
    "variant",
    "n",
    "quality",
    "total_cost",
    "paper_quality",
    "paper_total_cost",
    "quality_diff",
    "cost_ratio",
)
#: A cell reproduces the paper when quality is within this (absolute; the paper prints
#: three decimals and the released rows are 0/1 scores) ...
QUALITY_TOLERANCE = 0.01
#: ... and cost within this relative difference.
COST_TOLERANCE = 0.05
AIQ_REQUIRED: tuple[str, ...] = ("dataset", "system", "aiq")


def _dataset_rows(bench: Benchmark) -> list[tuple[str, np.ndarray]]:
    ds = bench.prompts["dataset"].to_numpy()
    return [(d, np.flatnonzero(ds == d)) for d in bench.datasets]


def table1(bench: Benchmark, *, variant: str = "full") -> pd.DataFrame:
    """Each model's and the Oracle's mean quality and total cost per dataset (paper Table 1).

    Parameters
    ----------
    bench
        The benchmark (all of it: Table 1 describes the data, not a router's test set).
    variant
        ``"full"``: over every prompt of each dataset. ``"paper-test"``: over the
        paper's test part of each dataset (`routerbench.data.splits.paper_split`),
        the prompts the paper's Table 1 costs were summed over.

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
    if variant not in TABLE1_VARIANTS:
        raise ValueError(
            f"unknown Table 1 variant {variant!r}; expected one of {list(TABLE1_VARIANTS)}"
        )
    if variant == "paper-test":
        from routerbench.data.splits import paper_split

        bench = paper_split(bench).test
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


def _paper_cells() -> pd.DataFrame:
    from routerbench.data.paper import PAPER_ORACLE, load_paper_table1

    paper = load_paper_table1()
    paper["model"] = paper["model"].replace({PAPER_ORACLE: ORACLE})
    return paper.rename(columns={"quality": "paper_quality", "total_cost": "paper_total_cost"})[
        ["dataset", "model", "paper_quality", "paper_total_cost"]
    ]


def table1_report(
    bench: Benchmark, *, variants: tuple[str, ...] = tuple(TABLE1_VARIANTS)
) -> pd.DataFrame:
    """Table 1 in every variant, with the paper's published number beside ours.

    The paper does not say over which prompts its Table 1 runs; its costs match sums
    over its 30% test part, so a reader needs both variants to compare like with like.

    Returns
    -------
    DataFrame
        Columns `TABLE1_REPORT_COLUMNS`: one row per (variant, dataset, model or
        Oracle), variants in the given order. ``paper_quality`` and
        ``paper_total_cost`` are the paper's Table 1 where it has the (dataset, model)
        cell (NaN elsewhere), ``quality_diff`` is ours minus the paper's and
        ``cost_ratio`` ours over the paper's.
    """
    parts = [table1(bench, variant=v).assign(variant=v) for v in variants]
    out = pd.concat(parts, ignore_index=True).merge(
        _paper_cells(), on=["dataset", "model"], how="left", sort=False
    )
    out["quality_diff"] = out["quality"] - out["paper_quality"]
    with np.errstate(divide="ignore", invalid="ignore"):
        out["cost_ratio"] = out["total_cost"] / out["paper_total_cost"]
    return out[list(TABLE1_REPORT_COLUMNS)]


def table1_variant(t1: pd.DataFrame, variant: str | None = None) -> pd.DataFrame:
    """The rows of one variant of a Table 1 frame (the first one present by default).

    A frame without a ``variant`` column is returned as is.
    """
    check_table1(t1)
    if "variant" not in t1.columns:
        return t1
    present = list(pd.unique(t1["variant"]))
    chosen = variant if variant is not None else (present[0] if present else None)
    if chosen not in present:
        raise DataError(
            f"Table 1 has no variant {chosen!r}; it has {', '.join(map(str, present))}",
            source="table1",
            column="variant",
        )
    return t1[t1["variant"] == chosen].reset_index(drop=True)


def paper_agreement(
    t1: pd.DataFrame,
    *,
    quality_tolerance: float = QUALITY_TOLERANCE,
    cost_tolerance: float = COST_TOLERANCE,
) -> pd.DataFrame:
    """Per paper cell and measure, which variants reproduce the paper's number.

    Returns
    -------
    DataFrame
        One row per (dataset, model, measure) where the paper has a number:
        ``measure`` is ``quality`` (reproduced when ``|ours - paper| <=
        quality_tolerance``) or ``cost`` (when ``|ours / paper - 1| <= cost_tolerance``);
        ``reproduced_by`` lists the variants that do (empty: none does), and
        ``closest_variant`` / ``closest`` give the nearest of ours.
    """
    check_table1(t1)
    if "paper_quality" not in t1.columns or "variant" not in t1.columns:
        return pd.DataFrame(
            columns=[
                "dataset",
                "model",
                "measure",
                "paper",
                "closest",
                "closest_variant",
                "reproduced_by",
            ]
        )
    has = t1[t1["paper_quality"].notna() | t1["paper_total_cost"].notna()]
    records = []
    for (ds, model), grp in has.groupby(["dataset", "model"], sort=False):
        for measure, ours, paper in (
            ("quality", grp["quality"], grp["paper_quality"]),
            ("cost", grp["total_cost"], grp["paper_total_cost"]),
        ):
            ref = float(paper.iloc[0])
            if not np.isfinite(ref):
                continue
            vals = ours.to_numpy(dtype=float)
            if measure == "quality":
                gap = np.abs(vals - ref)
                ok = gap <= quality_tolerance + 1e-12
            else:
                with np.errstate(divide="ignore", invalid="ignore"):
                    gap = np.abs(vals / ref - 1.0) if ref else np.where(vals == 0, 0.0, np.inf)
                ok = gap <= cost_tolerance + 1e-12
            gap = np.where(np.isnan(gap), np.inf, gap)
            k = int(np.argmin(gap))
            records.append(
                {
                    "dataset": ds,
                    "model": model,
                    "measure": measure,
                    "paper": ref,
                    "closest": float(vals[k]),
                    "closest_variant": str(grp["variant"].iloc[k]),
                    "reproduced_by": ",".join(grp["variant"].to_numpy()[ok].astype(str)),
                }
            )
    return pd.DataFrame.from_records(
        records,
        columns=[
            "dataset",
            "model",
            "measure",
            "paper",
            "closest",
            "closest_variant",
            "reproduced_by",
        ],
    )


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


def table1_wide(t1: pd.DataFrame, *, digits: int = 3, variant: str | None = None) -> pd.DataFrame:
    """Table 1 in the paper's shape: rows models then Oracle, columns datasets, "q / $c" cells.

    Rows and columns keep the order of first appearance in `t1` (the
    benchmark's model and dataset order), with the Oracle last. A frame with
    several variants shows one (`table1_variant`: the first by default).
    """
    t1 = table1_variant(t1, variant)
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


def best_models(t1: pd.DataFrame, variant: str | None = None) -> dict[str, str]:
    """Per dataset, the single model with the highest quality (the Oracle excluded)."""
    t1 = table1_variant(t1, variant)
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


def deployable_family(family: str) -> bool:
    """Whether one could deploy a router of this family: eligible as "the best router".

    False for families tagged ``reads_test_outcomes`` (the simulated-judge
    cascade, rerank, the Oracle) or ``reads_uncalled_responses`` (the
    all-responses reference): they show what a judge or the responses could be
    worth, so a summary never names them as the best learned router.
    """
    from routerbench.experiment.evaluate import family_tags

    tags = family_tags(family)
    return not (tags.reads_test_outcomes or tags.reads_uncalled_responses)


def deployable(rows: pd.DataFrame) -> np.ndarray:
    """``[len(rows)]`` bool: `deployable_family` of each row's ``family``.

    A table without a ``family`` column (from elsewhere) counts every row.
    """
    if "family" not in rows.columns:
        return np.ones(len(rows), dtype=bool)
    ok = {f: deployable_family(str(f)) for f in rows["family"].unique()}
    return rows["family"].map(ok).to_numpy(dtype=bool)
