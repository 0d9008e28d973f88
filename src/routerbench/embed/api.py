"""Embed texts or a whole Benchmark through the on-disk cache.

Only texts whose vectors are not cached reach the back end, and each distinct text
is embedded once however often it repeats.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence

import numpy as np

from routerbench.data.benchmark import Benchmark
from routerbench.embed.base import CacheWarning, Embedder, as_texts, hash_texts
from routerbench.embed.cache import EmbeddingCache
from routerbench.embed.registry import get_embedder
from routerbench.embed.text import prepare_texts
from routerbench.errors import DataError

CacheArg = EmbeddingCache | str | os.PathLike[str] | bool | None


def resolve_cache(cache: CacheArg) -> EmbeddingCache | None:
    """`True`/`None`: the default cache; `False`: none; a path: a cache there."""
    if cache is None or cache is True:
        return EmbeddingCache()
    if cache is False:
        return None
    if isinstance(cache, EmbeddingCache):
        return cache
    return EmbeddingCache(cache)


def embed_texts(
    texts: Sequence[str], embedder: Embedder | str, *, cache: CacheArg = True
) -> np.ndarray:
    """Vectors ``[n, d]`` float32 of `texts`, reading and filling the cache.

    Parameters
    ----------
    texts
        Strings to embed (duplicates are embedded once).
    embedder
        A (fitted, if it needs fitting) Embedder or a spec for a fit-free one.
    cache
        `EmbeddingCache`, a folder, True (default location) or False (off).
    """
    items = as_texts(texts)
    emb = get_embedder(embedder)
    emb._check_fitted()
    store = resolve_cache(cache)
    keys = hash_texts(items)
    uniq, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    found = np.zeros(len(uniq), dtype=bool)
    vectors: np.ndarray | None = None
    if store is not None and len(uniq):
        found, vectors = store.lookup(emb.name, uniq)
    missing = np.flatnonzero(~found)
    if missing.size:
        new = emb.transform([items[i] for i in first[missing]])
        if vectors is None:
            vectors = np.zeros((len(uniq), new.shape[1]), dtype=np.float32)
        elif vectors.shape[1] != new.shape[1]:
            raise RuntimeError(
                f"cached vectors of {emb.name} have width {vectors.shape[1]}, "
                f"the back end returned {new.shape[1]}"
            )
        vectors[missing] = new
        if store is not None:
            try:
                store.store(emb.name, uniq[missing], new)
            except OSError as exc:  # a read-only or full disk must not lose the result
                warnings.warn(
                    f"could not write the embedding cache at {store.root}: {exc}",
                    CacheWarning,
                    stacklevel=2,
                )
    if vectors is None:  # no texts at all
        return np.zeros((0, emb.dim), dtype=np.float32)
    return vectors[inverse.reshape(-1)]


def embed_benchmark(
    bench: Benchmark,
    embedder: Embedder | str,
    *,
    text: str = "full",
    cache: CacheArg = True,
    fit_rows: np.ndarray | Sequence[int] | None = None,
) -> np.ndarray:
    """Vectors ``[n_prompts, d]`` of a benchmark's prompts, in row order.

    Parameters
    ----------
    text
        ``"full"`` or ``"final-turn"`` (the question after few-shot exemplars).
    fit_rows
        If given, first fit the embedder on these rows' texts (bool mask or
        indices): pass the TRAIN rows only, so no test prompt shapes the space.
    """
    texts = prepare_texts(bench.prompts["prompt"].tolist(), text)
    emb = get_embedder(embedder)
    if fit_rows is not None:
        rows = np.asarray(fit_rows)
        if rows.dtype == bool and rows.shape != (len(texts),):
            raise DataError(
                f"mask has shape {rows.shape}, expected ({len(texts)},)", source="fit_rows"
            )
        idx = np.flatnonzero(rows) if rows.dtype == bool else rows.astype(np.intp)
        emb.fit([texts[i] for i in idx])
    return embed_texts(texts, emb, cache=cache)
