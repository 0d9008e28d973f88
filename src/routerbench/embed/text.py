"""Which part of a prompt to embed: the whole text or only the question after the exemplars.

RouterBench's 5-shot prompts share long exemplar prefixes that swamp a 256-token
encoder and dominate TF-IDF, while the part that differs per prompt is the last question.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Literal

from routerbench.embed.base import as_texts
from routerbench.errors import ConfigError

TextVariant = Literal["full", "final-turn"]
TEXT_VARIANTS: tuple[str, ...] = ("full", "final-turn")

#: Blank line(s): what separates exemplars (and joined turns) in RouterBench prompts.
_BLOCK_SEP = re.compile(r"\n[ \t]*\n")
#: An answer marker: "Answer:" anywhere (ARC, Winogrande, MMLU, GSM8K styles) or "A:" opening
#: a line (the "Q: ... A: ..." style). Option lines such as "A) Ian" do not match.
DEFAULT_MARKER = re.compile(r"\bAnswer[ \t]*:|^A[ \t]*:", re.MULTILINE)


def _is_answered(block: str, marker: re.Pattern[str]) -> bool:
    """True if the block's last answer marker is followed by an answer (an exemplar)."""
    last = None
    for last in marker.finditer(block):  # noqa: B007 - we want the last match
        pass
    return last is not None and bool(block[last.end() :].strip())


def final_turn(text: str, marker: re.Pattern[str] = DEFAULT_MARKER) -> str:
    """The question after the last answered exemplar of a few-shot prompt.

    The prompt is cut into blocks at blank lines; a block whose last answer
    marker ("Answer:", or "A:" opening a line) is followed by text is an
    exemplar. Everything after the last such block is returned (joined with a
    blank line again, so a multi-paragraph question stays whole).

    Prompts with no answered exemplar (0-shot prompts, code tasks, chat) are
    returned unchanged, as are prompts that end in an answered block (nothing
    would be left). Multi-turn conversations arrive joined by blank lines and
    their turns cannot be told apart from paragraphs, so they too stay whole
    unless they follow the exemplar pattern.

    Examples
    --------
    >>> final_turn("Q1?\\nAnswer:\\nA\\n\\nQ2?\\nAnswer: B\\n\\nQ3?\\nAnswer:")
    'Q3?\\nAnswer:'
    >>> final_turn("Write a python function to add two numbers.")
    'Write a python function to add two numbers.'
    """
    blocks = _BLOCK_SEP.split(text)
    last = next(  # scanning from the end: usually two blocks are looked at, not all
        (i for i in range(len(blocks) - 1, -1, -1) if _is_answered(blocks[i], marker)), -1
    )
    if last < 0 or last == len(blocks) - 1:
        return text
    tail = "\n\n".join(b for b in blocks[last + 1 :] if b.strip())
    return tail if tail.strip() else text


def prepare_texts(texts: Sequence[str], variant: str = "full") -> list[str]:
    """Texts to embed for one variant: ``"full"`` as is, ``"final-turn"`` via `final_turn`."""
    if variant not in TEXT_VARIANTS:
        raise ConfigError(f"text variant must be one of {TEXT_VARIANTS}, got {variant!r}")
    items = as_texts(texts, "prompts")
    if variant == "full":
        return items
    return [final_turn(t) for t in items]
