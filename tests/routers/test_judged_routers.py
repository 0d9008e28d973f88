"""Judged cascade and hybrid: contract, outcome blindness, paying for what is read, real gains."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from tests.routers.judges_helpers import halves, mc_bench

from routerbench.data.benchmark import ResponseStore
from routerbench.errors import ConfigError, DataError
from routerbench.frontier import crossfit_aiq, realised, zero_router
from routerbench.routers import check_router, get_router
from routerbench.routers.hybrid import HybridRouter
from routerbench.routers.judged_cascade import JudgedCascadeRouter, chain_of, windows_of

FAST = (0.0, 0.5, 0.7, 0.8, 0.9, 0.95, 1.01)


def _cascade(**kw):
    return JudgedCascadeRouter(thresholds=FAST, run_code=False, **kw)


def _rich(chain="hull", **kw):
    return JudgedCascadeRouter(
        thresholds=FAST, run_code=False, rich=True, prompt_prior="logreg", chain=chain, **kw
    )


def _gain(chain="search", **kw):
    return JudgedCascadeRouter(thresholds=FAST, run_code=False, stop="gain", chain=chain, **kw)


def _hybrid(**kw):
    return HybridRouter(thresholds=FAST, lambdas=(1e-3, 1e-1), run_code=False, **kw)


def _cv(folds=2, **kw):
    from routerbench.routers.judged_cv import JudgedCVRouter

    cands = ({"thresholds": FAST}, {"thresholds": FAST, "stop": "gain", "chain": "hull"})
    return JudgedCVRouter(candidates=cands, folds=folds, reps=2, run_code=False, **kw)


ALL = [_cascade, _rich, _gain, _hybrid, _cv]
ALL_IDS = ["cascade", "rich", "gain", "hybrid", "cv"]


@pytest.fixture(scope="module")
def split():
    return halves(mc_bench(n=400))


def test_chain_and_windows():
    train, _ = halves(mc_bench(n=200))
    assert chain_of(train, "all") == (0, 1, 2, 3)
    assert chain_of(train, ["m3", "m0"]) == (0, 3)  # sorted cheapest first
    assert set(chain_of(train, "hull")) <= {0, 1, 2, 3}
    assert windows_of((0, 2, 3)) == [(0,), (0, 2), (0, 2, 3), (2,), (2, 3), (3,)]


@pytest.mark.parametrize("make", ALL, ids=ALL_IDS)
def test_contract(make):
    passed = check_router(make, mc_bench(n=120, seed=1))
    assert {"sweep", "subset", "outcome-blind", "tags"} <= set(passed)


@pytest.mark.parametrize("make", ALL, ids=ALL_IDS)
def test_decisions_are_blind_to_test_outcomes(split, make):
    """Permuting test quality and cost (responses kept) must not change any decision."""
    train, test = split
    router = make().fit(train)
    rng = np.random.default_rng(7)
    shuffled = replace(
        test,
        quality=rng.permutation(test.quality.ravel()).reshape(test.shape),
        cost=rng.permutation(test.cost.ravel()).reshape(test.shape),
    )
    for a, b in zip(router.sweep(test), router.sweep(shuffled), strict=True):
        assert np.array_equal(a.choice, b.choice) and np.array_equal(a.called, b.called)


@pytest.mark.parametrize("make", [_cascade, _rich, _gain], ids=["cascade", "rich", "gain"])
def test_responses_of_models_not_called_are_never_read(split, make):
    """Garbling the responses of every model a prompt did not call leaves the decision alone."""
    train, test = split
    router = make(chain="all").fit(train)
    for setting in ({"start": 0, "threshold": 0.8}, {"start": 1, "threshold": 0.95}):
        d = router.route(test, **setting)
        texts = test.responses.load().copy()
        texts[~d.called] = "Z garbled by the test"
        garbled = replace(test, responses=ResponseStore(lambda t=texts: t))
        d2 = router.route(garbled, **setting)
        assert np.array_equal(d.choice, d2.choice) and np.array_equal(d.called, d2.called)


def test_judge_cost_is_paid_per_model_called(split):
    train, test = split
    d = _cascade(judge_cost=1e-5).fit(train).route(test, start=0, threshold=0.9)
    _, cost = d.realised(test)
    table = np.where(d.called, test.cost, 0.0).sum(axis=1)
    assert np.allclose(cost, table + 1e-5 * d.called.sum(axis=1))


def test_cascade_beats_zero_out_of_sample_on_informative_agreement(split):
    """On data where agreement carries signal, the cross-fitted AIQ gain over Zero is clear."""
    train, test = split
    router = _cascade(chain="all").fit(train)
    pairs = [realised(test.quality, test.cost, d.choice, d.called) for d in router.sweep(test)]
    q, c = np.stack([p[0] for p in pairs]), np.stack([p[1] for p in pairs])
    zero = zero_router(test.cost.sum(axis=0), test.quality.mean(axis=0))
    gain = crossfit_aiq(q, c, zero.window) - crossfit_aiq(test.quality.T, test.cost.T, zero.window)
    assert gain > 0.02, gain
    # the agreement judge (nothing fitted) also gains, less than the verifier or about as much
    agree = _cascade(chain="all", judge="agreement").fit(train)
    pairs = [realised(test.quality, test.cost, d.choice, d.called) for d in agree.sweep(test)]
    qa, ca = np.stack([p[0] for p in pairs]), np.stack([p[1] for p in pairs])
    gain_a = crossfit_aiq(qa, ca, zero.window) - crossfit_aiq(
        test.quality.T, test.cost.T, zero.window
    )
    assert gain_a > 0.0, gain_a


def test_threshold_zero_is_the_first_model_and_above_one_calls_the_whole_chain(split):
    train, test = split
    router = _cascade(chain="all").fit(train)
    d0 = router.route(test, start=0, threshold=0.0)
    assert (d0.choice == 0).all() and d0.called.sum() == test.n_prompts
    d1 = router.route(test, start=1, threshold=1.01)
    assert d1.called[:, 1:].all() and not d1.called[:, 0].any()


def test_hybrid_starts_where_the_predictor_says(split):
    train, test = split
    router = _hybrid(chain="all").fit(train)
    cheap = router.route(test, willingness_to_pay=0.0, threshold=0.0)
    assert (cheap.choice == 0).all()  # λ = 0: cheapest first model, τ = 0: answer it
    dear = router.route(test, willingness_to_pay=1e6, threshold=0.0)
    assert (dear.called.sum(axis=1) == 1).all() and (dear.choice != 0).mean() > 0.5


def test_registry_names():
    assert isinstance(get_router("judged-cascade"), JudgedCascadeRouter)
    assert isinstance(get_router("hybrid"), HybridRouter)
    assert type(get_router("judged-cv")).__name__ == "JudgedCVRouter"


def test_bad_parameters_are_config_errors(split):
    from routerbench.errors import ConfigError

    train, _ = split
    with pytest.raises(ConfigError, match="judge"):
        JudgedCascadeRouter(judge="oracle").fit(train)
    with pytest.raises(ConfigError, match="chain"):
        JudgedCascadeRouter(chain="cheapest", run_code=False).fit(train)
    with pytest.raises(ConfigError, match="predictive"):
        HybridRouter(predictor="oracle", run_code=False).fit(train)


def test_searched_chain_is_learned_on_train_and_ends_at_the_dearest_hull_model(split):
    train, test = split
    router = _cascade(chain="search", search_depth=3).fit(train)
    chain = router.units_["arc-challenge"].chain
    hull = router.units_["__pooled__"].chain
    assert chain[-1] == hull[-1] and 1 <= len(chain) <= max(3, len(hull))
    assert list(chain) == sorted(chain, key=lambda j: train.cost[:, j].mean())
    # the search reads train only: refitting on train with shuffled *test* changes nothing
    again = _cascade(chain="search", search_depth=3).fit(train)
    assert again.units_["arc-challenge"].chain == chain
    assert len(router.route(test, start=0, threshold=0.9)) == test.n_prompts


def _code_bench():
    """Four MBPP-like prompts; m0 is wrong on the last two, m1 and m2 always right."""
    import pandas as pd

    from routerbench.data.benchmark import Benchmark

    def sol(name, body, example):
        return f"```python\ndef {name}(x):\n    return {body}\n```\n>>> {name}({example})"

    rows = [
        [sol("f", "x + 1", 1), sol("g", "1 + x", 2), sol("h", "x + 1", 3)],
        [sol("f", "2 * x", 1), sol("g", "x + x", 5), sol("h", "x * 2", 7)],
        [sol("f", "x - 1", 1), sol("g", "x ** 2", 3), sol("h", "x * x", 4)],
        [sol("f", "0", 1), sol("g", "abs(x)", -2), sol("h", "x if x > 0 else -x", -3)],
    ]
    texts = np.array(rows, dtype=object)
    quality = np.array([[1, 1, 1], [1, 1, 1], [0, 1, 1], [0, 1, 1]], dtype=float)
    cost = np.tile([1e-4, 3e-4, 5e-3], (4, 1))
    frame = pd.DataFrame({"sample_id": list("abcd"), "task": "mbpp", "prompt": ["write f"] * 4})
    store = ResponseStore(lambda: texts.copy())
    return Benchmark(frame, ("m0", "m1", "m2"), quality, cost, responses=store, source="code")


def test_code_prompts_run_in_the_sandbox_and_pay_for_it():
    from routerbench.collect.sandbox import isolation_mode
    from routerbench.routers.judges.code import SANDBOX_PRICE

    if isolation_mode() is None:
        pytest.skip("this machine cannot isolate untrusted code (no namespaces)")
    bench = _code_bench()
    router = JudgedCascadeRouter(judge="agreement", chain="all", thresholds=(0.9,)).fit(bench)
    d = router.route(bench, start=0, threshold=0.9)
    # m0 alone scores 0.5 (< τ): m1 is called; where their behaviour agrees, stop there
    assert d.called[:, :2].all()
    assert d.called[:, 2].tolist() == [False, False, True, True]
    assert bench.quality[np.arange(4), d.choice].tolist() == [1, 1, 1, 1]
    _, cost = d.realised(bench)
    table = np.where(d.called, bench.cost, 0.0).sum(axis=1)
    assert np.allclose(cost - table, SANDBOX_PRICE * d.called.sum(axis=1))


@pytest.mark.parametrize("make", ALL, ids=ALL_IDS)
def test_judged_routers_save_and_load_as_artifacts(split, make, tmp_path):
    """A fitted judged router round-trips through an artifact with the same decisions."""
    from routerbench.routers.artifact import load_router, read_manifest, save_router

    train, test = split
    router = make().fit(train)
    path = save_router(router, tmp_path / "judged.rbr", train=train)
    loaded = load_router(path)
    assert type(loaded) is type(router)
    assert read_manifest(path)["router"]["name"] == router.name
    n = 0
    for a, b in zip(router.sweep(test), loaded.sweep(test), strict=True):
        assert np.array_equal(a.choice, b.choice) and np.array_equal(a.called, b.called)
        n += 1
    assert n == len(router.settings(test)) > 1


def test_gain_stop_escalates_where_the_dearest_model_is_expected_to_fix_the_answer(split):
    """stop='gain': the cascade pays for the dearest model where its P̂ beats the best so far."""
    train, test = split
    router = _gain(chain="all").fit(train)
    unit = router.units_["arc-challenge"]
    assert unit.escalation is not None and unit.escalation.top_ == unit.chain[-1]
    top = unit.chain[-1]
    taus = np.linspace(0.3, 0.55, 26)
    routes = [router.route(test, start=0, threshold=t) for t in taus]
    calls = [int(d.called[:, top].sum()) for d in routes]
    assert calls == sorted(calls) and calls[0] < calls[-1], calls  # higher τ: more escalation
    # where it stops short of the dearest model, the answer it keeps is mostly right
    d = next(d for d in routes if 0 < (~d.called[:, top]).sum() < test.n_prompts)
    stopped = ~d.called[:, top]
    assert test.quality[stopped, d.choice[stopped]].mean() > test.quality[:, 0].mean()
    with pytest.raises(ConfigError):
        JudgedCascadeRouter(stop="gain", judge="agreement", run_code=False).fit(train)
    with pytest.raises(ConfigError):
        JudgedCascadeRouter(stop="sometimes", run_code=False).fit(train)


def test_cv_router_picks_its_candidate_on_train_alone(split):
    """judged-cv: the candidate with the best inner-CV gain on train, refitted on all of train."""
    train, test = split
    router = _cv().fit(train)
    assert len(router.cv_gains_) == 2 and np.isfinite(router.cv_gains_).all()
    assert router.chosen_index_ == int(np.argmax(router.cv_gains_))
    chosen = router.candidates[router.chosen_index_]
    assert router.chosen_.stop == chosen.get("stop", "confidence")
    # same choice whatever the test outcomes: selection reads train only
    again = _cv().fit(train)
    assert again.chosen_index_ == router.chosen_index_ and again.cv_gains_ == router.cv_gains_
    for a, b in zip(router.sweep(test), router.chosen_.sweep(test), strict=True):
        assert np.array_equal(a.choice, b.choice) and a.label == "judged-cv"
    with pytest.raises(ConfigError):
        _cv(folds=1).fit(train)
    assert router.cross_validated_


def test_cv_router_on_a_train_set_too_small_to_choose_on_fits_its_first_candidate(split):
    """11 train prompts cannot make 3 folds of 4: the first candidate is fitted, not chosen by
    noise, and the router says so; the experiment goes on instead of failing on one dataset."""
    train, test = split
    small = train.subset(np.arange(11))
    router = _cv(folds=3).fit(small)
    assert not router.cross_validated_ and router.chosen_index_ == 0
    assert len(router.cv_gains_) == 2 and np.isnan(router.cv_gains_).all()
    first = JudgedCascadeRouter(**{**router.candidates[0], "run_code": False}).fit(small)
    for a, b in zip(router.sweep(test), first.sweep(test), strict=True):
        assert np.array_equal(a.choice, b.choice) and np.array_equal(a.called, b.called)
    assert _cv(folds=3).fit(train.subset(np.arange(12))).cross_validated_  # 3 folds of 4
    with pytest.raises(DataError, match="needs >= 2 training prompts"):
        _cv(folds=3).fit(train.subset(np.arange(1)))


def test_hybrid_predictor_from_a_mapping_spec_prices_each_prompt():
    """predictor={name, params}: a per-prompt cost estimate sends long prompts to cheaper models.

    Every model's bill grows with the prompt, as with token prices. With the
    train-mean cost ("mean") the first model cannot depend on length; with a
    per-prompt regression ("regress") it does, at the same willingness to pay.
    """
    from routerbench.data.benchmark import Benchmark

    base = mc_bench(n=400, seed=5)
    pad = np.random.default_rng(1).integers(0, 400, base.n_prompts)
    prompts = base.prompts.copy()
    prompts["prompt"] = [p + " context" * int(k) for p, k in zip(prompts["prompt"], pad)]
    cost = base.cost * (1 + pad[:, None] / 40)
    bench = Benchmark(prompts, base.models, base.quality, cost, responses=base.responses)
    train, test = halves(bench)
    long = pad[bench.n_prompts // 2 :] > 200

    def dear_share_gap(cost_kind: str) -> float:
        spec = {"name": "logreg", "params": {"cost": cost_kind}}
        router = _hybrid(chain="all", predictor=spec).fit(train)
        assert router.predictor_.cost == cost_kind  # the mapping's params reached the part
        first = router.route(test, willingness_to_pay=0.3, threshold=0.0).choice
        dear = first == bench.n_models - 1
        return float(dear[~long].mean() - dear[long].mean())

    assert dear_share_gap("regress") > 0.5
    assert abs(dear_share_gap("mean")) < 0.2
    with pytest.raises(ConfigError, match="router part spec"):
        HybridRouter(predictor={"nam": "logreg"}, run_code=False).fit(train)


def test_cv_router_can_choose_a_hybrid_candidate(split):
    """A candidate with "router": "hybrid" is a HybridRouter; a bad router is a config error."""
    from routerbench.routers.judged_cv import DEFAULT_CANDIDATES, JudgedCVRouter

    train, test = split
    assert any(c.get("router") == "hybrid" for c in DEFAULT_CANDIDATES)
    hybrid = {"router": "hybrid", "thresholds": FAST, "lambdas": (1e-3, 1e-1)}
    router = JudgedCVRouter(candidates=(hybrid,), folds=2, reps=2, run_code=False).fit(train)
    assert isinstance(router.chosen_, HybridRouter) and router.chosen_index_ == 0
    assert router.settings(test) == router.chosen_.settings(test)
    d = router.route(test, willingness_to_pay=0.1, threshold=0.8)
    ref = router.chosen_.route(test, willingness_to_pay=0.1, threshold=0.8)
    assert np.array_equal(d.choice, ref.choice) and d.label == "judged-cv"
    for bad in ({"router": "oracle"}, {"router": "hybrid", "no_such_param": 1}):
        with pytest.raises(ConfigError, match="candidate"):
            JudgedCVRouter(candidates=(bad,), run_code=False).fit(train)


@pytest.mark.parametrize(
    ("router", "params", "where"),
    [
        ("hybrid", {"predictor": {"nam": "logreg"}}, "routers[0].params.predictor"),
        ("hybrid", {"predictor": {"name": "logreg", "params": {"k": 3}}}, "argument 'k'"),
        ("hybrid", {"predictor": "oracle"}, "predictor must be a predictive router part spec"),
        ("judged-cascade", {"prompt_prior": "no-such-router"}, "routers[0].params.prompt_prior"),
        ("judged-cascade", {"search_rows": 1}, "search_rows must be"),
        ("judged-cascade", {"thresholds": []}, "routers[0].params.thresholds"),
        ("judged-cv", {"folds": 1}, "routers[0].params.folds"),
        ("judged-cv", {"candidates": [{}, {"stop": "x"}]}, "candidate 1: JudgedCascadeRouter"),
        ("judged-cv", {"candidates": [{"router": "knn"}]}, "candidate 0: a candidate's router"),
        # each value allowed alone, not together: refused at plan time all the same
        ("judged-cascade", {"stop": "gain", "judge": "agreement"}, "needs judge='verifier'"),
        ("hybrid", {"judge": "agreement", "stop": "gain"}, "routers[0].params."),
        (
            "judged-cv",
            {"candidates": [{}, {"stop": "gain", "judge": "agreement"}]},
            "candidate 1: stop='gain' needs judge='verifier'",
        ),
    ],
)
def test_bad_parts_and_values_fail_when_the_config_is_planned(router, params, where):
    """Refused while planning, with the config key, before any router is fitted."""
    from routerbench.experiment.config import parse_config
    from routerbench.experiment.plan import make_plan

    cfg = parse_config({"routers": [{"name": router, "params": params}], "seeds": [0]})
    with pytest.raises(ConfigError) as info:
        make_plan(mc_bench(n=40), cfg)
    assert where in str(info.value) and "\n" not in str(info.value)
