"""The paper's KNN quality model: P̂ = mean outcome of the k nearest training prompts."""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from routerbench.routers.params import Constraints, Interval, OneOf
from routerbench.routers.quality.base import QualityModel, column_means


class KNNQuality(QualityModel):
    """P̂[i, j] = mean quality of model j over prompt i's k nearest training prompts.

    The paper's KNN router (k = 5, 10, 40; cosine distance). On fully measured
    data this equals scikit-learn's multi-output ``KNeighborsRegressor``
    (uniform weights); unmeasured neighbour cells are skipped (a NaN-aware
    mean), falling back to the model's train mean if all k are unmeasured.

    Parameters
    ----------
    n_neighbors
        k (capped at the number of training prompts).
    metric
        Any scikit-learn ``NearestNeighbors`` metric; the paper used cosine.
    """

    name = "knn"
    parameter_constraints: ClassVar[Constraints] = {
        "n_neighbors": [Interval("int", 1)],
        "metric": [OneOf((str,), "a metric name")],
    }

    def __init__(self, n_neighbors: int = 10, metric: str = "cosine") -> None:
        self.n_neighbors = n_neighbors
        self.metric = metric

    def _fit(self, x: np.ndarray, y: np.ndarray) -> None:
        from sklearn.neighbors import NearestNeighbors

        self.k_ = min(int(self.n_neighbors), x.shape[0])
        self.nn_ = NearestNeighbors(n_neighbors=self.k_, metric=self.metric, algorithm="brute")
        self.nn_.fit(x)
        self.train_quality_ = y
        self.prior_ = column_means(y)

    def predict(self, x: np.ndarray) -> np.ndarray:
        idx = self.nn_.kneighbors(x, return_distance=False)  # [n, k]
        vals = self.train_quality_[idx]  # [n, k, m]
        seen = ~np.isnan(vals)
        counts = seen.sum(axis=1)
        sums = np.where(seen, vals, 0.0).sum(axis=1)
        return np.where(counts > 0, sums / np.maximum(counts, 1), self.prior_)
