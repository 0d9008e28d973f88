"""The `Benchmark` table: prompts × models outcomes as dense arrays.

Everything in routerbench speaks this one type. Dense `[n_prompts, n_models]`
arrays make every evaluation a gather and a mean (`quality[rows, choice]`), and
an immutable object makes subsets and splits safe to share between runs.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np
import pandas as pd

from routerbench.data.datasets import PAPER_DATASETS, datasets_of
from routerbench.errors import DataError, UnknownNameError

MissingPolicy = Literal["error", "keep", "drop-prompts", "zero"]
MISSING_POLICIES: tuple[str, ...] = ("error", "keep", "drop-prompts", "zero")

#: Columns of the long format, in the order `to_long` writes them.
LONG_REQUIRED: tuple[str, ...] = ("sample_id", "task", "prompt", "model", "quality", "cost")
LONG_OPTIONAL: tuple[str, ...] = ("dataset", "label", "latency", "response")


class ResponseStore:
    """Lazily loaded response texts, `[n_prompts, n_models]` of `str | None`.

    Responses are most of a benchmark's bytes and most evaluations never read
    them, so they are parsed on first access only. Subsetting composes row and
    column indices without loading anything.
    """

    def __init__(
        self,
        loader: Callable[[], np.ndarray],
        rows: np.ndarray | None = None,
        cols: np.ndarray | None = None,
    ) -> None:
        self._loader = loader
        self._rows = rows
        self._cols = cols
        self._cache: np.ndarray | None = None

    def take(self, rows: np.ndarray | None = None, cols: np.ndarray | None = None) -> ResponseStore:
        """A store over a subset of rows and columns (indices into this store)."""
        new_rows = (
            self._rows if rows is None else (rows if self._rows is None else self._rows[rows])
        )
        new_cols = (
            self._cols if cols is None else (cols if self._cols is None else self._cols[cols])
        )
        return ResponseStore(self._loader, new_rows, new_cols)

    def load(self) -> np.ndarray:
        """The response matrix (object dtype), loaded and cached on first call."""
        if self._cache is None:
            full = self._loader()
            if self._rows is not None:
                full = full[self._rows]
            if self._cols is not None:
                full = full[:, self._cols]
            self._cache = full
        return self._cache


def _as_index(selector: np.ndarray | Sequence[int] | slice | None, n: int, what: str) -> np.ndarray:
    """Normalise a row/column selector (bool mask, indices, slice) to int indices."""
    if selector is None:
        return np.arange(n)
    if isinstance(selector, slice):
        return np.arange(n)[selector]
    arr = np.asarray(selector)
    if arr.dtype == bool:
        if arr.shape != (n,):
            raise ValueError(f"{what} mask has shape {arr.shape}, expected ({n},)")
        return np.flatnonzero(arr)
    if arr.size == 0:
        return np.zeros(0, dtype=np.intp)
    if not np.issubdtype(arr.dtype, np.integer):
        raise TypeError(f"{what} selector must be a boolean mask or integer indices")
    if arr.min() < -n or arr.max() >= n:
        raise IndexError(f"{what} index out of range for {n} {what}s")
    return arr.astype(np.intp)


@dataclass(frozen=True, eq=False, repr=False)
class Benchmark:
    """Pre-computed outcomes of every model on every prompt.

    Parameters
    ----------
    prompts
        One row per prompt: `sample_id` (unique), `task` (fine, RouterBench's
        `eval_name`), `dataset` (coarse roll-up, derived from `task` if absent),
        `prompt` (text) and optionally `label`.
    models
        Model names; the column order of every array.
    quality, cost
        Float arrays `[n_prompts, n_models]`: quality in [0, 1] and dollars for
        that one call. NaN marks a cell that was not measured.
    latency
        Optional seconds per call, same shape.
    responses
        Optional lazily loaded response texts.
    source
        Where the data came from (a path, ``"default"``), used in error messages.
    synthetic
        True for generated data, so reports can label it as such.
    notes
        Human-readable remarks from loading (e.g. split rows that were merged).
    meta
        Machine-readable facts from loading (e.g. ``merged_sample_ids``).
    """

    prompts: pd.DataFrame
    models: tuple[str, ...]
    quality: np.ndarray
    cost: np.ndarray
    latency: np.ndarray | None = None
    responses: ResponseStore | None = None
    source: str = ""
    synthetic: bool = False
    notes: tuple[str, ...] = field(default_factory=tuple)
    meta: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        prompts = self.prompts
        if "dataset" not in prompts.columns and "task" in prompts.columns:
            prompts = prompts.assign(dataset=datasets_of(prompts["task"].to_numpy()))
        prompts = prompts.reset_index(drop=True)
        object.__setattr__(self, "prompts", prompts)
        object.__setattr__(self, "models", tuple(str(m) for m in self.models))
        for name in ("quality", "cost", "latency"):
            arr = getattr(self, name)
            if arr is not None:
                arr = np.asarray(arr, dtype=np.float64)
                arr.setflags(write=False)
                object.__setattr__(self, name, arr)
        self._validate()

    # ------------------------------------------------------------------ checks
    def _validate(self) -> None:
        src = self.source or "<benchmark>"
        for col in ("sample_id", "task", "dataset", "prompt"):
            if col not in self.prompts.columns:
                raise DataError("required prompt column is missing", source=src, column=col)
        n, m = len(self.prompts), len(self.models)
        if len(set(self.models)) != m:
            dup = pd.Series(self.models)[pd.Series(self.models).duplicated()].iloc[0]
            raise DataError(f"model {dup!r} appears twice in the model list", source=src)
        for name in ("quality", "cost", "latency"):
            arr = getattr(self, name)
            if arr is not None and arr.shape != (n, m):
                raise DataError(
                    f"{name} has shape {arr.shape}, expected ({n}, {m}) = (prompts, models)",
                    source=src,
                )
        ids = self.prompts["sample_id"]
        dup = ids.duplicated()
        if dup.any():
            raise DataError(
                "sample_id must be unique per prompt",
                source=src,
                column="sample_id",
                row=f"{int(np.flatnonzero(dup.to_numpy())[0])} (sample_id {ids[dup].iloc[0]!r})",
            )
        q = self.quality
        bad = ~np.isnan(q) & ((q < 0) | (q > 1))
        if bad.any():
            i, j = np.argwhere(bad)[0]
            raise DataError(
                f"quality {float(q[i, j])!r} of model {self.models[j]!r} is outside [0, 1]",
                source=src,
                column="quality",
                row=f"{i} (sample_id {ids.iloc[i]!r})",
            )
        c = self.cost
        bad = np.isinf(c) | (c < 0)
        if bad.any():
            i, j = np.argwhere(bad)[0]
            raise DataError(
                f"cost {float(c[i, j])!r} of model {self.models[j]!r} "
                "must be finite and >= 0 dollars",
                source=src,
                column="cost",
                row=f"{i} (sample_id {ids.iloc[i]!r})",
            )
        if self.latency is not None:
            lat = self.latency
            bad = np.isinf(lat) | (lat < 0)
            if bad.any():
                i, j = np.argwhere(bad)[0]
                raise DataError(
                    f"latency {float(lat[i, j])!r} of model {self.models[j]!r} "
                    "must be finite and >= 0",
                    source=src,
                    column="latency",
                    row=f"{i} (sample_id {ids.iloc[i]!r})",
                )

    # -------------------------------------------------------------- properties
    @property
    def n_prompts(self) -> int:
        return len(self.prompts)

    @property
    def n_models(self) -> int:
        return len(self.models)

    @property
    def shape(self) -> tuple[int, int]:
        return (self.n_prompts, self.n_models)

    @property
    def sample_ids(self) -> np.ndarray:
        return self.prompts["sample_id"].to_numpy()

    @property
    def tasks(self) -> list[str]:
        """Fine task names in order of first appearance."""
        return list(pd.unique(self.prompts["task"]))

    @property
    def datasets(self) -> list[str]:
        """Coarse dataset names, paper order first, then others by first appearance."""
        present = list(pd.unique(self.prompts["dataset"]))
        ordered = [d for d in PAPER_DATASETS if d in present]
        return ordered + [d for d in present if d not in ordered]

    @property
    def in_paper(self) -> np.ndarray:
        """Boolean mask of prompts from the paper's seven datasets (False: extra evals tasks)."""
        return self.prompts["dataset"].isin(PAPER_DATASETS).to_numpy()

    @property
    def missing(self) -> np.ndarray:
        """Boolean mask of cells where quality or cost was not measured."""
        return np.isnan(self.quality) | np.isnan(self.cost)

    def model_index(self, model: str) -> int:
        try:
            return self.models.index(model)
        except ValueError:
            known = ", ".join(self.models)
            raise UnknownNameError(f"unknown model {model!r}; known: {known}") from None

    def __repr__(self) -> str:
        tag = " synthetic" if self.synthetic else ""
        return (
            f"<Benchmark{tag} {self.n_prompts} prompts × {self.n_models} models, "
            f"{len(self.datasets)} datasets, source={self.source!r}>"
        )

    def __len__(self) -> int:
        return self.n_prompts

    # --------------------------------------------------------------- subsets
    def subset(
        self,
        rows: np.ndarray | Sequence[int] | slice | None = None,
        *,
        datasets: Iterable[str] | str | None = None,
        tasks: Iterable[str] | str | None = None,
        models: Iterable[str] | str | None = None,
    ) -> Benchmark:
        """A new Benchmark restricted to some prompts and/or models.

        Filters combine (intersection). `rows` is a boolean mask or indices into
        this benchmark; models keep the order given.
        """
        idx = _as_index(rows, self.n_prompts, "prompt")
        keep = np.ones(self.n_prompts, dtype=bool)
        if datasets is not None:
            wanted = [datasets] if isinstance(datasets, str) else list(datasets)
            unknown = set(wanted) - set(self.prompts["dataset"])
            if unknown:
                known = self.datasets
                raise UnknownNameError(f"unknown dataset(s) {sorted(unknown)}; known: {known}")
            keep &= self.prompts["dataset"].isin(wanted).to_numpy()
        if tasks is not None:
            wanted = [tasks] if isinstance(tasks, str) else list(tasks)
            unknown = set(wanted) - set(self.prompts["task"])
            if unknown:
                raise UnknownNameError(f"unknown task(s) {sorted(unknown)}")
            keep &= self.prompts["task"].isin(wanted).to_numpy()
        idx = idx[keep[idx]]
        if models is None:
            cols = np.arange(self.n_models)
        else:
            names = [models] if isinstance(models, str) else list(models)
            cols = np.array([self.model_index(m) for m in names], dtype=np.intp)
        return self._take(idx, cols)

    def _take(self, rows: np.ndarray, cols: np.ndarray) -> Benchmark:
        sel = np.ix_(rows, cols)
        return replace(
            self,
            prompts=self.prompts.iloc[rows].reset_index(drop=True),
            models=tuple(self.models[j] for j in cols),
            quality=self.quality[sel],
            cost=self.cost[sel],
            latency=None if self.latency is None else self.latency[sel],
            responses=None if self.responses is None else self.responses.take(rows, cols),
        )

    def drop_models(self, models: Iterable[str]) -> Benchmark:
        """All models but these."""
        drop = set(models)
        return self.subset(models=[m for m in self.models if m not in drop])

    # --------------------------------------------------------- missing cells
    def handle_missing(self, policy: MissingPolicy = "error") -> Benchmark:
        """Apply an explicit policy to unmeasured cells (NaN quality or cost).

        ``error`` raises naming the first missing cell; ``keep`` leaves NaN;
        ``drop-prompts`` removes prompts with any missing cell (and says how many
        in `notes`); ``zero`` scores a missing cell quality 0 at cost 0, the
        original code's silent ``fillna(0)``, made explicit.
        """
        if policy not in MISSING_POLICIES:
            raise ValueError(f"missing policy must be one of {MISSING_POLICIES}, got {policy!r}")
        miss = self.missing
        if not miss.any() or policy == "keep":
            return self
        if policy == "error":
            i, j = np.argwhere(miss)[0]
            per_model = miss.sum(axis=0)
            worst = ", ".join(
                f"{self.models[k]}: {int(per_model[k])}" for k in np.flatnonzero(per_model)[:5]
            )
            raise DataError(
                f"{int(miss.sum())} cells are not measured (missing per model: {worst}); "
                f"e.g. model {self.models[j]!r} has no result. Choose a policy: "
                "missing='drop-prompts' | 'zero' | 'keep'",
                source=self.source or "<benchmark>",
                column=self.models[j],
                row=f"{i} (sample_id {self.prompts['sample_id'].iloc[i]!r})",
            )
        if policy == "drop-prompts":
            keep = ~miss.any(axis=1)
            out = self.subset(keep)
            note = (
                f"dropped {int((~keep).sum())} prompts with unmeasured cells (policy drop-prompts)"
            )
            return replace(out, notes=(*self.notes, note))
        q = np.where(np.isnan(self.quality), 0.0, self.quality)
        c = np.where(np.isnan(self.cost), 0.0, self.cost)
        note = f"filled {int(miss.sum())} unmeasured cells with quality 0, cost 0 (policy zero)"
        return replace(self, quality=q, cost=c, notes=(*self.notes, note))

    # ------------------------------------------------------------ long format
    def to_long(self, *, responses: bool = False) -> pd.DataFrame:
        """One row per (prompt, model), prompt-major; the inverse of `from_long`."""
        n, m = self.shape
        p = self.prompts
        data: dict[str, object] = {}
        for col in p.columns:
            data[col] = np.repeat(p[col].to_numpy(), m)
        data["model"] = np.tile(np.asarray(self.models, dtype=object), n)
        data["quality"] = self.quality.reshape(-1)
        data["cost"] = self.cost.reshape(-1)
        if self.latency is not None:
            data["latency"] = self.latency.reshape(-1)
        if responses and self.responses is not None:
            data["response"] = self.responses.load().reshape(-1)
        return pd.DataFrame(data)

    @classmethod
    def from_long(
        cls,
        df: pd.DataFrame,
        *,
        source: str = "<long>",
        synthetic: bool = False,
        notes: Sequence[str] = (),
    ) -> Benchmark:
        """Build from one row per (prompt, model); see `routerbench.data.long` for checks."""
        from routerbench.data.long import benchmark_from_long

        return benchmark_from_long(df, source=source, synthetic=synthetic, notes=notes)

    # ------------------------------------------------------------- identity
    def fingerprint(self) -> str:
        """A short content hash (ids, models, quality, cost), for caches and reports."""
        h = hashlib.sha256()
        h.update("\x1f".join(map(str, self.sample_ids)).encode())
        h.update("\x1e".join(self.models).encode())
        h.update(np.ascontiguousarray(self.quality).tobytes())
        h.update(np.ascontiguousarray(self.cost).tobytes())
        return h.hexdigest()[:16]
