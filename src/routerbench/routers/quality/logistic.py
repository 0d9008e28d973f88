"""Calibrated quality models: per-model logistic regression and a low-rank factor model.

Both predict P(correct) with a proper loss and pick their regularisation by K-fold
cross-validation on train, which is what makes λ·P̂ − ĉ comparable across models.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from routerbench.routers.params import Constraints, Interval, SequenceOf
from routerbench.routers.quality.base import QualityModel
from routerbench.routers.quality.logistic_fit import LogitModel, cv_select, fit_logit

#: Default L2 grid: per model this is scikit-learn's C = 1 / (n · m · alpha).
DEFAULT_ALPHAS: tuple[float, ...] = (1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2)


class LogisticQuality(QualityModel):
    """P̂[i, j] = σ(b_j + w_jᵀ x_i): one L2 logistic regression per model, fitted jointly.

    The L2 strength is chosen from `alphas` by `cv`-fold held-out cross-entropy
    on train (shared by all models). Targets may be fractional quality;
    unmeasured cells are skipped.

    Why this beats KNN and the paper's MLP here: correctness is a weak,
    noisy function of the prompt, and an unregularised or locally averaged
    estimate is mostly noise; a tuned linear-logistic model shrinks to each
    model's base rate where the features say nothing, and stays calibrated.
    """

    name = "logreg"
    parameter_constraints: ClassVar[Constraints] = {
        "alphas": [SequenceOf(Interval("real", 0.0, closed="neither"))],
        "cv": [Interval("int", 2)],
        "random_state": [Interval("int", 0)],
    }

    def __init__(
        self,
        alphas: tuple[float, ...] = DEFAULT_ALPHAS,
        cv: int = 5,
        random_state: int = 0,
    ) -> None:
        self.alphas = alphas
        self.cv = cv
        self.random_state = random_state

    def _grid(self) -> list[dict[str, Any]]:
        return [{"alpha": float(a)} for a in self.alphas]

    def _fit(self, x: np.ndarray, y: np.ndarray) -> None:
        seed = int(self.random_state)
        best, scores = cv_select(x, y, self._grid(), folds=int(self.cv), seed=seed)
        self.best_params_ = best
        self.cv_scores_ = scores
        self.model_: LogitModel = fit_logit(x, y, seed=seed, **best)

    def predict(self, x: np.ndarray) -> np.ndarray:
        return self.model_.predict(x)


class FactorQuality(LogisticQuality):
    """P̂[i, j] = σ(b_j + (U x_i)·v_j): a low-rank logistic factor model over prompts × models.

    EmbedLLM-style matrix factorisation (arXiv 2410.02223; RouteLLM's "mf"
    router is similar): all models share a projection ``U`` of the prompt
    features into `rank` dimensions and each model has an embedding ``v_j``.
    Sharing lets every model's outcomes teach the prompt representation,
    which helps when each model alone has few labelled prompts. Rank and L2
    strength are chosen by K-fold CV on train.
    """

    name = "mf"
    parameter_constraints: ClassVar[Constraints] = {"ranks": [SequenceOf(Interval("int", 1))]}

    def __init__(
        self,
        ranks: tuple[int, ...] = (4, 16),
        alphas: tuple[float, ...] = (1e-3, 3e-3, 1e-2, 3e-2),
        cv: int = 5,
        random_state: int = 0,
    ) -> None:
        self.ranks = ranks
        self.alphas = alphas
        self.cv = cv
        self.random_state = random_state

    def _grid(self) -> list[dict[str, Any]]:
        return [{"alpha": float(a), "rank": int(r)} for r in self.ranks for a in self.alphas]
