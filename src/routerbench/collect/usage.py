"""Token usage and dollars: provider counts × the price table, estimates when counts are missing.

Miscounted tokens are the most common complaint about public router leaderboards, so
every row says where its counts came from (``usage_source``), estimated costs are
flagged (``cost_estimated``) and implausible provider counts are reported in the
summary rather than silently trusted.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from routerbench.endpoints import Price, Usage

__all__ = [
    "TokenCounter",
    "UsageFlags",
    "cost_of",
    "parse_usage",
    "token_counter",
    "usage_flags",
]

# GPT-style pre-tokeniser split: words, numbers in groups of up to three, punctuation runs.
_PIECES = re.compile(
    r"'(?:[sdmt]|ll|ve|re)| ?[^\W\d_]+| ?\d{1,3}| ?[^\s\w]+|\s+(?!\S)|\s+", re.UNICODE
)


@dataclass(frozen=True)
class TokenCounter:
    """Counts tokens of text; ``name`` goes into each estimated row's ``usage_source``."""

    name: str
    _encode: Any = None

    def count(self, text: str) -> int:
        if self._encode is not None:
            return len(self._encode(text, disallowed_special=()))
        # ~1 token per pre-token piece, longer words split every 4 characters.
        return sum(max(1, (len(p.strip()) + 3) // 4) for p in _PIECES.findall(text))

    def count_messages(self, messages: Sequence[dict[str, str]]) -> int:
        # OpenAI's chat format adds about 4 tokens per message and 3 to prime the reply.
        return sum(self.count(m.get("content") or "") + 4 for m in messages) + 3


@functools.lru_cache(maxsize=1)
def token_counter() -> TokenCounter:
    """tiktoken's cl100k_base when it can be loaded (it needs its cached BPE file), else
    a pre-tokeniser estimate; either way the counter's name is recorded with the row."""
    try:
        import tiktoken

        enc = tiktoken.get_encoding("cl100k_base")
        return TokenCounter("tiktoken:cl100k_base", enc.encode)
    except Exception:  # not installed, or no cached encoding on an offline machine
        return TokenCounter("estimate:pretokens")


def parse_usage(obj: Any) -> Usage | None:
    """OpenAI's ``usage`` object → Usage, or None when absent or unusable."""
    if not isinstance(obj, dict):
        return None

    def num(d: Any, key: str) -> int:
        v = d.get(key) if isinstance(d, dict) else None
        return int(v) if isinstance(v, (int, float)) and not isinstance(v, bool) and v >= 0 else 0

    if not any(
        isinstance(obj.get(k), (int, float)) for k in ("prompt_tokens", "completion_tokens")
    ):
        return None
    prompt, completion = num(obj, "prompt_tokens"), num(obj, "completion_tokens")
    cached = min(num(obj.get("prompt_tokens_details"), "cached_tokens"), prompt)
    reasoning = min(num(obj.get("completion_tokens_details"), "reasoning_tokens"), completion)
    # Every field is a non-negative int and the parts are clipped to their totals above,
    # which is all Usage's validation checks: skip re-validating it once per call.
    return Usage.model_construct(
        prompt_tokens=prompt,
        completion_tokens=completion,
        cached_tokens=cached,
        reasoning_tokens=reasoning,
    )


def cost_of(usage: Usage, price: Price) -> float:
    """Dollars for one call (the price table's own arithmetic, kept in one place)."""
    return price.cost(usage)


@dataclass(frozen=True)
class UsageFlags:
    """Implausible provider usage of one model, for the run summary."""

    model: str
    zero: int  # calls reporting 0 prompt or 0 completion tokens for non-empty text
    constant: bool  # every call reports the same prompt_tokens despite different prompts
    far_from_tokenizer: int  # calls whose count differs from the tokenizer's by > 3×
    n: int

    def lines(self) -> list[str]:
        out = []
        if self.zero:
            out.append(f"{self.model}: {self.zero}/{self.n} calls report zero tokens")
        if self.constant:
            out.append(f"{self.model}: prompt_tokens is the same for every prompt")
        if self.far_from_tokenizer:
            out.append(
                f"{self.model}: {self.far_from_tokenizer}/{self.n} calls' token counts are "
                "more than 3x from the tokenizer's estimate"
            )
        return out


def usage_flags(
    model: str,
    prompt_tokens: np.ndarray,
    completion_tokens: np.ndarray,
    est_prompt: np.ndarray,
    est_completion: np.ndarray,
    n_distinct_prompts: int,
) -> UsageFlags:
    """Flag zero, constant and far-off provider counts (arrays over one model's ok calls)."""
    p = np.asarray(prompt_tokens, dtype=float)
    c = np.asarray(completion_tokens, dtype=float)
    ep = np.maximum(np.asarray(est_prompt, dtype=float), 1.0)
    ec = np.asarray(est_completion, dtype=float)
    zero = int(np.sum((p == 0) | ((c == 0) & (ec > 0))))
    constant = bool(len(p) >= 5 and n_distinct_prompts >= 5 and np.all(p == p[0]))
    ratio_p = np.where(p > 0, p / ep, 1.0)
    ratio_c = np.where((c > 0) & (ec > 0), c / np.maximum(ec, 1.0), 1.0)
    far = int(np.sum((ratio_p > 3) | (ratio_p < 1 / 3) | (ratio_c > 3) | (ratio_c < 1 / 3)))
    return UsageFlags(model, zero, constant, far, len(p))
