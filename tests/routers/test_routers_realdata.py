"""Acceptance on real RouterBench rows (ARC-Challenge, MBPP, Winogrande): routers vs Zero.

Paper split (70/30 per dataset, seed 42), one router per dataset as in the paper,
AIQ on a fixed window per dataset (cheapest to dearest model's total test cost),
paired bootstrap CIs against the Zero router. Run this file as a script to print
the full table for docs/routers.md; the test skips without ../shared.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from routerbench.data.benchmark import Benchmark
from routerbench.frontier import aiq, crossfit_aiq, ndch, paired_bootstrap, realised, zero_router
from routerbench.routers import (
    FactorRouter,
    KNNRouter,
    LogisticRouter,
    MLPRouter,
    OracleRouter,
    PriorRouter,
    Router,
    SVRRouter,
    get_router,
)

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "realdata"
DATA = SHARED / "routerbench-subset-routerdc"
DATASETS = ("arc-challenge", "mbpp", "winogrande")

PAPER: dict[str, Callable[[], Router]] = {
    "knn k=5": lambda: KNNRouter(5),
    "knn k=10": lambda: KNNRouter(10),
    "knn k=40": lambda: KNNRouter(40),
    "mlp (100,)": lambda: MLPRouter((100,)),
    "mlp (100,100)": lambda: MLPRouter((100, 100)),
}
PAPER_PROTOCOL: dict[str, Callable[[], Router]] = {
    "knn k=40, price index, 32 λ": lambda: KNNRouter(40, cost="legacy", lambdas="paper"),
    "mlp (100,), price index, 32 λ": lambda: MLPRouter((100,), cost="legacy", lambdas="paper"),
    "svr": lambda: SVRRouter(),
}
OURS: dict[str, Callable[[], Router]] = {
    "logreg": lambda: LogisticRouter(),
    "carrot (logreg + cost regression)": lambda: get_router("carrot"),
    "mf (rank-r logistic)": lambda: FactorRouter(),
}
#: Trained once on the train part of all three datasets (dataset one-hot features).
POOLED: dict[str, Callable[[], Router]] = {
    "logreg, pooled over the 3 datasets": lambda: LogisticRouter(),
    "mf, pooled over the 3 datasets": lambda: FactorRouter(),
}
CONTROL: dict[str, Callable[[], Router]] = {
    "control: prior + noise (no information)": lambda: PriorRouter(noise=0.02),
}


@dataclass(frozen=True)
class Row:
    dataset: str
    router: str
    aiq: float
    delta: float
    low: float
    high: float
    p_value: float
    settings: int
    crossfit: float = float("nan")


def load_split() -> tuple[Benchmark, Benchmark]:
    import routerbench
    from routerbench.data.splits import paper_split

    bench = routerbench.load(str(DATA))
    split = paper_split(bench)
    return split.train, split.test


def realised_table(router: Router, test: Benchmark) -> tuple[np.ndarray, np.ndarray]:
    """``[S, n]`` realised quality and cost of every setting of a router's sweep."""
    pairs = [realised(test.quality, test.cost, d.choice, d.called) for d in router.sweep(test)]
    return np.stack([q for q, _ in pairs]), np.stack([c for _, c in pairs])


def score(
    name: str,
    router: Router,
    test: Benchmark,
    *,
    n_boot: int = 500,
    crossfit: bool = False,
) -> Row:
    """One fitted router on one dataset's test prompts, on the Zero router's fixed window."""
    zero = zero_router(test.cost.sum(axis=0), test.quality.mean(axis=0), test.models)
    window = zero.window
    zero_sys = (test.quality.T, test.cost.T)  # its settings: the single models
    q, c = realised_table(router, test)
    est = aiq(ndch(c.sum(axis=1), q.mean(axis=1)), window)
    pb = paired_bootstrap((q, c), zero_sys, n_boot=n_boot, seed=0, window=window)
    cf = crossfit_aiq(q, c, window) - crossfit_aiq(*zero_sys, window) if crossfit else np.nan
    ds = test.datasets[0]
    return Row(ds, name, est, pb.estimate, pb.low, pb.high, pb.p_value, q.shape[0], cf)


def evaluate(
    train: Benchmark,
    test: Benchmark,
    routers: dict[str, Callable[[], Router]],
    *,
    n_boot: int = 500,
    crossfit: bool = False,
) -> tuple[float, list[Row]]:
    """Zero router's AIQ and one row per router fitted on `train` (fixed shared window)."""
    zero = zero_router(test.cost.sum(axis=0), test.quality.mean(axis=0), test.models)
    rows = [
        score(name, make().fit(train), test, n_boot=n_boot, crossfit=crossfit)
        for name, make in routers.items()
    ]
    return aiq(zero.curve, zero.window), rows


def control_crossfit(train: Benchmark, test: Benchmark, seeds: int = 50) -> np.ndarray:
    """Cross-fitted Δ vs Zero of the no-information control over many seeds: a null sample."""
    zero = zero_router(test.cost.sum(axis=0), test.quality.mean(axis=0))
    base = crossfit_aiq(test.quality.T, test.cost.T, zero.window)
    out = []
    for seed in range(seeds):
        q, c = realised_table(PriorRouter(noise=0.02, seed=seed).fit(train), test)
        out.append(crossfit_aiq(q, c, zero.window) - base)
    return np.array(out)


def aiq_table(n_boot: int = 1000) -> str:
    """The markdown table of docs/routers.md: dataset × router, AIQ and paired CI vs Zero."""
    train, test = load_split()
    routers = {**PAPER, **PAPER_PROTOCOL, **OURS, **CONTROL}
    pooled = {name: make().fit(train) for name, make in POOLED.items()}
    lines = [
        "| dataset | router | settings | AIQ | Δ vs Zero | 95% CI of Δ | p "
        "| cross-fitted Δ | control p |",
        "|---|---|---:|---:|---:|---|---:|---:|---:|",
    ]
    for ds in DATASETS:
        tr, te = train.subset(datasets=ds), test.subset(datasets=ds)
        zero_aiq, rows = evaluate(tr, te, routers, n_boot=n_boot, crossfit=True)
        rows += [score(n, r, te, n_boot=n_boot, crossfit=True) for n, r in pooled.items()]
        null = control_crossfit(tr, te)
        oracle = OracleRouter().fit(tr).route(te).point(te).quality
        lines.append(f"| {ds} | **Zero router** | 11 models | {zero_aiq:.4f} | | | | | |")
        lines.append(f"| {ds} | Oracle (quality) | 1 | {oracle:.4f} | | | | | |")
        for r in rows:
            p_ctrl = (1 + np.sum(null >= r.crossfit)) / (1 + null.size)
            lines.append(
                f"| {ds} | {r.router} | {r.settings} | {r.aiq:.4f} | {r.delta:+.4f} | "
                f"[{r.low:+.4f}, {r.high:+.4f}] | {r.p_value:.3f} | {r.crossfit:+.4f} "
                f"| {p_ctrl:.2f} |"
            )
        lines.append(
            f"| {ds} | *control, 50 seeds: cross-fitted Δ mean {null.mean():+.4f}, "
            f"95th pct {np.quantile(null, 0.95):+.4f}* | | | | | | | |"
        )
    return "\n".join(lines)


# ----------------------------------------------------------------------------- tests
@pytest.fixture(scope="module")
def split() -> tuple[Benchmark, Benchmark]:
    if not DATA.is_dir():
        pytest.skip("../shared/realdata/routerbench-subset-routerdc is not present")
    with threadpool_limits(1):
        return load_split()


def test_paper_routers_do_not_beat_zero_and_ours_do(split):
    """The acceptance check of the issue, on the paper split of the real rows.

    1. The paper's KNN and MLP reproduce its qualitative result: none of them
       clearly beats the Zero router out of sample (cross-fitted Δ AIQ <= +0.01 on
       every dataset), and the best of them is about equal to it (in-sample Δ
       within 0.05). In sample, on the paper's own test part, MLP (100, 100) on
       Winogrande reaches +0.012 with a CI above 0 -- the NDCH's optimism over
       many settings, which cross-fitting removes (+0.005, below the
       no-information control's 95th percentile).
    2. At least one of our routers beats the Zero router's AIQ on each dataset,
       with a paired bootstrap CI excluding it on at least two.

    See docs/routers.md: a no-information control passes (2) as well, which
    says how little of (2) is learning rather than the NDCH's optimism.
    """
    train, test = split
    significant = 0
    with threadpool_limits(1):
        for ds in DATASETS:
            tr, te = train.subset(datasets=ds), test.subset(datasets=ds)
            _, paper = evaluate(tr, te, PAPER, n_boot=200, crossfit=True)
            seen = [(r.router, r.delta, r.crossfit) for r in paper]
            assert max(r.crossfit for r in paper) <= 0.01, (ds, seen)
            assert max(r.delta for r in paper) >= -0.05, (ds, seen)
            _, ours = evaluate(tr, te, {"logreg": OURS["logreg"]}, n_boot=300)
            best = max(ours, key=lambda r: r.delta)
            assert best.delta > 0, (ds, best)
            significant += best.low > 0
    assert significant >= 2


def test_an_uninformed_router_also_gains_from_in_sample_hulls(split):
    """The NDCH over hundreds of settings, drawn on the test prompts, flatters any router.

    `PriorRouter` knows nothing about prompts (train base rates plus seeded
    noise), yet over ten seeds its mean AIQ exceeds the Zero router's on every
    dataset: the size of that gain is the noise floor against which any
    router's gain over Zero must be read (docs/routers.md).
    """
    train, test = split
    for ds in DATASETS:
        tr, te = train.subset(datasets=ds), test.subset(datasets=ds)
        zero = zero_router(te.cost.sum(axis=0), te.quality.mean(axis=0))
        gains = []
        for seed in range(10):
            path = PriorRouter(noise=0.02, seed=seed).fit(tr).path(te)
            gains.append(
                aiq(ndch(path.costs, path.qualities), zero.window) - aiq(zero.curve, zero.window)
            )
        assert np.mean(gains) > 0, (ds, gains)
        # With no noise it is a train-fitted Zero router and cannot beat the test one.
        flat = PriorRouter(noise=0.0).fit(tr).path(te)
        assert (
            aiq(ndch(flat.costs, flat.qualities), zero.window)
            <= aiq(zero.curve, zero.window) + 1e-12
        )


if __name__ == "__main__":
    t0 = time.perf_counter()
    with threadpool_limits(1):
        print(aiq_table(int(sys.argv[1]) if len(sys.argv) > 1 else 1000))
    print(f"\n({time.perf_counter() - t0:.0f} s)")
