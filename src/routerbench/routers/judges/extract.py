"""Answer extraction per task kind: the multiple-choice letter, the final number, the code block.

Two responses can only agree if their answers are read the same way; these
functions turn free text into a normalised answer key ("" when none is found).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import pandas as pd

from routerbench.data.datasets import dataset_of

#: Task kinds a judge knows how to read.
KINDS: tuple[str, ...] = ("choice", "number", "code", "text")

#: Coarse dataset -> task kind (others are "text").
DATASET_KINDS: dict[str, str] = {
    "arc-challenge": "choice",
    "winogrande": "choice",
    "mmlu": "choice",
    "hellaswag": "choice",
    "gsm8k": "number",
    "mbpp": "code",
}

#: Letters offered per dataset where a prompt lists none (RouterBench's prompts: A-D,
#: Winogrande A/B).
DATASET_LETTERS: dict[str, str] = {"winogrande": "AB"}

#: The most option letters a prompt is read for (MMLU-Pro offers ten, A-J).
MAX_LETTERS = "ABCDEFGHIJ"


def known_kind(dataset: str) -> str | None:
    """The task kind of a dataset this module knows by name, else None.

    Names are read the way the data readers roll tasks up (``GSM8K``,
    ``grade-school-math``, ``MMLU_formal_logic`` and ``mmlu-astronomy`` are all known).
    """
    return DATASET_KINDS.get(dataset_of(str(dataset)))


def kind_of(dataset: str) -> str:
    """The task kind of a dataset name ("text" for unknown ones; see `infer_kind`)."""
    return known_kind(dataset) or "text"


_OPTION_LINE = re.compile(r"(?m)^[ \t]*\(?([A-J])[).:][ \t]+\S")


def offered_letters(prompts: Sequence[str | None] | np.ndarray) -> np.ndarray:
    """The option letters each prompt lists (``"A) Ian\\nB) Dennis"`` -> ``"AB"``), or "".

    The letters of option lines, as the run from A upwards (A, B, C, ... without a
    gap), so a stray "C." in a passage does not add an option. Fewer than two
    letters reads as none: the caller falls back to the dataset's default.
    """
    out = []
    for text in _series(prompts):
        found = set(_OPTION_LINE.findall(text))
        run = ""
        for letter in MAX_LETTERS:
            if letter not in found:
                break
            run += letter
        out.append(run if len(run) >= 2 else "")
    return np.array(out, dtype=object)


_CODE_ASK = re.compile(r"(?i)\b(?:python|function|def \w+\(|program|script|code)\b")
_NUMBER_ASK = re.compile(r"\\boxed|####|(?i:final (?:numeric(?:al)? )?answer|how (?:many|much))")


def infer_kind(prompts: Sequence[str | None] | np.ndarray, texts: np.ndarray | None = None) -> str:
    """The task kind of a dataset this module does not know by name, read from its content.

    With responses (`texts`, ``[n, m]``): multiple choice when most prompts
    list options and most responses name one of them; code when most responses
    hold a Python function; a number when most responses mark a final number
    (``####``, "the answer is", ``\\boxed{}``); free text otherwise. Without
    them, the prompts alone: options listed; else a request for code; else a
    request for a number (``\\boxed``, ``####``, "how many"); else free text.
    """
    letters = offered_letters(prompts)
    if not len(letters):
        return "text"
    listed = (letters != "").mean() >= 0.5
    if texts is None:
        asks = _series(prompts)
        if listed:
            return "choice"
        if asks.str.contains(_CODE_ASK).mean() >= 0.5:
            return "code"
        return "number" if asks.str.contains(_NUMBER_ASK).mean() >= 0.5 else "text"
    texts = np.asarray(texts, dtype=object)
    if texts.ndim == 1:
        texts = texts[:, None]
    if listed:
        keys = _choice_per_prompt(texts, np.where(letters == "", "ABCD", letters))
        if (keys != "").mean() >= 0.5:
            return "choice"
    if (code_blocks(texts) != "").mean() >= 0.5:
        return "code"
    if (_marked_numbers(texts.ravel()) != "").mean() >= 0.5:
        return "number"
    return "text"


def _series(texts: Sequence[str | None] | np.ndarray) -> pd.Series:
    return pd.Series(np.asarray(texts, dtype=object)).fillna("").astype(str)


def choice_letters(texts: Sequence[str | None] | np.ndarray, letters: str = "ABCD") -> np.ndarray:
    """The letter each response chose, or "" if none can be read.

    A leading letter (``"B"``, ``"(B)"``, ``"B) home"``) wins; otherwise a phrase
    such as "the answer is B", "Answer: B" or "the answer is **B**" (markdown
    bold). Anything else (a refusal, "I do
    not understand", a sentence without a choice) is no answer: guessing a
    letter from a refusal would make it agree with models by chance.
    """
    cls = re.escape(letters)
    s = _series(texts).str.strip()
    lead = s.str.extract(rf"^\(?([{cls}])(?:[\s.):,\]]|$)", expand=False)
    boxed = s.str.extract(rf"\\boxed\{{+\s*\(?([{cls}])\)?\s*\}}", expand=False)
    phrase = s.str.extract(
        rf"(?i:answer(?: is)?|option|choice)\s*[:\-]?[\s*_]*\(?([{cls}])\b", expand=False
    )
    return lead.fillna(boxed).fillna(phrase).fillna("").to_numpy(dtype=object)


def _choice_per_prompt(texts: np.ndarray, letters: np.ndarray) -> np.ndarray:
    """`choice_letters` of ``[n, m]`` responses, row i read against the letters ``letters[i]``."""
    out = np.empty(texts.shape, dtype=object)
    for offered in np.unique(letters):  # a handful of distinct option sets
        rows = letters == offered
        out[rows] = choice_letters(texts[rows].ravel(), offered).reshape(texts[rows].shape)
    return out


_NUMBER = r"-?\d[\d,]*(?:\.\d+)?"
#: "answer is", "answer is:", "answer:" or "answer =" (not "answer 3 questions").
_ANSWER_IS = r"(?i:answer(?:\s+is\s*:?|\s*[:=]))"


def final_numbers(texts: Sequence[str | None] | np.ndarray) -> np.ndarray:
    """The final numeric answer of each response, normalised ("1,200.0" -> "1200"), or "".

    ``\\boxed{42}``, GSM8K-style "#### 42" or "the answer is 42" ("Answer: 42",
    "answer is **42**") win; otherwise the last number of the whole text, across
    its lines, the usual reading of a chain of thought.
    """
    s = _series(texts)
    # a number with no digit after it anywhere in the text (DOTALL: across lines too)
    last = s.str.extract(rf"(?s:.*?)({_NUMBER})(?s:(?!.*\d))", expand=False)
    return _normalised_numbers(_marked(s).fillna(last))


def _marked(s: pd.Series) -> pd.Series:
    """The number a response marks as its answer (NaN where none is marked)."""
    boxed = s.str.extract(rf"\\boxed\{{+\s*\$?\s*({_NUMBER})", expand=False)
    marked = s.str.extract(rf"(?:####|{_ANSWER_IS})[\s*_$]*({_NUMBER})", expand=False)
    return boxed.fillna(marked)


def _normalised_numbers(raw: pd.Series) -> np.ndarray:
    num = pd.to_numeric(raw.fillna("").str.replace(",", "", regex=False), errors="coerce")
    return num.map(lambda v: "" if pd.isna(v) else f"{v:.6g}").to_numpy(dtype=object)


def _marked_numbers(texts: Sequence[str | None] | np.ndarray) -> np.ndarray:
    """Only the numbers a response marks as its answer ("" elsewhere): `infer_kind`'s test."""
    return _normalised_numbers(_marked(_series(texts)))


_FENCE = re.compile(r"```[ \t]*([A-Za-z0-9_+#-]*)[^\n]*\n(.*?)(?:```|\Z)", re.S)
_TAGGED = re.compile(r"\[PYTHON\](.*?)(?:\[/PYTHON\]|\Z)", re.S)
_PY_LANGS = frozenset({"", "python", "py", "python3"})
_DEF = re.compile(r"^def \w+\s*\(", re.M)


def code_block(text: str | None) -> str:
    """The Python solution in a response: the first code block that defines a function.

    Fenced blocks tagged python (or untagged), then Code Llama's ``[PYTHON]``
    tags, then the whole text if it starts with code. Blocks in another
    language (a JavaScript answer to a Python task) do not count: "" is returned.
    """
    text = (text or "").replace("\r\n", "\n")
    blocks = [body for lang, body in _FENCE.findall(text) if lang.lower() in _PY_LANGS]
    blocks += _TAGGED.findall(text)
    for body in blocks:
        if _DEF.search(body):
            return body
    if not _FENCE.search(text) and _DEF.search(text):
        return text
    return ""


def code_blocks(texts: Sequence[str | None] | np.ndarray) -> np.ndarray:
    """`code_block` of each response (object array of str)."""
    return np.array([code_block(t) for t in np.asarray(texts, dtype=object).ravel()], dtype=object)


def normalised_text(texts: Sequence[str | None] | np.ndarray) -> np.ndarray:
    """Lower-case, whitespace-collapsed text: the answer key of free-form tasks."""
    s = _series(texts).str.lower().str.replace(r"\s+", " ", regex=True).str.strip()
    return s.str.slice(0, 200).to_numpy(dtype=object)


def answer_keys(
    texts: Sequence[str | None] | np.ndarray, kind: str, letters: str | np.ndarray = "ABCD"
):
    """Normalised answers of one kind ("" = no answer), same shape as `texts`.

    `letters` is the option set of every row, or one per row of a 2-D
    `texts` (see `offered_letters`). For code the key is the
    whitespace-normalised code; behavioural agreement (running the code)
    lives in `routerbench.routers.judges.code`.
    """
    arr = np.asarray(texts, dtype=object)
    flat = arr.ravel()
    if kind == "choice" and not isinstance(letters, str):
        rows = arr if arr.ndim == 2 else arr[:, None]
        return _choice_per_prompt(rows, np.asarray(letters, dtype=object)).reshape(arr.shape)
    if kind == "choice":
        out = choice_letters(flat, letters)
    elif kind == "number":
        out = final_numbers(flat)
    elif kind == "code":
        out = normalised_text(code_blocks(flat))
    elif kind == "text":
        out = normalised_text(flat)
    else:
        raise ValueError(f"unknown task kind {kind!r}; known: {', '.join(KINDS)}")
    return np.asarray(out, dtype=object).reshape(arr.shape)
