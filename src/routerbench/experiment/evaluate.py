"""From results to the AIQ table: one row per (protocol, dataset, system), CIs by bootstrap.

Every system of a test set is scored on one shared cost window; folds and seeds are averaged.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from routerbench.errors import DataError
from routerbench.experiment.batch import batched_aiq
from routerbench.experiment.config import AiqConfig, BootstrapConfig
from routerbench.frontier import (
    aiq,
    apgr,
    arena_score,
    cost_save,
    crossfit_aiq,
    gap_at_oracle,
    ndch,
    pareto_distance,
    perf_gain,
    resample_weights,
)

__all__ = [
    "AIQ_COLUMNS",
    "METRIC_COLUMNS",
    "RESULT_COLUMNS",
    "WINDOW_COLUMNS",
    "evaluate",
    "load_points",
    "points_path",
    "system_order",
    "unit_window",
    "write_csv",
]

#: The results contract (``OUT/results.parquet``), in column order.
RESULT_COLUMNS: tuple[str, ...] = (
    "run_id", "protocol", "fold", "dataset", "family", "system", "kind", "setting", "params",
    "seed", "n", "quality", "cost", "cost_mean", "model_share",
)  # fmt: skip
#: Other papers' metrics reported beside AIQ (NaN where one does not apply).
METRIC_COLUMNS: tuple[str, ...] = (
    "aiq_crossfit", "apgr", "arena_score", "gap_at_oracle", "perf_gain", "cost_save",
    "pareto_distance",
)  # fmt: skip
#: Random halvings of the test prompts behind ``aiq_crossfit``.
CROSSFIT_REPS = 20
AIQ_COLUMNS: tuple[str, ...] = (
    "protocol", "dataset", "system", "family", "kind", "aiq", "ci_low", "ci_high",
    "window_lo", "window_hi", "n_points", "n_runs", *METRIC_COLUMNS,
)  # fmt: skip
WINDOW_COLUMNS: tuple[str, ...] = ("protocol", "fold", "dataset", "window_lo", "window_hi", "n")
#: Order of kinds within a dataset in every table: routers, then the baselines.
KIND_ORDER: dict[str, int] = {"router": 0, "zero": 1, "oracle": 2, "model": 3}
#: RouterArena prices are dollars per 1000 queries.
ARENA_QUERIES = 1000.0
#: Resample weights are drawn this many cells (replicates x prompts) at a time.
_CHUNK_CELLS = 1 << 22

PointsLoader = Callable[[str], tuple[np.ndarray, np.ndarray]]


def points_path(out_dir: str | Path, run_id: str) -> Path:
    """Where a run's realised per-prompt arrays live: ``OUT/cache/points/<run_id>.npz``."""
    return Path(out_dir) / "cache" / "points" / f"{run_id}.npz"


def load_points(out_dir: str | Path) -> PointsLoader:
    """A loader of ``(q [S, n], c [S, n])`` by run id from an output folder."""

    def load(run_id: str) -> tuple[np.ndarray, np.ndarray]:
        path = points_path(out_dir, run_id)
        try:
            with np.load(path, allow_pickle=False) as z:
                return np.asarray(z["q"], dtype=float), np.asarray(z["c"], dtype=float)
        except FileNotFoundError:
            raise DataError(
                "the run's realised points are missing; re-run the experiment", source=str(path)
            ) from None

    return load


def system_order(frame: pd.DataFrame) -> pd.DataFrame:
    """Sort rows by protocol and dataset (first appearance), kind, then system (first appearance).

    First-appearance order comes from the runner's plan order, so tables read
    in the order the config lists things, and the same input always sorts the
    same way (a stable sort, no dependence on hash order).
    """
    if frame.empty:
        return frame
    keys = pd.DataFrame(index=frame.index)
    for col in ("protocol", "dataset", "system"):
        keys[col] = pd.factorize(frame[col], sort=False)[0]
    keys["kind"] = frame["kind"].map(KIND_ORDER).fillna(len(KIND_ORDER)).astype(int)
    extra = [c for c in ("fold", "seed") if c in frame.columns]
    for col in extra:
        keys[col] = frame[col].to_numpy()
    order = keys.sort_values(["protocol", "dataset", "kind", "system", *extra], kind="stable").index
    return frame.loc[order].reset_index(drop=True)


def _cost_col(mode: str) -> str:
    return "cost" if mode == "total" else "cost_mean"


def unit_window(rows: pd.DataFrame, cfg: AiqConfig) -> tuple[float, float]:
    """The AIQ window of one test set (see `AiqConfig`): models' span, all points, or explicit."""
    if isinstance(cfg.window, list):
        return float(cfg.window[0]), float(cfg.window[1])
    col = _cost_col(cfg.cost_mode)
    pool = rows[rows["kind"] == "model"] if cfg.window == "models" else rows
    if pool.empty:  # no single models ran (baselines off): fall back to every point
        pool = rows
    costs = pool[col].to_numpy(dtype=float)
    lo, hi = float(costs.min()), float(costs.max())
    if cfg.log_cost and lo <= 0:
        positive = costs[costs > 0]
        if positive.size == 0:
            raise DataError("log_cost needs a point with cost > 0 to set the window")
        lo = float(positive.min())
    return lo, hi


@dataclass
class _RunScore:
    estimate: float
    samples: np.ndarray | None
    metrics: dict[str, float]
    n_points: int


def _best_model(models: pd.DataFrame, col: str) -> tuple[float, float, str] | None:
    if models.empty:
        return None
    q = models["quality"].to_numpy(dtype=float)
    c = models[col].to_numpy(dtype=float)
    best = np.flatnonzero(q == q.max())
    k = int(best[np.argmin(c[best])])
    return float(c[k]), float(q[k]), str(models["system"].iloc[k])


def _apgr(run: pd.DataFrame, models: pd.DataFrame, col: str) -> float:
    """APGR where it applies: a router that only ever picks the cheapest or the best model.

    RouteLLM's metric is defined for two-model routers; here the weak model is
    the cheapest single model and the strong one the best (cheapest on ties).
    Any other router (or a baseline) gets NaN rather than a number that means
    something else.
    """
    if run["kind"].iloc[0] != "router" or len(models) < 2:
        return float("nan")
    best = _best_model(models, col)
    assert best is not None
    strong = best[2]
    weak_row = models.iloc[int(np.argmin(models[col].to_numpy(dtype=float)))]
    weak = str(weak_row["system"])
    if weak == strong:
        return float("nan")
    shares = [json.loads(s) for s in run["model_share"]]
    if any(set(k for k, v in s.items() if v > 0) - {weak, strong} for s in shares):
        return float("nan")
    frac = np.array([s.get(strong, 0.0) for s in shares], dtype=float)
    q_weak, q_strong = float(weak_row["quality"]), best[1]
    if q_weak == q_strong:
        return float("nan")
    return apgr(frac, run["quality"].to_numpy(dtype=float), q_weak=q_weak, q_strong=q_strong)


def _metrics(
    run: pd.DataFrame, unit: pd.DataFrame, col: str, reference: tuple[np.ndarray, np.ndarray]
) -> dict[str, float]:
    c = run[col].to_numpy(dtype=float)
    q = run["quality"].to_numpy(dtype=float)
    nan = float("nan")
    out = dict.fromkeys(METRIC_COLUMNS, nan)
    models = unit[unit["kind"] == "model"]
    oracle = unit[unit["kind"] == "oracle"]
    best = _best_model(models, col)
    out["apgr"] = _apgr(run, models, col)
    per_k = run["cost_mean"].to_numpy(dtype=float) * ARENA_QUERIES
    out["arena_score"] = float(np.max(arena_score(q, per_k)))
    if not oracle.empty:
        o = (float(oracle[col].iloc[0]), float(oracle["quality"].iloc[0]))
        out["gap_at_oracle"] = float(gap_at_oracle((c, q), o))
    if best is not None:
        out["perf_gain"] = perf_gain(q, best[1])
        if best[0] > 0:
            out["cost_save"] = cost_save(c, q, best[0], best[1], hull=True)
    if reference[0].size and run["kind"].iloc[0] != "oracle":
        out["pareto_distance"] = pareto_distance((c, q), reference)
    return out


def _replicates(
    arrays: Sequence[tuple[np.ndarray, np.ndarray]],
    window: tuple[float, float],
    aiq_cfg: AiqConfig,
    boot: BootstrapConfig,
) -> list[np.ndarray]:
    """Bootstrap AIQ replicates of every run of one test set, all from one set of resamples.

    Each replicate draws the test prompts with replacement (multinomial counts
    ``W [B, n]``, seeded by ``boot.seed``); a run's replicate points are then
    ``W @ q.T / n`` and ``W @ c.T`` (BLAS, no loop over prompts) and their AIQs
    come from `batched_aiq` (no loop over replicates). All runs of a test set
    share ``W``, so their replicates are paired, as in
    `frontier.paired_bootstrap`.
    """
    n = arrays[0][0].shape[1]
    # One matrix product per resample chunk for all runs together: a few large BLAS
    # calls instead of one small one per run.
    q_all = np.vstack([q for q, _ in arrays])
    c_all = np.vstack([c for _, c in arrays])
    bounds = np.cumsum([0] + [q.shape[0] for q, _ in arrays])
    rng = np.random.default_rng(boot.seed)
    chunk = max(1, min(boot.n_boot, _CHUNK_CELLS // max(n, 1)))
    parts: list[list[np.ndarray]] = [[] for _ in arrays]
    done = 0
    while done < boot.n_boot:
        b = min(chunk, boot.n_boot - done)
        w = resample_weights(rng, n, b)
        quals = (w @ q_all.T) / n
        costs = w @ c_all.T
        if aiq_cfg.cost_mode == "mean":
            costs /= n
        for k in range(len(arrays)):
            cols = slice(bounds[k], bounds[k + 1])
            parts[k].append(
                batched_aiq(costs[:, cols], quals[:, cols], window, log_cost=aiq_cfg.log_cost)
            )
        done += b
    return [np.concatenate(p) for p in parts]


def _check_arrays(run: pd.DataFrame, q: np.ndarray, c: np.ndarray) -> None:
    run_id = str(run["run_id"].iloc[0])
    if q.shape[0] != len(run) or c.shape != q.shape:
        raise DataError(
            f"points file holds {q.shape[0]} settings but the results have {len(run)} rows",
            source=run_id,
        )
    if q.shape[1] != int(run["n"].iloc[0]):
        raise DataError(
            f"points file covers {q.shape[1]} prompts, the results say {int(run['n'].iloc[0])}",
            source=run_id,
        )


def _score_unit(
    unit: pd.DataFrame,
    load: PointsLoader,
    window: tuple[float, float],
    aiq_cfg: AiqConfig,
    boot: BootstrapConfig,
) -> list[tuple[pd.DataFrame, _RunScore]]:
    """AIQ (and CI replicates) and the other metrics of every run on one test set."""
    col = _cost_col(aiq_cfg.cost_mode)
    pool = unit[unit["kind"] != "oracle"]
    reference = (pool[col].to_numpy(dtype=float), pool["quality"].to_numpy(dtype=float))
    runs = [run for _, run in unit.groupby("run_id", sort=False)]
    arrays = []
    for run in runs:
        q, c = load(str(run["run_id"].iloc[0]))
        _check_arrays(run, q, c)
        arrays.append((q, c))
    samples: list[np.ndarray | None] = [None] * len(runs)
    if boot.n_boot > 0:
        samples = list(_replicates(arrays, window, aiq_cfg, boot))
    out = []
    for run, reps, (q, c) in zip(runs, samples, arrays):
        curve = ndch(run[col].to_numpy(dtype=float), run["quality"].to_numpy(dtype=float))
        est = float(aiq(curve, window, log_cost=aiq_cfg.log_cost))
        metrics = _metrics(run, unit, col, reference)
        metrics["aiq_crossfit"] = _crossfit(q, c, window, aiq_cfg, boot.seed)
        out.append((run, _RunScore(est, reps, metrics, len(run))))
    return out


def _crossfit(
    q: np.ndarray, c: np.ndarray, window: tuple[float, float], aiq_cfg: AiqConfig, seed: int
) -> float:
    """AIQ with the frontier's settings chosen on one half of the prompts, scored on the other.

    A router with many settings gets its NDCH from the best of them *on the test
    set*, which flatters it; `frontier.crossfit_aiq` removes that selection bias
    (for a single point there is nothing to select and it is close to ``aiq``).
    """
    if q.shape[1] < 2:
        return float("nan")
    costs = c / q.shape[1] if aiq_cfg.cost_mode == "mean" else c
    try:
        return float(
            crossfit_aiq(q, costs, window, reps=CROSSFIT_REPS, seed=seed, log_cost=aiq_cfg.log_cost)
        )
    except IndexError:
        # crossfit_aiq cannot yet score a half whose frontier is the null router alone
        # (every setting scored 0 there); report "not available" rather than a guess.
        return float("nan")


def evaluate(
    results: pd.DataFrame,
    load: PointsLoader,
    aiq_cfg: AiqConfig,
    boot: BootstrapConfig,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Score every system of every test set; average over folds and seeds.

    Parameters
    ----------
    results
        The results table (`RESULT_COLUMNS`), one row per evaluated point.
    load
        ``run_id -> (q [S, n], c [S, n])``, e.g. `load_points(out_dir)`.
    aiq_cfg, boot
        Window rule, cost units and bootstrap settings.

    Returns
    -------
    aiq_table, windows
        ``aiq_table`` has `AIQ_COLUMNS`. Per test set (protocol, fold, dataset)
        the window is computed once and used for every system, so their AIQs
        are comparable; ``windows`` lists them. A system run on several folds
        or seeds reports the mean AIQ; its interval comes from the mean of the
        per-run bootstrap replicates (each run resamples its own test prompts
        with the same seed, so seeds on one test set share resamples and folds
        are independent), i.e. the bootstrap distribution of that mean.
    """
    results = system_order(results)
    windows: list[dict[str, Any]] = []
    scores: dict[tuple[str, str, str], list[_RunScore]] = {}
    meta: dict[tuple[str, str, str], tuple[str, str]] = {}
    win_of: dict[tuple[str, str], list[tuple[float, float]]] = {}
    for (protocol, fold, dataset), unit in results.groupby(
        ["protocol", "fold", "dataset"], sort=False
    ):
        window = unit_window(unit, aiq_cfg)
        windows.append(
            {
                "protocol": protocol,
                "fold": int(fold),
                "dataset": dataset,
                "window_lo": window[0],
                "window_hi": window[1],
                "n": int(unit["n"].iloc[0]),
            }
        )
        win_of.setdefault((protocol, dataset), []).append(window)
        for run, score in _score_unit(unit, load, window, aiq_cfg, boot):
            key = (str(protocol), str(dataset), str(run["system"].iloc[0]))
            meta[key] = (str(run["family"].iloc[0]), str(run["kind"].iloc[0]))
            scores.setdefault(key, []).append(score)
    rows = []
    for key, runs in scores.items():
        protocol, dataset, system = key
        est = float(np.mean([r.estimate for r in runs]))
        lo = hi = float("nan")
        if all(r.samples is not None for r in runs):
            mean_samples = np.mean(np.vstack([r.samples for r in runs]), axis=0)
            lo, hi = (
                float(v) for v in np.quantile(mean_samples, [boot.alpha / 2, 1 - boot.alpha / 2])
            )
        wins = np.asarray(win_of[(protocol, dataset)], dtype=float)
        row: dict[str, Any] = {
            "protocol": protocol,
            "dataset": dataset,
            "system": system,
            "family": meta[key][0],
            "kind": meta[key][1],
            "aiq": est,
            "ci_low": lo,
            "ci_high": hi,
            "window_lo": float(wins[:, 0].mean()),
            "window_hi": float(wins[:, 1].mean()),
            "n_points": round(float(np.mean([r.n_points for r in runs]))),
            "n_runs": len(runs),
        }
        for m in METRIC_COLUMNS:
            vals = np.array([r.metrics[m] for r in runs], dtype=float)
            row[m] = float(np.mean(vals)) if np.isfinite(vals).all() else float("nan")
        rows.append(row)
    table = pd.DataFrame(rows, columns=list(AIQ_COLUMNS))
    return system_order(table), pd.DataFrame(windows, columns=list(WINDOW_COLUMNS))


def write_csv(frame: pd.DataFrame, path: str | Path, columns: Sequence[str] | None = None) -> Path:
    """Write a table atomically; floats print as their shortest exact repr, so equal inputs
    give equal bytes and nothing is rounded away."""
    from routerbench.io import write_atomic

    out = frame if columns is None else frame.loc[:, list(columns)]
    return write_atomic(path, lambda p: out.to_csv(p, index=False, lineterminator="\n"))
