"""`routerbench collect` end to end against real scripted servers on 127.0.0.1."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from routerbench.cli import app
from routerbench.collect.store import Store
from routerbench.collect.stub import Reply, ScriptedResponder, StubServer, default_answer, ok_reply
from routerbench.data.readers import load

from .conftest import write_models, write_tasks

runner = CliRunner()


def _collect(tasks: Path, models: Path, out: Path, *extra: str):
    res = runner.invoke(
        app,
        [
            "collect",
            "--tasks",
            str(tasks),
            "--models",
            str(models),
            "--out",
            str(out),
            "--quiet",
            *extra,
        ],
    )
    return res


def _usage_reply(body):
    """Answers with usage that depends on the prompt, including cached and reasoning tokens."""
    text = body["messages"][-1]["content"]
    n = len(text)
    return ok_reply(
        default_answer(body["messages"]),
        prompt_tokens=n,
        completion_tokens=40 + n % 7,
        cached_tokens=n // 3,
        reasoning_tokens=n % 11,
    )


def _expected_cost(n: int) -> float:
    prompt, completion, cached, reasoning = n, 40 + n % 7, n // 3, n % 11
    return (
        (prompt - cached) * 1.5 + cached * 0.25 + (completion - reasoning) * 4.0 + reasoning * 8.0
    ) / 1e6 + 0.0001


def test_cells_costs_and_table_readable(tmp_path, tasks_file):
    with StubServer(ScriptedResponder(default=_usage_reply)) as s:
        models = write_models(
            tmp_path / "m.yaml",
            [{"name": "a", "url": s.url}, {"name": "b", "url": s.url, "model": "b2"}],
        )
        res = _collect(tasks_file, models, tmp_path / "out")
        assert res.exit_code == 0, res.output
        assert len(s.requests) == 24
    df = pd.read_parquet(tmp_path / "out" / "benchmark.parquet")
    assert len(df) == 24 and set(df["model"]) == {"a", "b"}
    rows = [json.loads(line) for line in tasks_file.read_text().splitlines()]
    for r in df.itertuples():
        src = next(x for x in rows if x["sample_id"] == r.sample_id)
        assert r.cost == pytest.approx(_expected_cost(len(src["prompt"])), abs=1e-9)
        picked = src["prompt"][-1]
        assert r.quality == float(picked == src["label"])
        assert r.price_source == "test price table" and r.price_date == "2026-12-01"
        assert not r.cost_estimated and r.usage_source == "provider"
    bench = load(tmp_path / "out")
    assert bench.shape == (12, 2) and bench.models == ("a", "b")
    assert not bench.missing.any()


def test_errors_never_become_answers_and_are_retried_on_resume(tmp_path):
    tasks = tmp_path / "t.jsonl"
    write_tasks(tasks, 8)
    plans = {
        "Question 1 ": [Reply(500, {"error": {"message": "boom"}})],
        "Question 2 ": [Reply(401, {"error": {"message": "no"}})],
        "Question 3 ": [Reply(200, "{broken")],
        "Question 4 ": [ok_reply(None)],
        "Question 5 ": [Reply(hang=True)],
    }
    with StubServer(ScriptedResponder(plans)) as s:
        fast = {"timeout_s": 0.3, "retry_base_s": 0.01, "max_attempts": 3}
        models = write_models(tmp_path / "m.yaml", [{"name": "a", "url": s.url, **fast}])
        res = _collect(tasks, models, tmp_path / "out")
        assert res.exit_code == 0, res.output
    df = pd.read_parquet(tmp_path / "out" / "benchmark.parquet")
    assert sorted(df["sample_id"]) == ["q0", "q6", "q7"]
    with Store(tmp_path / "out" / "collect.sqlite") as st:
        status = dict(st.db.execute("SELECT sample_id, status FROM calls").fetchall())
        assert status["q1"] == "error" and status["q2"] == "error"
        assert status["q3"] == "parse_fail" and status["q4"] == "parse_fail"
        assert status["q5"] == "timeout"
        answers = st.db.execute(
            "SELECT COUNT(*) FROM calls WHERE status != 'ok' AND response IS NOT NULL"
        ).fetchone()[0]
        assert answers == 0
    assert "not ok in the store" in res.output
    # Resume against a healthy server: only the 5 failed cells are called again.
    with StubServer() as s2:
        write_models(tmp_path / "m.yaml", [{"name": "a", "url": s.url, **fast}])
        # the model identity includes base_url: keep the same one by re-serving it
    with StubServer(port=s.port) as s3:
        res = _collect(tasks, models, tmp_path / "out")
        assert res.exit_code == 0, res.output
        assert len(s3.requests) == 5
    assert len(s2.requests) == 0
    df = pd.read_parquet(tmp_path / "out" / "benchmark.parquet")
    assert len(df) == 8
    with Store(tmp_path / "out" / "collect.sqlite") as st:
        attempts = dict(st.db.execute("SELECT sample_id, attempts FROM calls").fetchall())
        assert attempts["q2"] == 2  # 1 terminal try, then 1 on resume
        assert attempts["q1"] == 4  # 3 tries (max_attempts), then 1 on resume


def test_no_usage_is_estimated_and_flagged(tmp_path, tasks_file):
    with StubServer(ScriptedResponder(default=lambda b: ok_reply("Answer: A", usage=False))) as s:
        models = write_models(tmp_path / "m.yaml", [{"name": "a", "url": s.url}])
        res = _collect(tasks_file, models, tmp_path / "out")
        assert res.exit_code == 0, res.output
    df = pd.read_parquet(tmp_path / "out" / "benchmark.parquet")
    assert df["cost_estimated"].all() and (df["prompt_tokens"] > 0).all()
    assert (df["usage_source"] != "provider").all()
    assert "had no usage" in res.output


def test_implausible_usage_is_flagged(tmp_path, tasks_file):
    with StubServer(
        ScriptedResponder(
            default=lambda b: ok_reply("Answer: A", prompt_tokens=0, completion_tokens=0)
        )
    ) as s:
        models = write_models(tmp_path / "m.yaml", [{"name": "a", "url": s.url}])
        res = _collect(tasks_file, models, tmp_path / "out")
    assert "report zero tokens" in res.output and "same for every prompt" in res.output


def test_adding_a_model_or_a_task_calls_only_missing_cells(tmp_path):
    tasks = tmp_path / "t.jsonl"
    write_tasks(tasks, 6)
    with StubServer() as s:
        m1 = write_models(tmp_path / "m.yaml", [{"name": "a", "url": s.url}])
        assert _collect(tasks, m1, tmp_path / "out").exit_code == 0
        assert len(s.requests) == 6
        write_models(m1, [{"name": "a", "url": s.url}, {"name": "b", "url": s.url}])
        assert _collect(tasks, m1, tmp_path / "out").exit_code == 0
        assert len(s.requests) == 12
        write_tasks(tasks, 8)  # two more rows, first six unchanged
        assert _collect(tasks, m1, tmp_path / "out").exit_code == 0
        assert len(s.requests) == 16
        changed = tmp_path / "t2.jsonl"
        rows = [json.loads(x) for x in tasks.read_text().splitlines()]
        rows[0]["label"] = "D"  # relabelling re-scores, never re-asks
        changed.write_text("".join(json.dumps(r) + "\n" for r in rows))
        assert _collect(changed, m1, tmp_path / "out").exit_code == 0
        assert len(s.requests) == 16
    df = pd.read_parquet(tmp_path / "out" / "benchmark.parquet")
    assert len(df) == 16 and df.duplicated(["sample_id", "model"]).sum() == 0


def test_max_cost_stops_before_the_budget_is_passed(tmp_path):
    tasks = tmp_path / "t.jsonl"
    write_tasks(tasks, 40)
    with StubServer(ScriptedResponder(default=_usage_reply)) as s:
        models = write_models(
            tmp_path / "m.yaml",
            [
                {
                    "name": "a",
                    "url": s.url,
                    "max_concurrency": 2,
                    "params": {"temperature": 0, "max_tokens": 60},
                }
            ],
        )
        budget = 0.0025
        res = _collect(tasks, models, tmp_path / "out", "--max-cost", str(budget))
        assert res.exit_code == 0, res.output
        assert "stopped before passing --max-cost" in res.output
        n = len(s.requests)
    assert 0 < n < 40
    with Store(tmp_path / "out" / "collect.sqlite") as st:
        assert st.total_cost() <= budget
    df = pd.read_parquet(tmp_path / "out" / "benchmark.parquet")
    assert df["cost"].sum() <= budget and len(df) == n


def test_no_price_is_an_error_before_any_call(tmp_path, tasks_file):
    with StubServer() as s:
        models = write_models(tmp_path / "m.yaml", [{"name": "a", "url": s.url, "price": None}])
        res = _collect(tasks_file, models, tmp_path / "out")
        assert res.exit_code == 2 and "price" in res.output
        assert len(s.requests) == 0


def test_unset_api_key_variable_is_an_error_before_any_call(tmp_path, tasks_file, monkeypatch):
    monkeypatch.delenv("RB_TEST_KEY", raising=False)
    with StubServer() as s:
        models = write_models(
            tmp_path / "m.yaml", [{"name": "a", "url": s.url, "api_key_env": "RB_TEST_KEY"}]
        )
        res = _collect(tasks_file, models, tmp_path / "out")
        assert res.exit_code == 2 and "RB_TEST_KEY" in res.output
        assert len(s.requests) == 0


def test_code_rows_need_the_flag(tmp_path):
    tasks = tmp_path / "t.jsonl"
    tasks.write_text(
        json.dumps(
            {
                "sample_id": "c1",
                "task": "humaneval",
                "prompt": "write f",
                "scorer": "code",
                "tests": "assert f() == 1",
            }
        )
        + "\n"
    )
    with StubServer() as s:
        models = write_models(tmp_path / "m.yaml", [{"name": "a", "url": s.url}])
        res = _collect(tasks, models, tmp_path / "out")
        assert res.exit_code == 2 and "--allow-code-execution" in res.output
        assert len(s.requests) == 0


def test_bad_task_file_is_one_line_error(tmp_path):
    bad = tmp_path / "t.jsonl"
    bad.write_text('{"sample_id": "a", "task": "x", "prompt": "p", "scorer": "mc"}\n')
    with StubServer() as s:
        models = write_models(tmp_path / "m.yaml", [{"name": "a", "url": s.url}])
        res = _collect(bad, models, tmp_path / "out")
    assert res.exit_code == 2 and "label" in res.output and "row 0" in res.output
    assert "Traceback" not in res.output


def test_code_scorer_in_the_sandbox(tmp_path):
    from routerbench.collect.sandbox import isolation_mode

    if isolation_mode() is None:
        pytest.skip("no namespaces for the sandbox on this machine")
    tasks = tmp_path / "t.jsonl"
    rows = [
        {
            "sample_id": "good",
            "task": "code",
            "prompt": "inc good",
            "scorer": "code",
            "tests": "assert inc(1) == 2",
        },
        {
            "sample_id": "bad",
            "task": "code",
            "prompt": "inc bad",
            "scorer": "code",
            "tests": "assert inc(1) == 2",
        },
        {
            "sample_id": "loop",
            "task": "code",
            "prompt": "inc loop",
            "scorer": "code",
            "tests": "assert inc(1) == 2",
        },
    ]
    tasks.write_text("".join(json.dumps(r) + "\n" for r in rows))
    code = {
        "good": "```python\ndef inc(x):\n    return x + 1\n```",
        "bad": "```python\ndef inc(x):\n    return x\n```",
        "loop": "```python\ndef inc(x):\n    while True:\n        pass\n```",
    }

    def reply(body):
        key = body["messages"][-1]["content"].split()[-1]
        return ok_reply(code[key])

    with StubServer(ScriptedResponder(default=reply)) as s:
        models = write_models(tmp_path / "m.yaml", [{"name": "a", "url": s.url}])
        res = _collect(tasks, models, tmp_path / "out", "--allow-code-execution")
        assert res.exit_code == 0, res.output
    df = pd.read_parquet(tmp_path / "out" / "benchmark.parquet").set_index("sample_id")
    assert df.loc["good", "quality"] == 1.0 and df.loc["bad", "quality"] == 0.0
    assert df.loc["loop", "quality"] == 0.0
    with sqlite3.connect(tmp_path / "out" / "collect.sqlite") as db:
        outcomes = [json.loads(e)["outcome"] for (e,) in db.execute("SELECT extra FROM scores")]
    assert sorted(outcomes) == ["failed", "passed", "timeout"]


def test_judge_rows_regrade_parse_fail_and_separate_cost(tmp_path):
    tasks = tmp_path / "t.jsonl"
    rows = [
        {
            "sample_id": f"j{i}",
            "task": "mt-bench-writing",
            "prompt": f"write poem {i}",
            "scorer": "judge",
        }
        for i in range(3)
    ]
    tasks.write_text("".join(json.dumps(r) + "\n" for r in rows))

    def answer(body):
        return ok_reply(f"a poem for {body['messages'][-1]['content']}")

    def judge(body):
        convo = body["messages"]
        if len(convo) == 1:  # asked as a model of the benchmark, not as the judge
            return answer(body)
        question = convo[1]["content"]
        if "write poem 0" in question:
            return ok_reply("Good. Rating: [[8]]")
        if "write poem 1" in question:  # first reply has no grade, the re-ask has one
            return ok_reply("Rating: [[6]]" if len(convo) > 2 else "It is fine.")
        return ok_reply("I refuse to grade. [[42]]")  # never valid: parse_fail

    with (
        StubServer(ScriptedResponder(default=answer)) as sa,
        StubServer(ScriptedResponder(default=judge)) as sj,
    ):
        models = write_models(
            tmp_path / "m.yaml",
            [{"name": "a", "url": sa.url}, {"name": "judge", "url": sj.url}],
            judge="judge",
        )
        res = _collect(tasks, models, tmp_path / "out")
        assert res.exit_code == 0, res.output
        # the judge model answers the prompts too (it is a model of the benchmark)
        n_judge_calls = len(sj.requests)
        assert all(r.get("temperature") == 0 for r in sj.requests if len(r["messages"]) > 1)
        res2 = _collect(tasks, models, tmp_path / "out")
        assert len(sj.requests) == n_judge_calls  # judge calls are cached
    df = pd.read_parquet(tmp_path / "out" / "benchmark.parquet")
    a = df[df["model"] == "a"].set_index("sample_id")
    assert a.loc["j0", "quality"] == pytest.approx(0.8)
    assert a.loc["j1", "quality"] == pytest.approx(0.6)
    assert "j2" not in a.index  # parse_fail: no quality, not a 0
    assert (a["judge_cost"] > 0).all()
    assert (a["cost"] < a["cost"] + a["judge_cost"]).all()
    with sqlite3.connect(tmp_path / "out" / "collect.sqlite") as db:
        st = dict(
            db.execute("SELECT s.status, COUNT(*) FROM scores s GROUP BY s.status").fetchall()
        )
    assert st.get("parse_fail") == 2  # j2 for both a and judge-as-model
    assert "scores not ok: judge" in res2.output


def test_merging_two_collections_has_no_duplicates(tmp_path):
    tasks = tmp_path / "t.jsonl"
    write_tasks(tasks, 10)
    half1, half2 = tmp_path / "h1.jsonl", tmp_path / "h2.jsonl"
    lines = tasks.read_text().splitlines(keepends=True)
    half1.write_text("".join(lines[:7]))
    half2.write_text("".join(lines[4:]))
    with StubServer() as s:
        models = write_models(tmp_path / "m.yaml", [{"name": "a", "url": s.url}])
        assert _collect(half1, models, tmp_path / "o1").exit_code == 0
        assert _collect(half2, models, tmp_path / "o2").exit_code == 0
        with Store(tmp_path / "o1" / "collect.sqlite") as st:
            st.merge_from(tmp_path / "o2" / "collect.sqlite")
            st.merge_from(tmp_path / "o2" / "collect.sqlite")  # twice: still no duplicates
            n = st.db.execute("SELECT COUNT(*) FROM calls").fetchone()[0]
        assert n == 10
        n_before = len(s.requests)
        assert _collect(tasks, models, tmp_path / "o1").exit_code == 0
        assert len(s.requests) == n_before  # everything was already there
    assert len(pd.read_parquet(tmp_path / "o1" / "benchmark.parquet")) == 10


def test_changing_a_rows_scorer_rescores_without_calls(tmp_path):
    tasks = tmp_path / "t.jsonl"
    rows = write_tasks(tasks, 6)
    with StubServer() as s:
        models = write_models(tmp_path / "m.yaml", [{"name": "a", "url": s.url}])
        assert _collect(tasks, models, tmp_path / "out").exit_code == 0
        rows[0].update(scorer="numeric", label="7")
        tasks.write_text("".join(json.dumps(r) + "\n" for r in rows))
        res = _collect(tasks, models, tmp_path / "out")
        assert res.exit_code == 0, res.output
        assert len(s.requests) == 6
    df = pd.read_parquet(tmp_path / "out" / "benchmark.parquet").set_index("sample_id")
    assert len(df) == 6 and df.loc["q0", "scorer"] == "numeric"
    assert df.loc["q0", "quality"] == 0.0


def test_live_progress_shows_each_model(tmp_path, tasks_file):
    import io

    from rich.console import Console

    from routerbench.collect.progress import LiveProgress
    from routerbench.collect.runner import CollectOptions, collect
    from routerbench.collect.tasks import read_tasks
    from routerbench.endpoints import load_models_config

    buf = io.StringIO()
    with StubServer() as s:
        models = write_models(
            tmp_path / "m.yaml", [{"name": "alpha", "url": s.url}, {"name": "beta", "url": s.url}]
        )
        res = collect(
            read_tasks(tasks_file),
            load_models_config(models),
            tmp_path / "out",
            CollectOptions(),
            progress_factory=lambda: LiveProgress(
                Console(file=buf, force_terminal=True, width=200)
            ),
        )
    text = buf.getvalue()
    assert res.rows == 24
    for word in ("alpha", "beta", "calls/s", "12/12", "retries"):
        assert word in text


def test_usage_flags_far_from_tokenizer():
    import numpy as np

    from routerbench.collect.usage import usage_flags

    est = np.array([100, 120, 90, 110, 105])
    ok = usage_flags("m", est * 1.1, est / 2, est, est / 2, 5)
    assert ok.lines() == []
    far = usage_flags("m", est * 10, est / 2, est, est / 2, 5)
    assert far.far_from_tokenizer == 5 and "more than 3x" in far.lines()[0]
