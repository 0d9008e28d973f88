"""Write a Benchmark in our long format (Parquet, CSV or JSONL), atomically."""

from __future__ import annotations

from pathlib import Path

from routerbench.data.benchmark import Benchmark
from routerbench.io import write_atomic

WRITERS = (".parquet", ".csv", ".jsonl")


def write_long(bench: Benchmark, path: str | Path, *, responses: bool = True) -> Path:
    """Write `bench` as one row per (prompt, model); the format follows the suffix.

    Responses are included when the benchmark has them (they are what makes a
    benchmark re-scorable); pass ``responses=False`` for a small file.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in WRITERS:
        raise ValueError(f"cannot write {path}: expected a suffix in {', '.join(WRITERS)}")
    df = bench.to_long(responses=responses)
    if suffix == ".parquet":
        return write_atomic(path, lambda p: df.to_parquet(p, index=False))
    if suffix == ".csv":
        return write_atomic(path, lambda p: df.to_csv(p, index=False))
    return write_atomic(
        path, lambda p: df.to_json(p, orient="records", lines=True, force_ascii=False)
    )
