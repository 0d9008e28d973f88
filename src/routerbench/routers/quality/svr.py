"""A linear support-vector quality model per model (from the paper's code, not its text)."""

from __future__ import annotations

import warnings
from typing import ClassVar

import numpy as np

from routerbench.routers.params import Constraints, Interval, Options
from routerbench.routers.quality.base import QualityModel


class SVRQuality(QualityModel):
    """P̂ from one linear support-vector regressor per model (``LinearSVR``, seed 1234).

    Not in the paper's text but in its code (``routers/svm_router.py``).
    Predictions are clipped to [0, 1].

    ``loss="squared_epsilon_insensitive"`` (default) has a closed form (ridge
    regression, see `squared_svr`), solved exactly for all models at once;
    ``loss="epsilon_insensitive"`` is the original's ``LinearSVR()`` default,
    solved in the dual, which on RouterBench-sized data does not converge within
    10,000 iterations and dominates the paper config's run time.
    """

    name = "svr"
    parameter_constraints: ClassVar[Constraints] = {
        "C": [Interval("real", 0.0, closed="neither")],
        "random_state": [Interval("int", 0), Options((None,))],
        "loss": [Options(("squared_epsilon_insensitive", "epsilon_insensitive"))],
    }

    def __init__(
        self,
        C: float = 1.0,
        random_state: int | None = 1234,
        loss: str = "squared_epsilon_insensitive",
    ) -> None:
        self.C = C
        self.random_state = random_state
        self.loss = loss

    def _fit(self, x: np.ndarray, y: np.ndarray) -> None:
        if self.loss == "squared_epsilon_insensitive":
            self.coef_, self.intercept_ = squared_svr(x, y, float(self.C))
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

    def predict(self, x: np.ndarray) -> np.ndarray:
        return np.clip(x @ self.coef_ + self.intercept_, 0.0, 1.0)


def squared_svr(x: np.ndarray, y: np.ndarray, c: float) -> tuple[np.ndarray, np.ndarray]:
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
