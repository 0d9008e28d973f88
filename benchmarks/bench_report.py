"""Time to render a full report: 7 datasets × 15 systems × 40 points, PNG + SVG + HTML.

The report is written once per run; it must stay a few seconds so it never dominates a quick run.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from routerbench.data.datasets import PAPER_DATASETS, PAPER_MODELS
from routerbench.report import write_report
from routerbench.report.tables import ORACLE

N_POINTS = 40
ROUTERS = (("knn", "knn(k=5)"), ("knn", "knn(k=40)"), ("mlp", "mlp"), ("svr", "svr"))
EPSILONS = (0.0, 0.1, 0.2, 0.4)


def synthetic_results(
    seed: int = 0,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Results, AIQ, Table 1 and Oracle shares shaped like a paper-protocol run.

    Per dataset: 11 models, the Oracle, the Zero router and four routers with
    40 willingness-to-pay settings each, plus a 10-budget × 4-ε cascade: 15
    systems and 1,800 points in all.
    """
    rng = np.random.default_rng(seed)
    rows: list[dict[str, object]] = []
    aiq_rows: list[dict[str, object]] = []
    t1_rows: list[dict[str, object]] = []

    def add(
        ds: str, family: str, system: str, kind: str, setting: dict, q: float, c: float
    ) -> None:
        rows.append(
            {
                "protocol": "paper",
                "fold": 0,
                "dataset": ds,
                "family": family,
                "system": system,
                "kind": kind,
                "setting": json.dumps(setting),
                "seed": 0,
                "n": 1000,
                "quality": float(q),
                "cost": float(c),
            }
        )

    for ds in PAPER_DATASETS:
        mq = rng.uniform(0.3, 0.9, len(PAPER_MODELS))
        mc = np.geomspace(0.5, 150, len(PAPER_MODELS)) * rng.uniform(0.6, 1.6, len(PAPER_MODELS))
        for m, q, c in zip(PAPER_MODELS, mq, mc):
            add(ds, "model", m, "model", {}, q, c)
            t1_rows.append({"dataset": ds, "model": m, "quality": q, "total_cost": c, "n": 1000})
        add(ds, "oracle", ORACLE, "oracle", {}, min(mq.max() + 0.1, 1.0), mc.min() * 3)
        t1_rows.append(
            {
                "dataset": ds,
                "model": ORACLE,
                "quality": mq.max() + 0.05,
                "total_cost": mc.min() * 3,
                "n": 1000,
            }
        )
        for family, system in ROUTERS:
            costs = np.sort(np.exp(rng.uniform(np.log(mc.min()), np.log(mc.max()), N_POINTS)))
            quals = (
                mq.min()
                + (mq.max() - mq.min())
                * (np.log(costs / mc.min()) / np.log(mc.max() / mc.min())) ** 0.5
            )
            quals = quals + rng.normal(0, 0.02, N_POINTS)
            for k, (c, q) in enumerate(zip(costs, quals)):
                add(ds, family, system, "router", {"willingness_to_pay": k / N_POINTS}, q, c)
        for eps in EPSILONS:
            for b in np.geomspace(mc.min(), mc.max() / 4, 10):
                add(
                    ds,
                    "cascade",
                    "cascade",
                    "router",
                    {"budget": b, "epsilon": eps},
                    mq.max() * (1 - eps) * 0.95,
                    b,
                )
        for s, fam, kind in [
            *((s, f, "router") for f, s in ROUTERS),
            ("cascade", "cascade", "router"),
            ("Zero", "zero", "zero"),
            (ORACLE, "oracle", "oracle"),
        ]:
            a = rng.uniform(0.5, 0.9)
            aiq_rows.append(
                {
                    "protocol": "paper",
                    "dataset": ds,
                    "system": s,
                    "family": fam,
                    "kind": kind,
                    "aiq": a,
                    "ci_low": a - 0.02,
                    "ci_high": a + 0.02,
                    "window_lo": mc.min(),
                    "window_hi": mc.max(),
                    "n_points": 40,
                }
            )
    t1 = pd.DataFrame(t1_rows)
    share = pd.DataFrame(
        rng.dirichlet(np.ones(len(PAPER_MODELS)), len(PAPER_DATASETS)),
        index=list(PAPER_DATASETS),
        columns=list(PAPER_MODELS),
    )
    return pd.DataFrame(rows), pd.DataFrame(aiq_rows), t1, share


def wide_results(
    n_models: int = 200, *, equal_cost: bool = False, seed: int = 0
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """A two-dataset run over `n_models` models (RouterArena-sized), optionally all at one cost.

    Two routers with 40 settings each; the point is the single models: their
    labels, the Oracle heatmap and Table 1 are what grows with the model count.
    """
    rng = np.random.default_rng(seed)
    models = [f"vendor-{k % 7}/model-{k:03d}-chat" for k in range(n_models)]
    rows, t1_rows, aiq_rows = [], [], []
    datasets = ("mmlu", "gsm8k")
    for ds in datasets:
        mq = rng.uniform(0.3, 0.9, n_models)
        mc = np.full(n_models, 5.0) if equal_cost else np.geomspace(0.5, 150, n_models)
        for m, q, c in zip(models, mq, mc):
            rows.append((ds, "model", m, "model", "{}", q, c))
            t1_rows.append({"dataset": ds, "model": m, "quality": q, "total_cost": c, "n": 500})
        rows.append((ds, "oracle", ORACLE, "oracle", "{}", min(mq.max() + 0.05, 1.0), mc.min() * 2))
        t1_rows.append(
            {"dataset": ds, "model": ORACLE, "quality": mq.max(), "total_cost": mc.min(), "n": 500}
        )
        for family in ("knn", "mlp"):
            for k in range(N_POINTS):
                c = float(np.exp(rng.uniform(np.log(mc.min()), np.log(mc.max() + 1e-9))))
                setting = json.dumps({"willingness_to_pay": k})
                rows.append((ds, family, family, "router", setting, rng.uniform(0.4, 0.9), c))
        for s, kind in (("knn", "router"), ("mlp", "router"), ("Zero", "zero")):
            aiq_rows.append(
                {"protocol": "paper", "dataset": ds, "system": s, "family": s, "kind": kind,
                 "aiq": 0.7, "ci_low": 0.68, "ci_high": 0.72}
            )  # fmt: skip
    cols = ["dataset", "family", "system", "kind", "setting", "quality", "cost"]
    frame = pd.DataFrame(rows, columns=cols).assign(protocol="paper", fold=0, seed=0, n=500)
    share = pd.DataFrame(
        rng.dirichlet(np.full(n_models, 0.05), len(datasets)), index=list(datasets), columns=models
    )
    return frame, pd.DataFrame(aiq_rows), pd.DataFrame(t1_rows), share


def _render_once(tmp: str, parts: tuple[pd.DataFrame, ...]) -> tuple[float, float]:
    results, aiq, t1, share = parts
    t0, c0 = time.perf_counter(), time.process_time()
    write_report(
        Path(tmp) / "wide",
        results=results,
        aiq=aiq,
        table1=t1,
        oracle_share=share,
        config_text="bench: true",
        fingerprint="0" * 16,
        version="bench",
        runtime_s=0.0,
        synthetic=True,
    )
    return time.perf_counter() - t0, time.process_time() - c0


def run(emit: Callable[..., None]) -> None:
    """Render the full report twice into a temp folder; report the faster wall and CPU time.

    CPU time is reported next to wall time because the benchmark machine is
    shared: wall time there measures the neighbours as much as the report.
    """
    results, aiq, t1, share = synthetic_results()
    best_wall = best_cpu = float("inf")
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(2):
            t0, c0 = time.perf_counter(), time.process_time()
            page = write_report(
                Path(tmp) / "report",
                results=results,
                aiq=aiq,
                table1=t1,
                oracle_share=share,
                config_text="bench: true",
                fingerprint="0" * 16,
                version="bench",
                runtime_s=0.0,
                synthetic=True,
            )
            best_wall = min(best_wall, time.perf_counter() - t0)
            best_cpu = min(best_cpu, time.process_time() - c0)
        size = page.stat().st_size / 2**20
        n_files = len(list((Path(tmp) / "report" / "plots").iterdir()))
    what = f"7 datasets x 15 systems x 40 pts, {n_files} PNG/SVG files + HTML"
    emit(f"report render wall ({what})", best_wall, "s", "< 10 s", best_wall < 10.0)
    emit(f"report render CPU ({what})", best_cpu, "s", "< 6 s", best_cpu < 6.0)
    emit("report index.html size", size, "MiB", "< 8 MiB", size < 8.0)
    with tempfile.TemporaryDirectory() as tmp:
        for equal, what in ((False, "200 models"), (True, "200 models, all at one cost")):
            wall, cpu = _render_once(tmp, wide_results(200, equal_cost=equal))
            emit(f"report render wall ({what}, 2 datasets)", wall, "s", "< 15 s", wall < 15.0)
            emit(f"report render CPU ({what}, 2 datasets)", cpu, "s", "< 10 s", cpu < 10.0)
