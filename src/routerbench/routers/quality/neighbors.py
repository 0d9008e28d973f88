"""The paper's KNN quality model: P̂ = mean outcome of the k nearest training prompts."""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from routerbench.routers.params import Constraints, Interval, OneOf
from routerbench.routers.quality.base import QualityModel, column_means

#: Largest batch the direct cosine search handles; larger ones go to scikit-learn, which
#: chunks the distance matrix by memory (a small batch is always a single chunk there).
DIRECT_MAX_ROWS = 64


def _unit_rows(x: np.ndarray) -> np.ndarray:
    """Rows divided by their L2 norm, exactly as ``sklearn.preprocessing.normalize`` does.

    Same operations in the same order (``einsum`` row norms, ``sqrt``, near-zero
    norms replaced by 1, in-place division), so the values are bit-identical.
    """
    out = np.array(x, order="C", copy=True)
    norms = np.sqrt(np.einsum("ij,ij->i", out, out))
    norms[norms < 10 * np.finfo(norms.dtype).eps] = 1.0
    out /= norms[:, None]
    return out


def cosine_kneighbors(x: np.ndarray, unit_train: np.ndarray, k: int) -> np.ndarray:
    """``[n, k]`` indices of the `k` nearest rows of `unit_train` by cosine distance.

    Reproduces scikit-learn's brute-force ``kneighbors`` (metric ``"cosine"``)
    step by step: the distance ``clip(1 - x̂ · ŷᵀ, 0, 2)`` from the same BLAS
    product, then the same ``argpartition`` and ``argsort`` calls, so neighbours
    and their tie order are identical; it only skips input validation and the
    per-call re-normalisation of the training matrix.

    Parameters
    ----------
    x
        ``[n, d]`` query rows, the dtype of `unit_train`.
    unit_train
        ``[n_train, d]`` C-contiguous training rows, normalised by `_unit_rows`.
    k
        Neighbours per row, at most ``n_train``.
    """
    dist = _unit_rows(x) @ unit_train.T
    dist *= -1
    dist += 1
    dist = np.clip(dist, 0.0, 2.0)
    sample_range = np.arange(dist.shape[0])[:, None]
    neigh = np.argpartition(dist, k - 1, axis=1)[:, :k]
    return neigh[sample_range, np.argsort(dist[sample_range, neigh])]


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

    def _neighbors(self, x: np.ndarray) -> np.ndarray:
        """``[n, k]`` neighbour indices, as ``self.nn_.kneighbors`` returns them.

        A small cosine batch (a server's request) takes `cosine_kneighbors` on a
        cached unit-row training matrix: the same neighbours in the same order,
        without scikit-learn's fixed per-call cost (validation, re-normalising
        every training row). Everything else goes to scikit-learn.
        """
        fit_x = getattr(self.nn_, "_fit_X", None)
        if (
            self.metric == "cosine"
            and isinstance(x, np.ndarray)
            and isinstance(fit_x, np.ndarray)
            and x.ndim == 2
            and 0 < x.shape[0] <= DIRECT_MAX_ROWS
            and x.shape[1] == fit_x.shape[1]
            and x.dtype == fit_x.dtype
            and x.dtype in (np.float32, np.float64)
            and np.isfinite(x).all()
        ):
            unit = self.__dict__.get("_unit_train")
            if unit is None or unit.shape != fit_x.shape or unit.dtype != fit_x.dtype:
                unit = _unit_rows(fit_x)
                unit.setflags(write=False)
                self._unit_train = unit
            return cosine_kneighbors(x, unit, self.k_)
        return self.nn_.kneighbors(x, return_distance=False)

    def __getstate__(self) -> dict:
        # The unit-row matrix is derived from nn_ and rebuilt on first use: never saved.
        state = dict(self.__dict__)
        state.pop("_unit_train", None)
        return state

    def predict(self, x: np.ndarray) -> np.ndarray:
        # sorted, so the mean does not depend on the order of tied neighbours (scikit-learn
        # >= 1.9 orders ties differently between the chunks of one large batch)
        idx = np.sort(self._neighbors(x), axis=1)  # [n, k]
        vals = self.train_quality_[idx]  # [n, k, m]
        seen = ~np.isnan(vals)
        counts = seen.sum(axis=1)
        sums = np.where(seen, vals, 0.0).sum(axis=1)
        return np.where(counts > 0, sums / np.maximum(counts, 1), self.prior_)
