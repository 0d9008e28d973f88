"""Splits: the paper's procedure replayed exactly, out-of-domain, K-fold, validation."""

from __future__ import annotations

import numpy as np
import pytest

from routerbench.data.splits import kfold, leave_dataset_out, paper_split, validation_split
from tests.conftest import make_bench


def original_procedure(ids_in_file_order: list[str], fraction: float = 0.7) -> tuple[set, set]:
    """The original code's steps, literally: a Python list, global seed, global shuffle."""
    ids = list(dict.fromkeys(ids_in_file_order))
    np.random.seed(42)
    np.random.shuffle(ids)
    cut = int(len(ids) * fraction)
    return set(ids[:cut]), set(ids[cut:])


def test_paper_split_replays_original_procedure() -> None:
    bench = make_bench(101, 3, datasets=("mmlu", "gsm8k", "mbpp"))
    split = paper_split(bench)
    for ds in bench.datasets:
        ids = list(bench.subset(datasets=ds).sample_ids)
        train, test = original_procedure(ids)
        assert set(split.train.subset(datasets=ds).sample_ids) == train
        assert set(split.test.subset(datasets=ds).sample_ids) == test


def test_paper_split_on_real_data(routerdc_dir) -> None:
    import routerbench

    bench = routerbench.load(routerdc_dir)
    split = paper_split(bench)
    assert split.train.n_prompts + split.test.n_prompts == bench.n_prompts
    assert not set(split.train.sample_ids) & set(split.test.sample_ids)
    for ds in bench.datasets:
        n = int((bench.prompts["dataset"] == ds).sum())
        assert split.train.subset(datasets=ds).n_prompts == int(n * 0.7)
    state = np.random.get_state()[1].copy()
    paper_split(bench)
    np.testing.assert_array_equal(np.random.get_state()[1], state)  # global RNG untouched


def _paper_test_ids(folder) -> dict[str, set[str]]:
    """The paper's test part, computed independently of our reader: the issue's recipe.

    Rows of all CSVs sorted by the unnamed index column (each row's position in the
    published pickle), unique sample_ids per dataset, ``np.random.seed(42)`` shuffle,
    test = ``ids[int(0.7 * n):]``.
    """
    import pandas as pd

    frames = [
        pd.read_csv(f, usecols=["Unnamed: 0", "sample_id", "eval_name"], dtype={"sample_id": str})
        for f in sorted(folder.glob("*.csv"))
    ]
    rows = pd.concat(frames).sort_values("Unnamed: 0", kind="stable")
    out = {}
    for name, group in rows.groupby("eval_name", sort=False):
        ids = np.array(group["sample_id"].unique(), dtype=object)
        np.random.seed(42)
        np.random.shuffle(ids)
        out[str(name)] = set(ids[int(0.7 * len(ids)) :])
    return out


def test_paper_split_is_the_papers_test_part_on_real_rows(routerdc_dir, tmp_path) -> None:
    """Issue 8: sizes and membership of the three test parts, whatever the file names."""
    import routerbench

    expected = _paper_test_ids(routerdc_dir)
    assert {k: len(v) for k, v in expected.items()} == {
        "arc-challenge": 441,
        "mbpp": 129,
        "winogrande": 381,
    }
    split = paper_split(routerbench.load(routerdc_dir))
    for task, ids in expected.items():
        got = set(split.test.prompts.loc[split.test.prompts["task"] == task, "sample_id"])
        assert got == ids, task
    # Renaming the files (train listed before test) must not change the split.
    renamed = tmp_path / "renamed"
    renamed.mkdir()
    for i, f in enumerate(sorted(routerdc_dir.glob("*.csv"), reverse=True)):
        (renamed / f"{i:02d}_{f.name}").symlink_to(f)
    again = paper_split(routerbench.load(renamed))
    assert set(again.test.sample_ids) == set(split.test.sample_ids)
    assert list(again.test.sample_ids) == list(split.test.sample_ids)


def test_leave_dataset_out() -> None:
    bench = make_bench(90, 3, datasets=("mmlu", "gsm8k", "mbpp"))
    split = leave_dataset_out(bench, "gsm8k")
    assert "gsm8k" not in split.train.datasets
    assert split.test.datasets == ["gsm8k"]
    in_domain = paper_split(bench)
    assert set(split.test.sample_ids) == set(in_domain.test.subset(datasets="gsm8k").sample_ids)
    whole = leave_dataset_out(bench, "gsm8k", whole_test=True)
    assert whole.test.n_prompts == 30
    with pytest.raises(KeyError):
        leave_dataset_out(bench, "hellaswag")


def test_kfold_partitions_prompts_and_is_seeded() -> None:
    bench = make_bench(50, 2)
    folds = list(kfold(bench, k=5, seed=3))
    tests = [set(f.test.sample_ids) for f in folds]
    assert set().union(*tests) == set(bench.sample_ids)
    assert sum(len(t) for t in tests) == bench.n_prompts
    for f in folds:
        assert not set(f.train.sample_ids) & set(f.test.sample_ids)
        assert set(f.test.datasets) == set(bench.datasets)  # stratified
    again = [set(f.test.sample_ids) for f in kfold(bench, k=5, seed=3)]
    assert again == tests
    other = [set(f.test.sample_ids) for f in kfold(bench, k=5, seed=4)]
    assert other != tests


def test_validation_split_stays_inside_train() -> None:
    bench = make_bench(60, 2)
    split = paper_split(bench)
    val = validation_split(split.train, fraction=0.25, seed=1)
    assert set(val.train.sample_ids) | set(val.test.sample_ids) == set(split.train.sample_ids)
    assert not set(val.test.sample_ids) & set(split.test.sample_ids)
    for ds in bench.datasets:
        assert val.test.subset(datasets=ds).n_prompts >= 1
