"""Decision: shape checks, realised outcomes read from the table, extra (judge) cost."""

from __future__ import annotations

import numpy as np
import pytest

from routerbench.decision import Decision
from tests.conftest import make_bench


def test_point_reads_quality_and_cost_from_the_table() -> None:
    bench = make_bench(10, 3)
    choice = np.array([0, 1, 2, 0, 1, 2, 0, 1, 2, -1])
    d = Decision(choice, label="x", params={"k": 1})
    rows = np.arange(9)
    q = bench.quality[rows, choice[:9]]
    c = bench.cost[rows, choice[:9]]
    p = d.point(bench)
    assert p.quality == pytest.approx(q.sum() / 10)
    assert p.cost == pytest.approx(c.sum())
    assert d.point(bench, cost_mode="mean").cost == pytest.approx(c.sum() / 10)
    assert p.label == "x" and p.params == {"k": 1}
    assert d.model_counts(bench) == {"model-0": 3, "model-1": 3, "model-2": 3, "<no answer>": 1}


def test_called_models_are_all_paid_and_extra_cost_added() -> None:
    bench = make_bench(4, 3)
    called = np.array([[1, 1, 0], [1, 0, 0], [1, 1, 1], [0, 0, 1]], bool)
    choice = np.array([1, 0, 2, 2])
    extra = np.array([0.1, 0.0, 0.2, 0.05])
    q, c = Decision(choice, called, extra_cost=extra).realised(bench)
    np.testing.assert_allclose(c, (bench.cost * called).sum(axis=1) + extra)
    np.testing.assert_array_equal(q, bench.quality[np.arange(4), choice])


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"choice": np.array([[0]])}, "1-d integer"),
        ({"choice": np.array([0.5])}, "1-d integer"),
        ({"choice": np.array([1]), "called": np.array([[True, False]])}, "must also be marked"),
        ({"choice": np.array([0]), "called": np.ones((2, 2), bool)}, "called must be"),
        ({"choice": np.array([0]), "extra_cost": np.array([-1.0])}, "extra_cost"),
    ],
)
def test_bad_decisions_are_refused(kwargs, fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment):
        Decision(**kwargs)


def test_decision_must_fit_the_benchmark() -> None:
    bench = make_bench(3, 2)
    with pytest.raises(ValueError, match="covers 2 prompts"):
        Decision(np.array([0, 1])).point(bench)
    with pytest.raises(ValueError, match="outside"):
        Decision(np.array([0, 1, 5])).point(bench)
