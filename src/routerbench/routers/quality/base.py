"""The quality-model contract: ``fit(X, Y, mask)`` on prompt features, ``predict(X) -> P̂``.

Any scikit-learn regressor or classifier plugs in through `EstimatorQuality` (one clone
per model on its measured rows), so a predictive router needs no subclass of ours.
"""

from __future__ import annotations

import warnings
from typing import Any, ClassVar

import numpy as np

from routerbench.errors import ConfigError
from routerbench.routers.params import Constraints, HasMethods, Params


def column_means(y: np.ndarray) -> np.ndarray:
    """NaN-aware mean of each column (0 for a column with no measured cell)."""
    mask = ~np.isnan(y)
    return np.where(mask, y, 0.0).sum(axis=0) / np.maximum(mask.sum(axis=0), 1)


def masked_targets(y: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
    """`y` as float with cells outside `mask` (unmeasured) set to NaN."""
    out = np.array(y, dtype=float)
    if mask is not None:
        m = np.asarray(mask, dtype=bool)
        if m.shape != out.shape:
            raise ValueError(f"mask has shape {m.shape}, expected {out.shape} like Y")
        out[~m] = np.nan
    return out


class QualityModel(Params):
    """Learns P̂[i, j], the quality model j would reach on prompt i, from prompt features.

    Subclasses implement `_fit(x, y)` (``y`` ``[n, m]`` with NaN for unmeasured
    cells) and `predict(x)`; the constructor only stores parameters.
    """

    #: Family name a composed router reports (``"knn"``, ``"logreg"``).
    name: str = "quality"

    def fit(self, x: np.ndarray, y: np.ndarray, mask: np.ndarray | None = None) -> QualityModel:
        """Fit on features ``[n, d]`` and targets ``[n, m]`` (``mask``: measured cells; default
        every non-NaN cell); return self."""
        from routerbench.routers.params import validate_params

        validate_params(self)
        self._fit(np.asarray(x), masked_targets(y, mask))
        return self

    def _fit(self, x: np.ndarray, y: np.ndarray) -> None:
        raise NotImplementedError

    def predict(self, x: np.ndarray) -> np.ndarray:
        """P̂ ``[n, m]``."""
        raise NotImplementedError


class EstimatorQuality(QualityModel):
    """Any scikit-learn-style estimator as a quality model: one clone per model.

    Each model's clone is fitted on the rows where that model was measured. A
    classifier (it has ``predict_proba``) learns ``quality >= threshold`` and
    predicts the probability of the positive class; a regressor learns quality
    directly and its predictions are clipped to [0, 1]. A model whose training
    targets are all equal gets that constant (a classifier cannot fit one class).

    Parameters
    ----------
    estimator
        Unfitted estimator with ``fit(X, y)`` and ``predict(X)`` (cloned, never fitted itself).
    threshold
        Quality at or above which a classifier's target is positive.
    """

    parameter_constraints: ClassVar[Constraints] = {
        "estimator": [HasMethods(("fit", "predict"), "an estimator")],
    }

    def __init__(self, estimator: Any, threshold: float = 0.5) -> None:
        self.estimator = estimator
        self.threshold = threshold

    @property
    def name(self) -> str:  # type: ignore[override]
        return type(self.estimator).__name__.lower()

    def _is_classifier(self) -> bool:
        return callable(getattr(self.estimator, "predict_proba", None))

    def _fit(self, x: np.ndarray, y: np.ndarray) -> None:
        from sklearn.base import clone

        classifier = self._is_classifier()
        fitted: list[Any] = []
        constants: list[float] = []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", category=UserWarning)
            for j in range(y.shape[1]):  # one small estimator per model
                ok = ~np.isnan(y[:, j])
                target = y[ok, j]
                if classifier:
                    target = (target >= float(self.threshold)).astype(int)
                if target.size == 0:
                    raise ConfigError(f"{self.name}: model {j} has no measured training quality")
                if np.all(target == target[0]):
                    fitted.append(None)
                    constants.append(float(target[0]))
                    continue
                try:
                    est = clone(self.estimator).fit(x[ok], target)
                except (TypeError, ValueError) as exc:
                    raise ConfigError(
                        f"{self.name}: fitting {type(self.estimator).__name__} failed ({exc})"
                    ) from None
                fitted.append(est)
                constants.append(float("nan"))
        self.estimators_ = fitted
        self.constants_ = np.asarray(constants)
        self.classifier_ = classifier

    def predict(self, x: np.ndarray) -> np.ndarray:
        cols = []
        for est, const in zip(self.estimators_, self.constants_):
            if est is None:
                cols.append(np.full(x.shape[0], const))
            elif self.classifier_:
                proba = est.predict_proba(x)
                cols.append(proba[:, list(est.classes_).index(1)])
            else:
                cols.append(np.asarray(est.predict(x), dtype=float).ravel())
        return np.clip(np.column_stack(cols), 0.0, 1.0)


#: Quality-model names a composed router's ``quality`` spec may use.
_QUALITY_NAMES: dict[str, str] = {
    "knn": "routerbench.routers.quality.neighbors:KNNQuality",
    "mlp": "routerbench.routers.quality.mlp:MLPQuality",
    "svr": "routerbench.routers.quality.svr:SVRQuality",
    "logreg": "routerbench.routers.quality.logistic:LogisticQuality",
    "mf": "routerbench.routers.quality.logistic:FactorQuality",
}


def resolve_quality(spec: Any) -> Any:
    """A quality model from a spec: a name (``"knn"``), an import path
    (``"sklearn.linear_model:Ridge"``, built with defaults) or an object (returned as is)."""
    if not isinstance(spec, str):
        return spec
    from routerbench.routers.registry import import_path

    path = _QUALITY_NAMES.get(spec, spec)
    if ":" not in path:
        raise ConfigError(
            f"unknown quality model {spec!r}; known: {', '.join(_QUALITY_NAMES)}, or an import "
            "path such as 'sklearn.linear_model:Ridge'"
        )
    factory = import_path(path, spec)
    if not callable(factory):
        raise ConfigError(f"quality model {spec!r} names {factory!r}, which is not callable")
    try:
        return factory()
    except TypeError as exc:
        raise ConfigError(
            f"quality model {spec!r} cannot be built without arguments ({exc})"
        ) from None


def as_quality_model(obj: Any) -> QualityModel:
    """`obj` itself if it speaks the quality contract, else wrapped in `EstimatorQuality`."""
    if isinstance(obj, QualityModel):
        return obj
    if callable(getattr(obj, "fit", None)) and callable(getattr(obj, "predict", None)):
        return EstimatorQuality(obj)
    raise ConfigError(f"a quality model needs fit(X, Y) and predict(X); got {type(obj).__name__}")
