"""Routers: the contract, baselines, predictive routers, the cascade, rerank."""

from routerbench.routers.base import PredictiveRouter, Router

__all__ = ["PredictiveRouter", "Router"]
