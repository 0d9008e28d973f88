"""Collect throughput and resume speed.

- 10,000 cells against an instant local OpenAI-compatible server (its own process):
  calls per second through the real client, store (one commit per call) and scorer.
- Resuming a 1,000,000-row store (100,000 prompts × 10 models): time to find the
  missing cells.

Figures depend on how loaded the machine is: on a shared 2-core box other jobs slow
both sides of the HTTP exchange.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing as mp
import resource
import socket
import tempfile
import time
from pathlib import Path

import numpy as np

from routerbench.collect import keys as K
from routerbench.collect.client import RetryPolicy
from routerbench.collect.runner import CollectOptions, _Runner, collect
from routerbench.collect.store import _SCHEMA as SCHEMA
from routerbench.collect.store import CallRecord, Store
from routerbench.collect.tasks import Task
from routerbench.endpoints import ModelEndpoint, ModelsConfig, Price


def _serve(port: int) -> None:
    from routerbench.collect.stub import StubServer

    StubServer(port=port).serve_forever()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _tasks(n: int) -> list[Task]:
    return [
        Task(
            sample_id=f"s{i}",
            task="mmlu-bench",
            messages=(("user", f"question {i}: pick {'ABCD'[i % 4]}"),),
            scorer="mc",
            label="ABCD"[(i * 7) % 4],
        )
        for i in range(n)
    ]


def _config(url: str, n_models: int, concurrency: int) -> ModelsConfig:
    price = Price(
        input_per_mtok=1.0, output_per_mtok=2.0, source="bench", date=dt.date(2026, 12, 1)
    )
    return ModelsConfig(
        models=tuple(
            ModelEndpoint(
                name=f"m{j}", base_url=url, model="stub", price=price, max_concurrency=concurrency
            )
            for j in range(n_models)
        )
    )


def _throughput(emit) -> None:
    port = _free_port()
    proc = mp.get_context("spawn").Process(target=_serve, args=(port,), daemon=True)
    proc.start()
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        cfg = _config(f"http://127.0.0.1:{port}/v1", 2, 8)
        tasks = _tasks(5_000)
        with tempfile.TemporaryDirectory() as tmp:
            cpu0 = resource.getrusage(resource.RUSAGE_SELF)
            t0 = time.perf_counter()
            res = collect(tasks, cfg, tmp, CollectOptions(quiet=True, policy=RetryPolicy()))
            wall = time.perf_counter() - t0
            cpu1 = resource.getrusage(resource.RUSAGE_SELF)
        assert res.rows == 10_000, res.rows
        emit(
            "collect_10k_cells_calls_per_s",
            10_000 / wall,
            "calls/s",
            ">= 1000",
            10_000 / wall >= 1000,
        )
        emit("collect_10k_cells_wall", wall, "s", "< 10", wall < 10)
        # CPU time of the collecting process per call: what the rate above would be on an
        # idle core (the server has its own process), whatever else loads the machine.
        cpu = (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)
        per_call = cpu / 10_000
        emit("collect_cpu_ms_per_call", 1000 * per_call, "ms", "<= 1", per_call <= 1e-3)
    finally:
        proc.terminate()
        proc.join(10)


def _resume(emit) -> None:
    n_prompts, n_models = 100_000, 10
    tasks = _tasks(n_prompts)
    cfg = _config("http://127.0.0.1:9/v1", n_models, 16)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "collect.sqlite"
        digests = K.task_digests(tasks)
        t64 = K.digests_u64(digests)
        rng = np.random.default_rng(0)
        skip = set(rng.choice(n_prompts * n_models, size=1000, replace=False).tolist())
        t_build = time.perf_counter()
        with Store(path) as st:
            for index in ("calls_status_cell", "calls_seq"):  # bulk load, then index once
                st.db.execute(f"DROP INDEX {index}")
            recs = []
            for j, ep in enumerate(cfg.models):
                md = K.model_digest(ep)
                cells = K.cell_ids(t64, md, 0)
                for i in range(n_prompts):
                    if j * n_prompts + i in skip:
                        continue
                    recs.append(
                        CallRecord(
                            key=K.answer_key(digests[i], md, 0),
                            cell=int(cells[i]),
                            sample_id=tasks[i].sample_id,
                            task="mmlu-bench",
                            model=ep.name,
                            purpose="answer",
                            repeat=0,
                            parent_key=None,
                            request="{}",
                            status="ok",
                            attempts=1,
                            response="Answer: A",
                        )
                    )
            recs.sort(key=lambda r: r.key)
            st.put_calls_bulk(recs)
            del recs  # a million records: free them before anything is timed
            st.db.execute(
                "INSERT INTO scores SELECT key, 'mc', '1', 'ok', 1.0, '', NULL, NULL, 0 FROM calls"
            )
            st.db.executescript(SCHEMA)  # CREATE ... IF NOT EXISTS: rebuilds the indexes
        build = time.perf_counter() - t_build
        emit("resume_store_build_1M_rows", build, "s", "setup, no target")
        with Store(path) as st:
            t0 = time.perf_counter()
            st.done_cells()
            emit(
                "resume_1M_read_done_cells_from_index",
                time.perf_counter() - t0,
                "s",
                "no target (before a run has written the snapshot)",
            )
            st.write_snapshot()  # what the end of every collect run does
        with Store(path) as st:  # a fresh start, as a resumed run has
            t0 = time.perf_counter()
            found = 0
            done = st.done_index()
            for ep in cfg.models:
                found += len(st.missing(K.cell_ids(t64, K.model_digest(ep), 0), done))
            find = time.perf_counter() - t0
            assert found == 1000, found
            emit("resume_1M_find_missing", find, "s", "< 1", find < 1.0)
            runner = _Runner(tasks, cfg, st, CollectOptions(quiet=True), progress=None)
            t0 = time.perf_counter()
            plan = runner.plan()
            full = time.perf_counter() - t0
            assert sum(len(v) for v in plan.values()) == 1000
            emit("resume_1M_full_plan_incl_hashing_100k_prompts", full, "s", "< 2", full < 2.0)


def run(emit) -> None:
    _throughput(emit)
    _resume(emit)
