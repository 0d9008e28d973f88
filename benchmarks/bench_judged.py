"""Fit time of the judged routers on one RouterBench-sized dataset (10,000 prompts × 11 models).

RouterBench's MMLU part is 14,042 prompts (9,829 to train on in the paper split),
HellaSwag's 10,042: a judged router is fitted on one of them at a time. Its
chain search fits a logistic regression per (window, model) of up to 176
chains, and `judged-cv` fits five candidates on three folds, so this is where
a judged experiment spends its time. `cascade_fit_2k_x_100` fits on 100 models, as
routing data other than RouterBench's has them; the last two time the all-responses
reference (one verifier over every model's response, then the exact λ path).
Prompts are generated (multiple choice, 11 models of rising accuracy and price, a
shared difficulty, letter responses, some refusals), so the figures need no shared data.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from _util import timed
from routerbench.data.benchmark import Benchmark, ResponseStore
from routerbench.routers.all_responses import AllResponsesReference
from routerbench.routers.judged_cascade import JudgedCascadeRouter
from routerbench.routers.judged_cv import JudgedCVRouter

N_PROMPTS = 10_000
N_MODELS = 11
WORDS = np.array(
    [
        "acid",
        "atom",
        "bird",
        "cell",
        "cloud",
        "coal",
        "earth",
        "energy",
        "fossil",
        "gas",
        "gravity",
        "heat",
        "ice",
        "iron",
        "light",
        "magnet",
        "mass",
        "metal",
        "moon",
        "motion",
        "ocean",
        "plant",
        "rain",
        "rock",
        "salt",
        "seed",
        "soil",
        "sound",
        "star",
        "sun",
        "tide",
        "tree",
        "water",
        "wave",
        "wind",
    ]
)


def letter_benchmark(n: int = N_PROMPTS, m: int = N_MODELS, seed: int = 0) -> Benchmark:
    """ARC-like rows: models right with rising probability, cheaper ones more often wrong."""
    rng = np.random.default_rng(seed)
    acc = np.linspace(0.35, 0.93, m)
    price = np.geomspace(5e-5, 3e-3, m)
    truth = rng.integers(0, 4, n)
    hard = rng.random(n)
    p_right = np.clip(acc[None, :] + 0.35 - 0.7 * hard[:, None], 0.02, 0.99)
    right = rng.random((n, m)) < p_right
    letter = np.where(right, truth[:, None], (truth[:, None] + rng.integers(1, 4, (n, m))) % 4)
    responses = np.array(list("ABCD"), dtype=object)[letter]
    refused = (rng.random((n, m)) < 0.05) & ~right
    responses[refused] = "I do not understand the question."
    words = rng.choice(WORDS, (n, 12))
    prompts = pd.DataFrame(
        {
            "sample_id": [f"q{i}" for i in range(n)],
            "task": "arc-challenge",
            "prompt": [f"Question {i}: {' '.join(w)}? A) B) C) D)" for i, w in enumerate(words)],
        }
    )
    cost = price * rng.lognormal(0.0, 0.2, (n, m))
    return Benchmark(
        prompts,
        tuple(f"model-{j}" for j in range(m)),
        right.astype(float),
        cost,
        responses=ResponseStore(lambda: responses.copy()),
        source="synthetic-letters",
        synthetic=True,
    )


def run(emit: Callable[..., None]) -> None:
    bench = letter_benchmark()
    router, seconds = timed(lambda: JudgedCascadeRouter(run_code=False).fit(bench))
    assert len(router.units_["arc-challenge"].chain) >= 2
    emit("judged.cascade_fit_10k_x_11", seconds, "s", "< 60 s", seconds < 60)
    decisions, seconds = timed(lambda: list(router.sweep(bench)))
    assert all(len(d) == bench.n_prompts for d in decisions)
    emit("judged.cascade_sweep_10k_x_11", seconds, "s", "< 5 s", seconds < 5)
    cv, seconds = timed(lambda: JudgedCVRouter(run_code=False).fit(bench))
    assert len(cv.cv_gains_) == 5
    emit("judged.cv_fit_10k_x_11", seconds, "s", "< 600 s", seconds < 600)
    # other routing data has many more models (an exhaustive depth-4 search over 100
    # models would score 161,800 chains): the pool cut keeps the search near 256 chains
    wide = letter_benchmark(n=2_000, m=100)
    router, seconds = timed(lambda: JudgedCascadeRouter(run_code=False).fit(wide))
    assert router.units_["arc-challenge"].chain[-1] == wide.n_models - 1
    emit("judged.cascade_fit_2k_x_100", seconds, "s", "< 120 s", seconds < 120)
    # the all-responses reference: one verifier over every model, then the exact λ path
    reference, seconds = timed(lambda: AllResponsesReference(run_code=False).fit(bench))
    emit("judged.all_responses_fit_10k_x_11", seconds, "s", "< 10 s", seconds < 10)
    decisions, seconds = timed(lambda: list(reference.sweep(bench)))
    assert decisions and all(len(d) == bench.n_prompts for d in decisions)
    emit("judged.all_responses_sweep_10k_x_11", seconds, "s", "< 5 s", seconds < 5)
