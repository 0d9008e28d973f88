"""Router speed: fit + full willingness-to-pay path on a RouterBench-sized table (36k × 11).

Embeddings are precomputed (synthetic, clustered, 384-d like MiniLM) and served by a
lookup embedder, so the figures time the routers, not an embedding model.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from _util import timed
from routerbench.data.benchmark import Benchmark
from routerbench.routers import KNNRouter, LogisticRouter, MLPRouter, wtp_path

N_PROMPTS = 36_497  # rows of RouterBench's 0-shot file
N_MODELS = 11
DIM = 384
TRAIN_FRACTION = 0.7


class LookupEmbedder:
    """Serves precomputed vectors by prompt text: 'fit' learns nothing, 'transform' gathers."""

    def __init__(self, texts: Sequence[str], vectors: np.ndarray) -> None:
        self.index = {t: i for i, t in enumerate(texts)}
        self.vectors = vectors

    def fit(self, texts: Sequence[str]) -> LookupEmbedder:
        return self

    def transform(self, texts: Sequence[str]) -> np.ndarray:
        rows = np.fromiter((self.index[t] for t in texts), dtype=np.intp, count=len(texts))
        return self.vectors[rows]


def synthetic(n: int = N_PROMPTS, m: int = N_MODELS, d: int = DIM, seed: int = 0):
    """Clustered unit embeddings; each cluster shifts each model's accuracy (learnable)."""
    rng = np.random.default_rng(seed)
    k = 64
    centres = rng.normal(size=(k, d))
    cluster = rng.integers(0, k, n)
    x = centres[cluster] + 1.5 * rng.normal(size=(n, d))
    x = (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)
    skill = np.clip(np.linspace(0.4, 0.85, m) + 0.15 * rng.normal(size=(k, m)), 0.02, 0.98)
    quality = (rng.random((n, m)) < skill[cluster]).astype(float)
    price = np.geomspace(1e-5, 3e-3, m)
    cost = price * rng.lognormal(0.0, 0.3, (n, m))
    texts = [f"prompt {i}" for i in range(n)]
    datasets = np.array(["mmlu", "hellaswag", "gsm8k", "arc-challenge"], dtype=object)
    prompts = pd.DataFrame(
        {"sample_id": texts, "task": datasets[np.arange(n) % 4], "prompt": texts}
    )
    models = tuple(f"model-{j}" for j in range(m))
    bench = Benchmark(prompts, models, quality, cost, source="synthetic-36k", synthetic=True)
    return bench, LookupEmbedder(texts, x)


def _fit_and_path(make: Callable[[], object], train: Benchmark, test: Benchmark):
    router = make()
    router.fit(train)
    return router.path(test)


def run(emit) -> None:
    with threadpool_limits(1):
        _run(emit)


def _run(emit) -> None:
    bench, embedder = synthetic()
    cut = int(N_PROMPTS * TRAIN_FRACTION)
    perm = np.random.default_rng(42).permutation(N_PROMPTS)
    train, test = bench.subset(np.sort(perm[:cut])), bench.subset(np.sort(perm[cut:]))

    rng = np.random.default_rng(1)
    p_hat, c_hat = rng.random((N_PROMPTS, N_MODELS)), bench.cost * rng.lognormal(0, 0.1)
    path, secs = timed(lambda: wtp_path(p_hat, c_hat, bench.quality, bench.cost), repeat=3)
    emit("wtp_path 36k x 11 (exact, scored)", secs, "s", "< 2 s", secs < 2.0)
    emit("wtp_path regions", path.n_regions, "regions", "info")

    routers: dict[str, Callable[[], object]] = {
        "knn k=10": lambda: KNNRouter(10, embedder=embedder),
        "knn k=40": lambda: KNNRouter(40, embedder=embedder),
        "mlp (100,)": lambda: MLPRouter((100,), embedder=embedder),
        "logreg (cv=3, 3 alphas)": lambda: LogisticRouter(
            alphas=(1e-4, 1e-3, 1e-2), cv=3, embedder=embedder, text="full"
        ),
    }
    for name, make in routers.items():
        result, secs = timed(lambda make=make: _fit_and_path(make, train, test))
        target_ok = secs < 30.0 if not name.startswith("logreg") else None
        emit(f"{name} fit 25.5k + exact path 11k x 11", secs, "s", "< 30 s", target_ok)
        emit(f"{name} path regions", result.n_regions, "regions", "info")

    # ---- cascade/rerank figures: the cascade colleague's function is called here ----
    # from bench_cascade_hook import run_cascade  # (to be provided)
    # run_cascade(emit, train, test)
