"""Compare two experiment outputs: AIQ(A) − AIQ(B) per (dataset, system), paired over prompts.

Both runs' per-prompt arrays are resampled together, so shared prompt difficulty cancels.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from routerbench.errors import ConfigError, DataError
from routerbench.experiment.evaluate import points_path, system_order
from routerbench.frontier import paired_bootstrap

__all__ = ["COMPARE_COLUMNS", "compare_runs", "resolve_output"]

COMPARE_COLUMNS: tuple[str, ...] = (
    "protocol", "dataset", "system", "kind", "aiq_a", "aiq_b", "diff", "ci_low", "ci_high",
    "p_value", "n_runs", "verdict_a", "verdict_b", "note",
)  # fmt: skip


def resolve_output(path: str | Path) -> Path:
    """An output folder from a folder or its ``results.parquet``; a clear error otherwise."""
    p = Path(path)
    if p.is_file() and p.name == "results.parquet":
        p = p.parent
    if not (p / "results.parquet").is_file():
        raise ConfigError(f"{path}: not an experiment output (no results.parquet in it)")
    return p


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError:
        raise
    except ValueError as exc:  # not JSON, or not UTF-8
        raise DataError(
            f"cannot read it as JSON ({type(exc).__name__}); re-run the experiment that wrote it",
            source=str(path),
        ) from None
    if not isinstance(data, dict):
        raise DataError("expected a JSON object; re-run the experiment", source=str(path))
    return data


def _settings(out: Path) -> dict[str, Any]:
    """The AIQ and bootstrap settings the run used (from its run.json), with defaults."""
    cfg: dict[str, Any] = {}
    info = out / "run.json"
    if info.is_file():
        cfg = _read_json(info).get("config", {})
    try:
        aiq = cfg.get("aiq", {})
        boot = cfg.get("bootstrap", {})
        return {
            "cost_mode": aiq.get("cost_mode", "total"),
            "log_cost": bool(aiq.get("log_cost", False)),
            "n_boot": int(boot.get("n_boot", 1000)) or 1000,
            "seed": int(boot.get("seed", 0)),
            "alpha": float(boot.get("alpha", 0.05)),
        }
    except (AttributeError, TypeError, ValueError):
        raise DataError(
            "its config has unexpected settings; re-run the experiment", source=str(info)
        ) from None


def _unreadable(path: Path, exc: BaseException) -> DataError:
    kind = type(exc).__name__
    return DataError(
        f"cannot read it ({kind}: truncated or not written by routerbench); "
        "re-run the experiment that wrote it",
        source=str(path),
    )


def _results(out: Path) -> pd.DataFrame:
    """``results.parquet`` of an output folder, checked to be a whole results table."""
    path = out / "results.parquet"
    try:
        frame = pd.read_parquet(path)
    except OSError as exc:
        if exc.errno is not None:  # permission and the like: the CLI names the path
            exc.filename = exc.filename or str(path)
            raise
        raise _unreadable(path, exc) from None
    except Exception as exc:  # pyarrow: not Parquet, bad footer, bad schema
        raise _unreadable(path, exc) from None
    needed = ["run_id", "protocol", "fold", "dataset", "system", "seed", "kind"]
    lacking = [c for c in needed if c not in frame.columns]
    if lacking:
        raise DataError(
            f"not a results table (column {lacking[0]!r} is missing); re-run the experiment",
            source=str(path),
        )
    return frame


def _windows(out: Path) -> dict[tuple[str, int, str], tuple[float, float]]:
    path = out / "cache" / "windows.csv"
    if not path.is_file():
        return {}
    try:
        w = pd.read_csv(path)
        return {
            (str(r.protocol), int(r.fold), str(r.dataset)): (float(r.window_lo), float(r.window_hi))
            for r in w.itertuples(index=False)
        }
    except OSError:
        raise
    except Exception as exc:
        raise _unreadable(path, exc) from None


def _load(out: Path, run_id: str) -> tuple[np.ndarray, np.ndarray, str]:
    from routerbench.experiment.runner import PointsError, read_points

    path = points_path(out, run_id)
    try:
        pts = read_points(path, run_id)
    except PointsError as exc:
        raise DataError(
            f"the run's points file {exc}; re-run the experiment", source=str(path)
        ) from None
    return pts.q, pts.c, pts.test_key


def _verdicts(out: Path) -> dict[tuple[str, str, str], str]:
    """Each system's "beats Zero" verdict as its own run judged it (``aiq.csv``).

    The verdict has one definition (`evaluate.verdict_of`); compare reports it
    beside the A-vs-B difference rather than inventing a second one.
    """
    path = out / "aiq.csv"
    if not path.is_file():
        return {}
    table = pd.read_csv(path, keep_default_na=False, dtype={"verdict": str})
    if "verdict" not in table.columns:
        return {}
    return {
        (str(r.protocol), str(r.dataset), str(r.system)): str(r.verdict)
        for r in table.itertuples(index=False)
    }


def _p_value(d: np.ndarray) -> float:
    b = d.size
    lo = (np.sum(d <= 0) + 1) / (b + 1)
    hi = (np.sum(d >= 0) + 1) / (b + 1)
    return float(min(1.0, 2.0 * min(lo, hi)))


def compare_runs(
    a: str | Path,
    b: str | Path,
    *,
    n_boot: int | None = None,
    seed: int | None = None,
    alpha: float | None = None,
) -> pd.DataFrame:
    """AIQ(A) − AIQ(B) of every (protocol, dataset, system) both outputs evaluated.

    Parameters
    ----------
    a, b
        Output folders (or their ``results.parquet``).
    n_boot, seed, alpha
        Bootstrap settings; default: A's config (``n_boot`` 1000 if A ran without CIs).

    Returns
    -------
    DataFrame
        `COMPARE_COLUMNS`. For each matching run pair (same protocol, fold,
        dataset, system, seed, and the same test prompts) a paired bootstrap
        resamples prompts once for both runs on A's AIQ window for that test
        set. Folds and seeds are averaged, as in ``aiq.csv``; the interval and
        the two-sided p-value come from the averaged replicate differences. A
        system that only one side has appears with a note and NaN numbers;
        a pair whose test prompts differ is reported, not compared.
        ``verdict_a`` / ``verdict_b``: whether the system beats the Zero router
        in that output (``aiq.csv``'s verdict, the only definition of it).
    """
    out_a, out_b = resolve_output(a), resolve_output(b)
    cfg = _settings(out_a)
    n_boot = cfg["n_boot"] if n_boot is None else int(n_boot)
    seed = cfg["seed"] if seed is None else int(seed)
    alpha = cfg["alpha"] if alpha is None else float(alpha)
    if n_boot < 1:
        raise ConfigError(f"n_boot must be >= 1, got {n_boot}")
    if not 0.0 < alpha < 1.0:
        raise ConfigError(f"alpha must be strictly between 0 and 1, got {alpha:g}")
    ra = _results(out_a)
    rb = _results(out_b)
    windows = _windows(out_a)
    keys = ["protocol", "fold", "dataset", "system", "seed"]
    runs_a = ra.drop_duplicates("run_id").set_index(keys)
    runs_b = rb.drop_duplicates("run_id").set_index(keys)
    groups: dict[tuple[str, str, str], dict[str, Any]] = {}

    for key in runs_a.index.union(runs_b.index, sort=False):
        protocol, fold, dataset, system, _ = key
        gkey = (str(protocol), str(dataset), str(system))
        g = groups.setdefault(gkey, {"est": [], "ea": [], "eb": [], "d": [], "notes": set()})
        if key not in runs_a.index or key not in runs_b.index:
            g["notes"].add("only in A" if key in runs_a.index else "only in B")
            g["kind"] = (runs_a if key in runs_a.index else runs_b).loc[key, "kind"]
            continue
        g["kind"] = runs_a.loc[key, "kind"]
        qa, ca, ta = _load(out_a, str(runs_a.loc[key, "run_id"]))
        qb, cb, tb = _load(out_b, str(runs_b.loc[key, "run_id"]))
        if ta != tb or qa.shape[1] != qb.shape[1]:
            g["notes"].add("different test prompts")
            continue
        window = windows.get((str(protocol), int(fold), str(dataset)))
        res = paired_bootstrap(
            (qa, ca),
            (qb, cb),
            n_boot=n_boot,
            seed=seed,
            window=window,
            log_cost=cfg["log_cost"],
            alpha=alpha,
            cost_mode=cfg["cost_mode"],
        )
        g["est"].append(res.estimate)
        g["ea"].append(res.a.estimate)
        g["eb"].append(res.b.estimate)
        g["d"].append(res.samples)

    rows = []
    nan = float("nan")
    verdict_a, verdict_b = _verdicts(out_a), _verdicts(out_b)
    for (protocol, dataset, system), g in groups.items():
        row: dict[str, Any] = {
            "protocol": protocol,
            "dataset": dataset,
            "system": system,
            "kind": g.get("kind", ""),
            "aiq_a": nan,
            "aiq_b": nan,
            "diff": nan,
            "ci_low": nan,
            "ci_high": nan,
            "p_value": nan,
            "n_runs": len(g["est"]),
            "verdict_a": verdict_a.get((protocol, dataset, system), ""),
            "verdict_b": verdict_b.get((protocol, dataset, system), ""),
            "note": "; ".join(sorted(g["notes"])),
        }
        if g["est"]:
            d = np.mean(np.vstack(g["d"]), axis=0)
            lo, hi = np.quantile(d, [alpha / 2, 1 - alpha / 2])
            row.update(
                aiq_a=float(np.mean(g["ea"])),
                aiq_b=float(np.mean(g["eb"])),
                diff=float(np.mean(g["est"])),
                ci_low=float(lo),
                ci_high=float(hi),
                p_value=_p_value(d),
            )
        rows.append(row)
    table = system_order(pd.DataFrame(rows, columns=list(COMPARE_COLUMNS)))
    table.attrs.update(alpha=alpha, n_boot=n_boot, seed=seed)
    return table
