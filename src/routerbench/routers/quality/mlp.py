"""The paper's MLP quality model: a multi-layer perceptron regressor on prompt features."""

from __future__ import annotations

import warnings
from typing import Any, ClassVar

import numpy as np

from routerbench.routers.params import Constraints, Interval, Options, SequenceOf
from routerbench.routers.quality.base import QualityModel, column_means


class MLPQuality(QualityModel):
    """P̂ from scikit-learn's ``MLPRegressor``, clipped to [0, 1].

    The paper's MLP: hidden layers (100,) or (100, 100), ReLU, Adam at learning
    rate 0.001, up to 200 epochs, seed 1234. By default one multi-output network
    predicts all models (shared hidden layers, one fit); ``per_model=True`` fits
    one network per model on its measured rows, as the original code did (also
    what happens when cells are missing).

    ``early_stopping=True`` (default) holds out 10% of the training prompts and
    stops when their loss stops improving: on 0/1 targets a network trained the
    full 200 epochs mostly memorises noise, and stopping early makes the paper
    config several times faster. ``early_stopping=False`` trains the original's
    fixed 200 epochs.
    """

    name = "mlp"
    parameter_constraints: ClassVar[Constraints] = {
        "hidden_layer_sizes": [SequenceOf(Interval("int", 1))],
        "activation": [Options(("identity", "logistic", "tanh", "relu"))],
        "learning_rate_init": [Interval("real", 0.0, closed="neither")],
        "max_iter": [Interval("int", 1)],
        "per_model": [Options((True, False))],
        "random_state": [Interval("int", 0), Options((None,))],
        "early_stopping": [Options((True, False))],
    }

    def __init__(
        self,
        hidden_layer_sizes: tuple[int, ...] = (100,),
        activation: str = "relu",
        learning_rate_init: float = 0.001,
        max_iter: int = 200,
        per_model: bool = False,
        random_state: int | None = 1234,
        early_stopping: bool = True,
    ) -> None:
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.learning_rate_init = learning_rate_init
        self.max_iter = max_iter
        self.per_model = per_model
        self.random_state = random_state
        self.early_stopping = early_stopping

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

    def _fit(self, x: np.ndarray, y: np.ndarray) -> None:
        from sklearn.exceptions import ConvergenceWarning

        self.prior_ = column_means(y)
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

    def predict(self, x: np.ndarray) -> np.ndarray:
        if len(self.nets_) == 1:
            out = np.asarray(self.nets_[0].predict(x), dtype=float).reshape(x.shape[0], -1)
        else:
            out = np.column_stack([net.predict(x) for net in self.nets_])
        return np.clip(out, 0.0, 1.0)
