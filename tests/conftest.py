"""Shared fixtures: small hand-made benchmarks and the optional real data in ../shared."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from routerbench.data.benchmark import Benchmark

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "realdata"


@pytest.fixture(scope="session", autouse=True)
def _one_blas_thread():
    """Small matrix products run far faster on one BLAS thread on a shared 2-core box."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        yield


@pytest.fixture(scope="session")
def realdata() -> Path:
    """The shared real-data folder; tests that need it skip cleanly without it."""
    if not SHARED.is_dir():
        pytest.skip("../shared/realdata is not present")
    return SHARED


@pytest.fixture(scope="session")
def routerdc_dir(realdata: Path) -> Path:
    path = realdata / "routerbench-subset-routerdc"
    if not path.is_dir():
        pytest.skip("routerbench-subset-routerdc is not present")
    return path


def make_bench(n: int = 40, m: int = 4, seed: int = 0, datasets=("mmlu", "gsm8k")) -> Benchmark:
    """A small random benchmark with binary quality and positive costs."""
    rng = np.random.default_rng(seed)
    ds = np.array([datasets[i % len(datasets)] for i in range(n)], dtype=object)
    prompts = pd.DataFrame(
        {
            "sample_id": [f"s{i}" for i in range(n)],
            "task": ds,
            "prompt": [f"prompt number {i}" for i in range(n)],
        }
    )
    quality = (rng.random((n, m)) < np.linspace(0.3, 0.9, m)).astype(float)
    cost = rng.uniform(0.5, 1.5, (n, m)) * np.geomspace(1e-4, 1e-2, m)
    return Benchmark(prompts, tuple(f"model-{j}" for j in range(m)), quality, cost, source="test")


def bench_from_arrays(quality, cost, datasets=None, source: str = "test") -> Benchmark:
    """A benchmark from hand-written quality and (broadcastable) cost, models m0, m1, ..."""
    q = np.asarray(quality, dtype=float)
    n, m = q.shape
    ds = ["mmlu"] * n if datasets is None else list(datasets)
    prompts = pd.DataFrame(
        {"sample_id": [f"p{i}" for i in range(n)], "task": ds, "prompt": ["x"] * n}
    )
    c = np.broadcast_to(np.asarray(cost, dtype=float), (n, m)).copy()
    return Benchmark(prompts, tuple(f"m{j}" for j in range(m)), q, c, source=source)


@pytest.fixture
def small_bench() -> Benchmark:
    return make_bench()
