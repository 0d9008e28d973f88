"""The default back end: TF-IDF n-grams projected by truncated SVD (LSA), no torch needed.

It learns its vocabulary and projection from training prompts only, works offline,
and embeds RouterBench's 36k prompts in about a minute on two cores.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import sklearn
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import TfidfVectorizer

from routerbench.embed.base import Embedder, as_texts, check_int, corpus_fingerprint, hash_texts
from routerbench.errors import ConfigError, DataError

ANALYZERS = ("word", "char_wb")
#: Up to this many texts are embedded without scikit-learn's sparse path (a server's batches).
SMALL_BATCH = 16


class TfidfSvdEmbedder(Embedder):
    """TF-IDF over word (or character) n-grams, reduced to `dim` dimensions by SVD.

    Parameters
    ----------
    dim
        Output width. Fewer SVD components than this (a tiny vocabulary) are
        zero-padded, so the shape never depends on the data.
    analyzer
        ``"word"`` (fast; the default) or ``"char_wb"`` (character n-grams inside
        word boundaries: robust to code and typos, but about 4x slower).
    ngram_max
        Longest n-gram; ``2`` adds word pairs, which separate task templates well.
    min_df
        Ignore terms in fewer than this many fit texts (drops one-off noise).
    max_features
        Keep the most frequent terms only, bounding memory of the projection.
    max_fit_texts
        Fit on at most this many texts, sampled with `seed`: vocabulary and
        SVD settle long before 36k prompts, and fitting time grows with it.
    n_iter
        Power iterations of the randomised SVD (accuracy against time).
    seed
        Seeds the fit-text sample and the randomised SVD.
    sublinear_tf
        Use 1 + log(tf): long few-shot prompts repeat template words many times.

    Notes
    -----
    `fit` only fingerprints and samples its texts; the vectoriser and SVD are
    built on the first `transform`. The name (the cache key) is known right
    after `fit`, so a run whose vectors are all cached never pays for fitting.
    """

    spec = "tfidf-svd"
    requires_fit = True

    def __init__(
        self,
        dim: int = 256,
        *,
        analyzer: str = "word",
        ngram_max: int = 2,
        min_df: int = 2,
        max_features: int = 100_000,
        max_fit_texts: int = 10_000,
        n_iter: int = 4,
        seed: int = 0,
        sublinear_tf: bool = True,
    ) -> None:
        self._dim = check_int(self.spec, "dim", dim)
        if analyzer not in ANALYZERS:
            raise ConfigError(
                f"{self.spec}: setting 'analyzer' must be one of {ANALYZERS}, got {analyzer!r}"
            )
        self.analyzer = analyzer
        self.ngram_max = check_int(self.spec, "ngram_max", ngram_max)
        self.min_df = check_int(self.spec, "min_df", min_df)
        self.max_features = check_int(self.spec, "max_features", max_features)
        self.max_fit_texts = check_int(self.spec, "max_fit_texts", max_fit_texts)
        self.n_iter = check_int(self.spec, "n_iter", n_iter, lo=0)
        self.seed = check_int(self.spec, "seed", seed, lo=0)
        self.sublinear_tf = bool(sublinear_tf)
        self.fit_fingerprint_: str | None = None
        self._fit_texts: list[str] | None = None
        self._vectorizer: TfidfVectorizer | None = None
        self._projection: np.ndarray | None = None
        self._analyse: Callable[[str], list[str]] | None = None
        self._idf: np.ndarray | None = None
        #: How many times the vectoriser and SVD were actually built (for tests and logs).
        self.n_builds_ = 0

    def __getstate__(self) -> dict[str, Any]:
        # The analyser is a closure rebuilt on demand: artifacts store the vectoriser only.
        state = dict(self.__dict__)
        state["_analyse"] = None
        state["_idf"] = None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update({"_analyse": None, "_idf": None, **state})

    @property
    def dim(self) -> int:
        return self._dim

    @property
    def settings(self) -> Mapping[str, Any]:
        return {
            "dim": self._dim,
            "analyzer": self.analyzer,
            "ngram_max": self.ngram_max,
            "min_df": self.min_df,
            "max_features": self.max_features,
            "max_fit_texts": self.max_fit_texts,
            "n_iter": self.n_iter,
            "seed": self.seed,
            "sublinear_tf": self.sublinear_tf,
            # The randomised SVD and tokeniser are sklearn's: another version may
            # give other vectors, which must not mix with these in the cache.
            "sklearn": sklearn.__version__,
        }

    def fit(self, texts: Sequence[str]) -> TfidfSvdEmbedder:
        """Remember (a sample of) the training texts and fingerprint all of them.

        Texts are ordered by their digest before sampling, so the fitted model
        depends on the multiset of texts, not on the order of the rows.
        """
        items = as_texts(texts, "fit texts")
        if not items:
            raise DataError(f"{self.spec} needs at least one text to fit on", source="fit texts")
        keys = hash_texts(items)
        order = np.argsort(keys, kind="stable")
        if len(order) > self.max_fit_texts:
            rng = np.random.default_rng(self.seed)
            order = order[np.sort(rng.choice(len(order), self.max_fit_texts, replace=False))]
        self._fit_texts = [items[i] for i in order]
        self.fit_fingerprint_ = corpus_fingerprint(keys)
        self._vectorizer = None
        self._projection = None
        return self

    def _build(self) -> None:
        """Fit the vectoriser and the SVD on the remembered texts (once)."""
        assert self._fit_texts is not None
        vectorizer = TfidfVectorizer(
            analyzer=self.analyzer,
            ngram_range=(1, self.ngram_max),
            min_df=self.min_df,
            max_features=self.max_features,
            sublinear_tf=self.sublinear_tf,
            dtype=np.float32,
        )
        try:
            x = vectorizer.fit_transform(self._fit_texts)
        except ValueError as exc:  # sklearn: "empty vocabulary; ..." / "max_df < min_df"
            raise DataError(
                f"{self.spec}: no usable term in the {len(self._fit_texts)} fit texts "
                f"with min_df={self.min_df} ({exc}); fit on more texts or lower min_df",
                source="fit texts",
            ) from None
        k = min(self._dim, x.shape[1])
        if x.shape[1] == 1:
            # One term (TruncatedSVD needs two features): its only direction is the term itself.
            comps = np.ones((1, 1), dtype=np.float32)
        else:
            svd = TruncatedSVD(
                k, algorithm="randomized", n_iter=self.n_iter, random_state=self.seed
            )
            # explained_variance_ratio_ (unused here) divides by the texts' total variance,
            # which is 0 when every fit text has the same terms (templated prompts that
            # differ only in numbers): numpy's warning, once per fit, would flood a run
            with np.errstate(divide="ignore", invalid="ignore"):
                svd.fit(x)
            comps = svd.components_.astype(np.float32)
        proj = np.zeros((x.shape[1], self._dim), dtype=np.float32)
        proj[:, : comps.shape[0]] = comps.T
        self._vectorizer, self._projection = vectorizer, proj
        self._fit_texts = None
        self.n_builds_ += 1

    def _embed(self, texts: list[str]) -> np.ndarray:
        if self._projection is None:
            self._build()
        assert self._vectorizer is not None and self._projection is not None
        if len(texts) <= SMALL_BATCH:
            return self._embed_small(texts)
        # The vectoriser was validated at fit and TF-IDF weights are finite by construction:
        # skipping scikit-learn's per-call checks changes no value, only the fixed cost
        # of embedding one prompt (a server's request). The setting is thread-local.
        with sklearn.config_context(assume_finite=True, skip_parameter_validation=True):
            counts = self._vectorizer.transform(texts)
        return np.asarray(counts @ self._projection)

    def _embed_small(self, texts: list[str]) -> np.ndarray:
        """The same vectors for a few texts without building a sparse matrix.

        A server embeds one prompt per request. scikit-learn's `transform` spends most of
        its ~0.5 ms on fixed costs (input checks, sparse-matrix construction, the TF-IDF
        and normalise passes as separate calls); the arithmetic itself is a weighted sum
        of a few hundred projection rows. This replays `TfidfVectorizer.transform`
        step by step in float32, as it computes: the fitted analyser's terms, counts of
        the known ones, ``1 + log(tf)`` when sublinear, times idf, L2-normalised, then
        projected. Equal to the sparse path up to float32 summation order (tested).
        """
        assert self._vectorizer is not None and self._projection is not None
        if self._analyse is None:
            self._analyse = self._vectorizer.build_analyzer()
            self._idf = np.asarray(self._vectorizer.idf_, dtype=np.float32)
        vocabulary = self._vectorizer.vocabulary_
        out = np.zeros((len(texts), self._projection.shape[1]), dtype=np.float32)
        for i, text in enumerate(texts):
            counts = Counter(j for j in map(vocabulary.get, self._analyse(text)) if j is not None)
            if not counts:
                continue  # no known term: a zero row, as the sparse path gives
            terms = np.fromiter(counts.keys(), dtype=np.intp, count=len(counts))
            tf = np.fromiter(counts.values(), dtype=np.float32, count=len(counts))
            order = np.argsort(terms)
            terms, tf = terms[order], tf[order]
            if self.sublinear_tf:
                tf = np.log(tf) + np.float32(1.0)
            weights = tf * self._idf[terms]
            norm = np.sqrt(np.dot(weights.astype(np.float64), weights))
            if norm > 0:
                weights /= np.float32(norm)
            out[i] = weights @ self._projection[terms]
        return out
