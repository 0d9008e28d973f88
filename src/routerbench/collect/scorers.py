"""Scorers: turn a model's answer into a quality in [0, 1], each with a name and a version.

Built in: ``mc`` (multiple choice), ``numeric`` (a number, GSM8K style), ``code`` (tests
in the sandbox) and ``judge`` (MT-Bench single-answer grading by a judge model). Scores
are stored keyed by (call, scorer, version): bumping a version re-scores without asking
any model again. Plug-ins register under the ``routerbench.scorers`` entry-point group:
an object with ``name``, ``version`` and ``score(task, response) -> Score``.
"""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any, Literal, Protocol

from routerbench.collect.tasks import Task
from routerbench.errors import ConfigError

__all__ = [
    "CodeScorer",
    "JudgeScorer",
    "MCScorer",
    "NumericScorer",
    "Score",
    "Scorer",
    "extract_choice",
    "extract_number",
    "get_scorer",
    "known_scorers",
    "parse_rating",
]

ScoreStatus = Literal["ok", "parse_fail", "error", "refused"]


@dataclass(frozen=True)
class Score:
    """One scored answer. ``quality`` is None unless ``status == "ok"``: never a 0 or -1
    standing in for "could not score", which would silently enter a mean."""

    status: ScoreStatus
    quality: float | None
    detail: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


class Scorer(Protocol):
    name: str
    version: str

    def score(self, task: Task, response: str) -> Score: ...


# --------------------------------------------------------------------------- mc
_LETTERS = "ABCDEFGHIJ"
# "Answer: X", "answer is (X)", "**Answer:** X" — anchored on the word answer.
_ANSWER_ANCHOR = re.compile(
    r"answer(?:\s+is)?\s*\**\s*[:：]?\s*\**\s*\(?\s*([A-Ja-j])\s*\)?(?![A-Za-z0-9])", re.I
)
_STRICT_ANCHOR = re.compile(r"answer\s*\**\s*[:：]\s*\**\s*\(?([A-J])\)?(?![A-Za-z0-9])", re.I)
_PAREN = re.compile(r"\(([A-J])\)")
_REPLY_START = re.compile(r"^\s*\**\(?([A-J])[.):]\**(?:\s|$)")
_ONLY_LETTER = re.compile(r"^\s*\**\(?([A-J])\)?\.?\**\s*$")


def _last_valid(pattern: re.Pattern[str], text: str, valid: str) -> str | None:
    found = [m.group(1).upper() for m in pattern.finditer(text)]
    found = [f for f in found if f in valid]
    return found[-1] if found else None


def extract_choice(text: str, valid: str = "ABCD", *, strict: bool = False) -> str | None:
    """The chosen option letter, or None.

    Strict: only the last anchored ``Answer: X``. Flexible: that, else the last ``(X)``,
    else a reply that starts with an option (``B. London``), else a reply that is
    nothing but one letter. There is no fallback to a bare capital anywhere in the text
    (which would read the pronoun "I" as option I).
    """
    if not isinstance(text, str):
        return None
    hit = _last_valid(_STRICT_ANCHOR, text, valid)
    if strict or hit is not None:
        return hit
    for pattern in (_ANSWER_ANCHOR, _PAREN, _REPLY_START, _ONLY_LETTER):
        hit = _last_valid(pattern, text, valid)
        if hit is not None:
            return hit
    return None


@dataclass(frozen=True)
class MCScorer:
    """Exact match of the option letter; quality is the flexible variant, strict recorded."""

    name: str = "mc"
    version: str = "1"

    def score(self, task: Task, response: str) -> Score:
        label = (task.label or "").strip().upper().strip("()")
        if len(label) != 1 or label not in _LETTERS:
            return Score("error", None, f"label {task.label!r} is not an option letter")
        valid = _LETTERS[: max(4, _LETTERS.index(label) + 1)]
        strict = extract_choice(response, valid, strict=True)
        flexible = extract_choice(response, valid)
        return Score(
            "ok",
            float(flexible == label),
            "" if flexible else "no answer letter found",
            {
                "strict": float(strict == label),
                "flexible": float(flexible == label),
                "extracted": flexible,
            },
        )


# --------------------------------------------------------------------------- numeric
_NUM = r"-?\$?\s?(?:\d[\d,]*(?:\.\d+)?|\.\d+)\s?%?"
_GSM = re.compile(r"####\s*(" + _NUM + ")")
_BOXED = re.compile(r"\\boxed\{\s*(" + _NUM + r")\s*\}")
_THE_ANSWER = re.compile(r"answer\s+is\s*[:：]?\s*\**\s*(" + _NUM + ")", re.I)
_ANY_NUM = re.compile(_NUM)


@dataclass(frozen=True)
class Number:
    value: float
    percent: bool

    def __str__(self) -> str:
        v = int(self.value) if self.value.is_integer() else self.value
        return f"{v}{'%' if self.percent else ''}"

    def __hash__(self) -> int:
        return hash((self.value, self.percent))


def _parse_number(raw: str) -> Number | None:
    percent = raw.strip().endswith("%")
    cleaned = raw.replace("$", "").replace(",", "").replace("%", "").replace(" ", "")
    try:
        value = float(cleaned)
    except ValueError:
        return None
    return Number(value, percent) if math.isfinite(value) else None


def extract_number(text: str) -> Number | None:
    """The final answer's number: GSM8K ``####``, else ``\\boxed{}``, else "the answer is",
    else the last number. Commas and ``$`` are dropped, a trailing full stop is not part
    of the number, and a percent sign is kept (``60%`` is not ``60``)."""
    if not isinstance(text, str):
        return None
    for pattern in (_GSM, _BOXED, _THE_ANSWER, _ANY_NUM):
        matches = pattern.findall(text)
        if matches:
            raw = matches[-1] if isinstance(matches[-1], str) else matches[-1][0]
            return _parse_number(raw)
    return None


@dataclass(frozen=True)
class NumericScorer:
    """Numeric match within a relative tolerance."""

    name: str = "numeric"
    version: str = "1"
    rel_tol: float = 1e-6

    def score(self, task: Task, response: str) -> Score:
        label = extract_number(task.label or "")
        if label is None:
            return Score("error", None, f"label {task.label!r} holds no number")
        got = extract_number(response)
        ok = (
            got is not None
            and got.percent == label.percent
            and math.isclose(got.value, label.value, rel_tol=self.rel_tol, abs_tol=1e-9)
        )
        return Score(
            "ok",
            float(ok),
            "" if got is not None else "no number found",
            {"extracted": None if got is None else str(got)},
        )


# --------------------------------------------------------------------------- code
_FENCE = re.compile(r"```[ \t]*(?:python|py|python3)?[ \t]*\n(.*?)```", re.S | re.I)


def extract_code(response: str) -> str:
    """The first fenced Python block (else an unclosed one, else the whole reply)."""
    blocks = _FENCE.findall(response)
    if blocks:
        return blocks[0]
    open_fence = re.search(r"```[ \t]*(?:python|py|python3)?[ \t]*\n(.*)", response, re.S | re.I)
    return open_fence.group(1) if open_fence else response


def _header_imports(prefix: str) -> str:
    lines = [ln for ln in prefix.splitlines() if ln.startswith(("import ", "from "))]
    return "\n".join(lines)


@dataclass(frozen=True)
class CodeScorer:
    """Run the answer's code and the task's tests in the sandbox; pass = 1, else 0.

    Timeouts and failures both score 0 but are recorded apart (``extra["outcome"]``);
    a refused or broken sandbox scores nothing. The wall timeout is
    ``max(floor, k × the reference solution's time)`` when the task has one.
    """

    name: str = "code"
    version: str = "1"
    allow_execution: bool = False
    allow_no_netns: bool = False
    timeout_floor_s: float = 4.0
    timeout_k: float = 5.0

    def program(self, task: Task, response: str) -> str:
        code = extract_code(response)
        prefix = task.code_prefix or ""
        if task.entry_point and not re.search(rf"def\s+{re.escape(task.entry_point)}\s*\(", code):
            return prefix + code  # a body continuing the header
        return _header_imports(prefix) + "\n" + code

    def timeout_for(self, task: Task) -> float:
        """The wall timeout for this task, scaled by its reference solution's time."""
        from routerbench.collect.sandbox import run_tests, scaled_timeout

        if not task.reference_solution or not task.tests:
            return self.timeout_floor_s
        key = (task.reference_solution, task.tests, self.timeout_floor_s, self.timeout_k)
        if key not in _REFERENCE_TIMEOUTS:
            ref = run_tests(
                task.reference_solution,
                task.tests,
                timeout_s=max(self.timeout_floor_s, 10.0),
                allow_no_netns=self.allow_no_netns,
            )
            _REFERENCE_TIMEOUTS[key] = scaled_timeout(
                ref.wall_s if ref.passed else None, k=self.timeout_k, floor=self.timeout_floor_s
            )
        return _REFERENCE_TIMEOUTS[key]

    def score(self, task: Task, response: str) -> Score:
        if not self.allow_execution:
            return Score("refused", None, "code execution not allowed (--allow-code-execution)")
        from routerbench.collect.sandbox import run_tests

        res = run_tests(
            self.program(task, response),
            task.tests or "",
            timeout_s=self.timeout_for(task),
            allow_no_netns=self.allow_no_netns,
        )
        extra = {"outcome": res.status, "wall_s": round(res.wall_s, 4)}
        if res.status in ("passed", "failed", "timeout"):
            return Score("ok", float(res.passed), res.detail, extra)
        return Score("refused" if res.status == "refused" else "error", None, res.detail, extra)


_REFERENCE_TIMEOUTS: dict[tuple[str, str, float, float], float] = {}


# --------------------------------------------------------------------------- judge
# MT-Bench's single-answer grading prompts (FastChat llm_judge, judge_prompts.jsonl,
# "single-v1" and "single-math-v1", Apache-2.0), verbatim so grades are comparable.
_JUDGE_SYSTEM = "You are a helpful assistant."
_JUDGE_SINGLE = (
    "[Instruction]\nPlease act as an impartial judge and evaluate the quality of the response "
    "provided by an AI assistant to the user question displayed below. Your evaluation should "
    "consider factors such as the helpfulness, relevance, accuracy, depth, creativity, and "
    "level of detail of the response. Begin your evaluation by providing a short explanation. "
    "Be as objective as possible. After providing your explanation, you must rate the response "
    'on a scale of 1 to 10 by strictly following this format: "[[rating]]", for example: '
    '"Rating: [[5]]".\n\n[Question]\n{question}\n\n[The Start of Assistant\'s Answer]\n{answer}\n'
    "[The End of Assistant's Answer]"
)
_JUDGE_MATH = (
    "[Instruction]\nPlease act as an impartial judge and evaluate the quality of the response "
    "provided by an AI assistant to the user question displayed below. Your evaluation should "
    "consider correctness and helpfulness. You will be given a reference answer and the "
    "assistant's answer. Begin your evaluation by comparing the assistant's answer with the "
    "reference answer. Identify and correct any mistakes. Be as objective as possible. After "
    "providing your explanation, you must rate the response on a scale of 1 to 10 by strictly "
    'following this format: "[[rating]]", for example: "Rating: [[5]]".\n\n[Question]\n'
    "{question}\n\n[The Start of Reference Answer]\n{ref_answer_1}\n[The End of Reference "
    "Answer]\n\n[The Start of Assistant's Answer]\n{answer}\n[The End of Assistant's Answer]"
)
_REASK = (
    'Your reply did not end with a rating in the form "[[rating]]" with a whole number from 1 '
    'to 10. Reply with the rating only, for example: "Rating: [[5]]".'
)
_RATING = re.compile(r"\[\[\s*(-?\d+(?:\.\d+)?)\s*(?:/\s*10\s*)?\]\]")


def parse_rating(text: str | None) -> float | None:
    """The last ``[[x]]`` of a judge's reply if 1 ≤ x ≤ 10, else None (re-ask, then give up).

    ``[[8/10]]`` reads as 8; non-numeric brackets such as an echoed ``[[rating]]`` are not
    grades and are skipped; an out-of-range last grade is not clipped into range.
    """
    if not isinstance(text, str):
        return None
    matches = _RATING.findall(text)
    if not matches:
        return None
    value = float(matches[-1])
    return value if 1.0 <= value <= 10.0 else None


@dataclass(frozen=True)
class JudgeScorer:
    """MT-Bench single-answer grading; quality = rating / 10 (RouterBench's normalisation).

    The runner asks the judge model (temperature 0) with `messages`, and again up to
    `max_reasks` times with a follow-up when no valid grade can be parsed; after that the
    answer is ``parse_fail`` and has no quality.
    """

    name: str = "judge"
    version: str = "mtbench-single-v1"
    max_reasks: int = 2
    normalisation: str = "rating/10"

    def messages(
        self, task: Task, response: str, history: tuple[str, ...] = ()
    ) -> list[dict[str, str]]:
        question = task.prompt
        if task.reference:
            user = _JUDGE_MATH.format(
                question=question, ref_answer_1=task.reference, answer=response
            )
        else:
            user = _JUDGE_SINGLE.format(question=question, answer=response)
        msgs = [{"role": "system", "content": _JUDGE_SYSTEM}, {"role": "user", "content": user}]
        for reply in history:
            msgs += [{"role": "assistant", "content": reply}, {"role": "user", "content": _REASK}]
        return msgs

    def from_rating(self, rating: float | None, attempts: int) -> Score:
        if rating is None:
            return Score(
                "parse_fail",
                None,
                f"no grade 1-10 in {attempts} judge replies",
                {"judge_attempts": attempts},
            )
        return Score(
            "ok",
            rating / 10.0,
            "",
            {"rating": rating, "normalisation": self.normalisation, "judge_attempts": attempts},
        )

    def score(self, task: Task, response: str) -> Score:  # pragma: no cover - runner-driven
        raise RuntimeError("the judge scorer is driven by the collect runner (it calls a model)")


# --------------------------------------------------------------------------- registry
_BUILTIN = ("mc", "numeric", "code", "judge")


@functools.lru_cache(maxsize=1)
def _plugins() -> dict[str, Any]:
    found: dict[str, Any] = {}
    for ep in metadata.entry_points(group="routerbench.scorers"):
        found[ep.name] = ep
    return found


def known_scorers() -> set[str]:
    """Names a task row may use in its ``scorer`` column."""
    return set(_BUILTIN) | set(_plugins())


def get_scorer(name: str, *, allow_code_execution: bool = False, allow_no_netns: bool = False):
    """The scorer called `name` (built-in or plug-in)."""
    if name == "mc":
        return MCScorer()
    if name == "numeric":
        return NumericScorer()
    if name == "code":
        return CodeScorer(allow_execution=allow_code_execution, allow_no_netns=allow_no_netns)
    if name == "judge":
        return JudgeScorer()
    ep = _plugins().get(name)
    if ep is None:
        raise ConfigError(f"unknown scorer {name!r} (known: {', '.join(sorted(known_scorers()))})")
    obj = ep.load()
    scorer = obj() if isinstance(obj, type) else obj
    for attr in ("name", "version", "score"):
        if not hasattr(scorer, attr):
            raise ConfigError(f"scorer plug-in {name!r} has no {attr!r}")
    return scorer
