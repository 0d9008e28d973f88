"""Run an experiment end to end: plan, resume, execute, write results, evaluate, report.

Every output is written atomically; a re-run reuses every finished run and gives the same bytes.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from routerbench.data.benchmark import Benchmark
from routerbench.errors import ConfigError
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
from routerbench.io import atomic_path, write_atomic, write_text_atomic

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
def _write_points(out_dir: Path, output: RunOutput) -> None:
    meta = json.dumps({"test_key": output.test_key, "rows": output.rows}, sort_keys=True)
    with atomic_path(points_path(out_dir, output.run_id)) as tmp, tmp.open("wb") as f:
        np.savez(f, q=output.q, c=output.c, meta=np.array(meta))


def read_finished(out_dir: str | Path, run_id: str) -> list[dict[str, Any]] | None:
    """The result rows of a finished run, or None if it must run (again).

    A run is finished when its points file exists, reads back whole, and
    carries its result rows with as many settings as its ``q`` array has
    rows. The rows travel inside the points file, so the two can never
    disagree, and ``results.parquet`` is always rebuilt from them.
    """
    path = points_path(out_dir, run_id)
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as z:
            meta = json.loads(str(z["meta"]))
            rows = meta["rows"]
            if z["q"].shape[0] != len(rows) or z["c"].shape != z["q"].shape:
                return None
    except Exception:  # truncated, corrupt or from an older layout: run it again
        return None
    if not rows or any(r.get("run_id") != run_id for r in rows):
        return None
    return rows


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
    out.mkdir(parents=True, exist_ok=True)
    bench = prepare_benchmark(config, bench)
    plan = make_plan(bench, config)

    rows_of: dict[str, list[dict[str, Any]]] = {}
    for run in plan.runs:
        rows = read_finished(out, run.run_id)
        if rows is not None:
            rows_of[run.run_id] = rows
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
    )
    if report:
        result.report = _write_report(result, bench, text, config)
        result.seconds = time.perf_counter() - t0
    return result


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
