"""The lean per-request path of `rank_prompts` gives exactly what the general path gives.

A server ranks one prompt per request, so `rank_prompts` skips pandas (`PromptColumns`)
and a small cosine batch skips scikit-learn's `kneighbors` (`cosine_kneighbors` on a cached
unit-row training matrix). Each shortcut is compared with the path it replaces, value for
value, on random data and on data built to tie.
"""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from sklearn.neighbors import NearestNeighbors

from routerbench.embed import TfidfSvdEmbedder
from routerbench.routers import ComposedRouter, KNNRouter, check_bench
from routerbench.routers.artifact import load_router, save_router
from routerbench.routers.features import PromptFeatures
from routerbench.routers.quality.neighbors import (
    DIRECT_MAX_ROWS,
    KNNQuality,
    _unit_rows,
    cosine_kneighbors,
)
from routerbench.routers.ranking import prompt_columns, prompt_frame


def sklearn_neighbors(train: np.ndarray, query: np.ndarray, k: int) -> np.ndarray:
    nn = NearestNeighbors(n_neighbors=k, metric="cosine", algorithm="brute").fit(train)
    return nn.kneighbors(query, return_distance=False)


def tied_data(rng: np.random.Generator, dtype) -> tuple[np.ndarray, np.ndarray]:
    """Training rows with exact duplicates, scaled copies, zero rows and coarse values."""
    base = rng.integers(-2, 3, size=(12, 6)).astype(dtype)
    train = np.vstack([base, base, 3 * base[:4], np.zeros((3, 6), dtype), base[::-1]])
    query = np.vstack(
        [base[:5], 2 * base[5:9], np.zeros((2, 6), dtype), rng.integers(-1, 2, (6, 6))]
    ).astype(dtype)
    return train, query


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("seed", range(4))
def test_cosine_kneighbors_is_sklearn_kneighbors_on_random_data(dtype, seed) -> None:
    rng = np.random.default_rng(seed)
    train = rng.normal(size=(300, 16)).astype(dtype)
    query = rng.normal(size=(DIRECT_MAX_ROWS, 16)).astype(dtype)
    unit = _unit_rows(train)
    for k in (1, 5, 10, 40, 300):
        for rows in (slice(0, 1), slice(0, 8), slice(None)):
            got = cosine_kneighbors(query[rows], unit, k)
            np.testing.assert_array_equal(got, sklearn_neighbors(train, query[rows], k))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("seed", range(6))
def test_cosine_kneighbors_breaks_ties_like_sklearn(dtype, seed) -> None:
    rng = np.random.default_rng(100 + seed)
    train, query = tied_data(rng, dtype)
    unit = _unit_rows(train)
    for k in (1, 2, 3, 7, 12, 25, train.shape[0]):
        want = sklearn_neighbors(train, query, k)
        np.testing.assert_array_equal(cosine_kneighbors(query, unit, k), want)
        for i in range(query.shape[0]):  # one prompt per request, as a server asks
            # (against scikit-learn on the same one row: a 1-row BLAS product may round a
            # tied distance differently from a batch's, in scikit-learn as here)
            one = query[i : i + 1]
            np.testing.assert_array_equal(
                cosine_kneighbors(one, unit, k), sklearn_neighbors(train, one, k)
            )


def test_unit_rows_is_sklearn_normalize_bit_for_bit() -> None:
    from sklearn.preprocessing import normalize

    rng = np.random.default_rng(7)
    x = rng.normal(size=(50, 9)).astype(np.float32)
    x[3] = 0.0
    x[4] = 1e-30
    for a in (x, x.astype(np.float64)):
        np.testing.assert_array_equal(_unit_rows(a), normalize(a, copy=True))


def test_knn_quality_small_batches_match_sklearn_path() -> None:
    rng = np.random.default_rng(3)
    x = np.repeat(rng.normal(size=(40, 8)), 3, axis=0).astype(np.float32)  # every row thrice
    y = rng.random((120, 5))
    y[rng.random(y.shape) < 0.2] = np.nan
    model = KNNQuality(7).fit(x, y)
    query = np.vstack([x[:10], rng.normal(size=(10, 8))]).astype(np.float32)
    direct = model.predict(query)
    assert "_unit_train" in model.__dict__  # the direct path ran
    idx = model.nn_.kneighbors(query, return_distance=False)
    np.testing.assert_array_equal(model._neighbors(query), idx)
    big = np.vstack([query] * 4)  # > DIRECT_MAX_ROWS: scikit-learn's own search
    assert big.shape[0] > DIRECT_MAX_ROWS
    np.testing.assert_array_equal(model.predict(big), np.vstack([direct] * 4))
    # The cache is derived state: never pickled, rebuilt the same after loading.
    again = pickle.loads(pickle.dumps(model))
    assert "_unit_train" not in again.__dict__
    np.testing.assert_array_equal(again.predict(query), direct)


def test_prompt_columns_hold_what_prompt_frame_holds() -> None:
    texts = ["What is 2+2?", "Ünïcode ✓ text", ""]
    for kwargs in ({}, {"tasks": ["mmlu-astronomy", "gsm8k", "x"]}, {"datasets": ["a", "b", ""]}):
        cols = prompt_columns(texts, **kwargs)
        frame = prompt_frame(texts, **kwargs)
        assert len(cols) == len(frame) == 3
        assert cols.prompt == frame["prompt"].tolist()
        assert cols.task.tolist() == frame["task"].tolist()
        assert cols.dataset.tolist() == frame["dataset"].tolist()


def _routers():
    emb = TfidfSvdEmbedder(dim=8, min_df=1, ngram_max=1)
    return {
        "knn": KNNRouter(5, embedder=emb, max_settings=16),
        "knn-regress": KNNRouter(5, embedder=emb, cost="regress", max_settings=16),
        "knn-metadata": ComposedRouter(
            KNNQuality(3), PromptFeatures(emb, metadata=True), cost="regress", max_settings=16
        ),
    }


def _assert_same(a, b) -> None:
    np.testing.assert_array_equal(a.order, b.order)
    np.testing.assert_array_equal(a.quality, b.quality)
    np.testing.assert_array_equal(a.cost, b.cost)


@pytest.mark.parametrize("name", sorted(_routers()))
def test_lean_rank_prompts_equals_the_frame_and_sklearn_path(name, monkeypatch) -> None:
    import routerbench.routers.quality.neighbors as neighbors

    bench = check_bench(n=140, m=4, seed=5)
    train, test = bench.subset(np.arange(100)), bench.subset(np.arange(100, 140))
    router = _routers()[name].fit(train)
    assert router._reads_prompt_columns()
    texts = test.prompts["prompt"].tolist()
    tasks = test.prompts["task"].tolist()
    batches = [slice(i, i + 1) for i in range(40)] + [slice(0, 8), slice(None)]
    lean = [router.rank_prompts(texts[b], 0.3, tasks=tasks[b]) for b in batches]
    assert "_unit_train" in router.quality_.__dict__  # the direct search ran
    np.testing.assert_array_equal(lean[-1].choice, router.route(test, 0.3).choice)
    # The general path: a pandas frame, and scikit-learn's kneighbors for every batch.
    monkeypatch.setattr(type(router), "_reads_prompt_columns", lambda self: False)
    monkeypatch.setattr(neighbors, "DIRECT_MAX_ROWS", 0)
    for b, got in zip(batches, lean):
        _assert_same(got, router.rank_prompts(texts[b], 0.3, tasks=tasks[b]))


def test_saved_knn_router_ranks_the_same_after_loading(tmp_path) -> None:
    bench = check_bench(n=120, m=3, seed=9)
    train, test = bench.subset(np.arange(80)), bench.subset(np.arange(80, 120))
    router = _routers()["knn"].fit(train)
    texts = test.prompts["prompt"].tolist()
    before = router.rank_prompts(texts[:1], 1.0)  # fills the unit-row cache
    path = save_router(router, tmp_path / "knn.router", train=train)
    loaded = load_router(path)
    after = loaded.rank_prompts(texts[:1], 1.0)
    np.testing.assert_array_equal(after.order, before.order)
    np.testing.assert_array_equal(after.quality, before.quality)
