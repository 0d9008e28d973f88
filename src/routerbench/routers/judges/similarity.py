"""Agreement between free-text answers: how alike two responses are, from their words alone.

Multiple-choice, numeric and code answers agree when their answer keys (or
their programs' results) are the same. A free-text answer has no key to
compare: two models that both answer "The capital is Canberra" and "Canberra,
of course" agree, yet their texts differ. Here two responses agree by the
cosine similarity of their word and word-pair counts, in [0, 1] (1 for the same
words in the same order).

The vectoriser is scikit-learn's `HashingVectorizer`: it learns nothing, so the
agreement of two responses is a function of those two responses alone — what a
cascade that called just those two models would compute — and no vocabulary
fitted on some rows leaks into others.
"""

from __future__ import annotations

import numpy as np

#: Hashed feature space (2^18 columns: collisions between a pair's words are rare).
N_FEATURES = 2**18


def text_agreement(texts: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """``[n, m, m]`` cosine similarity of each pair of a prompt's responses, 0 where either
    is not `valid`; the diagonal is `valid` (an answer agrees with itself)."""
    from sklearn.feature_extraction.text import HashingVectorizer

    arr = np.asarray(texts, dtype=object)
    n, m = arr.shape
    flat = [t if isinstance(t, str) else "" for t in arr.ravel()]
    vec = HashingVectorizer(
        n_features=N_FEATURES, ngram_range=(1, 2), alternate_sign=False, norm="l2"
    )
    x = vec.transform(flat).tocsr()  # row i * m + j: prompt i, model j
    out = np.zeros((n, m, m))
    rows = np.arange(n) * m
    for j in range(m):
        xj = x[rows + j]
        for k in range(j + 1, m):
            sim = np.asarray(xj.multiply(x[rows + k]).sum(axis=1)).ravel()
            out[:, j, k] = out[:, k, j] = np.clip(sim, 0.0, 1.0)
    both = valid[:, :, None] & valid[:, None, :]
    out = np.where(both, out, 0.0)
    out[:, np.arange(m), np.arange(m)] = valid
    return out
