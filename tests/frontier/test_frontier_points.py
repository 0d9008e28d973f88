"""Realised per-prompt outcomes and the points they summarise."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from routerbench.errors import DataError
from routerbench.frontier import Point, as_points, point_of, realised, xy

Q = np.array([[0.1, 0.9, 0.5], [1.0, 0.0, 0.3], [0.2, 0.4, 0.6]])
C = np.array([[1.0, 10.0, 5.0], [2.0, 20.0, 6.0], [3.0, 30.0, 7.0]])


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 30), st.integers(1, 6), st.integers(0, 2**31 - 1))
def test_realised_matches_a_python_loop(n, m, seed):
    rng = np.random.default_rng(seed)
    q, c = rng.random((n, m)), rng.random((n, m))
    choice = rng.integers(-1, m, n)
    called = rng.random((n, m)) < 0.4
    called[np.arange(n)[choice >= 0], choice[choice >= 0]] = True
    rq, rc = realised(q, c, choice)
    kq, kc = realised(q, c, choice, called)
    for i in range(n):
        j = choice[i]
        assert rq[i] == (q[i, j] if j >= 0 else 0.0)
        assert rc[i] == (c[i, j] if j >= 0 else 0.0)
        assert kq[i] == rq[i]
        assert kc[i] == pytest.approx(sum(c[i, k] for k in range(m) if called[i, k]))


def test_realised_no_answer_and_cascade():
    q, c = realised(Q, C, np.array([-1, 0, 2]))
    assert q.tolist() == [0.0, 1.0, 0.6]
    assert c.tolist() == [0.0, 2.0, 7.0]
    called = np.array([[True, True, False], [True, False, False], [True, False, True]])
    q, c = realised(Q, C, np.array([1, 0, 2]), called)
    assert q.tolist() == [0.9, 1.0, 0.6]
    assert c.tolist() == [11.0, 2.0, 10.0]
    # an abstaining cascade still pays for what it tried
    q, c = realised(Q, C, np.array([-1, -1, -1]), called)
    assert q.tolist() == [0.0, 0.0, 0.0] and c.tolist() == [11.0, 2.0, 10.0]


def test_nan_in_used_cell_names_row_and_column():
    q = Q.copy()
    q[2, 1] = np.nan
    with pytest.raises(ValueError, match=r"column 1.*row 2"):
        realised(q, C, np.array([0, 0, 1]))
    with pytest.raises(DataError) as info:
        realised(q, C, np.array([0, 0, 1]))
    assert (info.value.row, info.value.column) == (2, 1)
    c = C.copy()
    c[1, 2] = np.nan
    called = np.zeros((3, 3), bool)
    called[1, 2] = True
    with pytest.raises(ValueError, match=r"column 2.*row 1"):
        realised(Q, c, np.array([-1, -1, -1]), called)


def test_nan_in_unused_cells_is_fine():
    q, c = Q.copy(), C.copy()
    q[0, 1] = np.nan
    c[0, 1] = np.nan
    rq, rc = realised(q, c, np.array([0, 1, -1]))
    assert np.all(np.isfinite(rq)) and np.all(np.isfinite(rc))


@pytest.mark.parametrize(
    ("choice", "called", "match"),
    [
        (np.array([0, 1]), None, "shape"),
        (np.array([0, 3, 1]), None, "outside"),
        (np.array([0, -2, 1]), None, "outside"),
        (np.array([0.5, 1.0, 1.0]), None, "integer"),
        (np.array([0, 1, 2]), np.zeros((3, 2), bool), "shape"),
        (np.array([0, 1, 2]), np.eye(3, dtype=bool)[[0, 1, 0]], "not called"),
    ],
)
def test_realised_rejects_bad_decisions(choice, called, match):
    with pytest.raises(ValueError, match=match):
        realised(Q, C, choice, called)


def test_realised_accepts_integral_floats():
    q, _ = realised(Q, C, np.array([0.0, 1.0, 2.0]))
    assert q.tolist() == [0.1, 0.0, 0.6]


def test_point_of_total_and_mean():
    choice = np.array([1, 0, 2])
    p = point_of(Q, C, choice, label="x", params={"k": 1})
    assert p.quality == pytest.approx((0.9 + 1.0 + 0.6) / 3)
    assert p.cost == pytest.approx(10.0 + 2.0 + 7.0)
    assert p.label == "x" and p.params == {"k": 1}
    m = point_of(Q, C, choice, cost_mode="mean")
    assert m.cost == pytest.approx(19.0 / 3)
    with pytest.raises(ValueError, match="cost_mode"):
        point_of(Q, C, choice, cost_mode="median")


def test_point_is_frozen_hashable_and_float():
    p = Point(np.float32(1.5), np.int64(1), "a", {"lam": [1, 2]})
    assert isinstance(p.cost, float) and isinstance(p.quality, float)
    assert hash(p) == hash(Point(1.5, 1.0, "a"))
    with pytest.raises(AttributeError):
        p.cost = 2.0  # type: ignore[misc]


def test_xy_forms():
    pts = as_points([1.0, 2.0], [0.5, 0.7], ["a", "b"])
    for form in (pts, ([1.0, 2.0], [0.5, 0.7]), np.array([[1.0, 0.5], [2.0, 0.7]])):
        c, q = xy(form)
        assert c.tolist() == [1.0, 2.0] and q.tolist() == [0.5, 0.7]
    assert [a.tolist() for a in xy(Point(3.0, 0.1))] == [[3.0], [0.1]]
    with pytest.raises(ValueError):
        xy(([1.0, 2.0], [0.5]))
    with pytest.raises(ValueError):
        xy("nonsense")
