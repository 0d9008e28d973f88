"""The RouterBench paper's predictive routers: KNN, MLP and (from its code) a linear SVR.

Each estimates one quality per model from the prompt embedding; routing is by
willingness to pay (`EmbeddingRouter`), with the paper's price index as an option.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from routerbench.errors import ConfigError
from routerbench.routers.predictive import EmbeddingRouter


def _column_means(y: np.ndarray) -> np.ndarray:
    mask = ~np.isnan(y)
    return np.where(mask, y, 0.0).sum(axis=0) / np.maximum(mask.sum(axis=0), 1)


class KNNRouter(EmbeddingRouter):
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
    embedder, text, cost, lambdas, max_settings, cache
        See `EmbeddingRouter`.
    """

    name = "knn"

    def __init__(
        self,
        n_neighbors: int = 10,
        metric: str = "cosine",
        *,
        embedder: Any = "tfidf-svd",
        text: str = "full",
        cost: str = "mean",
        lambdas: Any = "exact",
        max_settings: int = 1000,
        cache: Any = False,
    ) -> None:
        self.n_neighbors = n_neighbors
        self.metric = metric
        self.embedder = embedder
        self.text = text
        self.cost = cost
        self.lambdas = lambdas
        self.max_settings = max_settings
        self.cache = cache

    @property
    def label(self) -> str:
        return f"knn(k={self.n_neighbors})"

    def _fit_quality(self, x: np.ndarray, y: np.ndarray) -> None:
        from sklearn.neighbors import NearestNeighbors

        k = int(self.n_neighbors)
        if k < 1:
            raise ConfigError(f"n_neighbors must be >= 1, got {self.n_neighbors}")
        self.k_ = min(k, x.shape[0])
        self.nn_ = NearestNeighbors(n_neighbors=self.k_, metric=self.metric, algorithm="brute")
        self.nn_.fit(x)
        self.train_quality_ = y
        self.prior_ = _column_means(y)

    def _predict_quality(self, x: np.ndarray) -> np.ndarray:
        idx = self.nn_.kneighbors(x, return_distance=False)  # [n, k]
        vals = self.train_quality_[idx]  # [n, k, m]
        seen = ~np.isnan(vals)
        counts = seen.sum(axis=1)
        sums = np.where(seen, vals, 0.0).sum(axis=1)
        return np.where(counts > 0, sums / np.maximum(counts, 1), self.prior_)


class MLPRouter(EmbeddingRouter):
    """P̂ from a multi-layer perceptron regressor on the prompt embedding.

    The paper's MLP router: hidden layers (100,) or (100, 100), ReLU, Adam at
    learning rate 0.001, up to 200 epochs, seed 1234. By default one multi-output
    ``MLPRegressor`` predicts all models (shared hidden layers, one fit);
    ``per_model=True`` fits one network per model on its measured rows, as
    the original code did. Predictions are clipped to [0, 1].

    ``early_stopping=True`` (default) holds out 10% of the training prompts and
    stops when their loss stops improving: on 0/1 targets a network trained the
    full 200 epochs mostly memorises noise, and stopping early makes the paper
    config several times faster. ``early_stopping=False`` trains the original's
    fixed 200 epochs.
    """

    name = "mlp"

    def __init__(
        self,
        hidden_layer_sizes: tuple[int, ...] = (100,),
        activation: str = "relu",
        learning_rate_init: float = 0.001,
        max_iter: int = 200,
        per_model: bool = False,
        random_state: int = 1234,
        early_stopping: bool = True,
        *,
        embedder: Any = "tfidf-svd",
        text: str = "full",
        cost: str = "mean",
        lambdas: Any = "exact",
        max_settings: int = 1000,
        cache: Any = False,
    ) -> None:
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.learning_rate_init = learning_rate_init
        self.max_iter = max_iter
        self.per_model = per_model
        self.random_state = random_state
        self.early_stopping = early_stopping
        self.embedder = embedder
        self.text = text
        self.cost = cost
        self.lambdas = lambdas
        self.max_settings = max_settings
        self.cache = cache

    @property
    def label(self) -> str:
        return f"mlp{tuple(self.hidden_layer_sizes)}"

    def _network(self) -> Any:
        from sklearn.neural_network import MLPRegressor

        return MLPRegressor(
            hidden_layer_sizes=tuple(self.hidden_layer_sizes),
            activation=self.activation,
            learning_rate_init=float(self.learning_rate_init),
            max_iter=int(self.max_iter),
            random_state=self.random_state,
            early_stopping=bool(self.early_stopping),
        )

    def _fit_quality(self, x: np.ndarray, y: np.ndarray) -> None:
        from sklearn.exceptions import ConvergenceWarning

        self.prior_ = _column_means(y)
        complete = not np.isnan(y).any()
        with warnings.catch_warnings():
            # 200 epochs is the paper's budget, converged or not.
            warnings.simplefilter("ignore", ConvergenceWarning)
            if complete and not self.per_model:
                self.nets_ = [self._network().fit(x, y)]
                return
            nets = []
            for j in range(y.shape[1]):  # original code's one network per model
                ok = ~np.isnan(y[:, j])
                nets.append(self._network().fit(x[ok], y[ok, j]))
            self.nets_ = nets

    def _predict_quality(self, x: np.ndarray) -> np.ndarray:
        if len(self.nets_) == 1:
            out = np.asarray(self.nets_[0].predict(x), dtype=float).reshape(x.shape[0], -1)
        else:
            out = np.column_stack([net.predict(x) for net in self.nets_])
        return np.clip(out, 0.0, 1.0)


class SVRRouter(EmbeddingRouter):
    """P̂ from one linear support-vector regressor per model (``LinearSVR``, seed 1234).

    Not in the paper's text but in its code (``routers/svm_router.py``).
    Predictions are clipped to [0, 1].

    ``loss="squared_epsilon_insensitive"`` (default) has a closed form (ridge
    regression, see `_squared_svr`), solved exactly for all models at once;
    ``loss="epsilon_insensitive"`` is the original's ``LinearSVR()`` default,
    solved in the dual, which on RouterBench-sized data does not converge within
    10,000 iterations and dominates the paper config's run time.
    """

    name = "svr"

    def __init__(
        self,
        C: float = 1.0,
        random_state: int = 1234,
        loss: str = "squared_epsilon_insensitive",
        *,
        embedder: Any = "tfidf-svd",
        text: str = "full",
        cost: str = "mean",
        lambdas: Any = "exact",
        max_settings: int = 1000,
        cache: Any = False,
    ) -> None:
        self.C = C
        self.random_state = random_state
        self.loss = loss
        self.embedder = embedder
        self.text = text
        self.cost = cost
        self.lambdas = lambdas
        self.max_settings = max_settings
        self.cache = cache

    def _fit_quality(self, x: np.ndarray, y: np.ndarray) -> None:
        if self.loss == "squared_epsilon_insensitive":
            self.coef_, self.intercept_ = _squared_svr(x, y, float(self.C))
            return
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.svm import LinearSVR

        coefs, intercepts = [], []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            for j in range(y.shape[1]):  # one regressor per model, as in the original
                ok = ~np.isnan(y[:, j])
                reg = LinearSVR(
                    C=float(self.C),
                    loss=self.loss,
                    dual=True,
                    random_state=self.random_state,
                    max_iter=10_000,
                ).fit(x[ok], y[ok, j])
                coefs.append(reg.coef_)
                intercepts.append(float(np.ravel(reg.intercept_)[0]))
        self.coef_ = np.column_stack(coefs)
        self.intercept_ = np.asarray(intercepts)

    def _predict_quality(self, x: np.ndarray) -> np.ndarray:
        return np.clip(x @ self.coef_ + self.intercept_, 0.0, 1.0)


def _squared_svr(x: np.ndarray, y: np.ndarray, c: float) -> tuple[np.ndarray, np.ndarray]:
    """Exact solution of liblinear's primal L2-loss SVR (epsilon 0) for every model at once.

    ``LinearSVR(loss="squared_epsilon_insensitive", dual=False)`` minimises
    ``0.5 |w|^2 + C sum (y - w.x - b)^2`` with the intercept as a regularised
    feature of value 1; that is ridge regression with alpha = 1 / (2C), solved
    here in closed form for all models in one factorisation (per model only
    where some cells are missing), instead of eleven iterative solves.
    """
    xa = np.hstack([x, np.ones((x.shape[0], 1), dtype=x.dtype)]).astype(np.float64)
    eye = np.eye(xa.shape[1])
    if not np.isnan(y).any():
        w = np.linalg.solve(2.0 * c * (xa.T @ xa) + eye, 2.0 * c * (xa.T @ y))
    else:
        cols = []
        for j in range(y.shape[1]):
            ok = ~np.isnan(y[:, j])
            xo = xa[ok]
            cols.append(np.linalg.solve(2.0 * c * (xo.T @ xo) + eye, 2.0 * c * (xo.T @ y[ok, j])))
        w = np.column_stack(cols)
    return w[:-1], w[-1]
