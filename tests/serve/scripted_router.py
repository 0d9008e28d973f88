"""A picklable router whose behaviour the routing text scripts (for the ranking-process tests).

It must live in an importable module, not a test function: the ranking child unpickles
it by reference.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence

import numpy as np

from routerbench.routers.ranking import Ranking, ranking_of


class ScriptedRouter:
    """Fixed P̂ and ĉ per model, ranked by λ; the text ``boom`` raises, ``sleep:S`` sleeps
    S seconds, ``exit`` ends the process it runs in, ``pid`` puts the process id in P̂."""

    name = "scripted"

    def __init__(self, models: Sequence[str], quality: Sequence[float], cost: Sequence[float]):
        self.models = tuple(models)
        self.quality = np.asarray(quality, dtype=float)
        self.cost = np.asarray(cost, dtype=float)

    def rank_prompts(self, texts: Sequence[str], willingness_to_pay: float) -> Ranking:
        q = np.tile(self.quality, (len(texts), 1))
        for i, text in enumerate(texts):
            if text == "boom":
                raise ValueError("scripted failure")
            if text.startswith("sleep:"):
                time.sleep(float(text.split(":", 1)[1]))
            if text == "exit":
                os._exit(3)
            if text == "pid":
                q[i, 0] = float(os.getpid())
        c = np.tile(self.cost, (len(texts), 1))
        return ranking_of(self.models, q, c, willingness_to_pay)
