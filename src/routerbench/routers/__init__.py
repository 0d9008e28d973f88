"""Routers: the contract, baselines, predictive routers, the cascade, rerank, and plug-ins.

`get_router(spec)` builds any of them by name; `check_router` checks one against the contract.
"""

from routerbench.routers.base import PredictiveRouter, Router, clone
from routerbench.routers.baselines import (
    OracleRouter,
    RandomRouter,
    SingleModelRouter,
    ZeroRouterBaseline,
)
from routerbench.routers.checks import RouterCheckError, check_bench, check_router
from routerbench.routers.control import PriorRouter
from routerbench.routers.logistic import FactorRouter, LogisticRouter
from routerbench.routers.paper import KNNRouter, MLPRouter, SVRRouter
from routerbench.routers.predictive import EmbeddingRouter, WtpRouter
from routerbench.routers.registry import available, get_router, register, unregister
from routerbench.routers.wtp import PAPER_LAMBDAS, WtpPath, wtp_choice, wtp_path, wtp_rank

__all__ = [
    "PAPER_LAMBDAS",
    "EmbeddingRouter",
    "FactorRouter",
    "KNNRouter",
    "LogisticRouter",
    "MLPRouter",
    "OracleRouter",
    "PredictiveRouter",
    "PriorRouter",
    "RandomRouter",
    "Router",
    "RouterCheckError",
    "SVRRouter",
    "SingleModelRouter",
    "WtpPath",
    "WtpRouter",
    "ZeroRouterBaseline",
    "available",
    "check_bench",
    "check_router",
    "clone",
    "get_router",
    "register",
    "unregister",
    "wtp_choice",
    "wtp_path",
    "wtp_rank",
]
