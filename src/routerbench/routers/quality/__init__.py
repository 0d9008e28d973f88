"""Quality models: learn P̂[i, j] from prompt features (``fit(X, Y, mask)`` / ``predict(X)``).

KNN, MLP and SVR (the paper's), logistic and low-rank logistic (calibrated), and
`EstimatorQuality`, which makes any scikit-learn regressor or classifier one.
"""

from routerbench.routers.quality.base import (
    EstimatorQuality,
    QualityModel,
    as_quality_model,
    resolve_quality,
)
from routerbench.routers.quality.logistic import FactorQuality, LogisticQuality
from routerbench.routers.quality.mlp import MLPQuality
from routerbench.routers.quality.neighbors import KNNQuality
from routerbench.routers.quality.svr import SVRQuality, squared_svr

__all__ = [
    "EstimatorQuality",
    "FactorQuality",
    "KNNQuality",
    "LogisticQuality",
    "MLPQuality",
    "QualityModel",
    "SVRQuality",
    "as_quality_model",
    "resolve_quality",
    "squared_svr",
]
