"""SIGKILL `routerbench collect` at six moments; the resumed table equals an uninterrupted one."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

from routerbench.collect.stub import ScriptedResponder, StubServer, default_answer, ok_reply

from .conftest import write_models, write_tasks

N_TASKS = 30
MODELS = ("a", "b")


def _reply(body):
    text = body["messages"][-1]["content"]
    r = ok_reply(
        default_answer(body["messages"]),
        prompt_tokens=len(text),
        completion_tokens=9 + len(text) % 5,
        cached_tokens=len(text) // 4,
    )
    r.delay_s = 0.01
    return r


def _cmd(tasks: Path, models: Path, out: Path) -> list[str]:
    return [
        sys.executable,
        "-c",
        "from routerbench.cli import main; main()",
        "collect",
        "--tasks",
        str(tasks),
        "--models",
        str(models),
        "--out",
        str(out),
        "--quiet",
        "--concurrency",
        "3",
    ]


def _comparable(out: Path) -> pd.DataFrame:
    df = pd.read_parquet(out / "benchmark.parquet")
    return (
        df.drop(columns=["latency", "ttft"])
        .sort_values(["sample_id", "model"])
        .reset_index(drop=True)
    )


def test_sigkill_at_many_moments_then_resume(tmp_path):
    tasks = tmp_path / "t.jsonl"
    write_tasks(tasks, N_TASKS)
    total = N_TASKS * len(MODELS)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with StubServer(ScriptedResponder(default=_reply)) as s:
        models = write_models(tmp_path / "m.yaml", [{"name": m, "url": s.url} for m in MODELS])
        ref = tmp_path / "ref"
        done = subprocess.run(_cmd(tasks, models, ref), env=env, capture_output=True, timeout=120)
        assert done.returncode == 0, done.stderr.decode()[-2000:]
        assert len(s.requests) == total

        out = tmp_path / "out"
        # Moments: at start-up, after the first request, three points mid-run, and after the
        # last request (while scoring and writing the table).
        moments = [0, 1, 8, 20, 35, total]
        killed_at = []
        for target in moments:
            base = len(s.requests)
            proc = subprocess.Popen(
                _cmd(tasks, models, out),
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            deadline = time.monotonic() + 60
            while (
                len(s.requests) - base < min(target, total - _done_cells(out, base=0))
                and proc.poll() is None
                and time.monotonic() < deadline
            ):
                time.sleep(0.002)
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
            killed_at.append(len(s.requests) - base)
            _assert_store_consistent(out)
        assert len([k for k in killed_at if k > 0]) >= 3, killed_at

        final = subprocess.run(_cmd(tasks, models, out), env=env, capture_output=True, timeout=120)
        assert final.returncode == 0, final.stderr.decode()[-2000:]

    assert not list(out.glob(".*.tmp"))  # a write cut short by SIGKILL is cleaned up
    got = _comparable(out)
    want = _comparable(ref)
    assert len(got) == total and got.duplicated(["sample_id", "model"]).sum() == 0
    pd.testing.assert_frame_equal(got, want)
    with sqlite3.connect(out / "collect.sqlite") as db:
        (n_calls,) = db.execute("SELECT COUNT(*) FROM calls WHERE purpose='answer'").fetchone()
        (n_ok,) = db.execute("SELECT COUNT(*) FROM calls WHERE status='ok'").fetchone()
        (n_scores,) = db.execute("SELECT COUNT(*) FROM scores").fetchone()
    assert n_calls == n_ok == n_scores == total


def _done_cells(out: Path, base: int) -> int:
    db_path = out / "collect.sqlite"
    if not db_path.exists():
        return base
    try:
        with sqlite3.connect(db_path, timeout=1) as db:
            return db.execute("SELECT COUNT(*) FROM calls WHERE status='ok'").fetchone()[0]
    except sqlite3.Error:
        return base


def _assert_store_consistent(out: Path) -> None:
    db_path = out / "collect.sqlite"
    if not db_path.exists():
        return
    with sqlite3.connect(db_path) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        bad = db.execute(
            "SELECT COUNT(*) FROM calls WHERE (status = 'ok') != (response IS NOT NULL)"
        ).fetchone()[0]
        assert bad == 0
    # The table, when present, is always a complete parquet file (atomic replace).
    table = out / "benchmark.parquet"
    if table.exists():
        pd.read_parquet(table)


def test_ctrl_c_stops_cleanly_and_says_how_to_resume(tmp_path):
    tasks = tmp_path / "t.jsonl"
    write_tasks(tasks, N_TASKS)
    with StubServer(ScriptedResponder(default=_reply)) as s:
        models = write_models(tmp_path / "m.yaml", [{"name": m, "url": s.url} for m in MODELS])
        out = tmp_path / "out"
        proc = subprocess.Popen(
            _cmd(tasks, models, out), stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        deadline = time.monotonic() + 60
        while len(s.requests) < 10 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.005)
        proc.send_signal(signal.SIGINT)
        _stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr.decode()[-2000:]
    assert "re-run the same command to resume" in stderr.decode()
    assert "Traceback" not in stderr.decode()
    df = pd.read_parquet(out / "benchmark.parquet")
    assert 0 < len(df) < N_TASKS * len(MODELS)
    _assert_store_consistent(out)
