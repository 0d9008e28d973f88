"""Shared parsing for the converters: JSONL lines, dotted fields, booleans, the output frame.

Every check here raises `DataError` naming the file, field and line, so a malformed
third-party file fails at the first bad value instead of deep inside an evaluation.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from routerbench.errors import DataError

#: Column order of every converter's output (optional ones only when present).
OUTPUT_COLUMNS: tuple[str, ...] = (
    "sample_id",
    "task",
    "dataset",
    "prompt",
    "model",
    "quality",
    "cost",
    "response",
    "label",
)
_TRUE = {"true", "1", "1.0"}
_FALSE = {"false", "0", "0.0"}
_MISSING = object()


def iter_jsonl(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, object) for each non-blank line; bad JSON names the line."""
    try:
        # split on "\n" only: str.splitlines would also split on U+2028 inside a JSON string
        lines = path.read_text(encoding="utf-8").split("\n")
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"cannot read as UTF-8 text: {exc}", source=str(path)) from None
    for lineno, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except ValueError as exc:
            raise DataError(
                f"invalid JSON ({getattr(exc, 'msg', exc)})", source=str(path), row=f"line {lineno}"
            ) from None
        if not isinstance(obj, dict):
            raise DataError(
                f"expected a JSON object, got {type(obj).__name__}",
                source=str(path),
                row=f"line {lineno}",
            )
        yield lineno, obj


def get_field(
    obj: dict[str, Any], dotted: str, *, source: Path, lineno: int, default: Any = _MISSING
) -> Any:
    """``obj["a"]["b"]`` for ``"a.b"``; a missing key is a `DataError` unless a default is given."""
    cur: Any = obj
    for key in dotted.split("."):
        if not isinstance(cur, dict) or key not in cur:
            if default is not _MISSING:
                return default
            raise DataError(
                "field is missing", source=str(source), column=dotted, row=f"line {lineno}"
            )
        cur = cur[key]
    return cur


def number(value: Any, *, source: Path, column: str, lineno: int | str) -> float:
    """A finite JSON number (not a bool, string or null), else `DataError`."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise DataError(
            f"expected a finite number, got {value!r}",
            source=str(source),
            column=column,
            row=lineno if isinstance(lineno, str) else f"line {lineno}",
        )
    return float(value)


def text(value: Any, *, source: Path, column: str, lineno: int) -> str:
    """A non-empty string, else `DataError`."""
    if not isinstance(value, str) or not value.strip():
        raise DataError(
            f"expected non-empty text, got {value!r}"[:120],
            source=str(source),
            column=column,
            row=f"line {lineno}",
        )
    return value


def number_field(obj: dict[str, Any], dotted: str, *, source: Path, lineno: int) -> float:
    """`get_field` then `number`, the error naming the same dotted field."""
    value = get_field(obj, dotted, source=source, lineno=lineno)
    return number(value, source=source, column=dotted, lineno=lineno)


def text_field(obj: dict[str, Any], dotted: str, *, source: Path, lineno: int) -> str:
    """`get_field` then `text`, the error naming the same dotted field."""
    value = get_field(obj, dotted, source=source, lineno=lineno)
    return text(value, source=source, column=dotted, lineno=lineno)


def parse_correct(values: pd.Series, *, source: Path, column: str) -> np.ndarray:
    """Correctness cells (True/False, 1/0) as 1.0/0.0; anything else names its row.

    CSV rows are numbered from 1 after the header, as a spreadsheet shows them.
    """
    norm = values.astype(str).str.strip().str.lower()
    ok_true = norm.isin(_TRUE).to_numpy()
    ok_false = norm.isin(_FALSE).to_numpy()
    bad = ~(ok_true | ok_false)
    if bad.any():
        pos = int(np.flatnonzero(bad)[0])
        raise DataError(
            f"expected True/False correctness, got {values.iloc[pos]!r}",
            source=str(source),
            column=column,
            row=f"{pos + 1} (after the header)",
        )
    return ok_true.astype(np.float64)


def read_csv_text(path: Path, required: Sequence[str]) -> pd.DataFrame:
    """A CSV with every cell as text (no NaN guessing), checked for required columns."""
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise DataError(
            f"cannot read as CSV: {str(exc).splitlines()[0]}", source=str(path)
        ) from None
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise DataError(
            f"required column missing (found: {', '.join(df.columns)})",
            source=str(path),
            column=missing[0],
        )
    return df


def finish(df: pd.DataFrame, *, notes: Sequence[str], source: str, simulated: bool) -> pd.DataFrame:
    """Order the columns, tag how cost was obtained, and attach notes in ``df.attrs``.

    ``cost_source`` is a per-prompt column (``simulated`` or ``measured``) so it survives
    a round trip through Parquet and `Benchmark`; ``attrs["notes"]`` carries the
    details for `Benchmark.from_long(df, notes=df.attrs["notes"])`.
    """
    df = df.assign(cost_source="simulated" if simulated else "measured")
    cols = [c for c in OUTPUT_COLUMNS if c in df.columns]
    cols += [c for c in df.columns if c not in cols]
    out = df[cols].reset_index(drop=True)
    out.attrs["notes"] = list(notes)
    out.attrs["source"] = source
    out.attrs["simulated_cost"] = simulated
    return out
