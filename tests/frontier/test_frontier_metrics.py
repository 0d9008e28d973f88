"""RouteLLM, LLMRouterBench and RouterArena metrics on hand-worked cases."""

from __future__ import annotations

import math

import numpy as np
import pytest

from routerbench.frontier import (
    Point,
    apgr,
    arena_score,
    cost_save,
    cpt,
    gap_at_oracle,
    pareto_distance,
    perf_gain,
)

W, S = 0.5, 0.9  # weak and strong model quality


def test_apgr_random_router_is_one_half():
    f = np.array([0.0, 0.25, 0.5, 0.75, 1.0])
    assert apgr(f, W + f * (S - W), q_weak=W, q_strong=S) == pytest.approx(0.5)


def test_apgr_and_cpt_of_a_step_router():
    # Strong quality reached at 50% strong calls: PGR rises 0 -> 1 on [0, 0.5], then stays.
    # APGR = 0.25 (triangle) + 0.5 (rectangle); CPT(50%) = 25%, CPT(100%) = 50%.
    f, q = [0.0, 0.5, 1.0], [W, S, S]
    assert apgr(f, q, q_weak=W, q_strong=S) == pytest.approx(0.75)
    assert cpt(0.5, f, q, q_weak=W, q_strong=S) == pytest.approx(0.25)
    assert cpt(1.0, f, q, q_weak=W, q_strong=S) == pytest.approx(0.5)
    assert cpt(0.0, f, q, q_weak=W, q_strong=S) == 0.0
    assert math.isnan(cpt(1.1, f, q, q_weak=W, q_strong=S))


def test_apgr_anchoring_and_routellm_convention():
    # Only the 50% threshold observed: anchoring adds always-weak and always-strong.
    assert apgr([0.5], [S], q_weak=W, q_strong=S) == pytest.approx(0.75)
    assert apgr([0.5], [S], q_weak=W, q_strong=S, anchor=False) == pytest.approx(1.0)
    # RouteLLM's evaluate.py averages PGR over the observed fractions only:
    # PGR 0.2 at 20% and 0.6 at 40% -> mean 0.4.
    q = [W + 0.2 * (S - W), W + 0.6 * (S - W)]
    assert apgr([0.2, 0.4], q, q_weak=W, q_strong=S, anchor=False) == pytest.approx(0.4)


def test_apgr_averages_repeated_fractions_and_is_order_free():
    a = apgr([0.5, 0.0, 1.0, 0.5], [0.8, W, S, 0.6], q_weak=W, q_strong=S)
    b = apgr([0.0, 0.5, 1.0], [W, 0.7, S], q_weak=W, q_strong=S)
    assert a == pytest.approx(b)


def test_cpt_first_crossing_of_a_non_monotone_curve():
    # PGR: 0 at 0, 1 at 0.4, 0.5 at 0.6, 1 at 1 -> first reaches 0.75 at 0.3.
    f = [0.0, 0.4, 0.6, 1.0]
    q = [W, S, W + 0.5 * (S - W), S]
    assert cpt(0.75, f, q, q_weak=W, q_strong=S) == pytest.approx(0.3)


@pytest.mark.parametrize(
    ("f", "q", "kw"),
    [
        ([0.5, 1.5], [0.6, 0.7], {}),
        ([0.5], [0.6, 0.7], {}),
        ([], [], {}),
        ([0.5], [np.nan], {}),
        ([0.5], [0.6], {"q_weak": 0.7, "q_strong": 0.7}),
    ],
)
def test_apgr_validation(f, q, kw):
    args = {"q_weak": W, "q_strong": S, **kw}
    with pytest.raises(ValueError):
        apgr(f, q, **args)


def test_perf_gain():
    assert perf_gain([0.7, 0.85, 0.8], 0.8) == pytest.approx(0.05)
    assert perf_gain([0.7, 0.85, 0.8], 0.8, relative=True) == pytest.approx(0.05 / 0.8)
    assert perf_gain([0.7], 0.8) == pytest.approx(-0.1)


def test_cost_save():
    c, q = [1.0, 3.0, 6.0], [0.6, 0.8, 0.82]
    # cheapest setting at or above 0.8 costs 3 vs the best model's 10 -> 70% saved
    assert cost_save(c, q, 10.0, 0.8) == pytest.approx(0.7)
    assert cost_save(c, q, 10.0, 0.81) == pytest.approx(0.4)
    assert cost_save(c, q, 10.0, 0.81, tolerance=0.02) == pytest.approx(0.7)
    assert math.isnan(cost_save(c, q, 10.0, 0.9))
    assert cost_save(c, q, 2.0, 0.8) == pytest.approx(-0.5)  # only reached by spending more
    # on the hull, mixing (1, 0.6) and (3, 0.8) reaches 0.7 at cost 2
    assert cost_save(c, q, 10.0, 0.7, hull=True) == pytest.approx(0.8)
    assert cost_save(c, q, 10.0, 0.7) == pytest.approx(0.7)


def test_gap_at_oracle():
    system = ([1.0, 4.0], [0.5, 0.8])
    oracle = Point(2.0, 0.95)
    # at the oracle's budget the system's NDCH gives 0.5 + 0.3 / 3 = 0.6
    assert gap_at_oracle(system, oracle) == pytest.approx(0.35)
    assert gap_at_oracle(system, (2.0, 0.95), at_cost=False) == pytest.approx(0.15)


def test_pareto_distance_vertical_and_euclidean():
    reference = ([1.0, 2.0], [0.5, 0.8])
    pts = ([1.0, 2.0, 3.0], [0.5, 0.6, 0.9])
    # shortfalls: 0 on the frontier, 0.2 below (2, 0.8), 0 above the flat part
    assert pareto_distance(pts, reference) == pytest.approx(0.2 / 3)
    # Euclidean with unit scales: (2, 0.6) is 0.2 from the flat part beyond (2, 0.8)
    # but nearer the (1, 0.5)-(2, 0.8) segment: offset (1, 0.1) from (1, 0.5), direction
    # (1, 0.3), cross product 1 * 0.3 - 0.1 * 1 = 0.2, so distance 0.2 / |(1, 0.3)|
    # (the foot of the perpendicular, t = 1.03 / 1.09, lies inside the segment).
    d = pareto_distance(pts, reference, mode="euclidean", cost_scale=1.0)
    assert d == pytest.approx(0.2 / math.hypot(1.0, 0.3) / 3)
    # a point below a sloped segment: distance to the line, not vertical
    d = pareto_distance(([1.5], [0.5]), reference, mode="euclidean", cost_scale=1.0)
    gap = 0.65 - 0.5
    assert d == pytest.approx(gap / math.hypot(1.0, 0.3))
    with pytest.raises(ValueError):
        pareto_distance(pts, reference, mode="manhattan")


def test_arena_score_formula():
    c_min, c_max = 0.0044, 200.0
    mid = math.sqrt(c_min * c_max)  # log-midpoint: normalised cost 0.5
    s = arena_score(0.8, mid)
    assert s == pytest.approx(1.1 * 0.8 * 0.5 / (0.1 * 0.8 + 0.5))
    assert arena_score(1.0, c_min) == pytest.approx(1.0)
    assert arena_score(0.8, c_max) == 0.0
    assert arena_score(0.8, 10 * c_max) == 0.0  # clipped
    # Unclipped (RouterArena's reference code), a cost above c_max gives a negative
    # normalised cost and a meaningless score above 1: the reason clipping is the default.
    neg = -math.log2(10) / (math.log2(c_max) - math.log2(c_min))
    raw = arena_score(0.8, 10 * c_max, clip=False)
    assert raw == pytest.approx(1.1 * 0.8 * neg / (0.08 + neg)) and raw > 1
    out = arena_score(np.array([0.5, 0.9]), np.array([1.0, 1.0]))
    assert isinstance(out, np.ndarray) and out[1] > out[0]
    # beta weights accuracy: with beta = 0.1 accuracy matters more than cost
    assert arena_score(0.9, 10.0) > arena_score(0.6, 0.01)
    with pytest.raises(ValueError):
        arena_score(0.5, 0.0, clip=False)
    with pytest.raises(ValueError):
        arena_score(0.5, 1.0, c_min=2.0, c_max=1.0)
