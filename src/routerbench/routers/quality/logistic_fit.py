"""Multi-output logistic regression with missing cells, full or low-rank, tuned by K-fold CV.

One L-BFGS problem fits every model at once (dense [n, d] @ [d, m] products, no loop
over models), takes soft targets (quality in [0, 1]) and skips unmeasured cells.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.optimize import minimize


@dataclass(frozen=True)
class LogitModel:
    """Fitted logits ``Z = X @ W + b`` with ``W = U @ V.T`` when low-rank (``V`` not None)."""

    bias: np.ndarray
    weights: np.ndarray
    factors: np.ndarray | None = None

    def logits(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=float)
        if self.factors is None:
            return x @ self.weights + self.bias
        return (x @ self.weights) @ self.factors.T + self.bias

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Probabilities ``[n, m]``."""
        z = self.logits(x)
        return np.exp(-np.logaddexp(0.0, -z))


def _prior_logit(y: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Per-model log-odds of the mean target: the intercept-only solution, a safe start."""
    mean = np.where(mask, y, 0.0).sum(axis=0) / np.maximum(mask.sum(axis=0), 1)
    mean = np.clip(mean, 1e-4, 1 - 1e-4)
    return np.log(mean / (1 - mean))


def fit_logit(
    x: np.ndarray,
    y: np.ndarray,
    *,
    alpha: float,
    rank: int | None = None,
    seed: int = 0,
    max_iter: int = 500,
) -> LogitModel:
    """Minimise mean masked cross-entropy + (alpha / 2) · squared weights.

    Parameters
    ----------
    x
        ``[n, d]`` features.
    y
        ``[n, m]`` targets in [0, 1]; NaN cells are left out of the loss.
    alpha
        L2 strength on the weights (not the intercepts). Per model this is
        scikit-learn's ``C = 1 / (n · m · alpha)``.
    rank
        None: one independent weight vector per model. An int r: ``W = U Vᵀ``
        with ``U [d, r]`` shared by all models and ``V [m, r]`` a per-model
        embedding (EmbedLLM-style matrix factorisation, arXiv 2410.02223): the
        models pool their outcomes to learn one low-dimensional prompt space.
    seed
        Initialisation of the low-rank factors (the full-rank problem is convex).
    """
    xf = np.asarray(x, dtype=float)
    mask = ~np.isnan(y)
    yt = np.where(mask, y, 0.0)
    _n, d = xf.shape
    m = yt.shape[1]
    count = max(int(mask.sum()), 1)
    b0 = _prior_logit(yt, mask)

    if rank is None:
        shapes = [(m,), (d, m)]
        start = [b0, np.zeros((d, m))]
    else:
        r = int(rank)
        rng = np.random.default_rng(seed)
        shapes = [(m,), (d, r), (m, r)]
        start = [b0, rng.normal(0, 0.1, (d, r)), rng.normal(0, 0.1, (m, r))]
    sizes = [int(np.prod(s)) for s in shapes]
    cuts = np.cumsum(sizes)[:-1]

    def unpack(theta: np.ndarray) -> list[np.ndarray]:
        return [part.reshape(s) for part, s in zip(np.split(theta, cuts), shapes)]

    def objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
        parts = unpack(theta)
        if rank is None:
            b, w = parts
            z = xf @ w + b
        else:
            b, u, v = parts
            xu = xf @ u
            z = xu @ v.T + b
        loss_cells = np.logaddexp(0.0, z) - yt * z
        prob = np.exp(-np.logaddexp(0.0, -z))
        g = np.where(mask, prob - yt, 0.0) / count
        loss = float(np.sum(loss_cells[mask]) / count)
        grad_b = g.sum(axis=0)
        if rank is None:
            loss += 0.5 * alpha * float(np.sum(w * w))
            grads = [grad_b, xf.T @ g + alpha * w]
        else:
            loss += 0.5 * alpha * float(np.sum(u * u) + np.sum(v * v))
            grads = [grad_b, xf.T @ (g @ v) + alpha * u, g.T @ xu + alpha * v]
        return loss, np.concatenate([gr.ravel() for gr in grads])

    theta0 = np.concatenate([s.ravel() for s in start])
    res = minimize(
        objective, theta0, jac=True, method="L-BFGS-B", options={"maxiter": int(max_iter)}
    )
    parts = unpack(res.x)
    if rank is None:
        return LogitModel(parts[0], parts[1])
    return LogitModel(parts[0], parts[1], parts[2])


def heldout_loss(model: LogitModel, x: np.ndarray, y: np.ndarray) -> float:
    """Mean cross-entropy over measured cells: the score CV minimises (proper, so it rewards
    calibration, which λ·P̂ − ĉ needs since it compares P̂ across models)."""
    mask = ~np.isnan(y)
    z = model.logits(x)
    cells = np.logaddexp(0.0, z) - np.where(mask, y, 0.0) * z
    return float(cells[mask].mean()) if mask.any() else 0.0


def cv_select(
    x: np.ndarray,
    y: np.ndarray,
    grid: Sequence[Mapping[str, Any]],
    *,
    folds: int = 5,
    seed: int = 0,
) -> tuple[dict[str, Any], np.ndarray]:
    """The grid entry with the lowest K-fold held-out cross-entropy, and every entry's score.

    Folds are a seeded permutation of the prompts, so the choice is
    reproducible; each entry is a dict of `fit_logit` keyword arguments.
    """
    n = x.shape[0]
    k = int(min(folds, n))
    if k < 2 or len(grid) == 1:
        return dict(grid[0]), np.zeros(1)
    perm = np.random.default_rng(seed).permutation(n)
    parts = np.array_split(perm, k)
    scores = np.zeros(len(grid))
    for f in range(k):  # a handful of folds
        held = parts[f]
        keep = np.concatenate([parts[g] for g in range(k) if g != f])
        for e, params in enumerate(grid):  # a handful of grid points
            model = fit_logit(x[keep], y[keep], seed=seed, **params)
            scores[e] += heldout_loss(model, x[held], y[held]) / k
    return dict(grid[int(np.argmin(scores))]), scores
