"""One JSON line per request: the decision, every attempt, usage and dollars — never a key.

The routing text is logged only when asked (``--log-prompts``). A log with prompts
replays into a long table (one row per request: prompt, answering model, realised
dollars) and, once each answer has a quality (a judge, a label, user feedback), into a
Benchmark of the served cells; collecting the other models on those prompts (``collect``)
then lets any router be evaluated offline on real traffic.
"""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from routerbench.errors import DataError

if TYPE_CHECKING:
    from routerbench.data.benchmark import Benchmark

__all__ = ["RequestLog", "log_to_long", "replay_benchmark"]


class RequestLog:
    """Appends JSON lines to a file (or standard error for ``"-"``), thread-safe."""

    def __init__(self, path: str | None) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._fh: IO[str] | None
        if path is None:
            self._fh = None
        elif path == "-":
            self._fh = sys.stderr
        else:
            self._fh = open(path, "a", encoding="utf-8", buffering=1)  # noqa: SIM115

    def write(self, record: dict[str, Any]) -> None:
        if self._fh is None:
            return
        line = json.dumps(record, separators=(",", ":"), allow_nan=False, default=str)
        with self._lock:
            self._fh.write(line + "\n")

    def close(self) -> None:
        if self._fh is not None and self._fh is not sys.stderr:
            self._fh.close()
        self._fh = None


def log_to_long(path: str | Path) -> pd.DataFrame:
    """Successful logged requests as long rows: sample_id, task, prompt, model, quality, cost.

    ``quality`` is NaN (the server never judges answers); ``cost`` is the realised
    dollars from the upstream's reported usage. Raises DataError naming the line when a
    record is not JSON or lacks the prompt (the log was written without --log-prompts).
    """
    path = Path(path)
    rows: list[dict[str, Any]] = []
    with path.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except ValueError:
                raise DataError(
                    "not a JSON object", source=str(path), row=f"line {lineno}"
                ) from None
            if not isinstance(rec, dict) or rec.get("status") != 200 or not rec.get("model"):
                continue
            if "prompt" not in rec:
                raise DataError(
                    "record has no 'prompt' (start the server with --log-prompts to replay)",
                    source=str(path),
                    row=f"line {lineno}",
                )
            cost = rec.get("cost_usd")
            rows.append(
                {
                    "sample_id": rec["request_id"],
                    "task": rec.get("task") or "served",
                    "prompt": rec["prompt"],
                    "model": rec["model"],
                    "quality": np.nan,
                    "cost": np.nan if cost is None else float(cost),
                    "latency": rec.get("upstream_ms", np.nan) / 1000.0
                    if rec.get("upstream_ms") is not None
                    else np.nan,
                }
            )
    return pd.DataFrame(
        rows, columns=["sample_id", "task", "prompt", "model", "quality", "cost", "latency"]
    )


def replay_benchmark(path: str | Path, quality: Mapping[str, float]) -> Benchmark:
    """The served cells as a Benchmark: requests whose ``request_id`` has a quality in `quality`.

    Requests without a quality are left out (a cell not measured, as the long format
    requires); the other models' cells of each prompt are unmeasured until collected.
    """
    from routerbench.data.benchmark import Benchmark

    long = log_to_long(path)
    known = long["sample_id"].map(quality)
    long = long.assign(quality=known)[known.notna().to_numpy()]
    if long.empty:
        raise DataError("no logged request has a quality to replay", source=str(path))
    return Benchmark.from_long(long.reset_index(drop=True), source=str(path))
