"""A predictive router assembled from parts: prompt features → a quality model → a cost model
→ the willingness-to-pay policy. Any scikit-learn estimator can be the quality model.

Parts are parameters, so ``quality__alpha`` or ``features__dim`` reach into them (in
code with `set_params`, in a config grid by name) and `clone` copies them.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pandas as pd

from routerbench.data.benchmark import Benchmark
from routerbench.routers.base import clone
from routerbench.routers.costs import COST_KINDS, CostModel
from routerbench.routers.features import PromptFeatures
from routerbench.routers.params import (
    Constraints,
    HasMethods,
    Options,
    changed_params,
    short_value,
)
from routerbench.routers.predictive import (
    LAMBDA_CONSTRAINTS,
    PredictiveRouter,
    require_trainable,
)
from routerbench.routers.quality.base import as_quality_model, resolve_quality


class ComposedRouter(PredictiveRouter):
    """Willingness-to-pay routing on estimates from three parts, each with its own contract.

    Parameters
    ----------
    quality
        Quality model: ``fit(X, Y, mask)`` / ``predict(X) -> P̂`` (`QualityModel`),
        or any scikit-learn-style regressor or classifier (wrapped in
        `EstimatorQuality`: one clone per model). Cloned at fit, never fitted itself.
    features
        Prompt features (`PromptFeatures`: embedder, text variant, metadata,
        cache), fitted on the training prompts only.
    cost
        Cost model ĉ: a `CostModel` kind (``"mean"``, ``"regress"``, ``"legacy"``)
        or an object with ``fit(train, X)`` / ``predict(prompts, X)``.
    lambdas, max_settings
        The λ policy: ``"exact"`` (one setting per region of the exact path,
        thinned to `max_settings`), ``"paper"`` (the original 32) or a list.

    Examples
    --------
    >>> from sklearn.linear_model import Ridge
    >>> router = ComposedRouter(Ridge(), PromptFeatures("hashing"))
    >>> router.set_params(quality__alpha=10.0).get_params()["quality__alpha"]
    10.0
    """

    parameter_constraints: ClassVar[Constraints] = {
        **LAMBDA_CONSTRAINTS,
        "quality": [HasMethods(("fit", "predict"), "a quality model")],
        "features": [HasMethods(("fit", "transform"), "prompt features")],
        "cost": [Options(COST_KINDS), HasMethods(("fit", "predict"), "a cost model")],
    }

    def __init__(
        self,
        quality: Any,
        features: Any,
        *,
        cost: Any = "mean",
        lambdas: Any = "exact",
        max_settings: int = 1000,
    ) -> None:
        self.quality = quality
        self.features = features
        self.cost = cost
        self.lambdas = lambdas
        self.max_settings = max_settings

    @property
    def name(self) -> str:  # type: ignore[override]
        """The quality model's family (``"knn"``, ``"ridge"``): what the router is, in a report."""
        part = getattr(self, "quality", None)
        if part is None:
            return "composed"
        return str(getattr(as_quality_model(part), "name", type(part).__name__.lower()))

    @property
    def label(self) -> str:
        """The quality model's family and its non-default parameters: ``ridge(alpha=10.0)``."""
        part = getattr(self, "quality", None)
        try:
            changed = changed_params(part) if hasattr(part, "get_params") else {}
        except Exception:
            changed = {}
        inner = ", ".join(f"{k}={short_value(v)}" for k, v in changed.items())
        return f"{self.name}({inner})" if inner else self.name

    def _parts(self) -> tuple[Any, Any, Any]:
        """Fresh, unfitted (features, quality model, cost model) for one fit."""
        quality = as_quality_model(clone(self.quality))
        cost = CostModel(self.cost) if isinstance(self.cost, str) else clone(self.cost)
        return clone(self.features), quality, cost

    def fit(self, train: Benchmark) -> ComposedRouter:
        """Fit features on train prompts, P̂ on train outcomes, ĉ on train costs; return self."""
        self._validate_params()
        require_trainable(train, type(self).__name__)
        features, quality, cost = self._parts()
        features.fit(train)
        x = features.transform(train)
        quality.fit(x, np.array(train.quality, dtype=float), ~np.isnan(train.quality))
        cost.fit(train, x)
        self.features_ = features
        self.quality_ = quality
        self.cost_model_ = cost
        self.models_ = train.models
        self._memo: tuple[Benchmark, np.ndarray, np.ndarray] | None = None
        return self

    def _reads_prompt_columns(self) -> bool:
        # Our own parts read prompts through routerbench.routers.features' accessors; a
        # user's part or a subclass's own `_compute_prompts` may expect a DataFrame.
        return (
            type(self)._compute_prompts is ComposedRouter._compute_prompts
            and type(getattr(self, "features_", None)) is PromptFeatures
            and type(getattr(self, "cost_model_", None)) is CostModel
        )

    def _compute_prompts(self, prompts: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        x = self.features_.transform(prompts)
        return self.quality_.predict(x), self.cost_model_.predict(prompts, x)


def composed_router(
    quality: Any = "logreg",
    features: Any = None,
    cost: Any = "mean",
    lambdas: Any = "exact",
    max_settings: int = 1000,
) -> ComposedRouter:
    """Build a `ComposedRouter` from config values (registry name ``"wtp"``).

    `quality` may be a name (``"knn"``, ``"logreg"``...) or an import path
    (``"sklearn.linear_model:Ridge"``), built with its defaults; `features` may be
    None (TF-IDF + SVD on the full prompt) or an embedder spec string. A config
    then reaches into the parts: ``quality__alpha``, ``features__dim``.
    """
    part = resolve_quality(quality)
    if features is None or isinstance(features, str):
        features = PromptFeatures() if features is None else PromptFeatures(features)
    return ComposedRouter(part, features, cost=cost, lambdas=lambdas, max_settings=max_settings)
