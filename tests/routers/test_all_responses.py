"""The all-responses reference: the cascades' verifier reading every response free, labelled so."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from tests.routers.judges_helpers import halves, mc_bench

from routerbench.data.benchmark import ResponseStore
from routerbench.errors import NotPredictiveError
from routerbench.experiment.evaluate import family_tags, verdict_of
from routerbench.frontier import crossfit_delta, realised
from routerbench.routers import check_router, get_router
from routerbench.routers.all_responses import AllResponsesReference
from routerbench.routers.judged_cascade import JudgedCascadeRouter
from routerbench.verdicts import ABOVE_ZERO, BEATS_ZERO, REFERENCE_ABOVE_ZERO

FAST = (0.0, 0.5, 0.7, 0.8, 0.9, 0.95, 1.01)


@pytest.fixture(scope="module")
def split():
    return halves(mc_bench(n=400))


def _reference(**kw) -> AllResponsesReference:
    return AllResponsesReference(run_code=False, **kw)


def test_contract_and_tags():
    passed = check_router(_reference, mc_bench(n=120, seed=1))
    assert {"sweep", "subset", "outcome-blind", "tags", "deterministic"} <= set(passed)
    tags = family_tags("all-responses")
    assert tags.reads_uncalled_responses and not tags.predictive and not tags.reads_test_outcomes
    assert not family_tags("judged-cascade").reads_uncalled_responses


def test_its_p_hat_is_the_cascade_verifier_with_every_model_called(split):
    """The same regression as a judged cascade's on the window of every model (chain 'all')."""
    train, test = split
    ref = _reference().fit(train)
    cascade = JudgedCascadeRouter(chain="all", thresholds=FAST, run_code=False).fit(train)
    unit = cascade.units_["arc-challenge"]
    window = tuple(range(train.n_models))
    ev = cascade._evidence(test)
    expected = unit.verifier.predict(ev, np.arange(test.n_prompts), window)
    assert np.allclose(ref.predict_quality(test), expected)
    mean_cost = np.nanmean(train.cost, axis=0)
    assert np.allclose(ref.predict_cost(test), np.broadcast_to(mean_cost, test.shape))


def test_routes_by_willingness_to_pay_and_pays_only_for_the_model_it_picks(split):
    train, test = split
    ref = _reference(lambdas=[0.0, 0.05, 1.0, 1e3]).fit(train)
    p, c = ref.predict_quality(test), ref.predict_cost(test)
    decisions = list(ref.sweep(test))
    assert len(decisions) == 4
    for d in decisions:
        lam = d.params["willingness_to_pay"]
        assert np.array_equal(d.choice, np.argmax(lam * p - c, axis=1))
        assert d.called is None  # only the chosen model is paid for
    assert (decisions[0].choice == int(np.argmin(c[0]))).all()  # λ = 0: cheapest model
    assert len(np.unique(decisions[-1].choice)) > 1  # λ large: per prompt, the likeliest right


def test_it_reads_responses_of_models_it_did_not_pick(split):
    """Unlike a cascade, garbling the responses of unpicked models changes its decisions."""
    train, test = split
    ref = _reference().fit(train)
    d = ref.route(test, willingness_to_pay=1.0)
    texts = test.responses.load().copy()
    picked = np.zeros(test.shape, dtype=bool)
    picked[np.arange(test.n_prompts), d.choice] = True
    texts[~picked] = "Z garbled by the test"
    garbled = replace(test, responses=ResponseStore(lambda t=texts: t))
    assert not np.array_equal(ref.route(garbled, willingness_to_pay=1.0).choice, d.choice)


def test_with_every_response_free_it_gains_at_least_what_a_cascade_gains(split):
    """It reads more and pays less than a cascade on the same verifier: a ceiling for it."""
    train, test = split

    def gain(router) -> float:
        pairs = [realised(test.quality, test.cost, d.choice, d.called) for d in router.sweep(test)]
        q, c = np.stack([p[0] for p in pairs]), np.stack([p[1] for p in pairs])
        totals = test.cost.sum(axis=0)
        window = (float(totals.min()), float(totals.max()))
        res = crossfit_delta((q, c), (test.quality.T, test.cost.T), window, n_boot=0)
        return res.estimate

    cascade = gain(JudgedCascadeRouter(chain="all", thresholds=FAST, run_code=False).fit(train))
    reference = gain(_reference().fit(train))
    assert cascade > 0.01, cascade
    assert reference > cascade, (reference, cascade)


def test_it_cannot_rank_prompts_from_text_alone(split):
    train, _ = split
    with pytest.raises(NotPredictiveError):
        _reference().fit(train).rank_prompts(["Which letter?"], 1.0)


def test_its_verdict_is_the_reference_one_never_beats_zero():
    clears = ("router", 0.05, 0.01, 0.02, 0.0)
    assert verdict_of(*clears) == BEATS_ZERO
    assert verdict_of(*clears, reads_uncalled_responses=True) == REFERENCE_ABOVE_ZERO
    assert REFERENCE_ABOVE_ZERO in ABOVE_ZERO and REFERENCE_ABOVE_ZERO != BEATS_ZERO
    weak = ("router", 0.01, -0.01, 0.02, 0.0)
    assert verdict_of(*weak, reads_uncalled_responses=True) == "within noise"


def test_registry_builds_it_with_its_parameters():
    ref = get_router("all-responses", c=0.3, rich=True)
    assert isinstance(ref, AllResponsesReference) and ref.c == 0.3 and ref.rich


def test_a_reference_is_not_saved_as_a_serving_artifact(split, tmp_path):
    from routerbench.errors import ArtifactError
    from routerbench.routers.artifact import save_router

    train, _ = split
    target = tmp_path / "reference.rbr"
    with pytest.raises(ArtifactError, match="allow-list"):
        save_router(_reference().fit(train), target)
    assert list(tmp_path.iterdir()) == []


def test_the_new_tag_comes_last_so_tags_built_by_position_keep_their_meaning():
    from routerbench.routers.params import RouterTags

    tags = RouterTags(True, False, True, "knob")
    assert tags.depends_on_test_set and tags.sweep_knob == "knob"
    assert not tags.reads_uncalled_responses
