"""Judges on data they were not written for: names, option sets, \\boxed{} answers, worked sums.

The same routers are run on real data we have not seen, so a judge must read a
dataset it does not know by name (RouterArena's ``GSM8K``, ``MMLUPro_law``) the
way a person would: from its prompts and responses, once, on train.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from routerbench.data.benchmark import Benchmark, ResponseStore
from routerbench.routers.judges.arithmetic import arithmetic_checks, arithmetic_error_share
from routerbench.routers.judges.evidence import response_evidence, task_kinds
from routerbench.routers.judges.extract import (
    choice_letters,
    final_numbers,
    infer_kind,
    kind_of,
    known_kind,
    offered_letters,
)
from routerbench.routers.judges.verifier import WindowVerifier


def _bench(prompts, responses, quality=None, task="somedata") -> Benchmark:
    responses = np.asarray(responses, dtype=object)
    n, m = responses.shape
    frame = pd.DataFrame(
        {"sample_id": [f"p{i}" for i in range(n)], "task": task, "prompt": list(prompts)}
    )
    q = np.zeros((n, m)) if quality is None else np.asarray(quality, dtype=float)
    store = ResponseStore(lambda: responses.copy())
    models = tuple(f"m{j}" for j in range(m))
    return Benchmark(frame, models, q, np.full((n, m), 1e-4), responses=store, source="t")


def test_dataset_names_are_read_the_way_the_readers_roll_them_up():
    assert kind_of("GSM8K") == kind_of("grade-school-math") == "number"
    assert kind_of("MMLU_formal_logic") == kind_of("mmlu-astronomy") == "choice"
    assert kind_of("Winograde") == "choice" and kind_of("MBPP") == "code"
    assert known_kind("MMLUPro_law") is None and kind_of("MMLUPro_law") == "text"


def test_offered_letters_are_the_option_lines_run_from_a():
    got = offered_letters(
        [
            "Q?\nA) Ian\nB) Dennis\nAnswer:",
            "Options:\nA. one\nB. two\nC. three\nD. four\nE. five\n",
            "(A) x\n(B) y\n(D) z",  # no C: the run stops at B
            "C. a stray letter in a passage\nD. and another",
            "no options at all",
            None,
        ]
    )
    assert got.tolist() == ["AB", "ABCDE", "AB", "", "", ""]


def test_boxed_answers_are_read_for_letters_and_numbers():
    assert choice_letters(["\\boxed{C}", "so \\boxed{(B)}.", "\\boxed{E}"]).tolist() == [
        "C",
        "B",
        "",  # E is not offered
    ]
    got = final_numbers(["= \\boxed{{48 g}}", "\\boxed{1,200}", "#### 7", "6 then \\boxed{x}"])
    assert got.tolist() == ["48", "1200", "7", "6"]


def test_a_fifth_option_is_read_where_the_prompt_offers_it():
    prompts = ["Q\nA) a\nB) b\nC) c\nD) d\nE) e\nAnswer:", "Q\nA) a\nB) b\nC) c\nD) d"]
    bench = _bench(prompts, [["E", "A"], ["E", "D"]], task="arc-challenge")
    ev = response_evidence(bench, code_runner=None)
    assert ev.keys.tolist() == [["E", "A"], ["", "D"]]  # E is an answer only where offered
    assert ev.valid.tolist() == [[True, True], [False, True]]


@pytest.mark.parametrize(
    ("prompts", "responses", "kind"),
    [
        (
            ["Pick:\nA. x\nB. y\nC. z"] * 4,
            [["B", "C"], ["A", "A"], ["\\boxed{C}", "C"]] * 1 + [["B", "B"]],
            "choice",
        ),
        (
            ["Write a function"] * 3,
            [["```python\ndef f(x):\n    return x\n```", "def g():\n  pass"]] * 3,
            "code",
        ),
        (["How many?"] * 3, [["2 + 2 = 4\n#### 4", "so \\boxed{5}"]] * 3, "number"),
        (["Translate: Hallo"] * 3, [["Hello", "Hi there, 2 of us"]] * 3, "text"),
    ],
)
def test_infer_kind_reads_an_unknown_dataset_from_its_prompts_and_responses(
    prompts, responses, kind
):
    responses = np.asarray(responses, dtype=object)
    assert infer_kind(prompts[: len(responses)], responses) == kind


def test_a_router_s_test_prompts_are_read_as_its_train_prompts_were():
    # a test batch of two prompts that shows no marked answer would read as free text
    # on its own; the kind found on train ("number") is the one used
    train = _bench(["How many?"] * 4, [["3 + 4 = 7\n#### 7", "#### 6"]] * 4, task="NewMath")
    test = _bench(["Tell me"] * 2, [["I get 3 + 4 = 7, so 7", "8"]] * 2, task="NewMath")
    kinds = task_kinds(train)
    assert kinds == {"NewMath": "number"}
    assert task_kinds(test) == {"NewMath": "text"}
    ev = response_evidence(test, code_runner=None, kinds=kinds)
    assert set(ev.kind) == {"number"} and ev.keys.tolist() == [["7", "8"], ["7", "8"]]


def test_a_task_unseen_on_train_is_read_from_its_prompts_alone():
    # a fitted router may not read responses of models it has not called, so a new
    # task's kind comes from its prompts: garbling every response changes nothing
    prompts = ["Pick one:\nA) x\nB) y", "Give the total in \\boxed{}", "Write a Python function f"]
    tasks = ["new-choice", "new-number", "new-code"]
    frame_tasks = np.array(tasks, dtype=object)
    responses = [["A", "B"], ["\\boxed{4}", "4"], ["def f():\n    return 1", "no"]]
    bench = _bench(prompts, responses)
    bench.prompts["task"] = frame_tasks
    garbled = _bench(prompts, [["zzz", "zzz"]] * 3)
    garbled.prompts["task"] = frame_tasks
    fitted = {"other-task": "text"}
    for b in (bench, garbled):
        ev = response_evidence(b, code_runner=None, kinds=fitted)
        assert ev.kind.tolist() == ["choice", "number", "code"]


def test_a_dataset_merging_tasks_reads_each_task_its_own_way():
    prompts = ["Q\nA) a\nB) b", "Q\nA) a\nB) b", "How many?", "How many?"]
    responses = [["A", "B"], ["B", "B"], ["2 + 2 = 4\n#### 4", "#### 5"], ["#### 3", "#### 3"]]
    bench = _bench(prompts, responses, task="ArcMMLU")
    bench.prompts["task"] = np.array(["ArcMMLU", "ArcMMLU", "GSM8K", "GSM8K"], dtype=object)
    bench.prompts["dataset"] = "routerarena"  # as a config's `groups` merges them
    kinds = task_kinds(bench)
    assert kinds == {"ArcMMLU": "choice", "GSM8K": "number"}
    ev = response_evidence(bench, code_runner=None)
    assert ev.keys.tolist() == [["A", "B"], ["B", "B"], ["4", "5"], ["3", "3"]]


def test_arithmetic_checks_count_true_and_false_steps():
    texts = [
        "16 - 3 = 13 eggs, then 13 - 4 = 8 left, sold for 9 * $2 = $18",
        "<<9*2=18>>18 and 2*(3+4) = 14 and 1,000 + 200 = 1,200",
        "10 / 3 = 3.33 and 10 / 3 = 3.3 and 10 / 3 = 3.4",  # rounding holds, a wrong digit not
        "x = 5, 20% of 50 = 10, 5 = 5",  # nothing of the form a op b = c
        "2**99999 = 1 and 9/0 = 1 and 2(3 + 4) = 14",  # powers, x/0, implied products: unread
        "",
        None,
    ]
    checked, wrong = arithmetic_checks(texts)
    assert checked.tolist() == [3, 3, 3, 0, 0, 0, 0]
    assert wrong.tolist() == [1, 0, 1, 0, 0, 0, 0]
    share = arithmetic_error_share(np.array([texts[:2], texts[2:4]], dtype=object))
    assert share.shape == (2, 2) and np.allclose(share, [[1 / 3, 0], [1 / 3, 0]])


def test_the_verifier_learns_that_a_false_step_means_a_wrong_answer():
    rng = np.random.default_rng(0)
    n = 300
    right = rng.random(n) < 0.6
    a, b = rng.integers(2, 50, n), rng.integers(2, 50, n)
    shown = np.where(right, a + b, a + b + rng.integers(1, 5, n))  # wrong answers slip a step
    texts = np.array(
        [[f"{x} + {y} = {s} so\n#### {s}"] for x, y, s in zip(a, b, shown, strict=True)],
        dtype=object,
    )
    bench = _bench(["Add them"] * n, texts, right[:, None].astype(float), task="gsm8k")
    ev = response_evidence(bench, code_runner=None)
    assert ev.arith is not None and (ev.arith[~right, 0, 0] == 1).all()
    assert (ev.arith[right, 0, 0] == 0).all()
    tr, te = np.arange(200), np.arange(200, n)
    v = WindowVerifier().fit(ev.take(tr), bench.quality[tr], [(0,)])
    p = v.predict(ev.take(te), np.arange(len(te)), (0,))[:, 0]
    assert p[right[te]].min() > 0.5 > p[~right[te]].max()


def test_arithmetic_is_not_read_for_other_kinds():
    bench = _bench(["Q\nA) a\nB) b"], [["A 2 + 2 = 5", "B"]], task="arc-challenge")
    ev = response_evidence(bench, code_runner=None)
    assert not ev.arith.any()
