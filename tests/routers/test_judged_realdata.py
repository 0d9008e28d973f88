"""Real RouterBench rows: the judged cascade beats the Zero router on ARC out of sample.

The full table (three datasets, 50 control seeds, length control, MBPP in the
sandbox) is `scripts/judged_results.py`; this check keeps to ARC, where no
code runs, and 10 control seeds.
"""

from __future__ import annotations

import numpy as np
import pytest

from routerbench.frontier import crossfit_aiq, zero_router
from routerbench.routers import PriorRouter
from routerbench.routers.judged_cascade import JudgedCascadeRouter


def _table(router, test):
    pairs = [d.realised(test) for d in router.sweep(test)]
    return np.stack([q for q, _ in pairs]), np.stack([c for _, c in pairs])


@pytest.mark.slow
def test_judged_cascade_gains_more_than_the_no_information_control_on_arc(routerdc_dir):
    """A point estimate above every control seed; whether that is a win is the verdict's
    (docs/routers.md: on these rows its interval reaches below 0, so it is not)."""
    import routerbench
    from routerbench.data.splits import paper_split

    split = paper_split(routerbench.load(str(routerdc_dir)))
    train = split.train.subset(datasets="arc-challenge")
    test = split.test.subset(datasets="arc-challenge")
    zero = zero_router(test.cost.sum(axis=0), test.quality.mean(axis=0))
    base = crossfit_aiq(test.quality.T, test.cost.T, zero.window)
    router = JudgedCascadeRouter(chain="hull", run_code=False).fit(train)
    gain = crossfit_aiq(*_table(router, test), zero.window) - base
    null = [
        crossfit_aiq(*_table(PriorRouter(noise=0.02, seed=s).fit(train), test), zero.window) - base
        for s in range(10)
    ]
    assert gain > 0.005, gain
    assert gain > max(null), (gain, null)
    # the chain is the train Zero router's models, and the judge reads the responses
    names = [test.models[j] for j in router.units_["arc-challenge"].chain]
    assert names[0] == "mistralai/mistral-7b-chat" and names[-1] == "gpt-4-1106-preview"
