"""Synthetic benchmarks *with responses* for the judge and judged-router tests.

Each prompt has a true letter; model j answers it with probability acc[j],
otherwise a random wrong letter (or, for a refusing model, "I do not
understand"). Agreement between models is then informative, as on real data.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from routerbench.data.benchmark import Benchmark, ResponseStore

LETTERS = np.array(list("ABCD"))


def mc_bench(
    n: int = 240,
    acc: tuple[float, ...] = (0.55, 0.7, 0.8, 0.95),
    price: tuple[float, ...] = (1e-4, 3e-4, 6e-4, 5e-3),
    refuse: tuple[float, ...] = (0.0, 0.0, 0.15, 0.0),
    seed: int = 0,
    dataset: str = "arc-challenge",
) -> Benchmark:
    """Multiple-choice prompts × len(acc) models, 0/1 quality, stored letter responses."""
    rng = np.random.default_rng(seed)
    m = len(acc)
    truth = rng.integers(0, 4, n)
    hard = rng.random(n) < 0.3  # a shared difficulty makes errors correlated, as in reality
    p_right = np.where(hard[:, None], np.asarray(acc) * 0.6, np.minimum(np.asarray(acc) * 1.15, 1))
    right = rng.random((n, m)) < p_right
    wrong = (truth[:, None] + rng.integers(1, 4, (n, m))) % 4
    letter = np.where(right, truth[:, None], wrong)
    responses = LETTERS[letter].astype(object)
    refused = (rng.random((n, m)) < np.asarray(refuse)) & ~right
    responses[refused] = "I do not understand the question"
    responses = np.where(rng.random((n, m)) < 0.5, responses + "\n", responses)
    quality = right.astype(float)
    cost = rng.uniform(0.8, 1.2, (n, m)) * np.asarray(price)
    frame = pd.DataFrame(
        {
            "sample_id": [f"q{i}" for i in range(n)],
            "task": dataset,
            "prompt": [f"Question {i}: which letter? A) x B) y C) z D) w" for i in range(n)],
        }
    )
    store = ResponseStore(lambda: responses.copy())
    models = tuple(f"m{j}" for j in range(m))
    return Benchmark(frame, models, quality, cost, responses=store, source="synthetic-mc")


def halves(bench: Benchmark) -> tuple[Benchmark, Benchmark]:
    cut = bench.n_prompts // 2
    return bench.subset(np.arange(cut)), bench.subset(np.arange(cut, bench.n_prompts))
