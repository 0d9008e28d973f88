"""Calibrated predictive routers: per-model logistic regression and a low-rank factor model.

Both predict P(correct) with a proper loss and pick their regularisation by K-fold
cross-validation on train, which is what makes λ·P̂ − ĉ comparable across models.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from routerbench.errors import ConfigError
from routerbench.routers.logit import LogitModel, cv_select, fit_logit
from routerbench.routers.predictive import EmbeddingRouter

#: Default L2 grid: per model this is scikit-learn's C = 1 / (n · m · alpha).
DEFAULT_ALPHAS: tuple[float, ...] = (1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2)


def _check_grid(alphas: Any, cv: Any) -> tuple[tuple[float, ...], int]:
    try:
        values = tuple(float(a) for a in alphas)
    except (TypeError, ValueError):
        raise ConfigError(f"alphas must be a list of numbers, got {alphas!r}") from None
    if not values or any(not np.isfinite(a) or a <= 0 for a in values):
        raise ConfigError(f"alphas must be non-empty and > 0, got {values}")
    if int(cv) < 2:
        raise ConfigError(f"cv must be >= 2 folds, got {cv}")
    return values, int(cv)


class LogisticRouter(EmbeddingRouter):
    """P̂[i, j] = σ(b_j + w_jᵀ x_i): one L2 logistic regression per model, fitted jointly.

    Features are the prompt embedding plus one-hot datasets and log prompt
    length, so one router serves several datasets with their own base rates.
    The L2 strength is chosen from `alphas` by `cv`-fold held-out
    cross-entropy on train (shared by all models). Targets may be fractional
    quality; unmeasured cells are skipped.

    Why this beats KNN and the paper's MLP here: correctness is a weak,
    noisy function of the prompt, and an unregularised or locally averaged
    estimate is mostly noise; a tuned linear-logistic model shrinks to each
    model's base rate where the features say nothing, and stays calibrated.
    """

    name = "logreg"
    uses_metadata = True

    def __init__(
        self,
        alphas: tuple[float, ...] = DEFAULT_ALPHAS,
        cv: int = 5,
        random_state: int = 0,
        *,
        embedder: Any = "tfidf-svd",
        text: str = "final-turn",
        cost: str = "mean",
        lambdas: Any = "exact",
        max_settings: int = 1000,
        cache: Any = False,
    ) -> None:
        self.alphas = alphas
        self.cv = cv
        self.random_state = random_state
        self.embedder = embedder
        self.text = text
        self.cost = cost
        self.lambdas = lambdas
        self.max_settings = max_settings
        self.cache = cache

    def _grid(self) -> list[dict[str, Any]]:
        alphas, _ = _check_grid(self.alphas, self.cv)
        return [{"alpha": a} for a in alphas]

    def _fit_quality(self, x: np.ndarray, y: np.ndarray) -> None:
        _, folds = _check_grid(self.alphas, self.cv)
        best, scores = cv_select(x, y, self._grid(), folds=folds, seed=int(self.random_state))
        self.best_params_ = best
        self.cv_scores_ = scores
        self.model_: LogitModel = fit_logit(x, y, seed=int(self.random_state), **best)

    def _predict_quality(self, x: np.ndarray) -> np.ndarray:
        return self.model_.predict(x)


class FactorRouter(LogisticRouter):
    """P̂[i, j] = σ(b_j + (U x_i)·v_j): a low-rank logistic factor model over prompts × models.

    EmbedLLM-style matrix factorisation (arXiv 2410.02223; RouteLLM's "mf"
    router is similar): all models share a projection ``U`` of the prompt
    features into `rank` dimensions and each model has an embedding ``v_j``.
    Sharing lets every model's outcomes teach the prompt representation,
    which helps when each model alone has few labelled prompts. Rank and L2
    strength are chosen by K-fold CV on train.
    """

    name = "mf"

    def __init__(
        self,
        ranks: tuple[int, ...] = (4, 16),
        alphas: tuple[float, ...] = (1e-3, 3e-3, 1e-2, 3e-2),
        cv: int = 5,
        random_state: int = 0,
        *,
        embedder: Any = "tfidf-svd",
        text: str = "final-turn",
        cost: str = "mean",
        lambdas: Any = "exact",
        max_settings: int = 1000,
        cache: Any = False,
    ) -> None:
        self.ranks = ranks
        super().__init__(
            alphas,
            cv,
            random_state,
            embedder=embedder,
            text=text,
            cost=cost,
            lambdas=lambdas,
            max_settings=max_settings,
            cache=cache,
        )

    def _grid(self) -> list[dict[str, Any]]:
        alphas, _ = _check_grid(self.alphas, self.cv)
        try:
            ranks = tuple(int(r) for r in self.ranks)
        except (TypeError, ValueError):
            raise ConfigError(f"ranks must be a list of integers, got {self.ranks!r}") from None
        if not ranks or min(ranks) < 1:
            raise ConfigError(f"ranks must be non-empty and >= 1, got {self.ranks!r}")
        return [{"alpha": a, "rank": r} for r in ranks for a in alphas]
