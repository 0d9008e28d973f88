"""AIQ: hand-worked values, invariance to other systems, and the legacy convention."""

from __future__ import annotations

import math

import numpy as np
import pytest
from frontier_brute import brute_envelope, exact_integral
from hypothesis import given, settings
from hypothesis import strategies as st

from routerbench.frontier import (
    Point,
    aiq,
    aiq_legacy,
    compare_aiq,
    legacy_max_cost,
    ndch,
    shared_window,
    zero_router,
)

# Hand-worked example in the spirit of the paper's Figure 2 (arXiv 2403.12031).
# We could not retrieve the figure's coordinates, so this example is constructed
# and worked by hand:
#   A=(1, 0.4), B=(2, 0.7), C=(3, 0.6), D=(4, 0.8), E=(2.5, 0.5)
#   C lies below chord B-D (0.75 at cost 3), E below chord B-D too (0.725 at 2.5).
#   Slopes: null->A 0.4, A->B 0.3, B->D 0.05: strictly decreasing, so the NDCH
#   (with the null point) has vertices (0,0), A, B, D.
#   Integral over [1, 4]: [1,2] trapezoid (0.4+0.7)/2 = 0.55; [2,4] (0.7+0.8)/2*2 = 1.5.
#   AIQ[1,4] = 2.05 / 3.   Over [0, 4]: add (0+0.4)/2 = 0.2 -> 2.25 / 4 = 0.5625.
#   Against log10(c) on [1, 4]: a piece f = a + b c integrates to (a ln(v/u) + b (v-u)) / ln 10:
#   [1,2]: f = 0.1 + 0.3c  -> (0.1 ln 2 + 0.3) / ln 10;
#   [2,4]: f = 0.6 + 0.05c -> (0.6 ln 2 + 0.1) / ln 10;
#   width log10(4) = 2 ln 2 / ln 10, so AIQ = (0.7 ln 2 + 0.4) / (2 ln 2) = 0.35 + 0.2 / ln 2.
FIG_C = [1.0, 2.0, 3.0, 4.0, 2.5]
FIG_Q = [0.4, 0.7, 0.6, 0.8, 0.5]


def test_hand_worked_example():
    curve = ndch(FIG_C, FIG_Q)
    assert curve.vertices.tolist() == [[0.0, 0.0], [1.0, 0.4], [2.0, 0.7], [4.0, 0.8]]
    assert aiq(curve, window=(1.0, 4.0)) == pytest.approx(2.05 / 3)
    assert aiq((FIG_C, FIG_Q)) == pytest.approx(2.05 / 3)  # default window: own span [1, 4]
    pts = [Point(c, q) for c, q in zip(FIG_C, FIG_Q, strict=True)]
    assert aiq(pts, window=(0.0, 4.0)) == pytest.approx(0.5625)
    assert aiq(curve, window=(0.0, 4.0)) == pytest.approx(0.5625)
    assert aiq(curve, window=(1.0, 4.0), log_cost=True) == pytest.approx(0.35 + 0.2 / math.log(2))
    # beyond the dearest point the curve is flat: [4, 6] averages 0.8
    assert aiq(curve, window=(4.0, 6.0)) == pytest.approx(0.8)


def test_single_point():
    p = [Point(2.0, 0.6)]
    assert aiq(p) == pytest.approx(0.6)  # zero-width own window: the value there
    assert aiq(p, window=(0.0, 2.0)) == pytest.approx(0.3)  # null mixture, a triangle
    # [0, 4]: triangle 0.6 plus rectangle 1.2, over width 4
    assert aiq(p, window=(0.0, 4.0)) == pytest.approx((0.6 + 1.2) / 4)
    assert aiq(p, window=(0.0, 4.0), null=False) == pytest.approx((0.6 + 1.2) / 4)


def test_flat_line():
    c, q = [1.0, 2.0, 3.0, 4.0, 5.0], [0.7] * 5
    assert aiq((c, q)) == pytest.approx(0.7)
    assert aiq((c, q), window=(2.5, 100.0)) == pytest.approx(0.7)
    # [0, 5]: triangle 0.35 under the null chord to (1, 0.7), then 4 * 0.7
    assert aiq((c, q), window=(0.0, 5.0)) == pytest.approx((0.35 + 2.8) / 5)


def test_tiny_and_huge_windows_do_not_underflow():
    assert aiq(([0.0], [0.1]), window=(0.0, 5e-324), null=False) == pytest.approx(0.1)
    assert aiq(([1e-300], [0.5]), window=(1e-300, 3e-300)) == pytest.approx(0.5)
    assert aiq(([1e300], [0.5]), window=(0.0, 1e300)) == pytest.approx(0.25)
    assert aiq(([1e-300], [0.5]), window=(1e-300, 3e-300), log_cost=True) == pytest.approx(0.5)


def test_left_of_cheapest_point_counts():
    # Two systems identical above cost 2; one also has a cheap point. The original
    # convention ignored the region left of each curve, so it could not tell them apart.
    rich = ([0.5, 2.0], [0.5, 0.8])
    poor = ([2.0], [0.8])
    w = shared_window(rich, poor)
    assert w == (0.5, 2.0)
    assert aiq(rich, window=w) > aiq(poor, window=w)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 10), st.integers(0, 10)), min_size=1, max_size=15),
    st.integers(0, 240).map(lambda v: v / 20),
    st.integers(0, 240).map(lambda v: v / 20),
    st.booleans(),
)
def test_aiq_equals_mean_of_brute_force_envelope(pts, a, b, null):
    c = np.array([p[0] for p in pts], float)
    q = np.array([p[1] for p in pts], float) / 10
    lo, hi = min(a, b), max(a, b)
    if not null:
        lo = max(lo, float(c.min()))  # the brute force has no value left of the points
        hi = max(hi, lo)
    value = aiq((c, q), window=(lo, hi), null=null)
    if hi == lo:
        assert value == pytest.approx(brute_envelope(c, q, [lo], null=null)[0])
        return
    area = exact_integral(lambda x: brute_envelope(c, q, x, null=null), np.append(c, 0.0), lo, hi)
    assert value == pytest.approx(area / (hi - lo), abs=1e-9)
    curve = ndch(c, q, null=null)
    xs = np.linspace(lo, hi, 50)
    assert min(curve(xs)) - 1e-12 <= value <= max(curve(xs)) + 1e-12


def test_aiq_does_not_change_when_systems_are_added():
    a = ([1.0, 2.0, 4.0], [0.4, 0.7, 0.8])
    b = ([0.5, 3.0], [0.3, 0.75])
    c = ([10.0, 20.0], [0.9, 0.95])  # much dearer: widens the default window
    window = (0.5, 8.0)
    alone = aiq(a, window=window)
    two = compare_aiq({"a": a, "b": b}, window=window)
    three = compare_aiq({"a": a, "b": b, "c": c}, window=window)
    assert two["a"] == alone and three["a"] == alone
    assert two["b"] == three["b"] == aiq(b, window=window)
    # Without an explicit window the shared default widens, so scores move:
    # that is why comparisons that must be stable pass the window.
    assert shared_window(a, b) == (0.5, 4.0)
    assert shared_window(a, b, c) == (0.5, 20.0)
    assert compare_aiq({"a": a, "b": b})["a"] != compare_aiq({"a": a, "b": b, "c": c})["a"]


def test_shared_window_rule_and_sequence_form():
    z = zero_router([1.0, 4.0, 9.0], [0.3, 0.6, 0.62])
    assert z.window == (1.0, 9.0)
    assert shared_window(z, ([0.5, 2.0], [0.2, 0.5])) == (0.5, 9.0)
    # spans count input points, not only hull vertices: a dominated dear point widens it
    assert shared_window(([1.0, 5.0], [0.5, 0.4])) == (1.0, 5.0)
    out = compare_aiq([z, ([0.5, 2.0], [0.2, 0.5])], window=(1.0, 9.0))
    assert set(out) == {0, 1} and out[0] == aiq(z, window=(1.0, 9.0))
    with pytest.raises(ValueError):
        shared_window()


def test_window_validation():
    pts = ([1.0, 2.0], [0.5, 0.7])
    with pytest.raises(ValueError):
        aiq(pts, window=(2.0, 1.0))
    with pytest.raises(ValueError):
        aiq(pts, window=(-1.0, 1.0))
    with pytest.raises(ValueError, match="above 0"):
        aiq(pts, window=(0.0, 1.0), log_cost=True)
    with pytest.raises(ValueError):
        aiq(pts, window=(1.0,))


# -- legacy convention ------------------------------------------------------------------


def _legacy_brute(c, q, max_cost):
    """The original convention from its description: no null point, integrate the NDCH
    from the system's cheapest point, flat to max_cost, divide by max_cost."""
    c, q = np.asarray(c, float), np.asarray(q, float)
    lo = c.min()
    area = exact_integral(lambda x: brute_envelope(c, q, x, null=False), c, lo, max_cost)
    return area / max_cost


def test_legacy_hand_worked():
    # Same example without the null point: vertices A, B, D. Area over [1, 4] is 2.05
    # as above; the original divides by the largest cost (4), not the width (3).
    assert aiq_legacy(FIG_C, FIG_Q) == pytest.approx(2.05 / 4)
    # In a comparison with a system reaching cost 8, the curve is extended flat at
    # 0.8 to 8 and divided by 8: (2.05 + 4 * 0.8) / 8.
    assert aiq_legacy(FIG_C, FIG_Q, max_cost=8.0) == pytest.approx((2.05 + 3.2) / 8)


def test_legacy_changes_when_a_dearer_system_joins_but_aiq_does_not():
    a = (FIG_C, FIG_Q)
    dear = ([6.0, 8.0], [0.85, 0.9])
    assert legacy_max_cost(a) == 4.0
    assert legacy_max_cost(a, dear) == 8.0
    assert aiq_legacy(*a, max_cost=legacy_max_cost(a)) != aiq_legacy(
        *a, max_cost=legacy_max_cost(a, dear)
    )
    assert compare_aiq([a], window=(1.0, 4.0))[0] == compare_aiq([a, dear], window=(1.0, 4.0))[0]


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.tuples(st.integers(1, 10), st.integers(0, 10)), min_size=1, max_size=12),
    st.integers(0, 10),
)
def test_legacy_matches_its_definition(pts, extra):
    c = [float(p[0]) for p in pts]
    q = [p[1] / 10 for p in pts]
    own = max(ci for ci, qi in zip(c, q) if qi == max(q))  # the dearest tied top point
    assert legacy_max_cost((np.array(c), np.array(q))) == own
    mx = own + extra
    assert aiq_legacy(c, q, max_cost=mx) == pytest.approx(_legacy_brute(c, q, mx), abs=1e-12)


def test_legacy_edge_cases():
    assert aiq_legacy([2.0], [0.6]) == 0.0  # one point alone has no width
    assert aiq_legacy([2.0], [0.6], max_cost=4.0) == pytest.approx(0.6 * 2 / 4)
    # a tie at the highest cost keeps the true top point
    assert aiq_legacy([1.0, 2.0, 2.0], [0.5, 0.7, 0.9]) == pytest.approx((0.5 + 0.9) / 2 / 2)
    assert aiq_legacy(([1.0, 2.0], [0.5, 0.7])) == aiq_legacy([1.0, 2.0], [0.5, 0.7])
    with pytest.raises(ValueError, match="reads two ways"):
        aiq_legacy([[1.0, 2.0], [0.5, 0.7]])
    with pytest.raises(ValueError, match="below"):
        aiq_legacy([1.0, 2.0], [0.5, 0.7], max_cost=1.5)
    with pytest.raises(ValueError):
        aiq_legacy([0.0], [0.5])


def test_legacy_hull_ends_at_the_dearest_tied_top_point():
    """Issue 8: the original calc_AIQ keeps the dearest of the points tied at the top.

    Worked by hand from the original code: its hull is (0.1, 0.5), (0.5, 0.9),
    (0.8, 0.9); max_x = 0.8; trapz = 0.4 * 0.7 + 0.3 * 0.9 = 0.55; AIQ = 0.6875
    (the cheapest-tie convention gave 0.28 / 0.5 = 0.56).
    """
    c, q = [0.1, 0.5, 0.8], [0.5, 0.9, 0.9]
    assert aiq_legacy(c, q) == pytest.approx(0.6875, abs=1e-15)
    assert legacy_max_cost((np.array(c), np.array(q))) == 0.8
    # In a comparison the normaliser is that hull end, not the cheapest top vertex.
    other = (np.array([0.2, 0.6]), np.array([0.4, 0.8]))
    assert legacy_max_cost((np.array(c), np.array(q)), other) == 0.8
    assert aiq_legacy(*other, max_cost=0.8) == pytest.approx((0.4 * 0.6 + 0.2 * 0.8) / 0.8)
    # A dearer point below the top does not extend the hull (the original drops it).
    assert aiq_legacy([0.1, 0.5, 0.8, 0.9], [0.5, 0.9, 0.9, 0.85]) == pytest.approx(0.6875)
    assert legacy_max_cost((np.array([0.1, 0.5, 0.9]), np.array([0.5, 0.9, 0.85]))) == 0.5


def test_aiq_call_shapes_are_unambiguous():
    """Issue 8: ``aiq([0.1, 0.5], [0.3, 0.9])`` used to read the second list as the window."""
    with pytest.raises(TypeError, match="window=\\(lo, hi\\)"):
        aiq([0.1, 0.5], [0.3, 0.9])
    with pytest.raises(TypeError, match="only positional argument"):
        compare_aiq({"a": (np.array([1.0]), np.array([0.5]))}, (0.0, 1.0))
    with pytest.raises(ValueError, match="reads two ways"):
        aiq([[0.1, 0.5], [0.3, 0.9]])  # (costs, qualities), or two (cost, quality) rows?
    with pytest.raises(ValueError, match="reads two ways"):
        aiq(((0.1, 0.3), (0.5, 0.9)))
    with pytest.raises(ValueError, match="reads two ways"):
        compare_aiq([[[0.1, 0.5], [0.3, 0.9]]], window=(0.1, 0.5))
    # Each form that means one thing still works, and they agree.
    costs, quals = np.array([0.1, 0.5]), np.array([0.3, 0.9])
    want = aiq(ndch(costs, quals), window=(0.1, 0.5))
    assert want == pytest.approx((0.3 + 0.9) / 2)
    assert aiq((costs, quals), window=(0.1, 0.5)) == want
    assert aiq(([0.1, 0.5], [0.3, 0.9]), window=(0.1, 0.5)) == want  # the documented pair
    assert aiq(np.array([[0.1, 0.3], [0.5, 0.9]]), window=(0.1, 0.5)) == want
    assert aiq([Point(0.1, 0.3), Point(0.5, 0.9)], window=(0.1, 0.5)) == want
    assert aiq(([0.1, 0.5, 0.9], [0.3, 0.9, 0.9]), window=(0.1, 0.5)) == want  # 3 points
