"""Converters that bring third-party routing data (RouteLLM, RouterArena) into our long format.

Each converter returns one row per (prompt, model) ready for `Benchmark.from_long`.
"""

from routerbench.data.convert.auto import (
    SOURCES,
    convert,
    convert_auto,
    convert_file,
    detect_source,
)
from routerbench.data.convert.pricing import (
    ROUTELLM_PRICES,
    TokenPrice,
    estimate_tokens,
    load_price_table,
)
from routerbench.data.convert.routellm import convert_routellm
from routerbench.data.convert.routerarena import convert_routerarena

__all__ = [
    "ROUTELLM_PRICES",
    "SOURCES",
    "TokenPrice",
    "convert",
    "convert_auto",
    "convert_file",
    "convert_routellm",
    "convert_routerarena",
    "detect_source",
    "estimate_tokens",
    "load_price_table",
]
