"""Arithmetic self-checks of a worked answer: does each ``a op b = c`` it writes hold?

A chain of thought that writes ``13 - 4 = 8`` has gone wrong whatever its final
number; RouteLLM's GSM8K rows show it: Mixtral answers with a false step are right
33% of the time, with every step true 71%. The check reads the response alone
(no model, no price), so a cascade can run it on each answer it has paid for.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import pandas as pd

_NUM = r"\$?-?\d[\d,]*(?:\.\d+)?%?"
_OP = r"[-+*/x×÷]"
_CHAR = r"[0-9$().,%+\-*/x×÷ \t]"
#: A run of arithmetic characters, "=", a number not itself the start of more arithmetic.
#: One character class before "=" keeps the scan linear; `_LHS` then reads the run.
CANDIDATE = re.compile(rf"(?<!{_CHAR})({_CHAR}+)=[ \t]*({_NUM})(?![\d.]*\s*{_OP}\s*\d)")
#: ``a op b [op c ...]`` at the end of a candidate run, numbers and parentheses only.
_LHS = re.compile(rf"((?:\(?\s*{_NUM}\s*\)?\s*{_OP}\s*)+\(?\s*{_NUM}\s*\)?)\s*$")
_SAFE = re.compile(r"^[\d\s.+\-*/()]+$")
_IMPLIED = re.compile(r"[\d)]\s*\(")  # "2(3 + 4)": a product Python would read as a call
#: Largest number of equations read per response (longer texts are cut there).
MAX_EQUATIONS = 64


def _value(expr: str) -> float | None:
    """The value of a plain arithmetic expression, or None where it cannot be read."""
    expr = expr.replace("x", "*").replace("×", "*").replace("÷", "/")
    expr = re.sub(r"[$,%]", "", expr)
    if not _SAFE.match(expr) or "**" in expr or "//" in expr or _IMPLIED.search(expr):
        return None  # powers could be made huge; anything else is not plain arithmetic
    try:
        value = eval(expr, {"__builtins__": {}}, {})
    except (SyntaxError, ZeroDivisionError, TypeError, ValueError, OverflowError):
        return None
    return float(value)


def _step(run: str, rhs: str) -> bool | None:
    """Whether the step ``run = rhs`` holds; None where `run` does not end in arithmetic."""
    lhs = _LHS.search(run)
    if lhs is None or _IMPLIED.search(run[: lhs.start(1) + 1]):
        return None  # no arithmetic, or only the tail of "2(3 + 4)", an implied product
    return _holds(lhs.group(1), rhs)


def _holds(lhs: str, rhs: str) -> bool | None:
    left = _value(lhs)
    try:
        right = float(re.sub(r"[$,%]", "", rhs))
    except ValueError:
        return None
    if left is None or not np.isfinite(left):
        return None
    # rounded results ("10 / 3 = 3.33") hold; a different number does not
    tol = max(1e-6 * max(1.0, abs(right)), 0.5 * 10.0 ** -_decimals(rhs) + 1e-9)
    return abs(left - right) <= tol


def _decimals(number: str) -> int:
    frac = number.split(".", 1)[1] if "." in number else ""
    return len(re.sub(r"\D", "", frac))


def arithmetic_checks(texts: Sequence[str | None] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per response: (equations checked, equations that do not hold), same shape as `texts`."""
    arr = np.asarray(texts, dtype=object)
    s = pd.Series(arr.ravel()).fillna("").astype(str)
    has_sign = s.str.contains("=", regex=False)
    found = s[has_sign].str.findall(CANDIDATE).explode().dropna()
    checked = np.zeros(len(s))
    wrong = np.zeros(len(s))
    if len(found):
        rows = found.index.to_numpy()
        keep = pd.Series(rows).groupby(rows).cumcount().to_numpy() < MAX_EQUATIONS
        verdicts = np.array(
            [_step(run, rhs) if k else None for (run, rhs), k in zip(found, keep, strict=True)],
            dtype=object,
        )
        read = np.array([v is not None for v in verdicts])
        bad = np.array([v is False for v in verdicts])
        np.add.at(checked, rows[read], 1.0)
        np.add.at(wrong, rows[bad], 1.0)
    return checked.reshape(arr.shape), wrong.reshape(arr.shape)


def arithmetic_features(texts: Sequence[str | None] | np.ndarray) -> np.ndarray:
    """``[..., 2]`` per response: share of its checked steps that are false (0 where none
    was checked), and log(1 + steps checked): what the verifier reads (`ResponseEvidence.arith`)."""
    checked, wrong = arithmetic_checks(texts)
    share = np.divide(wrong, checked, out=np.zeros_like(wrong), where=checked > 0)
    return np.stack([share, np.log1p(checked)], axis=-1)


def arithmetic_error_share(texts: Sequence[str | None] | np.ndarray) -> np.ndarray:
    """Share of a response's checkable equations that are false (0 where it writes none)."""
    return arithmetic_features(texts)[..., 0]
