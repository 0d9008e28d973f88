"""Answer extraction per task kind: the multiple-choice letter, the final number, the code block.

Two responses can only agree if their answers are read the same way; these
functions turn free text into a normalised answer key ("" when none is found).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import pandas as pd

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

#: Letters offered per dataset (RouterBench's prompts: A-D, Winogrande A/B).
DATASET_LETTERS: dict[str, str] = {"winogrande": "AB"}


def kind_of(dataset: str) -> str:
    """The task kind of a coarse dataset name ("text" for unknown ones)."""
    return DATASET_KINDS.get(str(dataset), "text")


def _series(texts: Sequence[str | None] | np.ndarray) -> pd.Series:
    return pd.Series(np.asarray(texts, dtype=object)).fillna("").astype(str)


def choice_letters(texts: Sequence[str | None] | np.ndarray, letters: str = "ABCD") -> np.ndarray:
    """The letter each response chose, or "" if none can be read.

    A leading letter (``"B"``, ``"(B)"``, ``"B) home"``) wins; otherwise a phrase
    such as "the answer is B" or "Answer: B". Anything else (a refusal, "I do
    not understand", a sentence without a choice) is no answer: guessing a
    letter from a refusal would make it agree with models by chance.
    """
    cls = re.escape(letters)
    s = _series(texts).str.strip()
    lead = s.str.extract(rf"^\(?([{cls}])(?:[\s.):,\]]|$)", expand=False)
    phrase = s.str.extract(
        rf"(?i:answer(?: is)?|option|choice)\s*[:\-]?\s*\(?([{cls}])\b", expand=False
    )
    return lead.fillna(phrase).fillna("").to_numpy(dtype=object)


_NUMBER = r"-?\d[\d,]*(?:\.\d+)?"


def final_numbers(texts: Sequence[str | None] | np.ndarray) -> np.ndarray:
    """The final numeric answer of each response, normalised ("1,200.0" -> "1200"), or "".

    GSM8K-style "#### 42" or "the answer is 42" win; otherwise the last number
    in the text, the usual reading of a chain of thought.
    """
    s = _series(texts)
    marked = s.str.extract(rf"(?:####|(?i:answer is))\s*\$?\s*({_NUMBER})", expand=False)
    last = s.str.extract(rf"(?s:.*?)({_NUMBER})(?!.*\d)", expand=False)
    raw = marked.fillna(last).fillna("").str.replace(",", "", regex=False)
    num = pd.to_numeric(raw, errors="coerce")
    out = num.map(lambda v: "" if pd.isna(v) else f"{v:.6g}")
    return out.to_numpy(dtype=object)


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


def answer_keys(texts: Sequence[str | None] | np.ndarray, kind: str, letters: str = "ABCD"):
    """Normalised answers of one kind ("" = no answer), same shape as `texts`.

    For code the key is the whitespace-normalised code; behavioural agreement
    (running the code) lives in `routerbench.routers.judges.code`.
    """
    arr = np.asarray(texts, dtype=object)
    flat = arr.ravel()
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
