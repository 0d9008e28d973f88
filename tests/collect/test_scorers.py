"""Scorers: mc, numeric and judge parsing, against hand-checked answers."""

from __future__ import annotations

import pytest

from routerbench.collect.scorers import (
    CodeScorer,
    JudgeScorer,
    MCScorer,
    NumericScorer,
    extract_choice,
    extract_code,
    extract_number,
    get_scorer,
    parse_rating,
)
from routerbench.collect.tasks import Task
from routerbench.errors import ConfigError


def _task(**kw) -> Task:
    base = {"sample_id": "s", "task": "t", "messages": (("user", "q"),), "scorer": "mc"}
    base.update(kw)
    return Task(**base)


@pytest.mark.parametrize(
    ("text", "strict", "flexible"),
    [
        ("Let me think. Answer: B", "B", "B"),
        ("Answer: A\n...on reflection, Answer: C", "C", "C"),
        ("**Answer:** (D)", "D", "D"),
        ("The correct option is (B).", None, "B"),
        ("B", None, "B"),
        ("B.", None, "B"),
        ("I think the answer is C", None, "C"),
        ("I am not sure.", None, None),  # 'I' is never read as an option
        ("In my view, I would say it depends.", None, None),
        ("B. London", None, "B"),  # a reply that starts with an option answers it
        ("Options:\nA. Paris\nB. London\nI pick neither.", None, None),  # restated options
        ("answer: e", None, None),  # E is not an option of a 4-choice question
    ],
)
def test_extract_choice(text, strict, flexible):
    assert extract_choice(text, strict=True) == strict
    assert extract_choice(text) == flexible


def test_mc_scorer_records_strict_and_flexible():
    s = MCScorer().score(_task(label="B"), "The answer is (B)")
    assert s.status == "ok" and s.quality == 1.0
    assert s.extra["strict"] == 0.0 and s.extra["flexible"] == 1.0
    s = MCScorer().score(_task(label="B"), "Answer: B")
    assert s.extra["strict"] == 1.0
    miss = MCScorer().score(_task(label="B"), "I don't know")
    assert miss.status == "ok" and miss.quality == 0.0  # a non-answer is a wrong answer


@pytest.mark.parametrize(
    ("text", "value", "percent"),
    [
        ("so she has 18 eggs.\n#### 18", 18.0, False),
        ("The total is $1,234.50.", 1234.5, False),
        ("We get \\boxed{42} in the end, not 41", 42.0, False),
        ("The answer is 7. Then 8 more steps.", 7.0, False),
        ("First 3, then 5, finally 12.", 12.0, False),
        ("It rises by 60%.", 60.0, True),
        ("It is -3.5", -3.5, False),
        ("no numbers here", None, None),
    ],
)
def test_extract_number(text, value, percent):
    got = extract_number(text)
    if value is None:
        assert got is None
    else:
        assert got.value == value and got.percent is percent


def test_numeric_scorer_tolerance_and_percent():
    sc = NumericScorer()
    assert sc.score(_task(scorer="numeric", label="#### 1,000"), "That is 1000.").quality == 1.0
    assert sc.score(_task(scorer="numeric", label="0.3"), "0.30000000001").quality == 1.0
    assert sc.score(_task(scorer="numeric", label="60"), "60%").quality == 0.0
    assert sc.score(_task(scorer="numeric", label="60%"), "60%").quality == 1.0
    assert sc.score(_task(scorer="numeric", label="5"), "6").quality == 0.0
    assert sc.score(_task(scorer="numeric", label="n/a"), "6").status == "error"


def test_extract_code_and_program():
    reply = "Sure:\n```python\ndef f(x):\n    return x + 1\n```\nDone."
    assert extract_code(reply).strip() == "def f(x):\n    return x + 1"
    task = _task(scorer="code", code_prefix="import math\n\ndef f(x):\n", entry_point="f")
    prog = CodeScorer().program(task, reply)
    assert "import math" in prog and "def f(x):\n    return x + 1" in prog
    body_only = CodeScorer().program(task, "    return math.floor(x)\n")
    assert body_only.startswith("import math\n\ndef f(x):\n    return math.floor")


def test_code_scorer_refuses_without_permission():
    s = CodeScorer().score(_task(scorer="code", tests="assert True"), "pass")
    assert s.status == "refused" and s.quality is None


def test_unknown_scorer_is_a_config_error():
    with pytest.raises(ConfigError, match="unknown scorer"):
        get_scorer("nope")


def test_judge_messages_use_reference_template():
    js = JudgeScorer()
    plain = js.messages(_task(scorer="judge"), "hello")
    assert "[The Start of Assistant's Answer]\nhello" in plain[1]["content"]
    ref = js.messages(_task(scorer="judge", reference="42"), "hello")
    assert "[The Start of Reference Answer]\n42" in ref[1]["content"]
    again = js.messages(_task(scorer="judge"), "hello", ("no grade",))
    assert [m["role"] for m in again] == ["system", "user", "assistant", "user"]
    assert js.from_rating(None, 3).quality is None
    assert js.from_rating(7.0, 1).quality == pytest.approx(0.7)


# A fixture set of realistic judge replies: (reply, expected grade or None).
JUDGE_FIXTURES: list[tuple[str, float | None]] = [
    ("The response is accurate and helpful.\n\nRating: [[8]]", 8),
    ("Explanation: concise but misses a step.\nRating: [[6]]", 6),
    ("The assistant's answer is correct. Rating: [[10]]", 10),
    ("The answer is wrong and unhelpful. Rating: [[1]]", 1),
    ('Following the format "[[rating]]", e.g. "Rating: [[5]]", my rating: [[7]]', 7),
    ("I first thought [[4]] but after checking the reference, Rating: [[3]]", 3),
    ("Rating: [[ 9 ]]", 9),
    ("Rating: [[7.5]]", 7.5),
    ("Rating: [[8/10]]", 8),
    ("Rating: [[0]]", None),  # out of range: not clipped
    ("Rating: [[11]]", None),
    ("Rating: [[-1]]", None),
    ("Rating: 8/10", None),  # no [[x]] at all
    ("I cannot evaluate this response.", None),
    ("", None),
    ("Rating: [[rating]]", None),
    ("Score [[6]]. Note the scale [[1]] to [[10]]; final: [[6]]", 6),
    ("Rating: [[5]] (for the first part) and overall Rating: [[4]]", 4),
]
_templates = [
    ("The response addresses the question{0}. It is {1}.\n\nRating: [[{2}]]", True),
    ("Evaluation:\n- accuracy: {1}\n- detail: fine{0}\n\nFinal verdict: Rating: [[{2}]]", True),
    ("{1}{0}. Rating: [[{2}]]\n", True),
    ("{1}{0}; I would rate it {2} out of 10.", False),
]
for k in range(100):
    tpl, has = _templates[k % len(_templates)]
    grade = 1 + k % 10
    text = tpl.format(" with examples" if k % 3 else "", ["clear", "thin", "wrong"][k % 3], grade)
    JUDGE_FIXTURES.append((text, float(grade) if has else None))


def test_judge_parsing_on_fixture_set():
    agree = sum(parse_rating(t) == (None if e is None else float(e)) for t, e in JUDGE_FIXTURES)
    assert len(JUDGE_FIXTURES) >= 100
    assert agree / len(JUDGE_FIXTURES) >= 0.99
    # and nothing outside 1-10 is ever returned
    assert all(parse_rating(t) is None or 1 <= parse_rating(t) <= 10 for t, _ in JUDGE_FIXTURES)
