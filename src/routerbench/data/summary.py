"""A benchmark's summary: sizes, missing cells, merges, per-model quality and cost.

`routerbench info` renders it; `--json` prints it as is, so scripts and tests read
the same numbers a person sees.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from routerbench.data.benchmark import Benchmark


def summarize(bench: Benchmark) -> dict[str, Any]:
    """Plain-JSON summary of a benchmark (numbers as Python floats/ints)."""
    datasets = bench.prompts["dataset"].to_numpy()
    per_dataset: dict[str, Any] = {}
    for ds in bench.datasets:
        rows = datasets == ds
        q = bench.quality[rows]
        c = bench.cost[rows]
        with np.errstate(invalid="ignore"):
            mean_q = np.nanmean(q, axis=0) if rows.any() else np.full(bench.n_models, np.nan)
        total_c = np.nansum(c, axis=0)
        per_dataset[ds] = {
            "n_prompts": int(rows.sum()),
            "n_tasks": int(bench.prompts.loc[rows, "task"].nunique()),
            "in_paper": bool(bench.in_paper[rows][0]),
            "models": {
                m: {"quality": _num(mean_q[j]), "total_cost": _num(total_c[j])}
                for j, m in enumerate(bench.models)
            },
        }
    miss = bench.missing
    extra: dict[str, Any] = {}
    if "paper_cost_scale" in bench.meta:  # the synthetic default: how its costs were scaled
        extra["paper_cost_scale"] = {
            "rule": "total_cost = paper's Table 1 cost (summed over its 30% test part) "
            "* n / n_test, n_test = n - int(0.7 * n)",
            "factor": dict(bench.meta["paper_cost_scale"]),
        }
    return {
        "source": bench.source,
        "synthetic": bench.synthetic,
        "fingerprint": bench.fingerprint(),
        "n_prompts": bench.n_prompts,
        "n_models": bench.n_models,
        "n_datasets": len(bench.datasets),
        "n_tasks": len(bench.tasks),
        "datasets": bench.datasets,
        "models": list(bench.models),
        "nan_cells": int(miss.sum()),
        "duplicates_merged": len(bench.meta.get("merged_sample_ids", [])),
        "prompts_outside_paper": int((~bench.in_paper).sum()),
        "has_latency": bench.latency is not None,
        "has_responses": bench.responses is not None,
        "notes": list(bench.notes),
        "per_dataset": per_dataset,
        **extra,
    }


def _num(x: float) -> float | None:
    return None if np.isnan(x) else float(x)
