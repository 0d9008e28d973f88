"""From results to the AIQ table: one row per (protocol, dataset, system), CIs by bootstrap.

Every system of a test set is scored on one shared cost window; folds and seeds are averaged.
Each row also carries its paired gain over the Zero router, the cross-fitted gain, the
controls' gains, the Oracle frontier and the verdict that alone may say "beats Zero".
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from routerbench.errors import DataError
from routerbench.experiment.batch import batched_aiq
from routerbench.experiment.config import AiqConfig, BootstrapConfig, VerdictConfig
from routerbench.frontier import (
    aiq,
    apgr,
    arena_score,
    cost_save,
    crossfit_aiq,
    crossfit_delta,
    gap_at_oracle,
    ndch,
    oracle_frontier,
    pareto_distance,
    perf_gain,
    resample_weights,
)
from routerbench.routers.params import RouterTags
from routerbench.verdicts import BEATS_ZERO, REFERENCE_ABOVE_ZERO, SIMULATED_ABOVE_ZERO

__all__ = [
    "AIQ_COLUMNS",
    "BEATS_ZERO",
    "METRIC_COLUMNS",
    "ORACLE_FRONTIER",
    "REFERENCE_ABOVE_ZERO",
    "RESULT_COLUMNS",
    "SIMULATED_ABOVE_ZERO",
    "VERDICT_COLUMNS",
    "WINDOW_COLUMNS",
    "evaluate",
    "load_points",
    "points_path",
    "system_order",
    "unit_window",
    "verdict_of",
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
#: The honest comparison with the Zero router, per system (see `evaluate`).
VERDICT_COLUMNS: tuple[str, ...] = (
    "delta_zero", "delta_ci_low", "delta_ci_high",
    "delta_crossfit", "crossfit_ci_low", "crossfit_ci_high",
    "control_max", "length_control", "n_control_seeds",
    "oracle_frontier", "gap_closed", "gap_closed_crossfit", "verdict",
)  # fmt: skip
AIQ_COLUMNS: tuple[str, ...] = (
    "protocol", "dataset", "system", "family", "kind", "aiq", "ci_low", "ci_high",
    *VERDICT_COLUMNS, "window_lo", "window_hi", "n_points", "n_runs", *METRIC_COLUMNS,
)  # fmt: skip
WINDOW_COLUMNS: tuple[str, ...] = ("protocol", "fold", "dataset", "window_lo", "window_hi", "n")
#: Order of kinds within a dataset in every table: routers, controls, then the baselines.
KIND_ORDER: dict[str, int] = {
    "router": 0, "control": 1, "zero": 2, "oracle": 3, "oracle-frontier": 4, "model": 5,
}  # fmt: skip
#: System name and kind of the Oracle frontier's row.
ORACLE_FRONTIER = "Oracle frontier"
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
    seed: int = 0
    #: Bootstrap replicates of AIQ minus Zero's, on the same resamples (None: not computed).
    delta_samples: np.ndarray | None = None
    delta: float = float("nan")
    crossfit: float = float("nan")
    crossfit_samples: np.ndarray | None = None
    oracle_frontier: float = float("nan")


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
    extra: Sequence[Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]] = (),
) -> list[np.ndarray]:
    """Bootstrap AIQ replicates of every run of one test set, all from one set of resamples.

    Each replicate draws the test prompts with replacement (multinomial counts
    ``W [B, n]``, seeded by ``boot.seed``); a run's replicate points are then
    ``W @ q.T / n`` and ``W @ c.T`` (BLAS, no loop over prompts) and their AIQs
    come from `batched_aiq` (no loop over replicates). All runs of a test set
    share ``W``, so their replicates are paired, as in
    `frontier.paired_bootstrap`. Each of `extra` maps a ``W`` chunk to
    ``[b, k]`` points (in the AIQ's cost units) of one more system, e.g. the
    Oracle frontier; its replicates follow those of `arrays`.
    """
    n = arrays[0][0].shape[1]
    # One matrix product per resample chunk for all runs together: a few large BLAS
    # calls instead of one small one per run.
    q_all = np.vstack([q for q, _ in arrays])
    c_all = np.vstack([c for _, c in arrays])
    bounds = np.cumsum([0] + [q.shape[0] for q, _ in arrays])
    rng = np.random.default_rng(boot.seed)
    chunk = max(1, min(boot.n_boot, _CHUNK_CELLS // max(n, 1)))
    parts: list[list[np.ndarray]] = [[] for _ in range(len(arrays) + len(extra))]
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
        for k, points in enumerate(extra, start=len(arrays)):
            pc, pq = points(w)
            parts[k].append(batched_aiq(pc, pq, window, log_cost=aiq_cfg.log_cost))
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


def _oracle_frontier_points(
    zero: tuple[np.ndarray, np.ndarray], cost_mode: str
) -> tuple[Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]], tuple[np.ndarray, ...]]:
    """The Oracle frontier of one test set, from the Zero run's per-model arrays.

    The Zero run realised every single model on every test prompt, so its
    arrays *are* the test table: ``q[j, i]`` is model j's true quality on
    prompt i. Returns the points of the path (full sample) and a function that
    reweights them for the bootstrap.
    """
    q, c = zero
    front = oracle_frontier(q.T, c.T)

    def points(w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return front.points(w, cost_mode=cost_mode)

    return points, front.points(cost_mode=cost_mode)


def _score_unit(
    unit: pd.DataFrame,
    load: PointsLoader,
    window: tuple[float, float],
    aiq_cfg: AiqConfig,
    boot: BootstrapConfig,
    verdict: VerdictConfig,
) -> tuple[list[tuple[pd.DataFrame, _RunScore]], _RunScore | None]:
    """AIQ (and CI replicates), gains over Zero and the other metrics of every run on one test set.

    Returns the per-run scores and the Oracle frontier's score (None when the
    unit has no Zero run, whose arrays it is built from).
    """
    col = _cost_col(aiq_cfg.cost_mode)
    pool = unit[~unit["kind"].isin(["oracle", "control"])]
    reference = (pool[col].to_numpy(dtype=float), pool["quality"].to_numpy(dtype=float))
    runs = [run for _, run in unit.groupby("run_id", sort=False)]
    arrays = []
    for run in runs:
        q, c = load(str(run["run_id"].iloc[0]))
        _check_arrays(run, q, c)
        arrays.append((q, c))
    kinds = [str(run["kind"].iloc[0]) for run in runs]
    zero_at = kinds.index("zero") if "zero" in kinds else None
    # Controls need only their cross-fitted gain; dozens of seeds would dominate the bootstrap.
    booted = [k for k, kind in enumerate(kinds) if kind != "control"]
    extra = []
    of_points: tuple[np.ndarray, ...] | None = None
    if zero_at is not None:
        reweight, of_points = _oracle_frontier_points(arrays[zero_at], aiq_cfg.cost_mode)
        extra.append(reweight)
    samples: list[np.ndarray | None] = [None] * len(runs)
    of_samples = None
    if boot.n_boot > 0 and booted:
        reps = _replicates([arrays[k] for k in booted], window, aiq_cfg, boot, extra)
        for k, r in zip(booted, reps):
            samples[k] = r
        if extra:
            of_samples = reps[-1]
    of_score = None
    if of_points is not None:
        of_est = float(
            aiq(ndch(of_points[0], of_points[1]), window=window, log_cost=aiq_cfg.log_cost)
        )
        nan_metrics = dict.fromkeys(METRIC_COLUMNS, float("nan"))
        of_score = _RunScore(of_est, of_samples, nan_metrics, int(of_points[0].size))
    zero_samples = samples[zero_at] if zero_at is not None else None
    out = []
    for k, (run, reps, (q, c)) in enumerate(zip(runs, samples, arrays)):
        curve = ndch(run[col].to_numpy(dtype=float), run["quality"].to_numpy(dtype=float))
        est = float(aiq(curve, window=window, log_cost=aiq_cfg.log_cost))
        metrics = _metrics(run, unit, col, reference)
        metrics["aiq_crossfit"] = _crossfit(q, c, window, aiq_cfg, boot.seed)
        score = _RunScore(est, reps, metrics, len(run), seed=int(run["seed"].iloc[0]))
        if of_score is not None:
            score.oracle_frontier = of_score.estimate
        if zero_at is not None:
            if reps is not None and zero_samples is not None:
                score.delta_samples = reps - zero_samples
            if kinds[k] == "zero":
                score.crossfit = 0.0
                score.crossfit_samples = np.zeros(0)
            elif kinds[k] in ("router", "control", "oracle") and q.shape[1] >= 2:
                res = _crossfit_delta(
                    (q, c), arrays[zero_at], window, aiq_cfg, boot, verdict, kinds[k]
                )
                score.crossfit, score.crossfit_samples = res
        out.append((run, score))
    if zero_at is not None:
        zero_value = out[zero_at][1].estimate
        for _, score in out:
            score.delta = score.estimate - zero_value
    return out, of_score


def _crossfit_delta(
    system: tuple[np.ndarray, np.ndarray],
    zero: tuple[np.ndarray, np.ndarray],
    window: tuple[float, float],
    aiq_cfg: AiqConfig,
    boot: BootstrapConfig,
    verdict: VerdictConfig,
    kind: str,
) -> tuple[float, np.ndarray | None]:
    """`frontier.crossfit_delta` in the AIQ's cost units; controls skip the interval."""
    n = system[0].shape[1]
    scale = 1.0 / n if aiq_cfg.cost_mode == "mean" else 1.0
    res = crossfit_delta(
        (system[0], system[1] * scale),
        (zero[0], zero[1] * scale),
        window,
        reps=verdict.crossfit_reps,
        n_boot=0 if kind == "control" else verdict.crossfit_boot,
        alpha=boot.alpha,
        seed=boot.seed,
        log_cost=aiq_cfg.log_cost,
    )
    return res.estimate, (res.samples if res.samples.size else None)


def _crossfit(
    q: np.ndarray, c: np.ndarray, window: tuple[float, float], aiq_cfg: AiqConfig, seed: int
) -> float:
    """AIQ with the frontier's settings chosen on one half of the prompts, scored on the other.

    A router with many settings gets its NDCH from the best of them *on the test
    set*, which flatters it; `frontier.crossfit_aiq` removes that selection bias
    (for a single point there is nothing to select and it is close to ``aiq``).
    This is the system's own cross-fitted AIQ; the comparison with Zero uses
    the paired, symmetric `frontier.crossfit_delta` (``delta_crossfit``).
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


def _interval(samples: list[np.ndarray | None], alpha: float) -> tuple[float, float]:
    """Percentile interval of the mean over runs of per-run replicates (NaN if any is missing)."""
    if not samples or any(s is None or s.size == 0 for s in samples):
        return float("nan"), float("nan")
    mean = np.mean(np.vstack(samples), axis=0)  # type: ignore[arg-type]
    lo, hi = np.quantile(mean, [alpha / 2, 1 - alpha / 2])
    return float(lo), float(hi)


def _mean(values: list[float]) -> float:
    vals = np.asarray(values, dtype=float)
    return float(vals.mean()) if vals.size and np.isfinite(vals).all() else float("nan")


def _control_bars(
    scores: dict[tuple[str, str, str], list[_RunScore]],
    meta: dict[tuple[str, str, str], tuple[str, str]],
) -> dict[tuple[str, str], tuple[float, float, int]]:
    """Per (protocol, dataset): max cross-fitted gain over the prior control's seeds (each
    averaged over folds), the length control's gain, and the number of control seeds."""
    bars: dict[tuple[str, str], list[Any]] = {}
    for key, runs in scores.items():
        family, kind = meta[key]
        if kind != "control":
            continue
        bar = bars.setdefault((key[0], key[1]), [float("nan"), float("nan"), 0])
        by_seed: dict[int, list[float]] = {}
        for r in runs:
            by_seed.setdefault(r.seed, []).append(r.crossfit)
        per_seed = np.array([_mean(v) for v in by_seed.values()], dtype=float)
        if family == "length":
            bar[1] = float(np.nanmax(per_seed)) if np.isfinite(per_seed).any() else np.nan
        else:
            bar[0] = float(np.nanmax(per_seed)) if np.isfinite(per_seed).any() else np.nan
            bar[2] = int(per_seed.size)
    return {k: (v[0], v[1], v[2]) for k, v in bars.items()}


def verdict_of(
    kind: str,
    delta_crossfit: float,
    ci_low: float,
    control_max: float,
    length_control: float,
    *,
    reads_test_outcomes: bool = False,
    reads_uncalled_responses: bool = False,
) -> str:
    """THE definition of "beats Zero", used by aiq.csv, the report, compare and the docs.

    A router beats the Zero router only when its cross-fitted gain over Zero
    has a bootstrap interval wholly above 0 and exceeds both the largest gain
    of the seeded no-information controls and the length-only control's.
    Anything short of that says which condition failed; baselines and
    controls get an empty verdict. A system that clears every bar but reads
    the test outcomes (`reads_test_outcomes`) gets `SIMULATED_ABOVE_ZERO`; one
    that reads responses it did not pay for (`reads_uncalled_responses`)
    gets `REFERENCE_ABOVE_ZERO`: neither is a router one could deploy.
    """
    if kind != "router":
        return ""
    if not np.isfinite(delta_crossfit) or not np.isfinite(ci_low):
        return "no cross-fit"
    if not (np.isfinite(control_max) and np.isfinite(length_control)):
        return "no controls"
    if ci_low <= 0:
        return "within noise"
    if delta_crossfit <= control_max:
        return "not above prior control"
    if delta_crossfit <= length_control:
        return "not above length control"
    if reads_test_outcomes:
        return SIMULATED_ABOVE_ZERO
    return REFERENCE_ABOVE_ZERO if reads_uncalled_responses else BEATS_ZERO


def family_tags(family: str) -> RouterTags:
    """The tags of the registered router family `family` (`RouterTags()` if not registered).

    Families that are not registry names (plug-ins by import path) are read
    as reading neither test outcomes nor uncalled responses: their own tags
    are checked by `check_router`.
    """
    from routerbench.routers import available, get_router
    from routerbench.routers.params import router_tags

    if family not in available():  # routers imported here: the registry imports every router
        return RouterTags()
    return router_tags(get_router(family))


def reads_test_outcomes(family: str) -> bool:
    """Whether the registered router family `family` is tagged ``reads_test_outcomes``."""
    return family_tags(family).reads_test_outcomes


#: Setting keys that name a simulated judge's error rate ε (the paper's cascade).
EPSILON_KEYS: tuple[str, ...] = ("epsilon", "error_rate", "eps")


def _epsilon(setting: str) -> float:
    try:
        parsed = json.loads(setting) if setting else {}
    except json.JSONDecodeError:
        return float("nan")
    if isinstance(parsed, dict):
        for key in EPSILON_KEYS:
            value = parsed.get(key)
            if isinstance(value, int | float) and not isinstance(value, bool):
                return float(value)
    return float("nan")


def epsilon_label(system: str, eps: float) -> str:
    """The name of one judge error rate's slice of a cascade: ``cascade ε=0.1``."""
    return f"{system} ε={eps:g}"


def split_by_epsilon(
    results: pd.DataFrame, load: PointsLoader
) -> tuple[pd.DataFrame, PointsLoader]:
    """Each run whose settings span several judge error rates ε becomes one run per ε.

    A cascade swept over budgets × ε is not one system: ε = 0 is a free,
    perfect judge (nearly the Oracle) and ε = 0.8 an almost useless one. One
    NDCH over all of them reports the best ε at every budget, which no one
    can choose in advance. Per ε, as in the paper's Figure 5, compares like
    with like. The new run ids are ``<run_id>@eps=<ε>``; the returned loader
    slices their settings out of the original run's arrays.
    """
    if results.empty:
        return results, load
    eps = np.array([_epsilon(str(v)) for v in results["setting"]], dtype=float)
    has = np.isfinite(eps)
    if not has.any():
        return results, load
    frame = results.assign(_eps=eps, _pos=results.groupby("run_id", sort=False).cumcount())
    spans = frame[has].groupby("run_id", sort=False)["_eps"].nunique()
    split_ids = set(spans.index[spans > 1])
    if not split_ids:
        return results, load
    slices: dict[str, tuple[str, np.ndarray]] = {}
    pieces = []
    for rid, run in frame.groupby("run_id", sort=False):
        if rid not in split_ids:
            pieces.append(run)
            continue
        for e, part in run.groupby("_eps", sort=True):
            new_id = f"{rid}@eps={e:g}"
            slices[new_id] = (str(rid), part["_pos"].to_numpy())
            pieces.append(
                part.assign(run_id=new_id, system=epsilon_label(str(part["system"].iloc[0]), e))
            )
    out = pd.concat(pieces, ignore_index=True).drop(columns=["_eps", "_pos"])

    def sliced(run_id: str) -> tuple[np.ndarray, np.ndarray]:
        if run_id not in slices:
            return load(run_id)
        base, rows = slices[run_id]
        q, c = load(base)
        return q[rows], c[rows]

    return out, sliced


def evaluate(
    results: pd.DataFrame,
    load: PointsLoader,
    aiq_cfg: AiqConfig,
    boot: BootstrapConfig,
    verdict: VerdictConfig | None = None,
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
    verdict
        Cross-fitting settings behind ``delta_crossfit`` (default `VerdictConfig()`).

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

        The verdict columns: ``delta_zero`` (AIQ − Zero's AIQ) with a paired
        interval (both from the same resamples); ``delta_crossfit``, the
        paired cross-fitted gain over Zero (`frontier.crossfit_delta`) and its
        interval; ``control_max`` (the largest ``delta_crossfit`` over the
        no-information control's seeds), ``length_control`` (the length-only
        control's), ``oracle_frontier`` (AIQ of the Oracle frontier, also a
        row of its own), ``gap_closed`` = ``delta_zero / (oracle_frontier −
        Zero)`` and ``gap_closed_crossfit`` likewise from ``delta_crossfit``;
        ``verdict`` from `verdict_of`.

        A cascade swept over several judge error rates is scored per ε
        (`split_by_epsilon`): one row ``cascade ε=0.1`` per rate.
    """
    verdict = verdict or VerdictConfig()
    results, load = split_by_epsilon(system_order(results), load)
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
        run_scores, of_score = _score_unit(unit, load, window, aiq_cfg, boot, verdict)
        for run, score in run_scores:
            key = (str(protocol), str(dataset), str(run["system"].iloc[0]))
            meta[key] = (str(run["family"].iloc[0]), str(run["kind"].iloc[0]))
            scores.setdefault(key, []).append(score)
        if of_score is not None:
            key = (str(protocol), str(dataset), ORACLE_FRONTIER)
            meta[key] = ("oracle", "oracle-frontier")
            zero = next(s for r, s in run_scores if r["kind"].iloc[0] == "zero")
            of_score.delta = of_score.estimate - zero.estimate
            of_score.oracle_frontier = of_score.estimate
            if of_score.samples is not None and zero.samples is not None:
                of_score.delta_samples = of_score.samples - zero.samples
            scores.setdefault(key, []).append(of_score)
    bars = _control_bars(scores, meta)
    zero_of = {
        (k[0], k[1]): _mean([r.estimate for r in v])
        for k, v in scores.items()
        if meta[k][1] == "zero"
    }
    nan = float("nan")
    tags_of = functools.lru_cache(maxsize=None)(family_tags)
    rows = []
    for key, runs in scores.items():
        protocol, dataset, system = key
        family, kind = meta[key]
        est = float(np.mean([r.estimate for r in runs]))
        lo, hi = _interval([r.samples for r in runs], boot.alpha)
        d_lo, d_hi = _interval([r.delta_samples for r in runs], boot.alpha)
        cf = _mean([r.crossfit for r in runs])
        cf_lo, cf_hi = _interval([r.crossfit_samples for r in runs], boot.alpha)
        if kind == "zero":
            cf_lo = cf_hi = 0.0
        wins = np.asarray(win_of[(protocol, dataset)], dtype=float)
        control_max, length_gain, n_seeds = bars.get((protocol, dataset), (nan, nan, 0))
        of = _mean([r.oracle_frontier for r in runs])
        delta = _mean([r.delta for r in runs])
        room = of - zero_of.get((protocol, dataset), nan)
        row: dict[str, Any] = {
            "protocol": protocol,
            "dataset": dataset,
            "system": system,
            "family": family,
            "kind": kind,
            "aiq": est,
            "ci_low": lo,
            "ci_high": hi,
            "delta_zero": delta,
            "delta_ci_low": d_lo if kind != "zero" else 0.0,
            "delta_ci_high": d_hi if kind != "zero" else 0.0,
            "delta_crossfit": cf,
            "crossfit_ci_low": cf_lo,
            "crossfit_ci_high": cf_hi,
            "control_max": control_max,
            "length_control": length_gain,
            "n_control_seeds": n_seeds,
            "oracle_frontier": of,
            "gap_closed": delta / room if room > 0 else nan,
            "gap_closed_crossfit": cf / room if room > 0 else nan,
            "verdict": verdict_of(
                kind,
                cf,
                cf_lo,
                control_max,
                length_gain,
                reads_test_outcomes=kind == "router" and tags_of(family).reads_test_outcomes,
                reads_uncalled_responses=kind == "router"
                and tags_of(family).reads_uncalled_responses,
            ),
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
