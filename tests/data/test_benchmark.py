"""The Benchmark type: validation, subsets, missing-cell policies, long round trips."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from routerbench.data.benchmark import Benchmark
from routerbench.errors import DataError
from tests.conftest import make_bench


def test_arrays_are_read_only(small_bench: Benchmark) -> None:
    with pytest.raises(ValueError):
        small_bench.quality[0, 0] = 0.5


def test_dataset_derived_from_task() -> None:
    prompts = pd.DataFrame(
        {
            "sample_id": ["a", "b", "c"],
            "task": ["mmlu-astronomy", "grade-school-math", "foo"],
            "prompt": ["x", "y", "z"],
        }
    )
    b = Benchmark(prompts, ("m",), np.ones((3, 1)), np.ones((3, 1)))
    assert list(b.prompts["dataset"]) == ["mmlu", "gsm8k", "foo"]
    assert list(b.in_paper) == [True, True, False]


@pytest.mark.parametrize(
    ("field", "value", "fragment"),
    [
        ("quality", 1.5, "outside [0, 1]"),
        ("quality", -0.1, "outside [0, 1]"),
        ("cost", -1.0, "finite and >= 0"),
        ("cost", np.inf, "finite and >= 0"),
    ],
)
def test_out_of_range_values_name_row_and_model(field: str, value: float, fragment: str) -> None:
    b = make_bench(6, 3)
    arrays = {"quality": b.quality.copy(), "cost": b.cost.copy()}
    arrays[field][4, 2] = value
    with pytest.raises(DataError) as err:
        Benchmark(b.prompts, b.models, arrays["quality"], arrays["cost"], source="x.parquet")
    msg = str(err.value)
    assert fragment in msg and "'s4'" in msg and "model-2" in msg and "x.parquet" in msg


def test_shape_mismatch_and_duplicate_ids() -> None:
    b = make_bench(5, 2)
    with pytest.raises(DataError, match="shape"):
        Benchmark(b.prompts, b.models, b.quality[:4], b.cost)
    prompts = b.prompts.copy()
    prompts.loc[3, "sample_id"] = "s1"
    with pytest.raises(DataError, match="unique"):
        Benchmark(prompts, b.models, b.quality, b.cost)


def test_subset_filters_compose_and_keep_order(small_bench: Benchmark) -> None:
    sub = small_bench.subset([5, 2, 9, 4], datasets="mmlu", models=["model-3", "model-0"])
    # rows 2 and 4 are mmlu (even indices); order of the given rows is kept
    assert list(sub.sample_ids) == ["s2", "s4"]
    assert sub.models == ("model-3", "model-0")
    np.testing.assert_array_equal(sub.quality, small_bench.quality[np.ix_([2, 4], [3, 0])])
    np.testing.assert_array_equal(sub.cost, small_bench.cost[np.ix_([2, 4], [3, 0])])
    mask = np.zeros(small_bench.n_prompts, bool)
    mask[[1, 3]] = True
    assert list(small_bench.subset(mask).sample_ids) == ["s1", "s3"]
    with pytest.raises(KeyError, match="unknown dataset"):
        small_bench.subset(datasets="nope")
    with pytest.raises(KeyError, match="unknown model"):
        small_bench.subset(models=["nope"])


def test_missing_policies() -> None:
    b = make_bench(6, 3)
    q, c = b.quality.copy(), b.cost.copy()
    q[2, 1] = np.nan
    c[2, 1] = np.nan
    holed = Benchmark(b.prompts, b.models, q, c, source="holes.csv")
    with pytest.raises(DataError) as err:
        holed.handle_missing("error")
    assert "'s2'" in str(err.value) and "model-1" in str(err.value)
    assert holed.handle_missing("keep") is holed
    dropped = holed.handle_missing("drop-prompts")
    assert dropped.n_prompts == 5 and "s2" not in set(dropped.sample_ids)
    assert any("dropped 1 prompts" in n for n in dropped.notes)
    zeroed = holed.handle_missing("zero")
    assert zeroed.quality[2, 1] == 0 and zeroed.cost[2, 1] == 0
    assert not np.isnan(zeroed.quality).any()
    with pytest.raises(ValueError, match="policy"):
        holed.handle_missing("fillna")  # type: ignore[arg-type]


def test_long_round_trip_is_exact(small_bench: Benchmark) -> None:
    long = small_bench.to_long()
    assert len(long) == small_bench.n_prompts * small_bench.n_models
    back = Benchmark.from_long(long.sample(frac=1.0, random_state=1).sort_index())
    assert back.models == small_bench.models
    np.testing.assert_array_equal(back.quality, small_bench.quality)
    np.testing.assert_array_equal(back.cost, small_bench.cost)
    assert back.fingerprint() == small_bench.fingerprint()


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(1, 12),
    m=st.integers(1, 5),
    seed=st.integers(0, 10_000),
    drop=st.integers(0, 3),
)
def test_from_long_any_row_order_property(n: int, m: int, seed: int, drop: int) -> None:
    """Shuffled long rows pivot back to the same cells; absent rows become NaN cells."""
    b = make_bench(n, m, seed)
    long = b.to_long()
    rng = np.random.default_rng(seed)
    removed = rng.choice(len(long), size=min(drop, len(long) - 1), replace=False)
    kept = long.drop(index=removed)
    shuffled = kept.iloc[rng.permutation(len(kept))]
    back = Benchmark.from_long(shuffled)
    # independent pivot with pandas
    pivot_q = shuffled.pivot(index="sample_id", columns="model", values="quality")
    pivot_q = pivot_q.reindex(index=back.sample_ids, columns=list(back.models))
    np.testing.assert_array_equal(back.quality, pivot_q.to_numpy())
    assert int(np.isnan(back.quality).sum()) == back.n_prompts * back.n_models - len(kept)


def test_lazy_responses_follow_subsets() -> None:
    b = make_bench(4, 2)
    long = b.to_long()
    long["response"] = [f"{s}|{m}" for s, m in zip(long["sample_id"], long["model"])]
    full = Benchmark.from_long(long)
    sub = full.subset([3, 1], models=["model-1"])
    assert sub.responses is not None
    assert sub.responses.load().tolist() == [["s3|model-1"], ["s1|model-1"]]
