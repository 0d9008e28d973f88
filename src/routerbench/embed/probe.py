"""How much routing signal an embedding carries: per-model correctness AUC of a linear probe.

Used to choose a back end or a text variant (full prompt vs final turn) on real data
before spending a whole router sweep on it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from routerbench.data.benchmark import Benchmark
from routerbench.embed.api import CacheArg, embed_benchmark
from routerbench.embed.base import Embedder
from routerbench.embed.registry import get_embedder
from routerbench.embed.text import TEXT_VARIANTS
from routerbench.errors import ConfigError


def _auc(y: np.ndarray, p: np.ndarray) -> float:
    """ROC AUC, NaN when only one class is present (AUC undefined)."""
    return float(roc_auc_score(y, p)) if 0 < y.sum() < len(y) else float("nan")


def correctness_auc(
    bench: Benchmark,
    embedder: str | Embedder = "tfidf-svd",
    *,
    variants: Sequence[str] = TEXT_VARIANTS,
    test_size: float = 0.3,
    n_splits: int = 1,
    seed: int = 0,
    C: float = 1.0,
    threshold: float = 0.5,
    cache: CacheArg = False,
    **embedder_kw: Any,
) -> pd.DataFrame:
    """Per-model AUC of "is this model correct on this prompt?" from each text variant.

    For every random train/test split and text variant, the embedder is fitted on
    the train prompts only, one logistic regression per model learns
    ``quality >= threshold`` from the train vectors, and its scores are ranked
    on the test prompts. AUC is reported over all test prompts (``scope="all"``,
    which rewards telling datasets apart) and within each dataset (which asks
    whether the embedding separates easy from hard prompts of one task, the
    harder and more telling question).

    Returns
    -------
    DataFrame
        Columns ``variant, split, model, scope, auc, n_test``; see `summarise_auc`.
    """
    if not 0 < test_size < 1:
        raise ConfigError(f"test_size must be in (0, 1), got {test_size!r}")
    for v in variants:
        if v not in TEXT_VARIANTS:
            raise ConfigError(f"text variant must be one of {TEXT_VARIANTS}, got {v!r}")
    n = bench.n_prompts
    n_test = round(n * test_size)
    if n_test < 2 or n - n_test < 2:
        raise ConfigError(f"{n} prompts are too few for a train/test split of {test_size}")
    datasets = bench.prompts["dataset"].to_numpy()
    rng = np.random.default_rng(seed)
    rows: list[dict[str, Any]] = []
    for split in range(n_splits):
        perm = rng.permutation(n)
        test, train = np.sort(perm[:n_test]), np.sort(perm[n_test:])
        for variant in variants:
            emb = get_embedder(embedder, **embedder_kw) if isinstance(embedder, str) else embedder
            z = embed_benchmark(bench, emb, text=variant, cache=cache, fit_rows=train)
            for j, model in enumerate(bench.models):
                q = bench.quality[:, j]
                tr, te = train[~np.isnan(q[train])], test[~np.isnan(q[test])]
                y_tr, y_te = q[tr] >= threshold, q[te] >= threshold
                if y_tr.all() or not y_tr.any():
                    continue  # nothing to learn for this model
                clf = LogisticRegression(C=C, max_iter=2000).fit(z[tr], y_tr)
                p = clf.decision_function(z[te])
                scopes = [("all", np.ones(len(te), dtype=bool))]
                scopes += [(d, datasets[te] == d) for d in bench.datasets]
                for scope, mask in scopes:
                    rows.append(
                        {
                            "variant": variant,
                            "split": split,
                            "model": model,
                            "scope": scope,
                            "auc": _auc(y_te[mask], p[mask]),
                            "n_test": int(mask.sum()),
                        }
                    )
    return pd.DataFrame(rows)


def summarise_auc(table: pd.DataFrame) -> pd.DataFrame:
    """Mean AUC per variant: over all prompts, per dataset, and ``within`` (mean of datasets)."""
    wide = table.pivot_table(index="variant", columns="scope", values="auc", aggfunc="mean")
    per_dataset = [c for c in wide.columns if c != "all"]
    wide["within"] = wide[per_dataset].mean(axis=1)
    return wide[["all", "within", *per_dataset]]
