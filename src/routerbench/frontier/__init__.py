"""Cost-quality frontier math: points, NDCH curves, AIQ, baselines, metrics and bootstrap CIs.

Pure numpy over arrays; every comparison in routerbench rests on this package.
"""

from __future__ import annotations

from routerbench.frontier.aiq import aiq, aiq_legacy, compare_aiq, legacy_max_cost, shared_window
from routerbench.frontier.bootstrap import (
    BootstrapResult,
    PairedBootstrapResult,
    bootstrap_aiq,
    bootstrap_metric,
    paired_bootstrap,
    resample_weights,
)
from routerbench.frontier.crossfit import CrossfitDelta, crossfit_aiq, crossfit_delta
from routerbench.frontier.hull import Curve, as_curve, ndch
from routerbench.frontier.metrics import (
    apgr,
    arena_score,
    cost_save,
    cpt,
    gap_at_oracle,
    pareto_distance,
    perf_gain,
)
from routerbench.frontier.oracle import oracle_choice
from routerbench.frontier.oracle_frontier import OracleFrontier, oracle_frontier
from routerbench.frontier.points import Point, as_points, point_of, realised, xy
from routerbench.frontier.zero import ZeroRouter, zero_router

__all__ = [
    "BootstrapResult",
    "CrossfitDelta",
    "Curve",
    "OracleFrontier",
    "PairedBootstrapResult",
    "Point",
    "ZeroRouter",
    "aiq",
    "aiq_legacy",
    "apgr",
    "arena_score",
    "as_curve",
    "as_points",
    "bootstrap_aiq",
    "bootstrap_metric",
    "compare_aiq",
    "cost_save",
    "cpt",
    "crossfit_aiq",
    "crossfit_delta",
    "gap_at_oracle",
    "legacy_max_cost",
    "ndch",
    "oracle_choice",
    "oracle_frontier",
    "paired_bootstrap",
    "pareto_distance",
    "perf_gain",
    "point_of",
    "realised",
    "resample_weights",
    "shared_window",
    "xy",
    "zero_router",
]
