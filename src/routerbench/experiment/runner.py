"""Run an experiment end to end: plan, resume, execute, write results, evaluate, report.

Every output is written atomically; a re-run reuses every finished run and gives the same bytes.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from routerbench.data.benchmark import Benchmark
from routerbench.errors import ConfigError, InterruptedRun, LockedError, Terminated
from routerbench.experiment.config import ExperimentConfig, effective_yaml
from routerbench.experiment.evaluate import (
    RESULT_COLUMNS,
    evaluate,
    load_points,
    points_path,
    system_order,
    write_csv,
)
from routerbench.experiment.executors import JobResult, RunOutput, WorkerContext, execute
from routerbench.experiment.groups import regroup
from routerbench.experiment.plan import Plan, make_plan
from routerbench.io import TEMP_SUFFIX, atomic_path, write_atomic, write_text_atomic

try:  # POSIX; elsewhere the output lock is a plain exclusive file
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "ExperimentResult",
    "prepare_benchmark",
    "read_finished",
    "run_experiment",
    "table1_of",
]

log = logging.getLogger("routerbench.experiment")

#: Output files, relative to the output folder.
RESULTS_FILE = "results.parquet"
AIQ_FILE = "aiq.csv"
TABLE1_FILE = "table1.csv"
WINDOWS_FILE = "cache/windows.csv"
RUN_FILE = "run.json"


@dataclass
class ExperimentResult:
    """What `run_experiment` produced, in memory and on disk."""

    out_dir: Path
    plan: Plan
    results: pd.DataFrame
    aiq: pd.DataFrame
    windows: pd.DataFrame
    table1: pd.DataFrame
    reused: int
    executed: int
    fitted: int
    seconds: float
    synthetic: bool
    report: Path | None = None
    notes: list[str] = field(default_factory=list)
    #: Worker seconds per system (fit + sweep of every executed run), for profiling.
    job_seconds: dict[str, float] = field(default_factory=dict)


# --------------------------------------------------------------------------- data
def prepare_benchmark(config: ExperimentConfig, bench: Benchmark | None = None) -> Benchmark:
    """Load `config.data` (or take `bench`), apply the missing-cell policy, select datasets
    and models.

    A dataset or model the data does not have is a config error naming the key.
    """
    if bench is None:
        from routerbench.data.readers import load

        bench = load(config.data, missing=config.missing)  # type: ignore[arg-type]
    else:
        bench = bench.handle_missing(config.missing)  # type: ignore[arg-type]
    bench = regroup(bench, config.groups)
    if config.datasets is not None:
        unknown = [d for d in config.datasets if d not in bench.datasets]
        if unknown:
            raise ConfigError(
                f"datasets: {unknown[0]!r} is not in the data (it has {', '.join(bench.datasets)})"
            )
        bench = bench.subset(datasets=config.datasets)
    if config.models is not None:
        unknown = [m for m in config.models if m not in bench.models]
        if unknown:
            raise ConfigError(
                f"models: {unknown[0]!r} is not in the data (it has {', '.join(bench.models)})"
            )
        bench = bench.subset(models=config.models)
    if bench.missing.any():
        raise ConfigError(
            f"missing: policy {config.missing!r} leaves {int(bench.missing.sum())} unmeasured "
            "cells, which no router or AIQ can be evaluated on; use drop-prompts or zero"
        )
    if bench.n_prompts == 0:
        raise ConfigError("datasets: the selection holds no prompts")
    return bench


def table1_of(bench: Benchmark) -> pd.DataFrame:
    """Paper Table 1 of the whole (selected) benchmark: the report's, or an equivalent fallback.

    The report's has both variants (full benchmark, the paper's test part) and the
    paper's numbers beside ours (`routerbench.report.tables.table1_report`).
    """
    try:
        from routerbench.report.tables import table1_report
    except ImportError:  # pragma: no cover - the report package ships with routerbench
        table1_report = None
    if table1_report is not None:
        return table1_report(bench)
    from routerbench.frontier import oracle_choice, realised

    rows = []
    labels = bench.prompts["dataset"].to_numpy()
    for ds in bench.datasets:
        idx = np.flatnonzero(labels == ds)
        q, c = bench.quality[idx], bench.cost[idx]
        for j, m in enumerate(bench.models):
            rows.append((ds, m, float(q[:, j].mean()), float(c[:, j].sum()), idx.size))
        oq, oc = realised(q, c, oracle_choice(q, c))
        rows.append((ds, "Oracle", float(oq.mean()), float(oc.sum()), idx.size))
    return pd.DataFrame(rows, columns=["dataset", "model", "quality", "total_cost", "n"])


# --------------------------------------------------------------------------- resume
def _points_digest(q: np.ndarray, c: np.ndarray, meta: str) -> str:
    """SHA-256 of a points file's content: both arrays (dtype, shape, bytes) and its rows."""
    h = hashlib.sha256()
    for arr in (q, c):
        arr = np.ascontiguousarray(arr)
        h.update(f"{arr.dtype.str}{arr.shape}".encode())
        h.update(arr.tobytes())
    h.update(meta.encode())
    return h.hexdigest()


def _write_points(out_dir: Path, output: RunOutput) -> None:
    q = np.ascontiguousarray(output.q, dtype=float)
    c = np.ascontiguousarray(output.c, dtype=float)
    meta = json.dumps({"test_key": output.test_key, "rows": output.rows}, sort_keys=True)
    digest = _points_digest(q, c, meta)
    with atomic_path(points_path(out_dir, output.run_id)) as tmp, tmp.open("wb") as f:
        np.savez(f, q=q, c=c, meta=np.array(meta), sha256=np.array(digest))


@dataclass(frozen=True)
class PointsFile:
    """A verified points file: realised ``q``/``c`` ``[S, n]``, its rows and test key."""

    q: np.ndarray
    c: np.ndarray
    rows: list[dict[str, Any]]
    test_key: str


class PointsError(Exception):
    """A points file is missing, unreadable, altered or inconsistent (the message says which)."""


def read_points(path: str | Path, run_id: str | None = None) -> PointsFile:
    """Read a run's points file and check it against the content hash stored in it.

    Raises
    ------
    PointsError
        The file is absent, does not read back whole, carries no hash (an older
        layout), its content does not match its hash (altered), or its rows do
        not belong to `run_id` or disagree with its arrays.
    """
    path = Path(path)
    if not path.is_file():
        raise PointsError("is missing")
    try:
        with np.load(path, allow_pickle=False) as z:
            if "sha256" not in z.files:
                raise PointsError("has no content hash (written by an older routerbench)")
            q, c = np.asarray(z["q"]), np.asarray(z["c"])
            meta, stored = str(z["meta"]), str(z["sha256"])
    except PointsError:
        raise
    except Exception as exc:  # truncated, not a zip, a member missing, bad header
        raise PointsError(f"is unreadable ({type(exc).__name__})") from None
    if _points_digest(q, c, meta) != stored:
        raise PointsError("does not match its stored content hash (altered or corrupt)")
    try:
        info = json.loads(meta)
        rows, test_key = info["rows"], str(info["test_key"])
    except (ValueError, KeyError, TypeError):
        raise PointsError("has unreadable result rows") from None
    if q.ndim != 2 or c.shape != q.shape or q.shape[0] != len(rows) or not rows:
        raise PointsError("has arrays that disagree with its result rows")
    if run_id is not None and any(r.get("run_id") != run_id for r in rows):
        raise PointsError(f"holds the rows of another run, not {run_id}")
    return PointsFile(q.astype(float, copy=False), c.astype(float, copy=False), rows, test_key)


def read_finished(
    out_dir: str | Path, run_id: str, *, notes: list[str] | None = None
) -> list[dict[str, Any]] | None:
    """The result rows of a finished run, or None if it must run (again).

    A run is finished when its points file exists, reads back whole, matches
    the content hash stored with it, and carries its result rows with as many
    settings as its ``q`` array has rows. The rows travel inside the points
    file, so the two can never disagree, and ``results.parquet`` is always
    rebuilt from them. Why a present file was not reused goes to `notes`.
    """
    path = points_path(out_dir, run_id)
    try:
        return read_points(path, run_id).rows
    except PointsError as exc:
        if notes is not None and path.exists():
            notes.append(f"{path} {exc}; running it again")
        return None


# --------------------------------------------------------------------------- progress
class _Progress:
    """A rich progress bar over runs, or nothing when quiet."""

    def __init__(self, total: int, quiet: bool, console: Any) -> None:
        self._bar = None
        if not quiet and total:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            self._bar = Progress(
                TextColumn("[bold]runs"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
                TextColumn("{task.description}"),
                console=console,
                transient=True,
            )
            self._task = self._bar.add_task("", total=total)

    def __enter__(self) -> _Progress:
        if self._bar is not None:
            self._bar.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._bar is not None:
            self._bar.__exit__(*exc)

    def advance(self, n: int, what: str) -> None:
        if self._bar is not None:
            self._bar.update(self._task, advance=n, description=what)


# --------------------------------------------------------------------------- main
def _results_frame(plan: Plan, rows_of: dict[str, list[dict[str, Any]]]) -> pd.DataFrame:
    rows = [r for run in plan.runs for r in rows_of[run.run_id]]
    frame = pd.DataFrame(rows, columns=list(RESULT_COLUMNS))
    for col in ("fold", "seed", "n"):
        frame[col] = frame[col].astype("int64")
    for col in ("quality", "cost", "cost_mean"):
        frame[col] = frame[col].astype("float64")
    return system_order(frame)


def run_experiment(
    config: ExperimentConfig,
    *,
    config_text: str | None = None,
    bench: Benchmark | None = None,
    quiet: bool = False,
    console: Any = None,
    report: bool = True,
    echo: Callable[[str], None] | None = None,
) -> ExperimentResult:
    """Run (or resume) an experiment and write its outputs under ``config.out``.

    Parameters
    ----------
    config
        The validated experiment config.
    config_text
        The YAML as written (kept verbatim in the report); default: the config dumped.
    bench
        A benchmark to use instead of loading ``config.data``; the config's
        missing policy and dataset/model selection still apply to it.
    quiet
        No progress bar (for CI logs); the summary lines are still emitted.
    report
        Also write the HTML report and plots (`routerbench.report.write_report`).
    echo
        Where one-line log messages go (default: the module logger).

    Returns
    -------
    ExperimentResult

    Notes
    -----
    Files: ``results.parquet`` (one row per evaluated point), ``aiq.csv``,
    ``table1.csv``, ``cache/points/<run_id>.npz`` (per-prompt realised quality
    and cost of every setting, plus the run's rows), ``cache/routers/`` (fitted
    routers), ``cache/embeddings/`` (prompt vectors), ``cache/windows.csv``
    (the AIQ window of every test set) and ``run.json`` (provenance).
    """
    say = echo or log.info
    t0 = time.perf_counter()
    out = Path(config.out)
    # Everything that can be checked is checked before the output folder is touched.
    bench = prepare_benchmark(config, bench)
    plan = make_plan(bench, config)
    cache = config.embedding.cache
    if cache and Path(cache).exists() and not Path(cache).is_dir():
        raise ConfigError(f"embedding.cache: {cache} is a file, expected a folder")
    before = _folder_state(out)
    rows_of: dict[str, list[dict[str, Any]]] = {}
    try:
        with OutputLock(out):
            try:
                return _run_locked(
                    config, bench, plan, rows_of, t0=t0, say=say, config_text=config_text,
                    quiet=quiet, console=console, report=report,
                )  # fmt: skip
            except BaseException:
                # Still holding the lock: no other run can be writing here right now, and
                # the workers are stopped. A worker ended mid-write (SIGTERM, then SIGKILL)
                # skips its own cleanup, so its temp file is removed here.
                _remove_stale_temps(out)
                _prune_new_folders(out, before)
                raise
    except KeyboardInterrupt as exc:
        raise InterruptedRun(
            f"interrupted: {len(rows_of)} of {len(plan.runs)} runs saved; "
            "re-run the same command to resume",
            exit_code=143 if isinstance(exc, Terminated) else 130,
        ) from None


def _run_locked(
    config: ExperimentConfig,
    bench: Benchmark,
    plan: Plan,
    rows_of: dict[str, list[dict[str, Any]]],
    *,
    t0: float,
    say: Callable[[str], None],
    config_text: str | None,
    quiet: bool,
    console: Any,
    report: bool,
) -> ExperimentResult:
    """The run proper, with the output folder locked; `rows_of` fills as runs are saved."""
    out = Path(config.out)
    notes: list[str] = []
    stale = _remove_stale_temps(out)
    if stale:
        notes.append(f"removed {stale} temp file(s) that a killed run left in {out}")
    for run in plan.runs:
        rows = read_finished(out, run.run_id, notes=notes)
        if rows is not None:
            rows_of[run.run_id] = rows
    for note in notes:
        say(f"note: {note}")
    reused = len(rows_of)
    pending = [r for r in plan.runs if r.run_id not in rows_of]
    jobs = plan.jobs(pending)
    if pending:
        say(f"{len(plan.runs)} runs: {reused} reused, {len(pending)} to run in {len(jobs)} jobs")
    # Absolute paths: workers (spawned processes, Ray) need not share this working directory.
    emb = Path(config.embedding.cache) if config.embedding.cache else out / "cache" / "embeddings"
    ctx = WorkerContext(out_dir=str(out.resolve()), embedding_cache=str(emb.resolve()))
    fitted = 0
    job_seconds: dict[str, float] = {}
    with _Progress(len(pending), quiet, console) as bar:
        results_iter = execute(
            jobs,
            bench,
            ctx,
            executor=config.executor,
            n_jobs=config.n_jobs,
            address=config.address,
        )
        # closing: an error or Ctrl-C here still stops the workers inside the iterator.
        with contextlib.closing(results_iter):  # type: ignore[type-var]
            for res in results_iter:
                res = _check_result(res)
                fitted += int(res.fitted)
                for output in res.outputs:
                    _write_points(out, output)
                    rows_of[output.run_id] = output.rows
                first = res.outputs[0].rows[0]
                label = first["system"] if first["kind"] == "router" else "baselines"
                job_seconds[label] = job_seconds.get(label, 0.0) + res.seconds
                bar.advance(len(res.outputs), f"{first['system']} · {first['dataset']}")
    executed = len(pending)
    say(
        f"{len(plan.runs)} runs: {reused} reused, {executed} executed "
        f"({fitted} router fits, {len(jobs)} jobs)"
    )

    results = _results_frame(plan, rows_of)
    write_atomic(out / RESULTS_FILE, lambda p: results.to_parquet(p, index=False))
    aiq_table, windows = evaluate(
        results, load_points(out), config.aiq, config.bootstrap, config.verdict
    )
    write_csv(aiq_table, out / AIQ_FILE)
    write_csv(windows, out / WINDOWS_FILE)
    t1 = table1_of(bench)
    write_csv(t1, out / TABLE1_FILE)
    seconds = time.perf_counter() - t0
    text = config_text if config_text is not None else _dump(config)
    _write_provenance(out, config, bench, plan, text)
    result = ExperimentResult(
        out_dir=out,
        plan=plan,
        results=results,
        aiq=aiq_table,
        windows=windows,
        table1=t1,
        reused=reused,
        executed=executed,
        fitted=fitted,
        seconds=seconds,
        synthetic=bool(bench.synthetic),
        job_seconds=job_seconds,
        notes=notes,
    )
    if report:
        result.report = _write_report(result, bench, text, config)
        result.seconds = time.perf_counter() - t0
    return result


# --------------------------------------------------------------------------- output folder
#: The lock file a run holds inside its output folder (removed when the run ends).
LOCK_FILE = ".routerbench.lock"


class OutputLock:
    """An exclusive, non-blocking lock on an output folder, held for a whole run.

    Two runs on one folder would both do all the work and race on every file;
    the second is refused at once with a message saying what to do. The lock is
    an advisory `flock` on ``OUT/.routerbench.lock``: the OS releases it when
    the holder dies (even by SIGKILL), so a killed run never blocks its resume.
    The file is removed while still locked; a process that locked a removed
    file notices (its inode is no longer the path's) and tries again.
    """

    def __init__(self, out: str | Path) -> None:
        self.out = Path(out)
        self.path = self.out / LOCK_FILE
        self._fd: int | None = None

    def _refuse(self) -> LockedError:
        return LockedError(f"another run holds {self.out}; wait or choose another --out")

    def __enter__(self) -> OutputLock:
        before = _folder_state(self.out)
        self.out.mkdir(parents=True, exist_ok=True)
        while True:
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            except OSError as exc:
                _prune_new_folders(self.out, before)  # nothing left behind by a failed start
                exc.filename = str(self.out)  # the folder is what the user chose
                raise
            try:
                if fcntl is not None:
                    try:
                        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    except BlockingIOError:
                        raise self._refuse() from None
                try:
                    same = os.stat(self.path).st_ino == os.fstat(fd).st_ino
                except FileNotFoundError:
                    same = False
            except BaseException:
                os.close(fd)
                raise
            if same:
                self._fd = fd
                return self
            os.close(fd)  # locked a file its holder had just removed: take the new one

    def __exit__(self, *exc: Any) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.unlink(self.path)
            os.close(self._fd)
            self._fd = None


def _remove_stale_temps(out: Path) -> int:
    """Delete temp files a killed run or worker left (SIGKILL skips every cleanup) under `out`.

    Safe because the caller holds the folder's lock: no live run of this
    folder is writing them.
    """
    removed = 0
    for path in out.rglob(f".*{TEMP_SUFFIX}"):
        if path.is_file():
            with contextlib.suppress(OSError):
                path.unlink()
                removed += 1
    return removed


def _folder_state(out: Path) -> tuple[Path | None, set[Path]]:
    """What exists of `out` before a run: the first folder the run will create, and
    every folder already under `out` (so a failed run removes only what it made)."""
    if out.is_dir():
        return None, {Path(root) for root, _, _ in os.walk(out)}
    first = out
    for parent in out.parents:
        if parent.exists():
            break
        first = parent
    return (None if out.exists() else first), set()


def _prune_new_folders(out: Path, before: tuple[Path | None, set[Path]]) -> None:
    """After a failure, remove the empty folders this run created under (and above) `out`."""
    created_root, existing = before
    if not out.is_dir():
        return
    for root, _, _ in os.walk(out, topdown=False):
        path = Path(root)
        if path not in existing and path != out:
            with contextlib.suppress(OSError):
                path.rmdir()  # only if empty
    if created_root is None:
        return
    path = out
    while True:
        try:
            path.rmdir()
        except OSError:
            return
        if path == created_root:
            return
        path = path.parent


def _check_result(res: JobResult) -> JobResult:
    if not res.outputs:
        raise RuntimeError(f"job {res.fit_key} returned no runs")
    return res


def _dump(config: ExperimentConfig) -> str:
    import yaml

    return yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False)


def _write_provenance(
    out: Path, config: ExperimentConfig, bench: Benchmark, plan: Plan, text: str
) -> None:
    from routerbench import __version__

    info = {
        "version": __version__,
        "data": config.data,
        "fingerprint": plan.fingerprint,
        "synthetic": bool(bench.synthetic),
        "n_prompts": bench.n_prompts,
        "models": list(bench.models),
        "datasets": list(bench.datasets),
        "n_runs": len(plan.runs),
        "config": config.model_dump(mode="json"),
    }
    write_text_atomic(out / RUN_FILE, json.dumps(info, indent=2, sort_keys=True) + "\n")
    write_text_atomic(out / "config.yaml", text)


def _write_report(
    result: ExperimentResult, bench: Benchmark, text: str, config: ExperimentConfig
) -> Path:
    """The HTML report and plots (the runner has already written the tables)."""
    from routerbench import __version__
    from routerbench.report import oracle_selection, write_report

    return write_report(
        result.out_dir,
        results=result.results,
        aiq=result.aiq,
        table1=result.table1,
        oracle_share=oracle_selection(bench),
        config_text=text,
        fingerprint=result.plan.fingerprint,
        version=__version__,
        runtime_s=result.seconds,
        synthetic=result.synthetic,
        write_tables=False,
        data=str(config.data),
        effective_config=effective_yaml(config),
    )
