"""Train/test splits: the paper's 70/30 per dataset, K-fold, validation folds, out-of-domain.

The `paper` split replays the original code's procedure exactly (unique sample_ids
in source order, NumPy legacy seed-42 shuffle, first 70% train) so results can be
compared with published figures. Source order is the published pickle's row order,
which the wide reader restores from the unnamed index column of files cut from it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from routerbench.data.benchmark import Benchmark


@dataclass(frozen=True)
class Split:
    """A train/test pair with the prompt indices (into the parent) each came from."""

    train: Benchmark
    test: Benchmark
    train_index: np.ndarray
    test_index: np.ndarray
    name: str


def _paper_partition(
    bench: Benchmark, fraction: float, seed: int
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per dataset, (train rows, test rows) as the original code shuffles them.

    The original shuffles each dataset's unique sample_ids (source order) with
    ``np.random.seed(42); np.random.shuffle(ids)`` and trains on the first
    ``int(len(ids) * fraction)``. `RandomState(seed).shuffle` draws the same
    permutation without touching NumPy's global state.
    """
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"train fraction must be in (0, 1), got {fraction}")
    datasets = bench.prompts["dataset"].to_numpy()
    out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for ds in bench.datasets:
        rows = np.flatnonzero(datasets == ds)  # sample_ids are unique: rows are the ids
        shuffled = rows.copy()
        np.random.RandomState(seed).shuffle(shuffled)
        cut = int(len(shuffled) * fraction)
        out[ds] = (shuffled[:cut], shuffled[cut:])
    return out


def _make(bench: Benchmark, train: np.ndarray, test: np.ndarray, name: str) -> Split:
    train, test = np.sort(train), np.sort(test)
    return Split(bench.subset(train), bench.subset(test), train, test, name)


def paper_split(bench: Benchmark, *, fraction: float = 0.7, seed: int = 42) -> Split:
    """In-domain split: 70/30 per dataset, exactly as the RouterBench code draws it."""
    parts = _paper_partition(bench, fraction, seed)
    train = np.concatenate([p[0] for p in parts.values()])
    test = np.concatenate([p[1] for p in parts.values()])
    return _make(bench, train, test, f"paper(fraction={fraction}, seed={seed})")


def leave_dataset_out(
    bench: Benchmark,
    dataset: str,
    *,
    fraction: float = 0.7,
    seed: int = 42,
    whole_test: bool = False,
) -> Split:
    """Out-of-domain split: train on the other datasets, test on `dataset`.

    As in the original code, training uses the paper-split train part of every
    other dataset and testing the paper-split test part of the held-out one, so
    in-domain and out-of-domain numbers share a test set. `whole_test=True`
    tests on all of the held-out dataset instead.
    """
    if dataset not in bench.datasets:
        raise KeyError(f"unknown dataset {dataset!r}; known: {bench.datasets}")
    if len(bench.datasets) < 2:
        raise ValueError("leave-one-dataset-out needs at least two datasets")
    parts = _paper_partition(bench, fraction, seed)
    train = np.concatenate([p[0] for ds, p in parts.items() if ds != dataset])
    held = parts[dataset]
    test = np.concatenate(held) if whole_test else held[1]
    return _make(bench, train, test, f"leave-out({dataset})")


def kfold(bench: Benchmark, *, k: int = 5, seed: int = 0) -> Iterator[Split]:
    """Seeded K-fold over prompts, stratified by dataset so every fold sees every dataset."""
    from sklearn.model_selection import KFold, StratifiedKFold

    if k < 2:
        raise ValueError(f"k must be >= 2, got {k}")
    if bench.n_prompts < k:
        raise ValueError(f"{bench.n_prompts} prompts cannot make {k} folds")
    labels = bench.prompts["dataset"].to_numpy()
    _, counts = np.unique(labels, return_counts=True)
    if counts.min() >= k:
        folds = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed).split(labels, labels)
    else:
        folds = KFold(n_splits=k, shuffle=True, random_state=seed).split(labels)
    for i, (train, test) in enumerate(folds):
        yield _make(bench, train, test, f"kfold(k={k}, fold={i}, seed={seed})")


def validation_split(train: Benchmark, *, fraction: float = 0.2, seed: int = 0) -> Split:
    """Carve a validation fold from a training set (per dataset), for choosing knobs.

    Hyper-parameters chosen on the test set flatter a router; this keeps the
    test set untouched.
    """
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"validation fraction must be in (0, 1), got {fraction}")
    rng = np.random.default_rng(seed)
    datasets = train.prompts["dataset"].to_numpy()
    fit_rows, val_rows = [], []
    for ds in train.datasets:
        rows = rng.permutation(np.flatnonzero(datasets == ds))
        cut = round(len(rows) * fraction)
        if len(rows) >= 2:
            cut = min(max(cut, 1), len(rows) - 1)
        val_rows.append(rows[:cut])
        fit_rows.append(rows[cut:])
    return _make(
        train,
        np.concatenate(fit_rows),
        np.concatenate(val_rows),
        f"validation(fraction={fraction}, seed={seed})",
    )
