"""Execute jobs: fit (or load) a router, sweep it on each test set, return realised arrays.

`run_job` is the unit of work; `execute` sends jobs to this process, a process pool or Ray.
"""

from __future__ import annotations

import contextlib
import copy
import pickle
import time
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from routerbench.data.benchmark import Benchmark
from routerbench.decision import Decision
from routerbench.errors import ConfigError, DataError, RouterBenchError
from routerbench.experiment.plan import Job, Run, SystemSpec, canonical_json
from routerbench.io import atomic_path
from routerbench.lifetime import exit_with_parent

__all__ = [
    "JobResult",
    "RunOutput",
    "WorkerContext",
    "execute",
    "router_cache_path",
    "run_job",
]


@dataclass(frozen=True)
class WorkerContext:
    """What every job needs besides the benchmark: where caches live, what to inject.

    Attributes
    ----------
    out_dir
        The experiment's output folder (router cache under ``cache/routers``).
    embedding_cache
        Folder of the embedding cache, passed to routers that take ``cache``.
    cache_routers
        Pickle fitted routers and reuse them on a re-run.
    """

    out_dir: str
    embedding_cache: str | None
    cache_routers: bool = True


@dataclass(frozen=True)
class RunOutput:
    """One finished run: its result rows and realised ``q``/``c`` ``[S, n]``."""

    run_id: str
    rows: list[dict[str, Any]]
    q: np.ndarray
    c: np.ndarray
    test_key: str


@dataclass(frozen=True)
class JobResult:
    """What a job returns to the driver (which writes every file)."""

    fit_key: str
    outputs: list[RunOutput]
    fitted: bool  # False: the router came from the cache (or needs no fit)
    seconds: float


def router_cache_path(out_dir: str | Path, fit_key: str) -> Path:
    """``OUT/cache/routers/<fit key>.pkl``: fit key = train set + router spec + params + seed."""
    return Path(out_dir) / "cache" / "routers" / f"{fit_key}.pkl"


# --------------------------------------------------------------------------- decisions
def _baseline_decisions(system: SystemSpec, test: Benchmark) -> list[Decision]:
    """Single model, Oracle, or Zero (every single model: their NDCH is the Zero router)."""
    from routerbench.frontier import oracle_choice

    n = test.n_prompts
    if system.kind == "model":
        j = test.model_index(system.spec.removeprefix("single:"))
        return [Decision(np.full(n, j, dtype=np.intp), label=system.label)]
    if system.kind == "oracle":
        return [Decision(oracle_choice(test.quality, test.cost), label=system.label)]
    return [
        Decision(np.full(n, j, dtype=np.intp), label=system.label, params={"model": m})
        for j, m in enumerate(test.models)
    ]


def _family(router: Any, spec: str) -> str:
    name = getattr(router, "name", None)
    if isinstance(name, str) and name and name not in ("router", "predictive"):
        return name
    return spec.split(":")[-1] if ":" in spec else spec


def _realised(decision: Decision, test: Benchmark) -> tuple[np.ndarray, np.ndarray]:
    """Per-prompt (quality, cost); a cascade's judge dollars arrive as `Decision.extra_cost`."""
    q, c = decision.realised(test)
    return np.asarray(q, dtype=float), np.asarray(c, dtype=float)


def _share(decision: Decision, test: Benchmark) -> str:
    n = max(test.n_prompts, 1)
    counts = decision.model_counts(test)
    return canonical_json({m: counts[m] / n for m in sorted(counts) if counts[m]})


def _record(
    run: Run,
    test: Benchmark,
    decisions: Iterator[Decision] | Sequence[Decision],
    family: str,
    params: Mapping[str, Any],
) -> RunOutput:
    """Realise every decision on the test set: one result row and one q/c row per setting."""
    rows, qs, cs = [], [], []
    n = test.n_prompts
    params_json = canonical_json(dict(params))
    for d in decisions:
        q, c = _realised(d, test)
        qs.append(q)
        cs.append(c)
        total = float(c.sum())
        rows.append(
            {
                "run_id": run.run_id,
                "protocol": run.unit.protocol,
                "fold": run.unit.fold,
                "dataset": run.unit.dataset,
                "family": family,
                "system": run.system.label,
                "kind": run.system.kind,
                "setting": canonical_json(dict(d.params)),
                "params": params_json,
                "seed": run.seed,
                "n": n,
                "quality": float(q.mean()) if n else float("nan"),
                "cost": total,
                "cost_mean": total / n if n else float("nan"),
                "model_share": _share(d, test),
            }
        )
    if not rows:
        raise ConfigError(f"{run.system.source or run.system.label}: the router swept no setting")
    return RunOutput(run.run_id, rows, np.vstack(qs), np.vstack(cs), run.unit.test_key)


# --------------------------------------------------------------------------- fitting
def _runtime_params(system: SystemSpec, seed: int, ctx: WorkerContext) -> dict[str, Any]:
    """Constructor parameters of one run: the planned ones, the seed, the embedding cache.

    The cache folder is not part of the run's identity (moving the output
    folder must not invalidate finished runs), so it is added only here.
    """
    params = system.router_params(seed)
    if "cache" in system.accepted and "cache" not in params and ctx.embedding_cache:
        params["cache"] = ctx.embedding_cache
    return params


def _fitted_router(bench: Benchmark, job: Job, ctx: WorkerContext) -> tuple[Any, bool]:
    """The job's router, fitted on its training rows or loaded from the router cache."""
    from routerbench.experiment.plan import get_router

    params = _runtime_params(job.system, job.seed, ctx)
    path = router_cache_path(ctx.out_dir, job.fit_key)
    if ctx.cache_routers and path.is_file():
        with contextlib.suppress(Exception):  # unreadable or stale: fit again
            with path.open("rb") as f:
                router = pickle.load(f)
            return router, False
    router = get_router(job.system.spec, **params)
    try:
        router.fit(bench.subset(job.train_index))
    except RouterBenchError as exc:
        raise _in_context(exc, job) from None
    if ctx.cache_routers:
        # An unpicklable plug-in is simply not cached; a full disk still stops the run.
        unpicklable = (pickle.PicklingError, TypeError, AttributeError, RecursionError)
        with contextlib.suppress(*unpicklable), atomic_path(path) as tmp, tmp.open("wb") as f:
            pickle.dump(router, f, protocol=pickle.HIGHEST_PROTOCOL)
    return router, True


def _in_context(exc: RouterBenchError, job: Job) -> RouterBenchError:
    """The same error, its message led by which router failed on which training set.

    A router's own message ("needs at least 2 training prompts, got 1") does
    not say which of an experiment's hundreds of fits it came from.
    """
    units = dict.fromkeys(f"{r.unit.protocol} / {r.unit.dataset}" for r in job.runs)
    where = (
        f"{job.system.source or 'router'} ({job.system.label}), fitted on "
        f"{len(job.train_index)} training prompts of {', '.join(units)}"
    )
    new = copy.copy(exc)
    new.args = (f"{where}: {exc}",)
    if isinstance(new, DataError):
        new.detail = f"{where}: {exc.detail}"
    return new


def run_job(bench: Benchmark, job: Job, ctx: WorkerContext) -> JobResult:
    """Fit once, then evaluate every run of the job on its own test set."""
    t0 = time.perf_counter()
    outputs: list[RunOutput] = []
    tests: dict[str, Benchmark] = {}

    def test_of(run: Run) -> Benchmark:
        key = run.unit.test_key
        if key not in tests:
            tests[key] = bench.subset(run.unit.test_index)
        return tests[key]

    if job.is_baseline:
        for run in job.runs:
            test = test_of(run)
            decisions = _baseline_decisions(run.system, test)
            outputs.append(_record(run, test, decisions, run.system.kind, {}))
        return JobResult(job.fit_key, outputs, False, time.perf_counter() - t0)
    router, fitted = _fitted_router(bench, job, ctx)
    family = _family(router, job.system.spec)
    try:
        params = {k: v for k, v in router.get_params().items() if k != "cache"}
    except Exception:
        params = dict(job.system.params)
    for run in job.runs:
        test = test_of(run)
        outputs.append(_record(run, test, router.sweep(test), family, params))
    return JobResult(job.fit_key, outputs, fitted, time.perf_counter() - t0)


# --------------------------------------------------------------------------- executors
_WORKER: dict[str, Any] = {}


def _init_worker(bench: Benchmark, ctx: WorkerContext, parent: int | None = None) -> None:
    """Process-pool initializer: exit with the driver, leave Ctrl-C to the driver, keep the
    benchmark, one BLAS thread per worker process."""
    import signal

    if parent is not None:
        exit_with_parent(parent)
    # Ctrl-C reaches the whole process group; the driver stops the workers itself
    # (and reports what was saved), so workers print no traceback of their own.
    with contextlib.suppress(ValueError):
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    with contextlib.suppress(Exception):
        from threadpoolctl import threadpool_limits

        _WORKER["limits"] = threadpool_limits(1)
    _WORKER["bench"] = bench
    _WORKER["ctx"] = ctx


def _pool_job(job: Job) -> JobResult:
    return run_job(_WORKER["bench"], job, _WORKER["ctx"])


def _portable(bench: Benchmark) -> Benchmark:
    """The benchmark without its lazy response store (a closure that does not pickle)."""
    return replace(bench, responses=None) if bench.responses is not None else bench


def _local(jobs: Sequence[Job], bench: Benchmark, ctx: WorkerContext, n_jobs: int) -> Iterator:
    if n_jobs <= 1 or len(jobs) <= 1:
        for job in jobs:
            yield run_job(bench, job, ctx)
        return
    import multiprocessing as mp
    import os

    # spawn: no fork of a process that may hold BLAS or progress-bar threads.
    context = mp.get_context("spawn")
    with ProcessPoolExecutor(
        max_workers=min(n_jobs, len(jobs)),
        mp_context=context,
        initializer=_init_worker,
        initargs=(_portable(bench), ctx, os.getpid()),
    ) as pool:
        pending: set[Future] = {pool.submit(_pool_job, job) for job in jobs}
        try:
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for fut in done:
                    yield fut.result()
        except BaseException:
            # A failed job, Ctrl-C or SIGTERM stops the run now (finished runs are already
            # saved): drop queued jobs and end the running ones instead of waiting for them.
            _stop_workers(pool)
            raise


def _stop_workers(pool: ProcessPoolExecutor, grace_s: float = 2.0) -> None:
    """Cancel queued jobs and end a pool's worker processes (SIGTERM, then SIGKILL after
    `grace_s`), so leaving the pool does not wait for the jobs that are running."""
    procs = list((getattr(pool, "_processes", None) or {}).values())  # shutdown clears it
    manager = getattr(pool, "_executor_manager_thread", None)  # this too
    pool.shutdown(wait=False, cancel_futures=True)
    for p in procs:
        with contextlib.suppress(Exception):
            p.terminate()
    deadline = time.monotonic() + grace_s
    for p in procs:
        with contextlib.suppress(Exception):
            p.join(max(0.0, deadline - time.monotonic()))
            if p.is_alive():
                p.kill()
                p.join(1.0)
    # Let the pool's manager thread see its dead workers and close its wake-up pipe now.
    # Left running, it can close that pipe while the interpreter's exit hook writes to it
    # (CPython 3.11's _ThreadWakeup has no lock), printing "Exception ignored ... Bad file
    # descriptor" with a traceback after the one-line interrupt message.
    if manager is not None:
        with contextlib.suppress(Exception):
            manager.join(grace_s)


def _ray_job(bench: Benchmark, job: Job, ctx: WorkerContext) -> JobResult:
    with contextlib.suppress(Exception):
        from threadpoolctl import threadpool_limits

        threadpool_limits(1)
    return run_job(bench, job, ctx)


def _ray(
    jobs: Sequence[Job], bench: Benchmark, ctx: WorkerContext, n_jobs: int, address: str | None
) -> Iterator[JobResult]:
    try:
        import ray
    except ImportError:
        raise ConfigError(
            "executor 'ray' needs Ray, an optional extra: pip install 'routerbench[ray]'"
        ) from None
    started = False
    if not ray.is_initialized():
        kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False}
        if address:
            kwargs["address"] = address
        else:
            kwargs["num_cpus"] = max(1, n_jobs)
        ray.init(**kwargs)
        started = True
    try:
        remote = ray.remote(num_cpus=1)(_ray_job)
        ref = ray.put(_portable(bench))
        pending = [remote.remote(ref, job, ctx) for job in jobs]
        try:
            while pending:
                done, pending = ray.wait(pending, num_returns=1)
                for r in done:
                    yield ray.get(r)
        except BaseException:
            for r in pending:
                ray.cancel(r)
            raise
    finally:
        if started:
            ray.shutdown()


def execute(
    jobs: Sequence[Job],
    bench: Benchmark,
    ctx: WorkerContext,
    *,
    executor: str = "local",
    n_jobs: int = 1,
    address: str | None = None,
) -> Iterator[JobResult]:
    """Run jobs and yield each result as it completes (order of completion).

    ``local`` with ``n_jobs == 1`` runs in this process; more workers use a
    spawned process pool. ``ray`` submits the same jobs to Ray (a local
    instance with ``n_jobs`` CPUs, or the cluster at `address`). Workers only
    compute and return arrays; the driver writes every output file, so a Ray
    cluster needs no shared file system (the router cache is then per node).
    """
    if executor == "local":
        return _local(jobs, bench, ctx, n_jobs)
    if executor == "ray":
        return _ray(jobs, bench, ctx, n_jobs, address)
    raise ConfigError(f"executor must be 'local' or 'ray', got {executor!r}")
