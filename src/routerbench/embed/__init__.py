"""Prompt embeddings behind one interface (`Embedder`), with an on-disk cache.

`get_embedder(spec)` builds a back end; `embed_texts` / `embed_benchmark` embed through the cache.
"""

from routerbench.embed.api import embed_benchmark, embed_texts, resolve_cache
from routerbench.embed.base import (
    CacheWarning,
    Embedder,
    MissingExtraError,
    corpus_fingerprint,
    hash_texts,
)
from routerbench.embed.cache import EmbeddingCache, default_cache_dir
from routerbench.embed.hashing import HashingEmbedder
from routerbench.embed.probe import correctness_auc, summarise_auc
from routerbench.embed.registry import DEFAULT_EMBEDDER, EMBEDDERS, KNOWN_SPECS, get_embedder
from routerbench.embed.sentence import SentenceTransformerEmbedder
from routerbench.embed.text import TEXT_VARIANTS, final_turn, prepare_texts
from routerbench.embed.tfidf import TfidfSvdEmbedder

__all__ = [
    "DEFAULT_EMBEDDER",
    "EMBEDDERS",
    "KNOWN_SPECS",
    "TEXT_VARIANTS",
    "CacheWarning",
    "Embedder",
    "EmbeddingCache",
    "HashingEmbedder",
    "MissingExtraError",
    "SentenceTransformerEmbedder",
    "TfidfSvdEmbedder",
    "corpus_fingerprint",
    "correctness_auc",
    "default_cache_dir",
    "embed_benchmark",
    "embed_texts",
    "final_turn",
    "get_embedder",
    "hash_texts",
    "prepare_texts",
    "resolve_cache",
    "summarise_auc",
]
