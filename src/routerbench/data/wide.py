"""RouterBench's published wide layout: one row per prompt, three columns per model.

`routerbench_0shot.pkl` / `routerbench_5shot.pkl` (and the same layout as CSV) hold
`sample_id, prompt, eval_name`, a performance column per model, `<model>|model_response`,
`<model>|total_cost` and `oracle_model_to_route_to`. Prompts and responses are string
reprs of Python lists, parsed here with `ast.literal_eval` (never `eval`).
"""

from __future__ import annotations

import ast
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from routerbench.data.benchmark import Benchmark, ResponseStore
from routerbench.data.long import numeric_column
from routerbench.errors import DataError

COST_SUFFIX = "|total_cost"
RESPONSE_SUFFIX = "|model_response"
ORACLE_COLUMN = "oracle_model_to_route_to"
REQUIRED = ("sample_id", "prompt", "eval_name")
#: The unnamed first column of a CSV written from a pandas frame: each row's position
#: in the published pickle. Third parties cut train/test files from that pickle and
#: reshuffle rows, so this column, not the file's line order, is the source order.
INDEX_COLUMN = "Unnamed: 0"


def is_wide(columns: pd.Index) -> bool:
    """True when the columns look like RouterBench's wide layout."""
    return any(str(c).endswith(COST_SUFFIX) for c in columns)


def parse_turns(value: Any) -> list[str]:
    """The turns of a prompt or response stored as a list, a list's repr, or plain text.

    RouterBench stores ``"['turn one', 'turn two']"``; `ast.literal_eval` reads only
    literals, so a malicious cell cannot run code. Text that is not a list literal
    is kept as one turn rather than rejected: free text may start with ``[``.
    """
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return []
    if isinstance(value, (list, tuple, np.ndarray)):
        return [str(v) for v in value]
    text = str(value)
    stripped = text.strip()
    if stripped.startswith("[") and stripped.endswith("]"):
        try:
            parsed = ast.literal_eval(stripped)
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            return [text]
        if isinstance(parsed, (list, tuple)):
            return [str(v) for v in parsed]
    return [text]


def join_turns(value: Any) -> str:
    """A prompt or response as one string; multi-turn conversations joined by blank lines."""
    return "\n\n".join(parse_turns(value))


def source_order(df: pd.DataFrame) -> tuple[np.ndarray, str | None]:
    """The row order the published data defines, and a note when it is not the file order.

    RouterBench's split (seed-42 shuffle of each dataset's unique sample_ids *in
    source order*) is only the paper's split if rows are in the published pickle's
    order. Files cut from it and written by pandas keep that position in the unnamed
    first column; when it is a unique integer, rows are ordered by it (stable), which
    also makes a folder's row order independent of its file names. Otherwise the
    file order is kept and the note says why.
    """
    n = len(df)
    keep = np.arange(n)
    if INDEX_COLUMN not in df.columns:
        return keep, None
    raw = df[INDEX_COLUMN]
    values = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    integral = np.isfinite(values).all() and bool((values == np.round(values)).all())
    if not integral or len(np.unique(values)) != n:
        return keep, (
            f"the unnamed first column ({INDEX_COLUMN!r}) is not a unique integer row "
            "position, so rows are kept in file order"
        )
    order = np.argsort(values, kind="stable")
    if np.array_equal(order, keep):
        return keep, None
    return order, (
        f"rows ordered by the unnamed first column ({INDEX_COLUMN!r}), each row's position "
        "in the published file, not by the order of lines in the file(s)"
    )


def _model_columns(df: pd.DataFrame, source: str) -> list[str]:
    costs = [str(c)[: -len(COST_SUFFIX)] for c in df.columns if str(c).endswith(COST_SUFFIX)]
    position = {str(c): i for i, c in enumerate(df.columns)}
    for model in costs:
        if model not in position:
            raise DataError(
                f"model {model!r} has a '{model}{COST_SUFFIX}' column but no performance column",
                source=source,
                column=model,
            )
    return sorted(costs, key=position.__getitem__)


def _merge_split_rows(
    ids: pd.Series, quality: np.ndarray, source: str, models: list[str]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]:
    """Index of the row that carries each (prompt, model) result, merging split sample_ids.

    The published 5-shot file splits a few sample_ids over two rows, each row with
    some models' results and NaN for the others. Each model's result is taken from
    the row that carries it; the prompt from the row carrying the most results.
    Two rows that both carry a model with different values are a conflict.
    Returns (unique ids, cell_row [n, m], prompt_row [n], merged ids).
    """
    codes, uniq = pd.factorize(ids, sort=False)
    n_rows, m = quality.shape
    n = len(uniq)
    first = np.full(n, -1, dtype=np.int64)
    first[codes[::-1]] = np.arange(n_rows - 1, -1, -1)
    if n == n_rows:
        rows = np.arange(n_rows)
        return uniq.to_numpy(), np.repeat(rows[:, None], m, axis=1), rows, []
    cell_row = np.repeat(first[:, None], m, axis=1)
    for j in range(m):  # loop over models (11), vectorised over rows
        valid = np.flatnonzero(~np.isnan(quality[:, j]))
        vcodes = codes[valid]
        order = np.argsort(vcodes, kind="stable")
        sv, sr = vcodes[order], valid[order]
        same = np.flatnonzero(sv[1:] == sv[:-1])
        if same.size:
            a, b = sr[same], sr[same + 1]
            clash = quality[a, j] != quality[b, j]
            if clash.any():
                k = int(np.flatnonzero(clash)[0])
                raise DataError(
                    f"sample_id {ids.iloc[a[k]]!r} appears in two rows with different results "
                    f"for model {models[j]!r} ({quality[a[k], j]} vs {quality[b[k], j]})",
                    source=source,
                    column=models[j],
                    row=int(b[k]),
                )
        cell_row[vcodes[::-1], j] = valid[::-1]
    carried = (~np.isnan(quality)).sum(axis=1)
    order = np.lexsort((np.arange(n_rows), -carried, codes))
    prompt_row = np.full(n, -1, dtype=np.int64)
    prompt_row[codes[order][::-1]] = order[::-1]
    counts = np.bincount(codes, minlength=n)
    merged = [str(x) for x in uniq[counts > 1]]
    return uniq.to_numpy(), cell_row, prompt_row, merged


def benchmark_from_wide(df: pd.DataFrame, *, source: str, notes: Sequence[str] = ()) -> Benchmark:
    """Turn a RouterBench wide frame into a validated Benchmark (NaN cells kept).

    Rows are first put in source order (see `source_order`), so that prompt order,
    and with it the paper's seed-42 split, does not depend on how the rows were
    cut into files.
    """
    if len(df) == 0:
        raise DataError("the table has no rows", source=source)
    order, order_note = source_order(df)
    df = df.iloc[order]
    df = df.drop(columns=[c for c in df.columns if str(c).startswith("Unnamed:")])
    df = df.reset_index(drop=True)
    missing = [c for c in REQUIRED if c not in df.columns]
    if missing:
        raise DataError(
            f"required column(s) of the RouterBench wide layout missing: {', '.join(missing)}",
            source=source,
            column=missing[0],
        )
    empty = df["sample_id"].isna() | (df["sample_id"].astype(str).str.strip() == "")
    if empty.any():
        raise DataError(
            "value is empty",
            source=source,
            column="sample_id",
            row=int(np.flatnonzero(empty.to_numpy())[0]),
        )
    models = _model_columns(df, source)
    if not models:
        raise DataError("no model columns found", source=source)
    ids = df["sample_id"].astype(str)
    quality = np.column_stack(
        [numeric_column(df[m], source=source, column=m, ids=ids) for m in models]
    )
    cost = np.column_stack(
        [
            numeric_column(df[m + COST_SUFFIX], source=source, column=m + COST_SUFFIX, ids=ids)
            for m in models
        ]
    )
    carried = ~np.isnan(quality)
    no_cost = carried & np.isnan(cost)
    if no_cost.any():
        i, j = np.argwhere(no_cost)[0]
        raise DataError(
            "cost is empty where the model has a result",
            source=source,
            column=models[j] + COST_SUFFIX,
            row=f"{i} (sample_id {ids.iloc[i]!r})",
        )
    uniq, cell_row, prompt_row, merged = _merge_split_rows(ids, quality, source, models)
    cols = np.arange(len(models))
    q = quality[cell_row, cols]
    c = np.where(np.isnan(q), np.nan, cost[cell_row, cols])

    prompts = pd.DataFrame(
        {
            "sample_id": uniq.astype(str),
            "task": df["eval_name"].astype(str).to_numpy()[prompt_row],
            "prompt": [join_turns(v) for v in df["prompt"].to_numpy()[prompt_row]],
        }
    )
    if ORACLE_COLUMN in df.columns:
        prompts[ORACLE_COLUMN] = df[ORACLE_COLUMN].astype(str).to_numpy()[prompt_row]

    responses = None
    response_cols = [m + RESPONSE_SUFFIX for m in models]
    if all(rc in df.columns for rc in response_cols):
        raw = df[response_cols].to_numpy(dtype=object)

        def load_responses() -> np.ndarray:
            picked = raw[cell_row, cols]
            flat = [join_turns(v) if v is not None else None for v in picked.reshape(-1)]
            return np.array(flat, dtype=object).reshape(picked.shape)

        responses = ResponseStore(load_responses)

    all_notes: list[str] = [*notes, order_note] if order_note else list(notes)
    if merged:
        all_notes.append(
            f"merged {len(merged)} sample_ids split over several rows (published 5-shot layout): "
            "each model's result taken from the row that carries it, the prompt from the row "
            f"carrying the most results; e.g. {merged[0]!r}"
        )
    return Benchmark(
        prompts=prompts,
        models=tuple(models),
        quality=q,
        cost=c,
        responses=responses,
        source=source,
        notes=tuple(all_notes),
        meta={"merged_sample_ids": merged, "layout": "routerbench-wide"},
    )
