"""NDCH construction and `Curve` evaluation, checked against brute-force definitions."""

from __future__ import annotations

import numpy as np
import pytest
from frontier_brute import brute_chords_below, brute_envelope, exact_integral
from hypothesis import given, settings
from hypothesis import strategies as st

from routerbench.frontier import Curve, Point, ndch
from routerbench.frontier import hull as hull_mod

# Integer-valued coordinates keep every cross product exact, so ties,
# duplicates and collinear points are exercised without float fuzz.
int_points = st.lists(
    st.tuples(st.integers(0, 12), st.integers(-3, 12)), min_size=1, max_size=25
).map(lambda pts: (np.array([p[0] for p in pts], float), np.array([p[1] for p in pts], float)))

float_points = st.lists(
    st.tuples(
        # Costs are 0 or at least 1e-6: subnormal costs make the brute-force chords,
        # not the hull, lose all precision.
        st.one_of(st.just(0.0), st.floats(1e-6, 1e3)),
        st.floats(0, 1, allow_nan=False, allow_infinity=False),
    ),
    min_size=1,
    max_size=25,
).map(lambda pts: (np.array([p[0] for p in pts], float), np.array([p[1] for p in pts], float)))


def _check_curve_properties(c, q, null, tol):
    curve = ndch(c, q, null=null)
    vc, vq = curve.costs, curve.qualities
    # strictly increasing vertices, strictly concave (slopes strictly decreasing)
    assert np.all(np.diff(vc) > 0) and np.all(np.diff(vq) > 0)
    slopes = np.diff(vq) / np.diff(vc)
    assert np.all(np.diff(slopes) < 0)
    # every vertex is an input point (or the null point), and `index` says which
    pts = set(zip(c.tolist(), q.tolist(), strict=True))
    for x, y, i in zip(vc.tolist(), vq.tolist(), curve.index.tolist(), strict=True):
        if i == -1:
            assert null and (x, y) == (0.0, 0.0)
        else:
            assert (x, y) in pts and (c[i], q[i]) == (x, y)
    # on or above every input point
    assert np.all(np.asarray(curve(c)) >= q - tol)
    # no chord of two input points (null included) rises above it
    cc, qq = (np.append(c, 0.0), np.append(q, 0.0)) if null else (c, q)
    assert brute_chords_below(curve, cc, qq, tol=tol)
    # equals the brute-force envelope at every input cost, between them, and beyond
    xs = np.unique(np.concatenate((c, (c[:, None] + c[None, :]).ravel() / 2, [c.max() + 5])))
    xs = np.concatenate((xs, [0.0])) if null else xs[xs >= c.min()]
    np.testing.assert_allclose(curve(xs), brute_envelope(c, q, xs, null=null), atol=tol)
    # the last vertex is the best point (the null point counts), the cheapest of equals
    top = qq.max()
    assert vq[-1] == top and vc[-1] == cc[qq == top].min()
    return curve


@settings(max_examples=300, deadline=None)
@given(int_points, st.booleans())
def test_ndch_matches_brute_force_on_exact_grid(pts, null):
    c, q = pts
    _check_curve_properties(c, q, null, tol=1e-12)


@settings(max_examples=150, deadline=None)
@given(float_points, st.booleans())
def test_ndch_matches_brute_force_on_floats(pts, null):
    c, q = pts
    _check_curve_properties(c, q, null, tol=1e-9)


@settings(max_examples=100, deadline=None)
@given(int_points, st.randoms(use_true_random=False))
def test_ndch_ignores_input_order(pts, rnd):
    c, q = pts
    perm = list(range(c.size))
    rnd.shuffle(perm)
    a, b = ndch(c, q), ndch(c[perm], q[perm])
    np.testing.assert_array_equal(a.costs, b.costs)
    np.testing.assert_array_equal(a.qualities, b.qualities)


@settings(max_examples=100, deadline=None)
@given(int_points)
def test_null_curve_dominates_literal_curve(pts):
    c, q = pts
    with_null, without = ndch(c, q, null=True), ndch(c, q, null=False)
    xs = np.linspace(0, c.max() + 2, 57)
    assert np.all(np.asarray(with_null(xs)) >= np.asarray(without(xs)) - 1e-12)


def test_single_point():
    for null in (True, False):
        curve = ndch([3.0], [0.6], null=null)
        assert curve(3.0) == pytest.approx(0.6)
        assert curve(1.5) == pytest.approx(0.3)  # null mixture, half the budget
        assert curve(10.0) == pytest.approx(0.6)  # flat after
        assert curve.span == (3.0, 3.0)
    assert ndch([3.0], [0.6], null=False).vertices.tolist() == [[3.0, 0.6]]
    assert ndch([3.0], [0.6]).vertices.tolist() == [[0.0, 0.0], [3.0, 0.6]]


def test_two_points_and_dominated_second():
    curve = ndch([1.0, 2.0], [0.5, 0.6], null=False)
    assert curve.vertices.tolist() == [[1.0, 0.5], [2.0, 0.6]]
    curve = ndch([1.0, 2.0], [0.6, 0.5], null=False)  # dearer and worse: off the curve
    assert curve.vertices.tolist() == [[1.0, 0.6]]
    assert curve(2.0) == pytest.approx(0.6)


def test_tie_at_highest_cost_keeps_true_top_point():
    # The original O(n^3) hull could drop (2, 0.9) here.
    for order in ([0, 1, 2], [2, 1, 0], [1, 2, 0]):
        c = np.array([1.0, 2.0, 2.0])[order]
        q = np.array([0.5, 0.7, 0.9])[order]
        curve = ndch(c, q, null=False)
        assert curve.vertices[-1].tolist() == [2.0, 0.9]
        assert curve(2.0) == pytest.approx(0.9)


def test_equal_top_quality_keeps_cheapest():
    curve = ndch([1.0, 2.0, 3.0], [0.9, 0.9, 0.9], null=False)
    assert curve.vertices.tolist() == [[1.0, 0.9]]


def test_duplicates_and_collinear_points():
    c = [1.0, 1.0, 2.0, 3.0, 3.0, 2.0]
    q = [0.25, 0.25, 0.5, 0.75, 0.75, 0.5]  # exactly representable: truly collinear
    curve = ndch(c, q, null=False)
    # collinear middle point (2, 0.5) is not a vertex; first duplicate wins
    assert curve.vertices.tolist() == [[1.0, 0.25], [3.0, 0.75]]
    assert curve.index.tolist() == [0, 3]
    # with the null point the whole set is one line through the origin
    assert ndch(c, q).vertices.tolist() == [[0.0, 0.0], [3.0, 0.75]]


def test_cheapest_point_dominated_by_null_mixture():
    # (1, 0.1) gives 0.1 per unit cost; mixing null with (2, 0.8) gives 0.4 at cost 1.
    c, q = [1.0, 2.0], [0.1, 0.8]
    exact = ndch(c, q)
    assert exact.vertices.tolist() == [[0.0, 0.0], [2.0, 0.8]]
    assert exact(1.0) == pytest.approx(0.4)
    literal = ndch(c, q, null=False)
    assert literal.vertices.tolist() == [[1.0, 0.1], [2.0, 0.8]]
    assert literal(1.0) == pytest.approx(0.1)
    assert literal(0.5) == pytest.approx(0.05)  # chord from the origin to (1, 0.1)


def test_free_point_replaces_null_and_negative_qualities():
    curve = ndch([0.0, 1.0], [0.3, 0.5])
    assert curve.vertices.tolist() == [[0.0, 0.3], [1.0, 0.5]]
    assert curve.index.tolist() == [0, 1]
    curve = ndch([1.0, 2.0], [-0.5, -0.1])
    assert curve.vertices.tolist() == [[0.0, 0.0]]
    assert curve.index.tolist() == [-1]
    assert curve(5.0) == 0.0


def test_real_zero_point_wins_tie_with_null():
    curve = ndch([0.0, 1.0], [0.0, 0.5])
    assert curve.index.tolist() == [0, 1]


@pytest.mark.parametrize(
    ("c", "q", "match"),
    [
        ([], [], "at least one"),
        ([1.0, np.nan], [0.1, 0.2], "point 1 is not finite"),
        ([1.0, 2.0], [0.1, np.inf], "point 1 is not finite"),
        ([1.0, -2.0], [0.1, 0.2], "negative cost"),
        ([1.0, 2.0], [0.1], "equal length"),
    ],
)
def test_ndch_rejects_bad_input(c, q, match):
    with pytest.raises(ValueError, match=match):
        ndch(c, q)


def test_ndch_accepts_points_and_arrays():
    pts = [Point(1.0, 0.5, "a"), Point(2.0, 0.7, "b")]
    a = ndch(pts)
    b = ndch(np.array([[1.0, 0.5], [2.0, 0.7]]))
    c = ndch(([1.0, 2.0], [0.5, 0.7]))
    for other in (b, c):
        np.testing.assert_array_equal(a.vertices, other.vertices)


def test_curve_evaluation_regions():
    curve = ndch([2.0, 4.0], [0.4, 0.6], null=False)
    assert curve(1.0) == pytest.approx(0.2)  # null mixture left of the first vertex
    assert curve(3.0) == pytest.approx(0.5)
    assert curve(100.0) == pytest.approx(0.6)
    assert np.isnan(curve(-1.0))
    out = curve(np.array([0.0, 2.0, 5.0]))
    assert isinstance(out, np.ndarray) and out.tolist() == pytest.approx([0.0, 0.4, 0.6])
    assert isinstance(curve(2.0), float)


def test_curve_is_read_only():
    curve = ndch([1.0, 2.0], [0.5, 0.7])
    with pytest.raises(ValueError):
        curve.costs[0] = 5.0


def test_curve_constructor_validates():
    with pytest.raises(ValueError, match="strictly increasing"):
        Curve([0.0, 1.0, 1.0], [0.0, 0.5, 0.6])
    with pytest.raises(ValueError, match=">= 0"):
        Curve([-1.0, 1.0], [0.0, 0.5])


@settings(max_examples=100, deadline=None)
@given(int_points, st.booleans(), st.floats(0, 15), st.floats(0, 15))
def test_area_matches_independent_integral(pts, null, a, b):
    c, q = pts
    lo, hi = min(a, b), max(a, b)
    curve = ndch(c, q, null=null)
    knots = np.concatenate((c, [0.0]))
    expected = exact_integral(curve, knots, lo, hi)
    assert curve.area(lo, hi) == pytest.approx(expected, abs=1e-9)
    if hi > lo:
        assert curve.mean(lo, hi) == pytest.approx(expected / (hi - lo), abs=1e-9)
    else:
        assert curve.mean(lo, hi) == curve(lo)


@settings(max_examples=60, deadline=None)
@given(float_points, st.floats(0.01, 50), st.floats(1.01, 40))
def test_log_area_matches_quadrature(pts, lo, ratio):
    from scipy.integrate import quad

    c, q = pts
    curve = ndch(c, q)
    hi = lo * ratio
    brk = np.log10(curve.costs[(curve.costs > lo) & (curve.costs < hi)])
    val, _ = quad(
        lambda u: float(curve(10.0**u)),
        np.log10(lo),
        np.log10(hi),
        points=brk if brk.size else None,
        limit=200,
        epsabs=1e-12,
        epsrel=1e-10,
    )
    assert curve.area(lo, hi, log_cost=True) == pytest.approx(val, rel=1e-7, abs=1e-10)


def test_area_rejects_bad_windows():
    curve = ndch([1.0, 2.0], [0.5, 0.7])
    with pytest.raises(ValueError):
        curve.area(2.0, 1.0)
    with pytest.raises(ValueError):
        curve.area(-1.0, 1.0)
    with pytest.raises(ValueError, match="above 0"):
        curve.area(0.0, 1.0, log_cost=True)
    assert curve.area(1.5, 1.5) == 0.0


@settings(max_examples=100, deadline=None)
@given(int_points, st.booleans())
def test_cost_at_inverts_the_curve(pts, null):
    c, q = pts
    curve = ndch(c, q, null=null)
    top, at_zero = curve.qualities[-1], curve(0.0)
    assert curve.cost_at(at_zero) == 0.0
    targets = np.linspace(at_zero, top, 13)[1:] if top > at_zero else []
    for t in targets:
        budget = curve.cost_at(t)
        assert curve(budget) == pytest.approx(t, abs=1e-9)
        if budget > 1e-9:
            assert curve(budget * (1 - 1e-6)) < t  # and no smaller budget reaches it
    assert curve.cost_at(max(top, at_zero) + 1.0) == np.inf


def test_large_inputs_take_the_prefilter_path_and_agree(monkeypatch):
    rng = np.random.default_rng(5)
    n = 200_000
    c = rng.gamma(2.0, 1.0, n)
    q = 1 - np.exp(-c) + rng.normal(0, 0.05, n)
    c[::1000] = np.round(c[::1000], 1)  # some exact cost ties
    q[7] = q.max() + 0.01  # a unique top point
    c = np.concatenate((c, c[:50]))  # exact duplicates, later in the input
    q = np.concatenate((q, q[:50]))
    fast = ndch(c, q)
    monkeypatch.setattr(hull_mod, "_PREFILTER", 10**9)
    slow = ndch(c, q)
    np.testing.assert_array_equal(fast.costs, slow.costs)
    np.testing.assert_array_equal(fast.qualities, slow.qualities)
    np.testing.assert_array_equal(fast.index, slow.index)
    assert np.all(np.asarray(fast(c)) >= q - 1e-12)
    assert fast.vertices[-1].tolist() == [c[7], q[7]]


def test_many_points_on_a_concave_curve_are_all_vertices():
    x = np.linspace(0.01, 1, 50_001)
    y = np.sqrt(x)
    curve = ndch(x[::-1], y[::-1])
    assert len(curve) == x.size + 1  # every point plus the null point
    assert curve.index[0] == -1 and curve.index[-1] == 0
