"""`get_embedder(spec)`: one string names a back end and its model, e.g. in configs and CLIs.

Specs are ``"tfidf-svd"`` (the default), ``"hashing"`` and ``"sentence-transformers:MODEL"``
(MODEL a hub name or a local folder); keyword arguments set the back end's parameters.
"""

from __future__ import annotations

import inspect
from typing import Any

from routerbench.embed.base import Embedder
from routerbench.embed.hashing import HashingEmbedder
from routerbench.embed.sentence import SentenceTransformerEmbedder
from routerbench.embed.tfidf import TfidfSvdEmbedder
from routerbench.errors import ConfigError

DEFAULT_EMBEDDER = "tfidf-svd"

#: Back ends by spec prefix; the sentence-transformers one takes its model after a colon.
EMBEDDERS: dict[str, type[Embedder]] = {
    TfidfSvdEmbedder.spec: TfidfSvdEmbedder,
    HashingEmbedder.spec: HashingEmbedder,
    SentenceTransformerEmbedder.spec: SentenceTransformerEmbedder,
}
_ALIASES = {"st": SentenceTransformerEmbedder.spec, "tfidf": TfidfSvdEmbedder.spec}
KNOWN_SPECS = ("tfidf-svd", "hashing", "sentence-transformers:<model name or folder>")


def get_embedder(spec: str | Embedder = DEFAULT_EMBEDDER, **kw: Any) -> Embedder:
    """Build an embedder from its spec string (an Embedder instance is returned as is).

    Parameters
    ----------
    spec
        ``"tfidf-svd"``, ``"hashing"``, ``"sentence-transformers:all-MiniLM-L12-v2"``
        or ``"sentence-transformers:/path/to/model"`` (``"st:"`` is short for it).
    **kw
        Parameters of the back end, e.g. ``dim=128`` or ``max_seq_length=128``.

    Raises
    ------
    ConfigError
        Unknown spec (the message lists the known ones) or unknown parameter.
    """
    if isinstance(spec, Embedder):
        if kw:
            raise ConfigError("parameters given with an Embedder instance; set them on it instead")
        return spec
    if not isinstance(spec, str):
        raise ConfigError(f"embedder spec must be a string, got {type(spec).__name__}")
    family, sep, arg = spec.strip().partition(":")
    family = _ALIASES.get(family, family)
    cls = EMBEDDERS.get(family)
    if cls is None or (sep and cls is not SentenceTransformerEmbedder):
        raise ConfigError(f"unknown embedder spec {spec!r}; known: {', '.join(KNOWN_SPECS)}")
    if cls is SentenceTransformerEmbedder and sep:
        if not arg:
            raise ConfigError(f"embedder spec {spec!r} names no model after the colon")
        if "model" in kw:
            raise ConfigError(f"embedder spec {spec!r} already names the model; drop model=")
        kw["model"] = arg
    allowed = [p for p in inspect.signature(cls.__init__).parameters if p != "self"]
    unknown = sorted(set(kw) - set(allowed))
    if unknown:
        raise ConfigError(
            f"embedder {family!r} has no parameter {unknown[0]!r}; known: {', '.join(allowed)}"
        )
    return cls(**kw)
