"""The length-only control: base rates per dataset, costs from prompt length, nothing else."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from routerbench.data.benchmark import Benchmark
from routerbench.routers import get_router
from routerbench.routers.length_control import LengthControlRouter


def _bench(seed: int = 0, n: int = 80) -> Benchmark:
    rng = np.random.default_rng(seed)
    lengths = rng.integers(5, 400, n)
    ds = np.where(np.arange(n) % 2, "a", "b")
    prompts = pd.DataFrame(
        {
            "sample_id": [f"p{i}" for i in range(n)],
            "task": ds,
            "prompt": ["x" * int(k) for k in lengths],
        }
    )
    # Cost exactly linear in length, with a per-model and per-dataset slope and intercept.
    slope = np.array([1e-5, 5e-5, 2e-4])
    extra = np.where(ds == "a", 1e-3, 0.0)[:, None]
    cost = 1e-4 + extra + lengths[:, None] * slope[None, :]
    quality = (rng.random((n, 3)) < np.array([0.3, 0.6, 0.9])).astype(float)
    return Benchmark(prompts, ("m0", "m1", "m2"), quality, cost)


def test_cost_estimate_is_the_per_dataset_least_squares_line() -> None:
    bench = _bench()
    router = get_router("length").fit(bench)
    assert isinstance(router, LengthControlRouter)
    assert np.allclose(router.predict_cost(bench), bench.cost, rtol=1e-9, atol=1e-12)


def test_quality_estimate_is_the_train_base_rate_of_the_dataset() -> None:
    bench = _bench(1)
    p = LengthControlRouter().fit(bench).predict_quality(bench)
    labels = bench.prompts["dataset"].to_numpy()
    for d in ("a", "b"):
        rows = labels == d
        assert np.allclose(p[rows], bench.quality[rows].mean(axis=0))


def test_it_reads_no_outcome_of_the_test_prompts() -> None:
    train, test = _bench(2), _bench(3)
    router = LengthControlRouter(max_settings=50).fit(train)
    before = [d.choice.copy() for d in router.sweep(test)]
    scrambled = Benchmark(test.prompts, test.models, test.quality[::-1].copy(), test.cost * 7.0)
    after = [d.choice for d in LengthControlRouter(max_settings=50).fit(train).sweep(scrambled)]
    assert len(before) == len(after) > 1
    assert all(np.array_equal(a, b) for a, b in zip(before, after))


def test_long_prompts_go_to_cheaper_models_at_a_middle_price() -> None:
    bench = _bench(4, n=400)
    router = LengthControlRouter().fit(bench)
    p, c = router.predict_quality(bench), router.predict_cost(bench)
    lam = 0.2 / 0.3 * float(np.median(c[:, 2] - c[:, 1]))
    choice = np.argmax(lam * p - c, axis=1)
    lengths = bench.prompts["prompt"].str.len().to_numpy()
    assert lengths[choice == 2].mean() < lengths[choice < 2].mean()


def test_nonsense_settings_are_refused() -> None:
    with pytest.raises(Exception, match="lambdas"):
        LengthControlRouter(lambdas="nonsense").fit(_bench())
