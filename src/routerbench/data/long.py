"""The long format: one row per (prompt, model), checked and pivoted into a Benchmark.

Our own files (Parquet, CSV, JSONL), RouterBench's `routerbench_raw.pkl` and any
converted third-party data all arrive here, so every check lives in one place.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from routerbench.data.benchmark import Benchmark
from routerbench.data.origin import RowOrigin
from routerbench.errors import DataError

#: RouterBench's column names (and a few common ones) mapped to ours.
ALIASES: dict[str, str] = {
    "eval_name": "task",
    "model_name": "model",
    "performance": "quality",
    "score": "quality",
    "total_cost": "cost",
    "model_response": "response",
    "prompt_text": "prompt",
}
REQUIRED: tuple[str, ...] = ("sample_id", "task", "prompt", "model", "quality", "cost")
#: Columns that vary per (prompt, model); every other column describes the prompt.
CELL_COLUMNS: tuple[str, ...] = ("model", "quality", "cost", "latency", "response")


def normalise_columns(df: pd.DataFrame, source: str) -> pd.DataFrame:
    """Rename RouterBench aliases to our names, refusing ambiguous duplicates."""
    renames = {c: ALIASES[c] for c in df.columns if c in ALIASES and ALIASES[c] not in df.columns}
    out = df.rename(columns=renames)
    dup = out.columns[out.columns.duplicated()]
    if len(dup):
        raise DataError("column name appears twice", source=source, column=str(dup[0]))
    return out


def numeric_column(
    values: pd.Series,
    *,
    source: str,
    column: str,
    ids: pd.Series,
    origin: RowOrigin | None = None,
) -> np.ndarray:
    """Parse a column as float, failing on any non-empty value that is not a number."""
    parsed = pd.to_numeric(values, errors="coerce")
    bad = parsed.isna() & values.notna() & (values.astype(str).str.strip() != "")
    if bad.any():
        pos = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataError(
            f"expected a number, got {values.iloc[pos]!r}",
            column=column,
            **_where(origin, source, pos, ids.iloc[pos]),
        )
    return parsed.to_numpy(dtype=np.float64, na_value=np.nan)


def _where(origin: RowOrigin | None, source: str, pos: int, sample_id: object = None) -> dict:
    """``source``/``row`` of a `DataError` about frame row `pos`: the file's own row."""
    if origin is None:
        origin = RowOrigin.of_file(source, pos + 1)
    return origin.where(pos, sample_id)


def whitespace_twins(names: Sequence[str]) -> tuple[str, str] | None:
    """Two names that differ only by surrounding whitespace, if any (else None)."""
    seen: dict[str, str] = {}
    for name in names:
        key = str(name).strip()
        if key in seen and seen[key] != name:
            return seen[key], str(name)
        seen.setdefault(key, str(name))
    return None


def check_cells(
    quality: np.ndarray,
    cost: np.ndarray,
    *,
    models: Sequence[str],
    ids: pd.Series,
    origin: RowOrigin,
) -> None:
    """Quality in [0, 1] and cost finite and >= 0, per row of the file (NaN allowed).

    Long layout: `quality`, `cost` and `models` are per row (``[n_rows]``). Wide
    layout: `quality` and `cost` are ``[n_rows, n_models]`` and `models` the column
    models. Checked in the file's row order, so a bad value is reported at the row a
    person can find (the Benchmark checks again, after pivoting, for tables built
    in code).
    """
    per_row = quality.ndim == 1
    q = quality.reshape(len(quality), -1)
    c = cost.reshape(len(cost), -1)
    for name, bad, arr in (
        ("quality", ~np.isnan(q) & ((q < 0) | (q > 1)), q),
        ("cost", np.isinf(c) | (c < 0), c),
    ):
        if bad.any():
            i, j = (int(x) for x in np.argwhere(bad)[0])
            model = models[i] if per_row else models[j]
            what = "is outside [0, 1]" if name == "quality" else "must be finite and >= 0 dollars"
            raise DataError(
                f"{name} {float(arr[i, j])!r} of model {model!r} {what}",
                column=name if per_row else (model if name == "quality" else f"{model}|total_cost"),
                **origin.where(i, ids.iloc[i]),
            )


def benchmark_from_long(
    df: pd.DataFrame,
    *,
    source: str = "<long>",
    synthetic: bool = False,
    notes: Sequence[str] = (),
    origin: RowOrigin | None = None,
) -> Benchmark:
    """Pivot a long table into a validated Benchmark.

    Prompts and models keep their order of first appearance. Duplicate
    (sample_id, model) pairs, empty values (an empty prompt included), non-numeric
    or out-of-range values and model names that differ only by surrounding
    whitespace raise `DataError` naming the row of the file (`origin`: which file
    and row each frame row came from; default: rows 1..n of `source`). Pairs
    absent from the table become NaN cells (reported in `notes`), which the
    caller's missing-cell policy then handles.
    """
    if len(df) == 0:
        raise DataError("the table has no rows", source=source)
    origin = RowOrigin.of_file(source, len(df)) if origin is None else origin
    routerbench_raw = "model_name" in df.columns or "performance" in df.columns
    df = normalise_columns(df, source)
    missing = [c for c in REQUIRED if c not in df.columns]
    if missing:
        raise DataError(
            f"required column(s) missing: {', '.join(missing)} "
            f"(found: {', '.join(map(str, df.columns))})",
            source=source,
            column=missing[0],
        )
    df = df.reset_index(drop=True)
    for col in ("sample_id", "model", "task", "prompt"):
        empty = df[col].isna() | (df[col].astype(str).str.strip() == "")
        if col == "prompt" and routerbench_raw:  # list literals: empty once joined
            from routerbench.data.wide import join_turns

            empty = empty | (df[col].map(join_turns).str.strip() == "")
        if empty.any():
            pos = int(np.flatnonzero(empty.to_numpy())[0])
            raise DataError("value is empty", column=col, **origin.where(pos))
    ids = df["sample_id"].astype(str)
    models_col = df["model"].astype(str)
    twins = whitespace_twins(pd.unique(models_col))
    if twins:
        pos = int(np.flatnonzero((models_col == twins[1]).to_numpy())[0])
        raise DataError(
            f"model names {twins[0]!r} and {twins[1]!r} differ only by surrounding "
            "whitespace; write one name for one model",
            column="model",
            **origin.where(pos, ids.iloc[pos]),
        )
    quality = numeric_column(df["quality"], source=source, column="quality", ids=ids, origin=origin)
    cost = numeric_column(df["cost"], source=source, column="cost", ids=ids, origin=origin)
    latency = (
        numeric_column(df["latency"], source=source, column="latency", ids=ids, origin=origin)
        if "latency" in df.columns
        else None
    )
    for name, arr in (("quality", quality), ("cost", cost)):
        nan = np.isnan(arr)
        if nan.any():
            pos = int(np.flatnonzero(nan)[0])
            raise DataError(
                f"{name} is empty; leave the row out instead to mark a cell as not measured",
                column=name,
                **origin.where(pos, ids.iloc[pos]),
            )
    check_cells(quality, cost, models=list(models_col), ids=ids, origin=origin)

    row_code, uniq_ids = pd.factorize(ids, sort=False)
    col_code, uniq_models = pd.factorize(models_col, sort=False)
    n, m = len(uniq_ids), len(uniq_models)
    flat = row_code.astype(np.int64) * m + col_code
    order = np.argsort(flat, kind="stable")
    sorted_flat = flat[order]
    dup = np.flatnonzero(sorted_flat[1:] == sorted_flat[:-1])
    if dup.size:
        pos = int(order[dup[0] + 1])
        raise DataError(
            f"duplicate (sample_id, model) pair ({ids.iloc[pos]!r}, {models_col.iloc[pos]!r}); "
            "each prompt may have one result per model",
            column="sample_id",
            **origin.where(pos),
        )

    def dense(values: np.ndarray) -> np.ndarray:
        out = np.full(n * m, np.nan)
        out[flat] = values
        return out.reshape(n, m)

    first = np.full(n, -1, dtype=np.int64)
    first[row_code[::-1]] = np.arange(len(df) - 1, -1, -1)
    prompt_cols = [c for c in df.columns if c not in CELL_COLUMNS]
    prompts = df.iloc[first][prompt_cols].reset_index(drop=True)
    prompts["sample_id"] = uniq_ids.astype(str)
    for col in ("task", "prompt"):
        prompts[col] = prompts[col].astype(str)
    if routerbench_raw:  # RouterBench's raw long file stores prompts as list literals
        from routerbench.data.wide import join_turns

        prompts["prompt"] = [join_turns(v) for v in prompts["prompt"]]

    task_codes = pd.factorize(df["task"].astype(str))[0]
    conflict = task_codes != task_codes[first[row_code]]
    if conflict.any():
        pos = int(np.flatnonzero(conflict)[0])
        raise DataError(
            f"sample_id {ids.iloc[pos]!r} has two different tasks "
            f"({df['task'].iloc[first[row_code[pos]]]!r} and {df['task'].iloc[pos]!r})",
            column="task",
            **origin.where(pos),
        )

    responses = None
    if "response" in df.columns:
        from routerbench.data.benchmark import ResponseStore

        raw = df["response"].to_numpy(dtype=object)

        def load_responses() -> np.ndarray:
            out = np.full(n * m, None, dtype=object)
            if routerbench_raw:
                from routerbench.data.wide import join_turns

                out[flat] = [join_turns(v) for v in raw]
            else:
                out[flat] = raw
            return out.reshape(n, m)

        responses = ResponseStore(load_responses)

    absent = n * m - len(df)
    all_notes = list(notes)
    if absent:
        all_notes.append(f"{absent} (prompt, model) cells have no row in the file: left as NaN")
    return Benchmark(
        prompts=prompts,
        models=tuple(uniq_models.astype(str)),
        quality=dense(quality),
        cost=dense(cost),
        latency=None if latency is None else dense(latency),
        responses=responses,
        source=source,
        synthetic=synthetic,
        notes=tuple(all_notes),
    )
