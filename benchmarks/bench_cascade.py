"""Speed of the non-predictive routers on a RouterBench-sized table (36,497 prompts × 11 models).

The cascade's full paper grid (11 budgets × 8 judge error rates) must run in under 5 s.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from _util import timed
from routerbench.data.benchmark import Benchmark
from routerbench.routers.cascade import CascadeRouter
from routerbench.routers.rerank import RerankRouter

N_PROMPTS, N_MODELS = 36_497, 11
DATASETS = ("mmlu", "hellaswag", "gsm8k", "arc-challenge", "winogrande", "mbpp", "mtbench")


def synthetic_table(n: int = N_PROMPTS, m: int = N_MODELS, seed: int = 0) -> Benchmark:
    """A random 0/1-quality table with RouterBench-like per-call prices ($1e-5 to $1e-2)."""
    rng = np.random.default_rng(seed)
    ds = np.asarray(DATASETS, dtype=object)[rng.integers(0, len(DATASETS), n)]
    prompts = pd.DataFrame(
        {"sample_id": np.arange(n).astype(str), "task": ds, "prompt": np.full(n, "p", dtype=object)}
    )
    quality = (rng.random((n, m)) < rng.uniform(0.4, 0.9, m)).astype(float)
    cost = rng.uniform(0.5, 1.5, (n, m)) * np.geomspace(1e-5, 1e-2, m)
    models = tuple(f"model-{j}" for j in range(m))
    return Benchmark(prompts, models, quality, cost, source="bench-synthetic", synthetic=True)


def run_cascade_benchmark(emit: Callable[..., None]) -> None:
    """Time fit + the full budget × error-rate sweep of the cascade, and rerank's sweep."""
    table = synthetic_table()
    train, test = table.subset(slice(0, N_PROMPTS // 2)), table

    def cascade_grid() -> int:
        router = CascadeRouter(seed=0).fit(train)
        return sum(1 for _ in router.sweep(test))

    n_settings, seconds = timed(cascade_grid, repeat=3)
    emit(
        f"cascade fit + {n_settings} settings on {N_PROMPTS}x{N_MODELS}",
        seconds,
        "s",
        "< 5 s",
        seconds < 5.0,
    )

    def rerank_grid() -> int:
        router = RerankRouter(noise_sd=0.1, seed=0).fit(train)
        return sum(1 for _ in router.sweep(test))

    n_settings, seconds = timed(rerank_grid, repeat=3)
    emit(
        f"rerank fit + {n_settings} settings on {N_PROMPTS}x{N_MODELS}",
        seconds,
        "s",
        "< 5 s",
        seconds < 5.0,
    )


def run(emit: Callable[..., None]) -> None:
    run_cascade_benchmark(emit)
