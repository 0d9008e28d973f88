"""Tests of the cascade router: hand-worked cases, the Oracle limit, budgets, a slow reference.

The reference is a per-prompt Python loop written from the paper's description,
so the vectorised router is checked against an independent computation.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.conftest import bench_from_arrays

from routerbench.data.benchmark import Benchmark
from routerbench.decision import NO_ANSWER
from routerbench.errors import ConfigError, DataError, NotFittedError
from routerbench.routers.cascade import (
    PAPER_BUDGETS,
    PAPER_ERROR_RATES,
    CascadeRouter,
    judge_cost_of,
)

# --------------------------------------------------------------------------- helpers
bench = bench_from_arrays


def random_bench(n: int, m: int, seed: int, datasets=("mmlu", "gsm8k")) -> Benchmark:
    """Binary quality with models of rising accuracy and cost (per-dataset shifts)."""
    rng = np.random.default_rng(seed)
    ds = np.array([datasets[i % len(datasets)] for i in range(n)], dtype=object)
    quality = (rng.random((n, m)) < np.linspace(0.35, 0.85, m)).astype(float)
    base = np.geomspace(3e-4, 3e-2, m)
    cost = rng.uniform(0.5, 1.5, (n, m)) * base
    cost[ds == datasets[-1]] *= 2.0  # a different scale for one dataset
    return bench(quality, cost, ds)


def realised(b: Benchmark, d) -> tuple[np.ndarray, np.ndarray]:
    """Per-prompt quality and cost computed here from the table, not via the frontier."""
    rows = np.arange(b.n_prompts)
    q = np.where(d.choice >= 0, b.quality[rows, np.maximum(d.choice, 0)], 0.0)
    c = np.where(d.called, b.cost, 0.0).sum(axis=1)
    return q, c


def expected_costs(train: Benchmark, test: Benchmark, per_dataset: bool = True) -> np.ndarray:
    """[n_test, m] train mean cost per model for each test prompt's dataset (pandas groupby)."""
    frame = pd.DataFrame(train.cost)
    frame["ds"] = train.prompts["dataset"].to_numpy()
    means = frame.groupby("ds").mean()
    overall = train.cost.mean(axis=0)
    out = np.empty(test.shape)
    for i, ds in enumerate(test.prompts["dataset"]):
        out[i] = means.loc[ds].to_numpy() if per_dataset and ds in means.index else overall
    return out


def slow_cascade(
    train,
    test,
    *,
    threshold,
    budget,
    fa,
    fr,
    judge_cost,
    per_dataset,
    seed,
    judge_error="score",
    budget_rule="expected",
):
    """The cascade one prompt at a time, as the paper describes it (test-only reference).

    Judge errors: ``score`` -- with the error's probability the judge sees 1 - g for
    the score g and accepts iff that is >= t (the paper's text); ``verdict`` -- the
    accept/reject verdict is inverted. Budget: ``expected`` -- call a model only if the
    expected spend including it is <= T; ``paper`` -- call the first model, then go
    on while the realised spend so far is < T.
    """
    n, m = test.shape
    ec = expected_costs(train, test, per_dataset)
    uniform = np.random.default_rng(seed).random((n, m))
    choice = np.full(n, NO_ANSWER)
    called = np.zeros((n, m), dtype=bool)
    for i in range(n):
        order = sorted(range(m), key=lambda j, i=i: (ec[i, j], j))
        spent = 0.0
        for k, j in enumerate(order):
            if budget_rule == "paper":
                if k > 0 and not spent < budget:
                    break
                spent += test.cost[i, j] + judge_cost
            else:
                spent += ec[i, j] + judge_cost
                if spent > budget:
                    break
            called[i, j] = True
            choice[i] = j
            g = test.quality[i, j]
            good = g >= threshold
            wrong = uniform[i, j] < (fr if good else fa)
            if judge_error == "score":
                accepts = ((1.0 - g) if wrong else g) >= threshold
            else:
                accepts = good != wrong
            if accepts:
                break
    return choice, called


# --------------------------------------------------------------------------- hand-worked
# Models A, B, C cost 3, 1, 2: the cascade order is B, C, A (indices 1, 2, 0).
HAND_Q = [
    [1, 1, 1],
    [1, 0, 1],
    [1, 0, 0],
    [0, 1, 0],
]
HAND_COST = [3.0, 1.0, 2.0]


@pytest.fixture
def hand() -> tuple[Benchmark, CascadeRouter]:
    b = bench(HAND_Q, HAND_COST)
    return b, CascadeRouter(threshold=1.0).fit(b)


def called_sets(d) -> list[set[int]]:
    return [set(np.flatnonzero(row).tolist()) for row in d.called]


def test_perfect_judge_hand_example(hand):
    b, r = hand
    d = r.route(b, budget=math.inf, error_rate=0.0)
    assert d.choice.tolist() == [1, 2, 0, 1]
    assert called_sets(d) == [{1}, {1, 2}, {0, 1, 2}, {1}]
    assert d.label == "cascade"


def test_error_rate_one_inverts_every_verdict(hand):
    # ε = 1: good answers are rejected, bad ones accepted.
    b, r = hand
    d = r.route(b, budget=math.inf, error_rate=1.0)
    # row 0: B, C, A all good -> all rejected -> last called (A);
    # row 1: B bad -> accepted; row 2: B bad -> accepted;
    # row 3: B good -> rejected, C bad -> accepted.
    assert d.choice.tolist() == [0, 1, 1, 2]
    assert called_sets(d) == [{0, 1, 2}, {1}, {1}, {1, 2}]


def test_asymmetric_rates(hand):
    b, r = hand
    accept_all = r.route(b, false_accept=1.0, false_reject=0.0)
    assert accept_all.choice.tolist() == [1, 1, 1, 1]
    reject_all = r.route(b, false_accept=0.0, false_reject=1.0)
    assert reject_all.choice.tolist() == [0, 0, 0, 0]
    assert reject_all.called.all()
    assert reject_all.params["false_accept"] == 0.0
    assert reject_all.params["false_reject"] == 1.0


def test_budget_limits_the_calls_hand_example(hand):
    b, r = hand
    # Expected cumulative costs along B, C, A: 1, 3, 6.
    d = r.route(b, budget=2.5)
    assert d.choice.tolist() == [1, 1, 1, 1]  # rows 1 and 2 fall back to B, the last called
    assert all(s == {1} for s in called_sets(d))
    assert r.route(b, budget=3.0).choice.tolist() == [1, 2, 2, 1]  # cum 3 <= 3 is allowed
    none = r.route(b, budget=0.5)
    assert none.choice.tolist() == [NO_ANSWER] * 4
    assert not none.called.any()


def test_judge_cost_counts_against_the_budget(hand):
    b, _ = hand
    r = CascadeRouter(threshold=1.0, judge_cost=0.5).fit(b)
    # With the judge: cumulative 1.5, 4.0, 7.5.
    d = r.route(b, budget=3.5)
    assert all(s == {1} for s in called_sets(d))
    d = r.route(b, budget=math.inf)
    assert d.params["judge_cost_per_call"] == 0.5
    np.testing.assert_array_equal(judge_cost_of(d), [0.5, 1.0, 1.5, 0.5])
    # the decision itself carries the judge dollars: table cost of called models + judge
    _, table_cost = realised(b, d)
    np.testing.assert_allclose(d.realised(b)[1], table_cost + np.array([0.5, 1.0, 1.5, 0.5]))


def test_order_comes_from_train_not_test_costs():
    train = bench([[1, 1]] * 4, [1.0, 2.0])
    test = bench([[1, 1]] * 4, [9.0, 0.1])  # test prices would reverse the order
    d = CascadeRouter(threshold=1.0).fit(train).route(test)
    assert d.choice.tolist() == [0, 0, 0, 0]


def test_order_is_per_dataset_with_overall_fallback():
    cost = np.array([[1.0, 5.0], [1.0, 5.0], [9.0, 1.0], [9.0, 1.0]])
    train = bench(np.ones((4, 2)), cost, ["mmlu", "mmlu", "gsm8k", "gsm8k"])
    test = bench(np.ones((3, 2)), 1.0, ["mmlu", "gsm8k", "mbpp"])
    r = CascadeRouter(threshold=1.0).fit(train)
    # mmlu: model 0 first; gsm8k: model 1 first; mbpp unseen: overall means (5, 3) -> model 1.
    assert r.route(test).choice.tolist() == [0, 1, 1]
    flat = CascadeRouter(threshold=1.0, per_dataset=False).fit(train)
    assert flat.route(test).choice.tolist() == [1, 1, 1]


# --------------------------------------------------------------------------- the Oracle limit
def test_perfect_judge_and_large_budget_reach_the_oracle():
    train, test = random_bench(600, 6, seed=1), random_bench(800, 6, seed=2)
    d = CascadeRouter().fit(train).route(test, budget=PAPER_BUDGETS[-1], error_rate=0.0)
    q, c = realised(test, d)
    np.testing.assert_array_equal(q, test.quality.max(axis=1))  # per prompt, not only the mean
    assert c.mean() < test.cost.sum(axis=1).mean()  # and cheaper than calling every model


def test_oracle_limit_through_decision_point_and_frontier_oracle():
    frontier = pytest.importorskip("routerbench.frontier")
    train, test = random_bench(300, 5, seed=21), random_bench(500, 5, seed=22)
    d = CascadeRouter().fit(train).route(test, budget=100.0)
    oracle = frontier.oracle_choice(test.quality, test.cost)
    point = d.point(test, cost_mode="mean")
    assert point.quality == pytest.approx(
        frontier.point_of(test.quality, test.cost, oracle, cost_mode="mean").quality
    )
    assert point.cost == pytest.approx(realised(test, d)[1].mean())
    assert point.params["budget"] == 100.0


def test_real_data_reaches_the_oracle_cheaper_than_gpt4(routerdc_dir):
    import routerbench
    from routerbench.data.splits import paper_split

    split = paper_split(routerbench.load(routerdc_dir))
    d = CascadeRouter().fit(split.train).route(split.test, budget=100.0)
    q, c = realised(split.test, d)
    assert q.mean() == pytest.approx(split.test.quality.max(axis=1).mean())
    gpt4 = split.test.model_index("gpt-4-1106-preview")
    assert c.mean() < split.test.cost[:, gpt4].mean()


# --------------------------------------------------------------------------- budgets
@pytest.mark.parametrize("judge_cost", [0.0, 2e-4])
def test_expected_cost_of_called_models_within_budget(judge_cost):
    train, test = random_bench(300, 7, seed=3), random_bench(400, 7, seed=4)
    r = CascadeRouter(judge_cost=judge_cost, seed=5).fit(train)
    ec = expected_costs(train, test)
    binding = 0
    for d in r.sweep(test):
        spent = np.where(d.called, ec + judge_cost, 0.0).sum(axis=1)
        assert (spent <= d.params["budget"] * (1 + 1e-12)).all(), d.params
        binding += int((d.called.sum(axis=1) < test.n_models).any())
    assert binding > 0  # the grid does bind on these costs, so the check is not vacuous


# --------------------------------------------------------------------------- ε monotonicity
def _frontier():
    try:
        from routerbench.frontier import aiq, ndch
    except ImportError:
        pytest.skip("routerbench.frontier does not export aiq/ndch yet")
    if not (callable(aiq) and callable(ndch)):
        pytest.skip("routerbench.frontier does not export aiq/ndch yet")
    return aiq, ndch


def _curves_by_eps(train: Benchmark, test: Benchmark, seeds) -> dict[float, list]:
    """Per ε, per judge seed: the (mean cost, mean quality) points of the budget sweep."""
    out: dict[float, list] = {e: [] for e in PAPER_ERROR_RATES}
    for seed in seeds:
        pts: dict[float, list] = {e: [] for e in PAPER_ERROR_RATES}
        for d in CascadeRouter(seed=seed).fit(train).sweep(test):
            q, c = realised(test, d)
            pts[d.params["error_rate"]].append((c.mean(), q.mean()))
        for e in PAPER_ERROR_RATES:
            out[e].append(np.array(pts[e]))
    return out


@pytest.fixture(scope="module")
def eps_curves():
    train, test = random_bench(2000, 6, seed=11), random_bench(4000, 6, seed=12)
    window = tuple(np.sort(test.cost.mean(axis=0))[[0, -1]])
    return _curves_by_eps(train, test, seeds=(0, 1, 2)), window


def test_aiq_falls_as_judge_error_grows(eps_curves):
    aiq, ndch = _frontier()
    curves, window = eps_curves
    scores = [
        np.mean([aiq(ndch(p[:, 0], p[:, 1]), window=window) for p in curves[e]])
        for e in PAPER_ERROR_RATES
    ]
    assert all(a > b for a, b in itertools.pairwise(scores)), scores


def test_quality_at_every_budget_falls_with_judge_error(eps_curves):
    # Independent of the frontier module: mean quality over the budget grid.
    curves, _ = eps_curves
    mean_q = [np.mean([p[:, 1].mean() for p in curves[e]]) for e in PAPER_ERROR_RATES]
    assert all(a > b for a, b in itertools.pairwise(mean_q)), mean_q
    # With 0/1 quality a perfect judge is best at every single budget, for every seed.
    for k in range(len(curves[0.0])):
        for e in PAPER_ERROR_RATES[1:]:
            assert (curves[0.0][k][:, 1] >= curves[e][k][:, 1]).all()


def test_judge_error_rules_on_graded_quality():
    """Issue 8: the paper flips the score g to 1 - g; the code flipped the verdict.

    One model, four prompts with graded scores, t = 0.7, and a judge that always
    errs (ε = 1). Verdict rule: every verdict inverted. Score rule: accept iff
    1 - g >= 0.7, i.e. g <= 0.3.
    """
    g = [[0.9], [0.6], [0.2], [0.3]]
    b = bench(g, 1.0)
    two = bench([[gi[0], 0.0] for gi in g], [1.0, 2.0])  # a dearer second model
    for rule, accepted in (
        ("verdict", [False, True, True, True]),
        ("score", [False, False, True, True]),
    ):
        r = CascadeRouter(threshold=0.7, judge_error=rule).fit(two)
        d = r.route(two, error_rate=1.0)
        # accepted at the first model -> only it is called; else the second is called too
        assert [len(s) == 1 for s in called_sets(d)] == accepted, rule
        assert d.params["judge_error"] == rule
    # 0/1 quality: the two rules are the same rule
    q01 = random_bench(200, 4, seed=3)
    for eps in (0.0, 0.1, 0.6, 1.0):
        a = CascadeRouter(judge_error="score", seed=2).fit(q01).route(q01, error_rate=eps)
        v = CascadeRouter(judge_error="verdict", seed=2).fit(q01).route(q01, error_rate=eps)
        np.testing.assert_array_equal(a.choice, v.choice)
        np.testing.assert_array_equal(a.called, v.called)
    assert CascadeRouter().judge_error == "score"  # the paper's rule is the default
    with pytest.raises(ConfigError, match="judge_error"):
        CascadeRouter(judge_error="flip").fit(b)


def test_budget_rules_hand_example(hand):
    """Cascade order B (1), C (2), A (3); prompt 2 needs all three; T = 2.5.

    ``expected``: B fits (1), B+C = 3 > 2.5 stops -> only B. ``paper``: after B the
    spend 1 < 2.5 -> call C; after C the spend 3 >= 2.5 -> stop: B and C, over T.
    At T = 0.5 the expected rule calls nothing, the paper's rule still calls B.
    """
    b, _ = hand
    exp = CascadeRouter(threshold=1.0).fit(b)
    pap = CascadeRouter(threshold=1.0, budget_rule="paper").fit(b)
    assert called_sets(exp.route(b, budget=2.5))[2] == {1}
    assert called_sets(pap.route(b, budget=2.5))[2] == {1, 2}
    assert called_sets(pap.route(b, budget=3.5))[2] == {0, 1, 2}
    assert exp.route(b, budget=0.5).choice.tolist() == [NO_ANSWER] * 4
    assert pap.route(b, budget=0.5).choice.tolist() == [1] * 4
    assert CascadeRouter().budget_rule == "expected"
    with pytest.raises(ConfigError, match="budget_rule"):
        CascadeRouter(budget_rule="pooled").fit(b)


# --------------------------------------------------------------------------- reference
GRID = [k / 8 for k in range(17)]  # dyadic: sums and means are exact in floating point


@st.composite
def cascade_cases(draw):
    m = draw(st.integers(1, 5))
    n_train, n_test = draw(st.integers(1, 10)), draw(st.integers(1, 10))
    names = ["mmlu", "gsm8k", "mbpp"]
    binary = draw(st.booleans())
    q_vals = [0.0, 1.0] if binary else [0.0, 0.25, 0.5, 0.75, 1.0]

    def table(n, values):
        return np.array(draw(st.lists(st.sampled_from(values), min_size=n * m, max_size=n * m)))

    train_ds = draw(st.lists(st.sampled_from(names[:2]), min_size=n_train, max_size=n_train))
    test_ds = draw(st.lists(st.sampled_from(names), min_size=n_test, max_size=n_test))
    train = bench(
        table(n_train, q_vals).reshape(n_train, m),
        table(n_train, GRID).reshape(n_train, m),
        train_ds,
    )
    test = bench(
        table(n_test, q_vals).reshape(n_test, m), table(n_test, GRID).reshape(n_test, m), test_ds
    )
    rates = st.sampled_from([0.0, 0.1, 0.5, 0.9, 1.0])
    knobs = {
        "threshold": draw(st.sampled_from([0.25, 0.5, 1.0])),
        "budget": draw(st.sampled_from([0.0, 0.25, 0.5, 1.0, 2.0, 3.5, math.inf])),
        "error_rate": draw(rates),
        "fa": draw(st.one_of(st.none(), rates)),
        "fr": draw(st.one_of(st.none(), rates)),
        "judge_cost": draw(st.sampled_from([0.0, 0.125, 0.5])),
        "per_dataset": draw(st.booleans()),
        "seed": draw(st.integers(0, 2**16)),
        "judge_error": draw(st.sampled_from(["score", "verdict"])),
        "budget_rule": draw(st.sampled_from(["expected", "paper"])),
    }
    return train, test, knobs


@settings(max_examples=150, deadline=None)
@given(cascade_cases())
def test_vectorised_cascade_equals_slow_reference(case):
    train, test, k = case
    r = CascadeRouter(
        threshold=k["threshold"],
        judge_cost=k["judge_cost"],
        per_dataset=k["per_dataset"],
        seed=k["seed"],
        judge_error=k["judge_error"],
        budget_rule=k["budget_rule"],
    ).fit(train)
    d = r.route(
        test,
        budget=k["budget"],
        error_rate=k["error_rate"],
        false_accept=k["fa"],
        false_reject=k["fr"],
    )
    fa = k["error_rate"] if k["fa"] is None else k["fa"]
    fr = k["error_rate"] if k["fr"] is None else k["fr"]
    choice, called = slow_cascade(
        train,
        test,
        threshold=k["threshold"],
        budget=k["budget"],
        fa=fa,
        fr=fr,
        judge_cost=k["judge_cost"],
        per_dataset=k["per_dataset"],
        seed=k["seed"],
        judge_error=k["judge_error"],
        budget_rule=k["budget_rule"],
    )
    assert d.params["judge_error"] == k["judge_error"]
    assert d.params["budget_rule"] == k["budget_rule"]
    np.testing.assert_array_equal(d.choice, choice)
    np.testing.assert_array_equal(d.called, called)


# --------------------------------------------------------------------------- API
def test_settings_are_the_paper_grid_and_sweep_matches_route():
    train, test = random_bench(60, 4, seed=7), random_bench(50, 4, seed=8)
    r = CascadeRouter(seed=3).fit(train)
    grid = r.settings(test)
    assert len(grid) == 11 * 8
    assert {s["budget"] for s in grid} == set(PAPER_BUDGETS)
    assert {s["error_rate"] for s in grid} == set(PAPER_ERROR_RATES)
    assert sorted(PAPER_BUDGETS) == [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 50, 100]
    for s, d in zip(grid, r.sweep(test)):
        one = r.route(test, **s)
        np.testing.assert_array_equal(d.choice, one.choice)
        np.testing.assert_array_equal(d.called, one.called)
        assert d.params == one.params


def test_same_seed_same_decisions_other_seed_differs():
    train, test = random_bench(60, 4, seed=7), random_bench(300, 4, seed=8)
    a = CascadeRouter(seed=1).fit(train).route(test, error_rate=0.4)
    b = CascadeRouter(seed=1).fit(train).route(test, error_rate=0.4)
    c = CascadeRouter(seed=2).fit(train).route(test, error_rate=0.4)
    np.testing.assert_array_equal(a.choice, b.choice)
    assert (a.choice != c.choice).any()


def test_threshold_for_binary_quality_is_one():
    assert CascadeRouter().fit(random_bench(50, 3, seed=0)).threshold_ == 1.0
    assert CascadeRouter(threshold=0.3).fit(random_bench(50, 3, seed=0)).threshold_ == 0.3


def test_fitted_threshold_maximises_train_aiq():
    aiq, ndch = _frontier()
    rng = np.random.default_rng(0)
    n, m = 300, 4
    quality = np.clip(rng.random((n, m)) * np.linspace(0.6, 1.2, m), 0, 1).round(2)
    train = bench(quality, rng.uniform(0.5, 1.5, (n, m)) * np.geomspace(1e-3, 1e-2, m))
    r = CascadeRouter().fit(train)
    window = tuple(np.sort(train.cost.mean(axis=0))[[0, -1]])

    def train_aiq(t):
        fixed = CascadeRouter(threshold=t).fit(train)
        pts = [realised(train, fixed.route(train, budget=b)) for b in PAPER_BUDGETS]
        cs, qs = [c.mean() for _, c in pts], [q.mean() for q, _ in pts]
        return aiq(ndch(np.array(cs), np.array(qs)), window=window)

    candidates = np.unique(np.quantile(quality, np.linspace(0.05, 1.0, 20)))
    best = max(train_aiq(t) for t in candidates if t > 0)
    assert 0 < r.threshold_ <= 1
    assert train_aiq(r.threshold_) == pytest.approx(best)
    assert train_aiq(r.threshold_) > train_aiq(1.0) or r.threshold_ == 1.0


def test_nan_is_refused_with_the_cell_named():
    q = np.array([[1.0, np.nan], [0.0, 1.0]])
    with pytest.raises(DataError, match="m1"):
        CascadeRouter().fit(bench(q, 1.0))
    r = CascadeRouter(threshold=1.0).fit(bench(np.ones((2, 2)), 1.0))
    with pytest.raises(DataError, match="NaN"):
        r.route(bench(q, 1.0))


def test_errors_unfitted_mismatched_and_bad_knobs():
    b = bench(np.ones((2, 2)), 1.0)
    with pytest.raises(NotFittedError):
        CascadeRouter().route(b)
    r = CascadeRouter(threshold=1.0).fit(b)
    with pytest.raises(ValueError, match="models"):
        r.route(bench(np.ones((2, 3)), 1.0))
    with pytest.raises(ConfigError, match="error_rate"):
        r.route(b, error_rate=1.5)
    with pytest.raises(ConfigError, match="budget"):
        r.route(b, budget=-1.0)
    with pytest.raises(ConfigError, match="threshold"):
        CascadeRouter(threshold=0.0).fit(b)
    with pytest.raises(ConfigError, match="judge_cost"):
        CascadeRouter(judge_cost=-1.0).fit(b)
    assert CascadeRouter(seed=4).get_params()["seed"] == 4
