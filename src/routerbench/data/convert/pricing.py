"""Token prices and token-count estimates, for sources that publish no cost.

RouteLLM's evaluation files carry correctness but no dollars; this module is the one
documented place where a simulated cost comes from, so every report can say how.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from routerbench.errors import DataError

#: Rough characters per token of English text for GPT-style BPE tokenizers. We avoid a
#: tokenizer dependency (tiktoken downloads its tables at run time); the estimate only
#: scales a simulated cost, and both models get the same estimate.
CHARS_PER_TOKEN = 4.0


@dataclass(frozen=True)
class TokenPrice:
    """Dollars per million input and output tokens of one model, and where they come from."""

    input_per_m: float
    output_per_m: float
    source: str = ""

    def cost(self, input_tokens: np.ndarray, output_tokens: np.ndarray) -> np.ndarray:
        """Dollars for calls with these token counts (vectorised)."""
        return (
            np.asarray(input_tokens, dtype=np.float64) * self.input_per_m
            + np.asarray(output_tokens, dtype=np.float64) * self.output_per_m
        ) / 1e6


#: The prices RouteLLM's paper (Ong et al. 2024, arXiv 2406.18665, Appendix D) used:
#: gpt-4-1106's list price, $10 in / $30 out per million tokens; Mixtral 8x7B at
#: $0.24 per million for both input and output.
ROUTELLM_PRICES: dict[str, TokenPrice] = {
    "gpt-4-1106-preview": TokenPrice(10.0, 30.0, "RouteLLM paper App. D (OpenAI list price)"),
    "mistralai/Mixtral-8x7B-Instruct-v0.1": TokenPrice(
        0.24, 0.24, "RouteLLM paper App. D (same price in and out)"
    ),
}

#: Mean response length RouteLLM's paper measured on its training set (App. D); used for a
#: call whose response text is not in the data.
ROUTELLM_MEAN_OUTPUT_TOKENS = 264


def estimate_tokens(
    texts: pd.Series | np.ndarray | list, chars_per_token: float = CHARS_PER_TOKEN
) -> np.ndarray:
    """ceil(characters / chars_per_token) per text; empty or missing text counts 0 tokens."""
    if chars_per_token <= 0:
        raise ValueError(f"chars_per_token must be > 0, got {chars_per_token}")
    lengths = pd.Series(texts, dtype=object).str.len().fillna(0).to_numpy(dtype=np.float64)
    return np.ceil(lengths / chars_per_token)


def load_price_table(path: str | Path) -> dict[str, TokenPrice]:
    """Read a RouterArena-style ``cost.json``: ``{model: {input_token_price_per_million, ...}}``."""
    p = Path(path)
    try:
        raw = json.loads(p.read_text())
    except (OSError, ValueError) as exc:
        raise DataError(f"cannot read a JSON price table: {exc}", source=str(p)) from None
    if not isinstance(raw, Mapping):
        raise DataError("expected a JSON object {model: prices}", source=str(p))
    table: dict[str, TokenPrice] = {}
    for model, entry in raw.items():
        try:
            table[str(model)] = TokenPrice(
                float(entry["input_token_price_per_million"]),
                float(entry["output_token_price_per_million"]),
                str(p),
            )
        except (KeyError, TypeError, ValueError):
            raise DataError(
                "expected numbers input_token_price_per_million and output_token_price_per_million",
                source=str(p),
                column=str(model),
            ) from None
    return table
