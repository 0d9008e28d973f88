"""Convert RouterArena's cached model results (one JSONL per model) to our long format.

RouterArena records a real per-call dollar cost (`evaluation_result.inference_cost`), so
nothing is simulated here; the converter only checks and reshapes.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from routerbench.data.convert._common import (
    finish,
    get_field,
    iter_jsonl,
    number_field,
    text_field,
)
from routerbench.errors import DataError

OutOfRange = Literal["clip", "error"]


def arena_files(path: Path) -> list[Path]:
    """The model result files: `path` itself, or every ``*.jsonl`` in the folder."""
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise DataError("no such file or folder", source=str(path))
    files = sorted(path.glob("*.jsonl"))
    if not files:
        raise DataError("the folder holds no *.jsonl model results", source=str(path))
    return files


def _read_model_file(path: Path) -> pd.DataFrame:
    """One model's results, every field checked; rows in file order."""
    rows = []
    seen: dict[str, int] = {}
    for lineno, rec in iter_jsonl(path):
        gid = text_field(rec, "global_index", source=path, lineno=lineno)
        prefix, sep, _n = gid.rpartition("_")
        if not sep or not prefix:
            raise DataError(
                f"expected '<dataset>_<n>', got {gid!r}",
                source=str(path),
                column="global_index",
                row=f"line {lineno}",
            )
        if gid in seen:
            raise DataError(
                f"global_index {gid!r} appears twice (also line {seen[gid]})",
                source=str(path),
                column="global_index",
                row=f"line {lineno}",
            )
        seen[gid] = lineno
        question = text_field(rec, "question", source=path, lineno=lineno)
        score = number_field(rec, "evaluation_result.score", source=path, lineno=lineno)
        cost = number_field(rec, "evaluation_result.inference_cost", source=path, lineno=lineno)
        if cost < 0:
            raise DataError(
                f"expected a cost >= 0 dollars, got {cost!r}",
                source=str(path),
                column="evaluation_result.inference_cost",
                row=f"line {lineno}",
            )
        model = rec.get("llm_selected") or path.stem
        truth = get_field(
            rec, "evaluation_result.ground_truth", source=path, lineno=lineno, default=None
        )
        answer = rec.get("generated_answer")
        rows.append(
            (
                gid,
                prefix,
                question,
                str(model),
                score,
                cost,
                answer if isinstance(answer, str) else None,
                None if truth is None else str(truth),
                lineno,
            )
        )
    if not rows:
        raise DataError("the file has no results", source=str(path))
    return pd.DataFrame(
        rows,
        columns=[
            "sample_id",
            "dataset",
            "prompt",
            "model",
            "quality",
            "cost",
            "response",
            "label",
            "_line",
        ],
    ).assign(_file=str(path))


def convert_routerarena(
    path: str | Path,
    *,
    models: Iterable[str] | None = None,
    out_of_range: OutOfRange = "clip",
) -> pd.DataFrame:
    """RouterArena's cached results as a long table with the real per-call cost.

    Parameters
    ----------
    path
        A folder of ``<model>.jsonl`` files (RouterArena's ``cached_results/``) or one
        such file. Each line needs ``global_index``, ``question``,
        ``evaluation_result.score`` and ``evaluation_result.inference_cost``.
    models
        Keep only these models (default: all).
    out_of_range
        RouterArena's free-text metrics (METEOR on NarrativeQA and WMT19) are not
        strictly 0/1 and can dip below 0. ``clip`` clips quality to [0, 1] and says
        how many cells in ``attrs["notes"]``; ``error`` refuses them.

    Returns
    -------
    pandas.DataFrame
        sample_id (= global_index), task and dataset (global_index before its last
        ``_``, e.g. ``MMLUPro_law``), prompt, model (``llm_selected`` or the file
        name), quality, cost ($, measured), response, label (ground truth),
        cost_source (``measured``).
    """
    root = Path(path)
    if out_of_range not in ("clip", "error"):
        raise DataError(
            f"out_of_range must be 'clip' or 'error', got {out_of_range!r}", source=str(root)
        )
    out = pd.concat([_read_model_file(f) for f in arena_files(root)], ignore_index=True)
    dup = out.duplicated(["sample_id", "model"], keep="first").to_numpy()
    if dup.any():
        r = out.iloc[int(np.flatnonzero(dup)[0])]
        raise DataError(
            f"model {r.model!r} has a second result for {r.sample_id!r}",
            source=r._file,
            column="global_index",
            row=f"line {r._line}",
        )
    if models is not None:
        keep = list(models)
        unknown = sorted(set(keep) - set(out["model"]))
        if unknown:
            raise DataError(
                f"unknown model(s) {unknown}; found {sorted(set(out['model']))}",
                source=str(root),
                column="model",
            )
        out = out[out["model"].isin(keep)]
    q = out["quality"].to_numpy()
    bad = (q < 0) | (q > 1)
    notes = ["cost is the measured per-call cost RouterArena recorded (inference_cost, $)"]
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        r = out.iloc[i]
        if out_of_range == "error":
            raise DataError(
                f"score {float(r.quality):g} of model {r.model!r} is outside [0, 1] "
                "(pass out_of_range='clip' to clip it)",
                source=r._file,
                column="evaluation_result.score",
                row=f"line {r._line}",
            )
        out = out.assign(quality=np.clip(q, 0.0, 1.0))
        notes.append(
            f"clipped {int(bad.sum())} quality value(s) outside [0, 1] "
            f"(e.g. {r.sample_id} of {r.model}: {r.quality:g})"
        )
    out["task"] = out["dataset"]
    out = out.drop(columns=["_line", "_file"])
    return finish(out, notes=notes, source="routerarena", simulated=False)
