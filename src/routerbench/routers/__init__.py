"""Routers: the contract, baselines, predictive routers composed from parts, cascade, rerank.

`get_router(spec)` builds any of them by name; `check_router` checks one against the
contract; `save_router` / `load_router` (in `routerbench.routers.artifact`) store one.
"""

from routerbench.routers.base import Router, clone
from routerbench.routers.baselines import (
    OracleRouter,
    RandomRouter,
    SingleModelRouter,
    TrainedZeroRouter,
    ZeroRouterBaseline,
)
from routerbench.routers.checks import (
    RouterCheckError,
    check_bench,
    check_router,
    parametrize_with_router_checks,
    router_checks,
)
from routerbench.routers.composed import ComposedRouter
from routerbench.routers.control import PriorRouter
from routerbench.routers.costs import CostModel
from routerbench.routers.features import PromptFeatures
from routerbench.routers.params import ContractError, RouterTags, router_tags
from routerbench.routers.predictive import PredictiveRouter, WtpRouter
from routerbench.routers.presets import (
    FactorRouter,
    KNNRouter,
    LogisticRouter,
    MLPRouter,
    SVRRouter,
)
from routerbench.routers.quality import (
    EstimatorQuality,
    FactorQuality,
    KNNQuality,
    LogisticQuality,
    MLPQuality,
    QualityModel,
    SVRQuality,
)
from routerbench.routers.ranking import NotPredictiveError, Ranking
from routerbench.routers.registry import available, get_router, register, unregister
from routerbench.routers.wtp import PAPER_LAMBDAS, WtpPath, wtp_choice, wtp_path, wtp_rank

__all__ = [
    "PAPER_LAMBDAS",
    "ComposedRouter",
    "ContractError",
    "CostModel",
    "EstimatorQuality",
    "FactorQuality",
    "FactorRouter",
    "KNNQuality",
    "KNNRouter",
    "LogisticQuality",
    "LogisticRouter",
    "MLPQuality",
    "MLPRouter",
    "NotPredictiveError",
    "OracleRouter",
    "PredictiveRouter",
    "PriorRouter",
    "PromptFeatures",
    "QualityModel",
    "RandomRouter",
    "Ranking",
    "Router",
    "RouterCheckError",
    "RouterTags",
    "SVRQuality",
    "SVRRouter",
    "SingleModelRouter",
    "TrainedZeroRouter",
    "WtpPath",
    "WtpRouter",
    "ZeroRouterBaseline",
    "available",
    "check_bench",
    "check_router",
    "clone",
    "get_router",
    "parametrize_with_router_checks",
    "register",
    "router_checks",
    "router_tags",
    "unregister",
    "wtp_choice",
    "wtp_path",
    "wtp_rank",
]
