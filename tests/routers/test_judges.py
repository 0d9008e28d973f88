"""Judges: answer extraction, refusals, code behaviour in the sandbox, the learned verifier."""

from __future__ import annotations

import numpy as np
import pytest
from tests.routers.judges_helpers import halves, mc_bench

from routerbench.routers.judges.code import (
    CodeEvidence,
    behaviour,
    evidence_table,
    prompt_evidence,
    prompt_tests,
    read_solution,
)
from routerbench.routers.judges.evidence import response_evidence
from routerbench.routers.judges.extract import (
    answer_keys,
    choice_letters,
    code_block,
    final_numbers,
    kind_of,
)
from routerbench.routers.judges.refusal import is_refusal
from routerbench.routers.judges.verifier import WindowVerifier, judge_error_rates


def test_choice_letters_read_leading_letters_and_phrases_only():
    got = choice_letters(
        ["A\n", "(B) home", "I do", "The answer is C.", "Answer: D", None, "Banana"]
    )
    assert got.tolist() == ["A", "B", "", "C", "D", "", ""]
    assert choice_letters(["C", "B"], "AB").tolist() == ["", "B"]  # C is not offered
    bold = ["The correct answer is **B) wet palms**.", "**Answer:** C", "The answer is: **D**"]
    assert choice_letters(bold).tolist() == ["B", "C", "D"]


def test_final_numbers_prefer_marked_answers_and_normalise():
    got = final_numbers(["3 + 4 = 7 apples", "#### 1,200", "The answer is 5. Then 6", "none"])
    assert got.tolist() == ["7", "1200", "5", ""]


def test_final_numbers_read_the_last_number_of_a_multi_line_chain_of_thought():
    """The unmarked answer is the text's last number, not the last one of its first line.

    RouteLLM's Mixtral answers GSM8K in paragraphs without a marker (1,287 of its
    2,638 responses with GPT-4's); read per line, the two models' keys agreed on 18%
    of the prompts both got right, read over the whole text on 99.5%.
    """
    text = (
        "First, 9 + 6 - 3 = 12 kids with an allergy.\n\n"
        "So there are 32 - 12 - 3 = 17 kids without any.\n\nThey are 17 in all."
    )
    got = final_numbers([text, "a 3\nb 4 c", "Totals: 1,000\nand then 2,500,\n", "no\nnumbers"])
    assert got.tolist() == ["17", "4", "2500", ""]


def test_final_numbers_read_answers_marked_with_a_colon_or_markdown():
    """Marked answers win over later numbers: 'answer is **42**', 'Answer: 7', '**Answer:** 9'."""
    got = final_numbers(
        [
            "The answer is **42**. Step 3 was the key.",
            "Final answer: 17 kids, 3 of them twice",
            "**Answer:** $1,234 for 2 days",
            "The answer is: 18. See question 2.",
            "I will answer 3 questions, then 5",  # 'answer' + number: not a marker
        ]
    )
    assert got.tolist() == ["42", "17", "1234", "18", "5"]


def test_code_block_takes_the_python_function_not_examples_or_other_languages():
    text = "Here:\n```python\ndef f(x):\n    return 1\n```\nUse:\n```\nf(2)\n```"
    assert code_block(text) == "def f(x):\n    return 1\n"
    assert code_block("```javascript\nfunction f(x) { return 1; }\n```") == ""
    assert code_block(" \n[PYTHON]\ndef g():\n    pass\n[/PYTHON]").strip().startswith("def g")
    assert answer_keys(np.array([["A", "b"]], dtype=object), "choice").tolist() == [["A", ""]]
    assert kind_of("mbpp") == "code" and kind_of("gsm8k") == "number" and kind_of("x") == "text"


def test_refusals_are_detected_and_answers_are_not():
    got = is_refusal(["I do", "A", "Unfortunately I cannot", "", "I'm sorry, but", "B) I do"])
    assert got.tolist() == [True, False, True, True, True, False]


def test_read_solution_finds_entry_point_and_example_inputs():
    text = (
        "```python\ndef helper(n):\n    return n\n\ndef area(a, b):\n    return a * b\n```\n"
        "Example:\n>>> area(2, 3)\n6\nassert area(4, 5) == 20\nprint(area(x, 1))\n"
    )
    sol = read_solution(text)
    assert sol is not None and sol.entry == "area"
    assert sol.inputs == ("(2, 3)", "(4, 5)")  # area(x, 1) has a non-literal argument
    assert read_solution("no code here") is None
    assert prompt_tests("Write f.\nassert f(1) == 2\nassert f(2) == 4") == (
        "assert f(1) == 2\nassert f(2) == 4"
    )


def test_an_entry_point_tie_goes_to_the_first_called_in_every_process():
    """Two functions called once each: the choice may not follow a set's hash order,
    which changes from one process to the next (and with it the code judge's evidence)."""
    import os
    import subprocess
    import sys

    text = (
        "```python\ndef beta(n):\n    return n\n\ndef alpha(n):\n    return -n\n```\n"
        ">>> beta(1)\n>>> alpha(2)\n"
    )
    probe = (
        "import sys; from routerbench.routers.judges.code import read_solution; "
        "print(read_solution(sys.stdin.read()).entry)"
    )
    seen = set()
    for seed in ("1", "2", "3", "4", "5"):
        out = subprocess.run(
            [sys.executable, "-c", probe],
            input=text,
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONHASHSEED": seed},
        )
        seen.add(out.stdout.strip())
    assert seen == {"beta"}


def _fake_runner(code: str, tests: str):
    """Executes in-process: only for trusted test snippets (the real path is the sandbox)."""
    ns: dict = {}
    try:
        exec(code, ns)
        exec(tests, ns)
    except AssertionError as exc:
        return False, f"AssertionError: {exc}"
    except Exception as exc:
        return False, type(exc).__name__
    return True, ""


def test_code_agreement_compares_behaviour_on_the_pair_s_own_inputs():
    right = "```python\ndef double(x):\n    return 2 * x\n```\n>>> double(3)\n6"
    also_right = "```python\ndef twice(y):\n    return y + y\n```\ntwice(10)"
    wrong = "```python\ndef double(x):\n    return x * x\n```"
    broken = "```python\ndef double(x):\n    return 2 * x\nundefined_name\n```"
    ev = prompt_evidence([right, also_right, wrong, broken], _fake_runner)
    assert ev.runs.tolist() == [True, True, True, False]
    assert ev.pair_agreement(0, 1) == 1.0  # same values on (3,) and (10,)
    assert ev.pair_agreement(0, 2) == 0.0  # 6 vs 9 on (3,): wrong's response has no inputs
    assert np.isnan(ev.pair_agreement(0, 3))  # broken does not run
    assert np.isnan(CodeEvidence(ev.runs, ev.shown_by, ev.behaviours).pair_agreement(2, 2))


def test_code_agreement_of_a_pair_depends_on_the_pair_s_responses_alone():
    """A third response (a model not called) showing the same input must change nothing."""
    third = "```python\ndef triple(x):\n    return 3 * x\n```\n>>> triple(3)"
    right = "```python\ndef double(x):\n    return 2 * x\n```\n>>> double(3)"
    wrong = "```python\ndef double(x):\n    return x * x\n```"
    with_third = prompt_evidence([third, right, wrong], _fake_runner)
    without = prompt_evidence(["no code", right, wrong], _fake_runner)
    # input (3,) is shown by `right` whichever response shows it first
    assert with_third.shown_by[:, 1].all() and with_third.shown_by[:, 0].all()
    assert with_third.pair_agreement(1, 2) == without.pair_agreement(1, 2) == 0.0  # 6 vs 9
    # a cached entry (sandbox results only) gets who-shows-what from the texts again
    from routerbench.routers.judges.code import _cache_key, _evidence_from_json, _evidence_to_json

    key = _cache_key([third, right, wrong])
    stored = {key: _evidence_from_json(_evidence_to_json(with_third))}
    assert stored[key].shown_by.size == 0  # the file holds the sandbox results only
    calls = []
    again = evidence_table(
        np.array([[third, right, wrong]], dtype=object),
        lambda c, t: calls.append(1) or _fake_runner(c, t),
        cache=stored,
    )[0]
    assert not calls and again.pair_agreement(1, 2) == 0.0
    assert np.array_equal(again.shown_by, with_third.shown_by)


def test_code_behaviour_in_the_real_sandbox():
    from routerbench.collect.sandbox import isolation_mode

    if isolation_mode() is None:
        pytest.skip("this machine cannot isolate untrusted code (no namespaces)")
    good = read_solution("```python\ndef inc(x):\n    return x + 1\n```\n>>> inc(1)")
    loops = read_solution("```python\ndef inc(x):\n    while True:\n        pass\n```")
    a = behaviour(good, ["(1,)", "(5,)"])
    b = behaviour(loops, ["(1,)"])
    assert a is not None and len(a) == 2 and a[0] != a[1] and "-" not in a
    assert b == ("-",)  # one input, cut off by its CPU-time budget, reported as an error


def test_code_behaviour_compares_what_results_hold_not_where_they_live():
    """Two runs of a generator (its repr carries a memory address) and a set of strings
    (its order follows the hash seed) gave other hashes on every run; so did a generator
    and the list-returning solution it equals."""
    from routerbench.collect.sandbox import isolation_mode

    if isolation_mode() is None:
        pytest.skip("this machine cannot isolate untrusted code (no namespaces)")
    gen = read_solution(
        "```python\ndef evens(n):\n    for i in range(0, n, 2):\n        yield i\n```"
    )
    lst = read_solution("```python\ndef evens(n):\n    return list(range(0, n, 2))\n```")
    odd = read_solution("```python\ndef evens(n):\n    return [i + 1 for i in range(0, n, 2)]\n```")
    chars = read_solution("```python\ndef evens(n):\n    return ''.join(set('abcdefgh'[:n]))\n```")
    inputs = ["(5,)", "(8,)"]
    first, again = behaviour(gen, inputs), behaviour(gen, inputs)
    assert first == again == behaviour(lst, inputs) and "-" not in first
    assert behaviour(odd, inputs) != first  # a different answer still disagrees
    assert behaviour(chars, inputs) == behaviour(chars, inputs)
    # random numbers: `random` is seeded afresh before every call, so they repeat
    draws = read_solution(
        "```python\nimport random\n"
        "def evens(n):\n    return [random.random() for _ in range(n)]\n```"
    )
    drawn = behaviour(draws, inputs)
    assert drawn == behaviour(draws, inputs) and "-" not in drawn


def test_an_input_s_budget_is_cpu_time_not_wall_clock():
    """An input's budget counts the solution's own CPU time, which a busy machine does not
    run down: a call that waits 1.2 s (no CPU) on each of two inputs, longer than the 1 s
    budget, still answers both (the old one-second wall-clock alarm per call cut it off)."""
    from routerbench.collect.sandbox import isolation_mode
    from routerbench.routers.judges.code import INPUT_CPU_S

    if isolation_mode() is None:
        pytest.skip("this machine cannot isolate untrusted code (no namespaces)")
    sleepy = read_solution(
        "```python\nimport time\ndef inc(x):\n    time.sleep(1.2)\n    return x + 1\n```"
    )
    assert INPUT_CPU_S < 1.2
    out = behaviour(sleepy, ["(1,)", "(2,)"])
    assert out is not None and "-" not in out and len(set(out)) == 2


def test_verifier_learns_that_agreement_means_right():
    train, test = halves(mc_bench(n=400))
    ev_tr = response_evidence(train, code_runner=None)
    ev_te = response_evidence(test, code_runner=None)
    window = (0, 1, 2)
    v = WindowVerifier().fit(ev_tr, train.quality, [window])
    rows = np.arange(test.n_prompts)
    p = v.predict(ev_te, rows, window)
    assert p.shape == (test.n_prompts, 3) and ((p >= 0) & (p <= 1)).all()
    agree = ev_te.agree[:, 0, 1] > 0
    assert p[agree, 0].mean() > p[~agree, 0].mean() + 0.2
    # better than the base rate at telling right from wrong (out of sample)
    right = test.quality[:, 0] == 1
    assert p[right, 0].mean() > p[~right, 0].mean() + 0.2
    # refusals of model 2 are never trusted
    refused = ev_te.refusal[:, 2]
    assert refused.any() and p[refused, 2].max() < 0.2


def test_agreement_judge_and_error_rates():
    test = mc_bench(n=100, seed=3)
    ev = response_evidence(test, code_runner=None)
    v = WindowVerifier("agreement").fit(ev, test.quality, [(0, 1)])
    p = v.predict(ev, np.arange(100), (0, 1))
    assert set(np.unique(p)) <= {0.0, 0.5, 1.0}
    fa, fr = judge_error_rates(np.array([1, 0, 1, 0], bool), np.array([1, 1, 0, 0], bool))
    assert (fa, fr) == (0.5, 0.5)
    fa, fr = judge_error_rates(np.array([1, 1, 0], bool), np.array([1, 1, 0], bool))
    assert (fa, fr) == (0.0, 0.0)
    assert np.isnan(judge_error_rates(np.array([1], bool), np.array([1], bool))[0])


def test_evidence_needs_responses():
    from dataclasses import replace

    from routerbench.errors import DataError

    with pytest.raises(DataError, match="responses"):
        response_evidence(replace(mc_bench(n=10), responses=None))
