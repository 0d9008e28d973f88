"""The published RouterBench rows in ../shared load exactly and agree with the paper."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import routerbench
from routerbench.data.wide import COST_SUFFIX, ORACLE_COLUMN

PUBLISHED_MBPP_0SHOT = {
    "gpt-4-1106-preview": 0.6862,
    "gpt-3.5-turbo-1106": 0.6534,
    "claude-v2": 0.6417,
}


@pytest.fixture(scope="module")
def routerdc(routerdc_dir: Path) -> routerbench.Benchmark:
    return routerbench.load(routerdc_dir)


@pytest.fixture(scope="module")
def raw_rows(routerdc_dir: Path) -> pd.DataFrame:
    return pd.concat(
        [pd.read_csv(f) for f in sorted(routerdc_dir.glob("*.csv"))], ignore_index=True
    )


def test_shape_after_merging_split_ids(routerdc: routerbench.Benchmark) -> None:
    assert routerdc.shape == (3164, 11)
    assert len(routerdc.meta["merged_sample_ids"]) == 14
    assert not routerdc.missing.any()
    assert any("merged 14 sample_ids" in n for n in routerdc.notes)
    assert set(routerdc.datasets) == {"arc-challenge", "mbpp", "winogrande"}


def test_model_order_follows_the_file(routerdc: routerbench.Benchmark, raw_rows) -> None:
    perf_cols = [c for c in raw_rows.columns if f"{c}{COST_SUFFIX}" in raw_rows.columns]
    assert list(routerdc.models) == perf_cols


def test_mbpp_means_equal_published_figures(routerdc: routerbench.Benchmark) -> None:
    mbpp = routerdc.subset(datasets="mbpp")
    for model, published in PUBLISHED_MBPP_0SHOT.items():
        j = mbpp.model_index(model)
        assert round(float(mbpp.quality[:, j].mean()), 4) == published


def test_merged_cells_come_from_the_row_that_carries_them(
    routerdc: routerbench.Benchmark, raw_rows: pd.DataFrame
) -> None:
    """Independent check: for each split id, every model's value is its non-NaN row's value."""
    split = raw_rows[raw_rows["sample_id"].duplicated(keep=False)]
    for sid, group in split.groupby("sample_id"):
        i = int(np.flatnonzero(routerdc.sample_ids == sid)[0])
        for j, model in enumerate(routerdc.models):
            carried = group[group[model].notna()]
            assert len(carried) == 1
            assert routerdc.quality[i, j] == carried[model].iloc[0]
            assert routerdc.cost[i, j] == carried[model + COST_SUFFIX].iloc[0]


def test_unsplit_rows_copied_verbatim(routerdc: routerbench.Benchmark, raw_rows) -> None:
    plain = raw_rows[~raw_rows["sample_id"].duplicated(keep=False)].set_index("sample_id")
    idx = pd.Index(routerdc.sample_ids)
    rows = idx.get_indexer(plain.index)
    assert (rows >= 0).all()
    models = list(routerdc.models)
    np.testing.assert_array_equal(routerdc.quality[rows], plain[models].to_numpy(float))
    np.testing.assert_array_equal(
        routerdc.cost[rows], plain[[m + COST_SUFFIX for m in models]].to_numpy(float)
    )


def test_recomputed_oracle_matches_published_column(routerdc: routerbench.Benchmark) -> None:
    """Best quality, cheapest on ties; 'no_model_correct' when nothing scores > 0."""
    frontier = pytest.importorskip("routerbench.frontier")
    merged = set(routerdc.meta["merged_sample_ids"])
    choice = frontier.oracle_choice(routerdc.quality, routerdc.cost, no_correct="zero-cost")
    names = np.array([*routerdc.models, "no_model_correct"], dtype=object)
    ours = names[np.where(choice < 0, len(routerdc.models), choice)]
    # brute force, independent of frontier: per row, cheapest among the max-quality models
    q, c = routerdc.quality, routerdc.cost
    brute = []
    for i in range(routerdc.n_prompts):
        if q[i].max() <= 0:
            brute.append("no_model_correct")
            continue
        best = np.flatnonzero(q[i] == q[i].max())
        brute.append(routerdc.models[best[np.argmin(c[i, best])]])
    assert list(ours) == brute
    published = routerdc.prompts[ORACLE_COLUMN].to_numpy()
    plain = ~routerdc.prompts["sample_id"].isin(merged).to_numpy()
    assert plain.sum() == 3164 - 14
    assert (ours[plain] == published[plain]).all()


def test_prompts_parsed_from_list_literals(routerdc: routerbench.Benchmark) -> None:
    prompts = routerdc.prompts["prompt"]
    assert not prompts.str.startswith("['").any()
    mbpp = routerdc.subset(datasets="mbpp")
    row = int(np.flatnonzero(mbpp.sample_ids == "mbpp.dev.1")[0])
    assert (
        mbpp.prompts["prompt"].iloc[row] == "Write a python function to identify non-prime numbers."
    )


def test_long_round_trip_of_real_data(routerdc: routerbench.Benchmark, tmp_path: Path) -> None:
    from routerbench.data.writers import write_long

    for suffix in (".parquet", ".csv", ".jsonl"):
        out = write_long(routerdc.subset(slice(0, 300)), tmp_path / f"rb{suffix}")
        back = routerbench.load(out)
        ref = routerdc.subset(slice(0, 300))
        assert back.models == ref.models
        np.testing.assert_allclose(back.quality, ref.quality)
        np.testing.assert_allclose(back.cost, ref.cost, rtol=1e-12)
        assert list(back.prompts["prompt"]) == list(ref.prompts["prompt"])
        assert back.responses is not None
        assert back.responses.load()[5, 3] == ref.responses.load()[5, 3]
