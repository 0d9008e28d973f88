"""Tests of the linear-probe AUC used to compare embeddings and text variants."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from routerbench.data.benchmark import Benchmark
from routerbench.embed import TfidfSvdEmbedder, correctness_auc, summarise_auc
from routerbench.errors import ConfigError


def _bench(n: int = 240, seed: int = 0) -> Benchmark:
    """Model "easy-only" is right exactly on prompts mentioning 'easy'; "coin" is random."""
    rng = np.random.default_rng(seed)
    easy = rng.random(n) < 0.5
    topics = rng.choice(["apples", "rivers", "engines", "poems"], n)
    shots = "Warm up?\nAnswer:\nA\n\n"
    prompts = [
        f"{shots}an {'easy' if e else 'tricky hard'} question {i} about {t}\nAnswer:"
        for i, (e, t) in enumerate(zip(easy, topics, strict=True))
    ]
    frame = pd.DataFrame(
        {
            "sample_id": [f"p{i}" for i in range(n)],
            "task": np.where(np.arange(n) % 2 == 0, "arc-challenge", "mbpp"),
            "prompt": prompts,
        }
    )
    q = np.stack([easy.astype(float), (rng.random(n) < 0.5).astype(float)], axis=1)
    return Benchmark(prompts=frame, models=("easy-only", "coin"), quality=q, cost=q * 0 + 1e-3)


def test_probe_finds_signal_where_there_is_some_and_none_where_there_is_none() -> None:
    table = correctness_auc(_bench(), "hashing", n_splits=2, C=10.0, dim=256)
    assert set(table.columns) == {"variant", "split", "model", "scope", "auc", "n_test"}
    mean = table[table.scope == "all"].groupby(["variant", "model"])["auc"].mean()
    for variant in ("full", "final-turn"):
        assert mean[(variant, "easy-only")] > 0.95
        assert abs(mean[(variant, "coin")] - 0.5) < 0.15
    summary = summarise_auc(table)
    assert list(summary.columns[:2]) == ["all", "within"]
    assert set(summary.index) == {"full", "final-turn"}
    np.testing.assert_allclose(summary["within"], summary[["arc-challenge", "mbpp"]].mean(axis=1))


class RecordingTfidf(TfidfSvdEmbedder):
    """Remembers what it was fitted on."""

    def __init__(self, **kw) -> None:
        super().__init__(**kw)
        self.fitted_on: list[list[str]] = []

    def fit(self, texts):  # type: ignore[override]
        self.fitted_on.append(list(texts))
        return super().fit(texts)


def test_probe_fits_the_embedder_on_train_rows_only() -> None:
    bench = _bench()
    emb = RecordingTfidf(dim=16, min_df=1)
    table = correctness_auc(bench, emb, variants=("full",), n_splits=2)
    assert (table.n_test[table.scope == "all"] == 72).all()  # 30 % of 240 held out
    assert len(emb.fitted_on) == 2
    for fitted in emb.fitted_on:
        assert len(set(fitted)) == 240 - 72  # the 72 test prompts were never seen
    assert set(emb.fitted_on[0]) != set(emb.fitted_on[1])  # a fresh split each time
    auc = table.loc[(table.model == "easy-only") & (table.scope == "all"), "auc"]
    assert (auc > 0.95).all()


def test_probe_rejects_bad_arguments() -> None:
    with pytest.raises(ConfigError, match="test_size"):
        correctness_auc(_bench(), "hashing", test_size=1.5)
    with pytest.raises(ConfigError, match="'middle'"):
        correctness_auc(_bench(), "hashing", variants=("middle",))
