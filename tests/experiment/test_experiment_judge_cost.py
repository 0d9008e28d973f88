"""The runner counts a cascade's judge dollars exactly once per model called."""

from __future__ import annotations

import numpy as np

from routerbench.experiment.executors import _realised
from routerbench.routers.cascade import CascadeRouter
from tests.conftest import make_bench


def test_judge_cost_is_counted_once() -> None:
    bench = make_bench(30, 4, seed=2)
    judge = 0.01
    decision = CascadeRouter(threshold=1.0, judge_cost=judge).fit(bench).route(bench)
    _, cost = _realised(decision, bench)
    called = decision.called
    expected = (np.where(called, bench.cost, 0.0)).sum(axis=1) + judge * called.sum(axis=1)
    np.testing.assert_allclose(cost, expected)
