"""A fit-free back end: word n-grams hashed into `dim` signed buckets.

Nothing is learned, so it needs no training texts and is the same on every
machine: a baseline, and a safe choice when no train split exists yet.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from sklearn.feature_extraction.text import HashingVectorizer

from routerbench.embed.base import Embedder, check_int


class HashingEmbedder(Embedder):
    """Hashed n-gram counts (signed, so collisions cancel on average), L2-normalised.

    Parameters
    ----------
    dim
        Number of hash buckets = output width. Dense output, so keep it modest.
    ngram_max
        Longest word n-gram hashed.
    """

    spec = "hashing"
    requires_fit = False

    def __init__(self, dim: int = 1024, *, ngram_max: int = 2) -> None:
        self._dim = check_int(self.spec, "dim", dim)
        self.ngram_max = check_int(self.spec, "ngram_max", ngram_max)

    @property
    def dim(self) -> int:
        return self._dim

    @property
    def settings(self) -> Mapping[str, Any]:
        # MurmurHash3 bucketing and the token pattern are fixed in sklearn, so
        # unlike TF-IDF + SVD the vectors do not depend on its version.
        return {"dim": self._dim, "ngram_max": self.ngram_max}

    def _embed(self, texts: list[str]) -> np.ndarray:
        vec = HashingVectorizer(
            n_features=self._dim,
            ngram_range=(1, self.ngram_max),
            alternate_sign=True,
            norm=None,
            dtype=np.float32,
        )
        return vec.transform(texts).toarray()
