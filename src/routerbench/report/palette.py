"""Colour-blind-safe colours, markers and short names, one fixed style per system.

A reader compares plots side by side, so a system keeps its colour and marker in every figure.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

#: Okabe & Ito (2008), the colour-blind-safe qualitative palette, minus black and yellow:
#: black is the Zero router's, yellow is unreadable on white.
OKABE_ITO: tuple[str, ...] = (
    "#E69F00",  # orange
    "#56B4E9",  # sky blue
    "#009E73",  # bluish green
    "#0072B2",  # blue
    "#CC79A7",  # reddish purple
)
#: Paul Tol's "muted" scheme, also colour-blind safe: used once Okabe–Ito runs out.
TOL_MUTED: tuple[str, ...] = (
    "#332288",
    "#117733",
    "#882255",
    "#44AA99",
    "#999933",
    "#AA4499",
    "#88CCEE",
    "#DDCC77",
    "#CC6677",
)
#: Router-family colours in the order they are handed out.
FAMILY_COLOURS: tuple[str, ...] = OKABE_ITO + TOL_MUTED

ORACLE_COLOUR = "#D55E00"  # Okabe–Ito vermillion, kept for the Oracle alone
ZERO_COLOUR = "#000000"  # Okabe–Ito black, kept for the Zero router alone
MODEL_COLOUR = "#7F7F7F"  # neutral grey: single models are reference points, not contenders
MODEL_EDGE = "#303030"

#: Marker shapes that tell systems of one family apart (colour already tells families apart).
SYSTEM_MARKERS: tuple[str, ...] = ("o", "s", "^", "D", "v", "P", "X", "p", "h", "<", ">", "*")

#: Sequential colormap for ordered quantities (judge error rates, heatmap shares):
#: cividis is designed to read the same with and without colour vision deficiency.
SEQUENTIAL_CMAP = "cividis"

#: Short display names of the paper's models; others go through `short_model_name`'s rules.
_SHORT = {
    "WizardLM/WizardLM-13B-V1.2": "WizardLM-13B",
    "claude-instant-v1": "Claude-Instant",
    "claude-v1": "Claude-1",
    "claude-v2": "Claude-2",
    "gpt-3.5-turbo-1106": "GPT-3.5",
    "gpt-4-1106-preview": "GPT-4",
    "meta/code-llama-instruct-34b-chat": "CodeLlama-34B",
    "meta/llama-2-70b-chat": "Llama-2-70B",
    "mistralai/mistral-7b-chat": "Mistral-7B",
    "mistralai/mixtral-8x7b-chat": "Mixtral-8x7B",
    "zero-one-ai/Yi-34B-Chat": "Yi-34B",
}
_SUFFIXES = re.compile(r"(-chat|-instruct|-hf|-preview|-\d{4}(-\d{2}){0,2}|-v\d+(\.\d+)*)+$", re.I)
MAX_LABEL = 18


def short_model_name(name: str, max_len: int = MAX_LABEL) -> str:
    """A short label for a model: known paper models by a fixed table, others by rule.

    Long hub names (``org/model-size-chat-2024-01-01``) make overlapping labels;
    dropping the organisation, chat/instruct/date suffixes and truncating keeps
    the plot readable while the full name stays in the tables.
    """
    name = str(name)
    if name in _SHORT:
        return _SHORT[name]
    base = name.rsplit("/", 1)[-1]
    stripped = _SUFFIXES.sub("", base) or base
    if len(stripped) > max_len:
        stripped = stripped[: max_len - 1] + "…"
    return stripped


@dataclass(frozen=True)
class Style:
    """How one system is drawn: colour, marker and the family it belongs to."""

    colour: str
    marker: str
    family: str


class StyleMap:
    """Fixed styles for every system of a report, assigned once from the full results table.

    Router families get colours in order of first appearance; systems inside a
    family share the colour and differ by marker. Single models, the Oracle and
    the Zero router have reserved styles so they never collide with a router.
    """

    def __init__(self, rows: Iterable[tuple[str, str, str]]) -> None:
        """Build from ``(kind, family, system)`` triples in order of appearance."""
        self._family_colour: dict[str, str] = {}
        self._styles: dict[str, Style] = {}
        per_family: dict[str, int] = {}
        for kind, family, system in rows:
            if system in self._styles:
                continue
            if kind == "model":
                self._styles[system] = Style(MODEL_COLOUR, "o", family)
            elif kind == "oracle":
                self._styles[system] = Style(ORACLE_COLOUR, "*", family)
            elif kind == "zero":
                self._styles[system] = Style(ZERO_COLOUR, "none", family)
            else:
                colour = self.family_colour(family)
                k = per_family.get(family, 0)
                per_family[family] = k + 1
                marker = SYSTEM_MARKERS[k % len(SYSTEM_MARKERS)]
                self._styles[system] = Style(colour, marker, family)

    def family_colour(self, family: str) -> str:
        """The colour of a router family (assigned on first request, then fixed)."""
        if family not in self._family_colour:
            k = len(self._family_colour)
            self._family_colour[family] = FAMILY_COLOURS[k % len(FAMILY_COLOURS)]
        return self._family_colour[family]

    def __getitem__(self, system: str) -> Style:
        return self._styles[system]

    def get(self, system: str, family: str = "router") -> Style:
        """The style of `system`, or a family-coloured circle for a system not seen at build."""
        return self._styles.get(system) or Style(self.family_colour(family), "o", family)

    def __contains__(self, system: object) -> bool:
        return system in self._styles
