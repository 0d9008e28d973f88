"""The built-in predictive routers as presets: a `ComposedRouter` whose parts are set by flat
parameters (``knn`` + ``n_neighbors``), so configs and results stay as they were.

``KNNRouter(40).fit(train)`` routes exactly like
``ComposedRouter(KNNQuality(40), PromptFeatures("tfidf-svd"), cost="mean").fit(train)``.
"""

from __future__ import annotations

from typing import Any, ClassVar

from routerbench.routers.base import clone
from routerbench.routers.composed import ComposedRouter
from routerbench.routers.costs import COST_KINDS, CostModel
from routerbench.routers.features import PromptFeatures
from routerbench.routers.params import Constraint, Constraints, HasMethods, OneOf, Options
from routerbench.routers.predictive import LAMBDA_CONSTRAINTS
from routerbench.routers.quality import (
    FactorQuality,
    KNNQuality,
    LogisticQuality,
    MLPQuality,
    QualityModel,
    SVRQuality,
)
from routerbench.routers.quality.logistic import DEFAULT_ALPHAS

#: Constraints of the parameters every preset shares (features, cost, λ policy).
SHARED_CONSTRAINTS: dict[str, list[Constraint]] = {
    **LAMBDA_CONSTRAINTS,
    "embedder": [
        OneOf((str,), "an embedder spec string"),
        HasMethods(("fit", "transform"), "an embedder"),
    ],
    "text": [Options(("full", "final-turn"))],
    "cost": [Options(COST_KINDS)],
}


class PresetRouter(ComposedRouter):
    """A `ComposedRouter` configured by flat parameters; subclasses name their quality model.

    Shared parameters
    -----------------
    embedder
        Spec string (``"tfidf-svd"``) or Embedder object; fitted on TRAIN prompts only.
    text
        ``"full"`` prompt or its ``"final-turn"`` (the question after few-shot exemplars).
    cost
        ĉ: ``"mean"`` (train mean per dataset), ``"regress"`` (per-prompt
        regression) or ``"legacy"`` (the paper's per-token price index).
    lambdas
        Settings: ``"exact"`` (one λ per region of the exact path),
        ``"paper"`` (the original 32 values) or explicit values.
    max_settings
        Cap on the number of exact-path settings; more regions are thinned
        evenly along the estimated cost (never using test outcomes).
    cache
        Embedding cache passed to `routerbench.embed.embed_texts` (False: none).
    """

    #: The quality model's class; its parameters are the preset's own.
    quality_class: type[QualityModel] = QualityModel
    #: Append dataset one-hots and log length to the embedding.
    uses_metadata: bool = False
    parameter_constraints: ClassVar[Constraints] = SHARED_CONSTRAINTS

    def __init__(self) -> None:  # pragma: no cover - every preset defines its own
        raise NotImplementedError

    @property
    def name(self) -> str:  # type: ignore[override]
        return self.quality_class.name

    @property
    def quality(self) -> QualityModel:  # type: ignore[override]
        """The quality model the flat parameters describe (a new object on every read)."""
        names = self.quality_class._param_names()
        return self.quality_class(**{k: getattr(self, k) for k in names})

    @property
    def features(self) -> PromptFeatures:  # type: ignore[override]
        return PromptFeatures(
            self.embedder, text=self.text, cache=self.cache, metadata=self.uses_metadata
        )

    def _parts(self) -> tuple[Any, Any, Any]:
        return self.features, self.quality, CostModel(self.cost)


class KNNRouter(PresetRouter):
    """The paper's KNN router: P̂ = mean outcome of the k nearest training prompts (`KNNQuality`)."""

    quality_class = KNNQuality
    parameter_constraints: ClassVar[Constraints] = KNNQuality.parameter_constraints

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


class MLPRouter(PresetRouter):
    """The paper's MLP router (`MLPQuality`): ``MLPRegressor``, hidden (100,) or (100, 100)."""

    quality_class = MLPQuality
    parameter_constraints: ClassVar[Constraints] = MLPQuality.parameter_constraints

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


class SVRRouter(PresetRouter):
    """The original code's linear SVR per model (`SVRQuality`)."""

    quality_class = SVRQuality
    parameter_constraints: ClassVar[Constraints] = SVRQuality.parameter_constraints

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


class LogisticRouter(PresetRouter):
    """Calibrated P(correct) per model (`LogisticQuality`) on embedding + dataset + length."""

    quality_class = LogisticQuality
    uses_metadata = True
    parameter_constraints: ClassVar[Constraints] = LogisticQuality.parameter_constraints

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


class FactorRouter(PresetRouter):
    """EmbedLLM-style low-rank logistic factor model (`FactorQuality`), rank and L2 by CV."""

    quality_class = FactorQuality
    uses_metadata = True
    parameter_constraints: ClassVar[Constraints] = FactorQuality.parameter_constraints

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
        self.alphas = alphas
        self.cv = cv
        self.random_state = random_state
        self.embedder = embedder
        self.text = text
        self.cost = cost
        self.lambdas = lambdas
        self.max_settings = max_settings
        self.cache = cache


def carrot(**params: Any) -> LogisticRouter:
    """Logistic quality plus a per-prompt cost regression (CARROT's quality-and-cost recipe)."""
    params.setdefault("cost", "regress")
    return LogisticRouter(**params)


__all__ = [
    "FactorRouter",
    "KNNRouter",
    "LogisticRouter",
    "MLPRouter",
    "PresetRouter",
    "SVRRouter",
    "carrot",
    "clone",
]
