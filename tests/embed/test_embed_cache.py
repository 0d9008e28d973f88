"""Tests of the on-disk embedding cache and of `embed_texts` / `embed_benchmark`."""

from __future__ import annotations

import multiprocessing as mp
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from routerbench.data.benchmark import Benchmark
from routerbench.embed import (
    CacheWarning,
    EmbeddingCache,
    HashingEmbedder,
    TfidfSvdEmbedder,
    default_cache_dir,
    embed_benchmark,
    embed_texts,
    final_turn,
    hash_texts,
)
from routerbench.errors import DataError, NotFittedError

TEXTS = [f"prompt {i} about {w}" for i, w in enumerate(["cats", "dogs", "stars", "code", "maths"])]


class Spy(HashingEmbedder):
    """A hashing embedder that records every text its back end is asked to embed."""

    def __init__(self, dim: int = 16) -> None:
        super().__init__(dim)
        self.seen: list[str] = []
        self.calls = 0

    def _embed(self, texts: list[str]) -> np.ndarray:
        self.calls += 1
        self.seen.extend(texts)
        return super()._embed(texts)


def test_cache_hit_returns_identical_arrays_without_calling_the_back_end(tmp_path: Path) -> None:
    spy = Spy()
    first = embed_texts(TEXTS, spy, cache=tmp_path)
    assert spy.calls == 1 and sorted(spy.seen) == sorted(TEXTS)
    second_spy = Spy()
    again = embed_texts(TEXTS[::-1], second_spy, cache=tmp_path)
    assert second_spy.calls == 0
    assert np.array_equal(again, first[::-1])
    assert np.array_equal(first, HashingEmbedder(16).transform(TEXTS))  # no cache involved


def test_only_missing_texts_reach_the_back_end_and_duplicates_once(tmp_path: Path) -> None:
    embed_texts(TEXTS[:3], Spy(), cache=tmp_path)
    spy = Spy()
    out = embed_texts([*TEXTS, TEXTS[4], TEXTS[0]], spy, cache=tmp_path)
    assert sorted(spy.seen) == sorted(TEXTS[3:])
    expected = HashingEmbedder(16).transform([*TEXTS, TEXTS[4], TEXTS[0]])
    assert np.array_equal(out, expected)


def test_cache_off_and_empty_input(tmp_path: Path) -> None:
    spy = Spy()
    embed_texts(TEXTS, spy, cache=False)
    embed_texts(TEXTS, spy, cache=False)
    assert spy.calls == 2
    assert embed_texts([], Spy(), cache=tmp_path).shape == (0, 16)


def test_key_changes_with_settings_and_fitted_corpus(tmp_path: Path) -> None:
    train = [*TEXTS, "another training prompt about cats"]

    class CountingTfidf(TfidfSvdEmbedder):
        calls = 0

        def _embed(self, texts: list[str]) -> np.ndarray:
            type(self).calls += 1
            return super()._embed(texts)

    def run(emb: TfidfSvdEmbedder) -> np.ndarray:
        before = CountingTfidf.calls
        out = embed_texts(TEXTS, emb, cache=tmp_path)
        run.called = CountingTfidf.calls > before  # type: ignore[attr-defined]
        return out

    base = run(CountingTfidf(dim=3, min_df=1).fit(train))
    assert run.called  # type: ignore[attr-defined]
    assert np.array_equal(run(CountingTfidf(dim=3, min_df=1).fit(train)), base)
    assert not run.called  # type: ignore[attr-defined]
    run(CountingTfidf(dim=3, min_df=1).fit(train[:-1]))  # other fit corpus
    assert run.called  # type: ignore[attr-defined]
    assert run(CountingTfidf(dim=4, min_df=1).fit(train)).shape == (5, 4)  # other setting
    assert run.called  # type: ignore[attr-defined]
    assert len(list(tmp_path.iterdir())) == 3  # one folder per embedder identity
    with pytest.raises(NotFittedError):
        embed_texts(TEXTS, TfidfSvdEmbedder(), cache=tmp_path)


def test_default_location_and_env_override(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.delenv("ROUTERBENCH_CACHE", raising=False)
    assert default_cache_dir() == Path.home() / ".cache" / "routerbench" / "embeddings"
    monkeypatch.setenv("ROUTERBENCH_CACHE", str(tmp_path))
    assert default_cache_dir() == tmp_path / "embeddings"
    embed_texts(TEXTS, Spy(), cache=True)
    assert list((tmp_path / "embeddings").glob("*/*.keys.npy"))


@settings(max_examples=25, deadline=None)
@given(
    shards=st.lists(st.sets(st.integers(0, 200), max_size=30), min_size=1, max_size=5),
    queries=st.lists(st.integers(0, 250), max_size=60),
)
def test_lookup_agrees_with_a_dictionary(tmp_path_factory, shards, queries) -> None:
    cache = EmbeddingCache(tmp_path_factory.mktemp("c"), max_shards=3)
    texts = [f"t{i}" for i in range(251)]
    keys = hash_texts(texts)
    truth: dict[int, np.ndarray] = {}
    for ids in shards:
        ids = sorted(ids)
        if not ids:
            continue
        vecs = np.array([[i, -i, i * 0.5] for i in ids], dtype=np.float32)
        cache.store("e", keys[ids], vecs)
        truth.update({i: v for i, v in zip(ids, vecs, strict=True)})
    found, vectors = cache.lookup("e", keys[queries])
    assert found.tolist() == [q in truth for q in queries]
    for k, q in enumerate(queries):
        if q in truth:
            assert vectors is not None and np.array_equal(vectors[k], truth[q])
    assert len(cache.shards("e")) <= 3


def _corrupt(path: Path, how: str) -> None:
    if how == "garbage":
        path.write_bytes(b"this is not an npy file")
    elif how == "truncated":
        path.write_bytes(path.read_bytes()[:-7])
    else:  # a valid file of the wrong shape
        np.save(path, np.zeros((1, 2), dtype=np.float32))


@pytest.mark.parametrize(
    ("which", "how"),
    [("vecs", "garbage"), ("vecs", "truncated"), ("keys", "garbage"), ("vecs", "shape")],
)
def test_corrupt_shard_is_recomputed_with_a_warning(tmp_path: Path, which: str, how: str) -> None:
    good = embed_texts(TEXTS, Spy(), cache=tmp_path)
    cache = EmbeddingCache(tmp_path)
    (keys_path,) = cache.shards(Spy().name)
    target = keys_path if which == "keys" else Path(str(keys_path).replace(".keys.", ".vecs."))
    _corrupt(target, how)
    spy = Spy()
    with pytest.warns(CacheWarning, match="recomputing"):
        out = embed_texts(TEXTS, spy, cache=tmp_path)
    assert np.array_equal(out, good) and spy.calls == 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # healed: no warning, no recomputation
        spy = Spy()
        assert np.array_equal(embed_texts(TEXTS, spy, cache=tmp_path), good)
        assert spy.calls == 0


def _writer(root: str, seed: int, barrier) -> None:
    """Child process: store overlapping shards repeatedly and check every read."""
    cache = EmbeddingCache(root, max_shards=4)
    texts = [f"text {i}" for i in range(400)]
    keys = hash_texts(texts)
    full = HashingEmbedder(8).transform(texts)
    rng = np.random.default_rng(seed)
    warnings.simplefilter("error", CacheWarning)  # atomic writes: never a partial file
    barrier.wait()
    for r in range(40):
        ids = np.arange(400) if r % 5 == 0 else np.unique(rng.integers(0, 400, 120))
        cache.store("shared", keys[ids], full[ids])
        found, vecs = cache.lookup("shared", keys)
        assert vecs is not None and np.array_equal(vecs[found], full[found])
        out = embed_texts(texts[:50], HashingEmbedder(8), cache=cache)
        assert np.array_equal(out, full[:50])


def test_concurrent_writers_leave_a_readable_correct_cache(tmp_path: Path) -> None:
    ctx = mp.get_context("fork" if "fork" in mp.get_all_start_methods() else "spawn")
    barrier = ctx.Barrier(2)
    procs = [ctx.Process(target=_writer, args=(str(tmp_path), s, barrier)) for s in (1, 2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=120)
    assert [p.exitcode for p in procs] == [0, 0]
    texts = [f"text {i}" for i in range(400)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        found, vecs = EmbeddingCache(tmp_path).lookup("shared", hash_texts(texts))
    assert found.all() and np.array_equal(vecs, HashingEmbedder(8).transform(texts))
    assert not list(tmp_path.rglob("*.tmp"))  # no temp files left behind


def _bench() -> Benchmark:
    shots = "Q1?\nAnswer:\nA\n\nQ2?\nAnswer:\nB\n\n"
    prompts = pd.DataFrame(
        {
            "sample_id": [f"s{i}" for i in range(4)],
            "task": ["arc-challenge", "arc-challenge", "mbpp", "mbpp"],
            "prompt": [
                shots + "Why is the sky blue?\nAnswer:",
                shots + "Why is grass green?\nAnswer:",
                "write a python sort",
                "write a python parser",
            ],
        }
    )
    q = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [0.0, 0.0]])
    return Benchmark(prompts=prompts, models=("m1", "m2"), quality=q, cost=q * 0 + 0.01)


def test_embed_benchmark_rows_variants_and_fit_rows(tmp_path: Path) -> None:
    bench = _bench()
    texts = bench.prompts["prompt"].tolist()
    z = embed_benchmark(bench, "hashing", text="final-turn", cache=tmp_path)
    assert np.array_equal(z, HashingEmbedder().transform([final_turn(t) for t in texts]))
    emb = TfidfSvdEmbedder(dim=3, min_df=1)
    z = embed_benchmark(bench, emb, cache=tmp_path, fit_rows=np.array([True, False, True, False]))
    assert np.array_equal(z, TfidfSvdEmbedder(dim=3, min_df=1).fit(texts[::2]).transform(texts))
    with pytest.raises(DataError, match="fit_rows"):
        embed_benchmark(bench, emb, cache=tmp_path, fit_rows=np.array([True, False]))


def test_unwritable_cache_warns_but_returns_the_vectors(tmp_path, monkeypatch) -> None:
    def refuse(*args, **kwargs):
        raise PermissionError("read-only file system")

    monkeypatch.setattr(EmbeddingCache, "store", refuse)
    with pytest.warns(CacheWarning, match="could not write"):
        out = embed_texts(TEXTS, Spy(), cache=tmp_path)
    assert np.array_equal(out, HashingEmbedder(16).transform(TEXTS))
