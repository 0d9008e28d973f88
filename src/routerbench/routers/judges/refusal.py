"""Refusal and non-answer detection (the paper's Appendix C: over-aligned models decline).

RouterBench's claude-v2 answers "I do not understand…" to a third of ARC
prompts; such a response is wrong whatever the grader, and costs nothing to spot.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

#: Openings and phrases of a response that declines to answer.
REFUSAL_PATTERN = (
    r"(?i)^\s*(?:i do\b|i don't\b|i'm sorry|i am sorry|sorry\b|unfortunately\b|"
    r"i cannot\b|i can't\b|i apologi[sz]e|as an ai\b|i'm not able|i am not able|"
    r"i'm unable|i am unable)"
    r"|(?i:i do not (?:understand|have enough|feel comfortable))"
    r"|(?i:cannot (?:answer|determine|provide) (?:this|that|the))"
)


def is_refusal(texts: Sequence[str | None] | np.ndarray) -> np.ndarray:
    """True where a response declines ("I do not understand", "I'm sorry, I can't…") or is empty."""
    arr = np.asarray(texts, dtype=object)
    s = pd.Series(arr.ravel()).fillna("").astype(str)
    out = s.str.contains(REFUSAL_PATTERN, regex=True) | (s.str.strip() == "")
    return out.to_numpy(dtype=bool).reshape(arr.shape)
