"""Tell which third-party source a path holds, convert it, and write our long format.

`routerbench convert IN OUT --from auto` is a thin wrapper over `convert_file`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from routerbench.data.benchmark import Benchmark
from routerbench.data.convert.routellm import convert_routellm, locate_parts
from routerbench.data.convert.routerarena import convert_routerarena
from routerbench.errors import DataError
from routerbench.io import atomic_path

Source = Literal["routellm", "routerarena"]
SOURCES: tuple[str, ...] = ("routellm", "routerarena")
_WRITERS = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv", ".jsonl": "jsonl"}


def _looks_like_arena(path: Path) -> bool:
    """True if a JSONL's first record has RouterArena's fields."""
    try:
        with open(path, encoding="utf-8") as fh:
            first = next((line for line in fh if line.strip()), "")
        rec = json.loads(first)
    except (OSError, ValueError):
        return False
    return isinstance(rec, dict) and "global_index" in rec and "evaluation_result" in rec


def detect_source(path: str | Path) -> Source:
    """``routellm`` or ``routerarena`` from the folder layout and the first JSONL record."""
    p = Path(path)
    if not p.exists():
        raise DataError("no such file or folder", source=str(p))
    if p.is_dir() and locate_parts(p):
        return "routellm"
    candidates = [p] if p.is_file() else sorted(p.glob("*.jsonl"))
    if candidates and all(_looks_like_arena(f) for f in candidates):
        return "routerarena"
    raise DataError(
        "cannot tell which source this is: expected a RouteLLM folder (mmlu/mmlu_*.csv, "
        "gsm8k/gsm8k_responses.csv, mt_bench/judgements.jsonl) or RouterArena JSONL "
        "(records with global_index and evaluation_result)",
        source=str(p),
    )


def convert_auto(path: str | Path, **options: Any) -> pd.DataFrame:
    """Convert `path` with the converter `detect_source` picks; options go to that converter."""
    source = detect_source(path)
    if source == "routellm":
        return convert_routellm(path, **options)
    return convert_routerarena(path, **options)


def convert(path: str | Path, source: str = "auto", **options: Any) -> pd.DataFrame:
    """Convert with a named converter (``routellm``, ``routerarena``) or ``auto``."""
    if source == "auto":
        return convert_auto(path, **options)
    if source == "routellm":
        return convert_routellm(path, **options)
    if source == "routerarena":
        return convert_routerarena(path, **options)
    raise DataError(
        f"unknown source {source!r}; expected auto, {', '.join(SOURCES)}", source=str(path)
    )


def _json_default(value: Any) -> Any:
    """numpy scalars as Python numbers; pandas' NA as null."""
    if hasattr(value, "item"):
        return value.item()
    if value is pd.NA:
        return None
    raise TypeError(f"cannot write {type(value).__name__} to JSON")


def _write_jsonl(df: pd.DataFrame, path: Path) -> None:
    """One JSON object per row, floats written exactly (pandas' writer rounds to 10 digits)."""
    records = df.astype(object).where(df.notna(), None).to_dict(orient="records")
    with open(path, "w", encoding="utf-8") as fh:
        for rec in records:
            fh.write(json.dumps(rec, ensure_ascii=False, default=_json_default))
            fh.write("\n")


def convert_file(
    src: str | Path, out: str | Path, source: str = "auto", **options: Any
) -> Benchmark:
    """Convert `src` and write the long table to `out` (.parquet, .csv or .jsonl).

    The table is validated as a `Benchmark` before anything is written, and written to
    a temporary name then renamed, so `out` is either complete or absent.
    Returns the Benchmark (its notes say how cost was obtained).
    """
    out = Path(out)
    kind = _WRITERS.get(out.suffix.lower())
    if kind is None:
        raise DataError(f"output must end in {', '.join(_WRITERS)}", source=str(out))
    df = convert(src, source, **options)
    bench = Benchmark.from_long(df, source=str(src), notes=df.attrs.get("notes", ()))
    with atomic_path(out) as tmp:
        if kind == "parquet":
            df.to_parquet(tmp, index=False)
        elif kind == "csv":
            df.to_csv(tmp, index=False)
        else:
            _write_jsonl(df, tmp)
    return bench
