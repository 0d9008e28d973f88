"""The `Embedder` contract: texts in, L2-normalised float32 rows out, under a stable name.

The name is the embedder's identity in the on-disk cache, so it spells out every
setting that changes the vectors, including what a fitted back end was fitted on.
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np

from routerbench.errors import (
    ConfigError,
    DataError,
    MissingExtraError,  # noqa: F401 (re-exported)
    NotFittedError,
)


class CacheWarning(UserWarning):
    """A cache file could not be read and its vectors are being recomputed."""


def as_texts(texts: Any, what: str = "texts") -> list[str]:
    """Check that `texts` is a sequence of strings and return it as a list.

    A bare string is refused: iterating it would embed one character per row,
    a silent and expensive mistake.
    """
    if isinstance(texts, str | bytes):
        raise DataError("expected a sequence of strings, got one string", source=what)
    try:
        out = list(texts)
    except TypeError:
        raise DataError(
            f"expected a sequence of strings, got {type(texts).__name__}", source=what
        ) from None
    bad = [i for i, t in enumerate(out) if not isinstance(t, str)]
    if bad:
        i = bad[0]
        raise DataError(
            f"expected a str, got {type(out[i]).__name__} {out[i]!r} "
            f"({len(bad)} non-string entries in all)",
            source=what,
            row=i,
        )
    return out


def hash_texts(texts: Sequence[str]) -> np.ndarray:
    """128-bit BLAKE2b digest of each text's UTF-8 bytes, as a ``S16`` array.

    One pass of hashlib per text; the fixed-width bytes array then sorts and
    searches with numpy, so cache look-ups never scan Python lists. 128 bits
    make an accidental collision negligible at any realistic corpus size.
    """
    digests = [
        hashlib.blake2b(t.encode("utf-8", "surrogatepass"), digest_size=16).digest() for t in texts
    ]
    return np.array(digests, dtype="S16") if digests else np.zeros(0, dtype="S16")


def corpus_fingerprint(keys: np.ndarray) -> str:
    """Order-independent hex fingerprint of a multiset of text digests.

    Sorting first makes the fingerprint (and so a fitted embedder's name) the
    same however the training rows happen to be ordered.
    """
    h = hashlib.sha256(np.sort(np.asarray(keys, dtype="S16")).tobytes())
    h.update(str(len(keys)).encode())
    return h.hexdigest()[:16]


def l2_normalise(x: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (float32); all-zero rows stay zero.

    A zero row means the text had nothing the back end recognises; leaving it
    at zero (cosine 0 with everything) is more honest than inventing a direction.
    """
    x = np.asarray(x, dtype=np.float32)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    np.divide(x, norms, out=x, where=norms > 0)
    return x


class Embedder(ABC):
    """Turns texts into L2-normalised float32 vectors ``[n, dim]`` (so cosine = dot).

    Subclasses set `spec` (the family name used by `get_embedder`), implement
    `settings` and `_embed`, and set `requires_fit` if they learn from texts.
    The constructor only stores parameters; `fit` returns self.
    """

    #: Family name, as written in specs (``"tfidf-svd"``).
    spec: ClassVar[str] = "embedder"
    #: True when `transform` needs `fit` first (a learned vocabulary, a projection).
    requires_fit: ClassVar[bool] = False
    #: Bumped when the code changes the vectors for unchanged settings, to retire old caches.
    revision: ClassVar[int] = 1

    fit_fingerprint_: str | None = None

    @property
    @abstractmethod
    def settings(self) -> Mapping[str, Any]:
        """Every setting that changes the vectors (model, dimension, n-grams, seed...)."""

    @property
    @abstractmethod
    def dim(self) -> int:
        """Width of the returned vectors."""

    @abstractmethod
    def _embed(self, texts: list[str]) -> np.ndarray:
        """Vectors of already-validated texts (normalised by the caller)."""

    # ---------------------------------------------------------------- identity
    @property
    def is_fitted(self) -> bool:
        return not self.requires_fit or self.fit_fingerprint_ is not None

    @property
    def name(self) -> str:
        """Stable identity: family, settings and, once fitted, a fingerprint of the fit texts.

        Two embedders with equal names return equal vectors for equal texts,
        which is exactly what lets the cache share vectors between runs.
        """
        body = ",".join(f"{k}={v}" for k, v in sorted(self.settings.items()))
        name = f"{self.spec}[{body},rev={self.revision}]"
        if self.requires_fit:
            name += f"@fit:{self.fit_fingerprint_ or 'none'}"
        return name

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}>"

    # ------------------------------------------------------------------- api
    def fit(self, texts: Sequence[str]) -> Embedder:
        """Learn from training texts (a no-op for pre-trained back ends); return self."""
        as_texts(texts)
        return self

    def transform(self, texts: Sequence[str]) -> np.ndarray:
        """Embed `texts` as float32 ``[n, dim]`` with unit-length (or all-zero) rows."""
        items = as_texts(texts)
        self._check_fitted()
        if not items:
            return np.zeros((0, self.dim), dtype=np.float32)
        out = l2_normalise(self._embed(items))
        if out.shape != (len(items), self.dim):
            raise RuntimeError(
                f"{self.spec} returned shape {out.shape}, expected ({len(items)}, {self.dim})"
            )
        return out

    def fit_transform(self, texts: Sequence[str]) -> np.ndarray:
        """`fit` then `transform` the same texts."""
        return self.fit(texts).transform(texts)

    def _check_fitted(self) -> None:
        if not self.is_fitted:
            raise NotFittedError(
                f"embedder {self.spec!r} learns from texts: call fit(train_texts) before "
                "transform (fit on the training prompts only, never on test prompts)"
            )


def check_int(spec: str, key: str, value: Any, lo: int = 1) -> int:
    """`value` as an int >= `lo`, else a ConfigError naming the embedder and the setting."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < lo:
        raise ConfigError(f"{spec}: setting {key!r} must be an integer >= {lo}, got {value!r}")
    return int(value)
