"""Reading the runner's results table for plotting: checks, setting parsing, fold averaging.

One evaluated point per row comes in; one plotted point per (system, setting) goes out.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pandas as pd

from routerbench.errors import DataError

RESULTS_REQUIRED: tuple[str, ...] = (
    "dataset",
    "family",
    "system",
    "kind",
    "setting",
    "quality",
    "cost",
)
#: Setting keys that name a router's sweep knob (the x of its path), most specific first.
SWEEP_KEYS: tuple[str, ...] = (
    "willingness_to_pay",
    "wtp",
    "lambda",
    "budget",
    "threshold",
    "alpha",
    "cost_weight",
)
#: Setting keys that name a cascade's judge error rate.
EPSILON_KEYS: tuple[str, ...] = ("epsilon", "error_rate", "eps")


def check_results(results: pd.DataFrame) -> pd.DataFrame:
    """Validate the results table and return a clean copy (defaults for optional columns).

    Raises
    ------
    DataError
        A required column is missing, or a quality/cost is not a finite number
        (cost also ``>= 0``); the message names the column and the row's system.
    """
    missing = [c for c in RESULTS_REQUIRED if c not in results.columns]
    if missing:
        raise DataError(
            f"results table lacks a column; expected {', '.join(RESULTS_REQUIRED)}",
            source="results",
            column=missing[0],
        )
    df = results.reset_index(drop=True).copy()
    if "protocol" not in df.columns:
        df["protocol"] = "paper"
    for col in ("dataset", "family", "system", "kind", "protocol"):
        df[col] = df[col].astype(str)
    df["setting"] = df["setting"].fillna("{}").astype(str)
    for col in ("quality", "cost"):
        vals = pd.to_numeric(df[col], errors="coerce").to_numpy(dtype=float)
        bad = ~np.isfinite(vals) | ((vals < 0) if col == "cost" else False)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            want = "a finite cost >= 0 dollars" if col == "cost" else "a finite quality"
            raw = results[col].iloc[i]
            got = repr(raw) if isinstance(raw, str) else str(raw)
            raise DataError(
                f"expected {want}, got {got} (system {df['system'].iloc[i]!r})",
                source="results",
                column=col,
                row=i,
            )
        df[col] = vals
    return df


def parse_setting(text: str) -> dict[str, Any]:
    """A setting's JSON as a dict (``{}`` for empty); a bad string is a one-line DataError."""
    if not text or text == "{}":
        return {}
    try:
        out = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataError(f"setting {text!r} is not JSON: {exc.msg}", column="setting") from None
    if not isinstance(out, dict):
        raise DataError(f"setting {text!r} is not a JSON object", column="setting")
    return out


def epsilon_of(setting: dict[str, Any]) -> float:
    """The judge error rate of a cascade setting (NaN when it has none)."""
    for key in EPSILON_KEYS:
        if key in setting:
            try:
                return float(setting[key])
            except (TypeError, ValueError):
                return math.nan
    return math.nan


def average_points(df: pd.DataFrame) -> pd.DataFrame:
    """One point per (protocol, dataset, kind, family, system, setting): the mean over folds/seeds.

    A k-fold or multi-seed run has several points per setting; drawing them
    all turns a path into a scribble. Their mean is the expected point of the
    setting, which is what the frontier of a protocol is about. Row order of
    first appearance is kept, so colours and paths are stable.
    """
    keys = ["protocol", "dataset", "kind", "family", "system", "setting"]
    out = df.groupby(keys, sort=False, as_index=False).agg(
        quality=("quality", "mean"), cost=("cost", "mean"), n_runs=("quality", "size")
    )
    return out


def _numeric(v: Any) -> float | None:
    if isinstance(v, bool):
        return None
    if isinstance(v, (int, float)) and math.isfinite(float(v)):
        return float(v)
    return None


def path_groups(rows: pd.DataFrame) -> list[np.ndarray]:
    """Split one system's points into paths and order each along its sweep knob.

    The sweep knob is the first key of `SWEEP_KEYS` present with numeric
    values, else the numeric key with the most distinct values; the remaining
    varying keys (e.g. a cascade's ε) split the points into separate paths.
    With no numeric knob, points are ordered by cost. Returns positional
    index arrays into `rows`, one per path.
    """
    n = len(rows)
    if n == 0:
        return []
    settings = [parse_setting(s) for s in rows["setting"]]
    cost = rows["cost"].to_numpy(dtype=float)
    keys: dict[str, list[float | None]] = {}
    for k in dict.fromkeys(k for s in settings for k in s):
        keys[k] = [_numeric(s.get(k)) for s in settings]
    numeric = {k: v for k, v in keys.items() if all(x is not None for x in v)}
    varying = {k: v for k, v in numeric.items() if len(set(v)) > 1}
    knob = next((k for k in SWEEP_KEYS if k in varying), None)
    if knob is None and varying:
        knob = max(varying, key=lambda k: len(set(varying[k])))
    others = [k for k in keys if k != knob and len({json.dumps(s.get(k)) for s in settings}) > 1]
    group_key = [tuple(json.dumps(s.get(k), sort_keys=True) for k in others) for s in settings]
    order_val = np.asarray(varying[knob], dtype=float) if knob is not None else cost
    groups: dict[tuple[str, ...], list[int]] = {}
    for i, g in enumerate(group_key):
        groups.setdefault(g, []).append(i)
    out = []
    for idx in groups.values():
        arr = np.asarray(idx, dtype=np.intp)
        out.append(arr[np.lexsort((cost[arr], order_val[arr]))])
    return out


def split_epsilon(df: pd.DataFrame) -> pd.DataFrame:
    """Rename the rows of a system swept over several judge error rates to one system per ε.

    ``cascade`` with ε ∈ {0, 0.1} becomes ``cascade ε=0`` and ``cascade ε=0.1``
    (the names `experiment.evaluate` gives them in ``aiq.csv``), so each ε gets
    its own marker, legend entry and frontier: the plots compare like with like.
    """
    if df.empty:
        return df
    eps = np.array([epsilon_of(parse_setting(s)) for s in df["setting"]], dtype=float)
    if not np.isfinite(eps).any():
        return df
    out = df.copy()
    keys = ["protocol", "dataset", "system"]
    frame = out.assign(_eps=eps)
    spans = frame[np.isfinite(eps)].groupby(keys, sort=False)["_eps"].nunique()
    multi = set(spans.index[spans > 1])
    rename = [
        f"{s} ε={e:g}" if (p, d, s) in multi and math.isfinite(e) else s
        for p, d, s, e in zip(out["protocol"], out["dataset"], out["system"], eps)
    ]
    out["system"] = rename
    return out
