"""`rank_prompts` routes prompts from their text alone, and `route` on a benchmark agrees.

Serving has no outcome table; the benchmark path must be the same decision, so every
predictive router is compared on the same prompts at several willingness-to-pay values.
"""

from __future__ import annotations

import numpy as np
import pytest

from routerbench.embed import TfidfSvdEmbedder
from routerbench.errors import DataError
from routerbench.routers import (
    FactorRouter,
    KNNRouter,
    LogisticRouter,
    MLPRouter,
    OracleRouter,
    PriorRouter,
    RandomRouter,
    SingleModelRouter,
    SVRRouter,
    ZeroRouterBaseline,
    check_bench,
    get_router,
)
from routerbench.routers.ranking import NotPredictiveError, Ranking, prompt_frame


def small_embedder() -> TfidfSvdEmbedder:
    return TfidfSvdEmbedder(dim=8, min_df=1, ngram_max=1)


FAST = {"embedder": small_embedder(), "max_settings": 64}

PREDICTIVE = {
    "knn": lambda: KNNRouter(5, **FAST),
    "mlp": lambda: MLPRouter((8,), max_iter=30, **FAST),
    "svr": lambda: SVRRouter(**FAST),
    "svr-regress-cost": lambda: SVRRouter(cost="regress", **FAST),
    "logreg": lambda: LogisticRouter(alphas=(1e-2, 1e-1), cv=2, **FAST),
    "carrot": lambda: get_router("carrot", alphas=(1e-2,), cv=2, **FAST),
    "mf": lambda: FactorRouter(ranks=(2,), alphas=(1e-2,), cv=2, **FAST),
    "prior": lambda: PriorRouter(noise=0.05),
    "prior-no-noise": lambda: PriorRouter(noise=0.0),
}

LAMBDAS = (0.0, 1e-4, 1e-2, 0.3, 1.0, 30.0, 1e4)


@pytest.fixture(scope="module")
def split():
    bench = check_bench(n=90, m=4, seed=3)
    return bench.subset(np.arange(60)), bench.subset(np.arange(60, 90))


@pytest.mark.parametrize("name", sorted(PREDICTIVE))
def test_rank_prompts_matches_route_on_the_same_prompts(name, split) -> None:
    train, test = split
    router = PREDICTIVE[name]().fit(train)
    texts = test.prompts["prompt"].tolist()
    tasks = test.prompts["task"].tolist()
    settings = [s["willingness_to_pay"] for s in router.settings(test)]
    lambdas = list(LAMBDAS) + settings[:: max(1, len(settings) // 6)]
    for lam in lambdas:
        ranking = router.rank_prompts(texts, lam, tasks=tasks)
        assert isinstance(ranking, Ranking)
        routed = router.route(test, willingness_to_pay=lam).choice
        np.testing.assert_array_equal(ranking.choice, routed, err_msg=f"{name} at λ={lam}")
        np.testing.assert_array_equal(ranking.order, router.rank(test, lam))
    # The estimates behind the order are the router's P̂ and ĉ on the benchmark.
    ranking = router.rank_prompts(texts, 1.0, tasks=tasks)
    np.testing.assert_array_equal(ranking.quality, router.predict_quality(test))
    np.testing.assert_array_equal(ranking.cost, router.predict_cost(test))
    assert ranking.models == test.models


@pytest.mark.parametrize("name", ["knn", "logreg", "prior"])
def test_sweep_decisions_are_rank_prompts_choices(name, split) -> None:
    """Every swept setting (the exact path) equals ranking the prompts at its λ."""
    train, test = split
    router = PREDICTIVE[name]().fit(train)
    texts = test.prompts["prompt"].tolist()
    datasets = test.prompts["dataset"].tolist()
    for decision in router.sweep(test):
        lam = decision.params["willingness_to_pay"]
        choice = router.rank_prompts(texts, lam, datasets=datasets).choice
        np.testing.assert_array_equal(choice, decision.choice)


def test_ranking_order_is_by_score_with_cheaper_ties_first(split) -> None:
    train, test = split
    router = PREDICTIVE["knn"]().fit(train)
    ranking = router.rank_prompts(test.prompts["prompt"].tolist(), 2.0)
    score = 2.0 * ranking.quality - ranking.cost
    ranked = np.take_along_axis(score, ranking.order, axis=1)
    assert np.all(np.diff(ranked, axis=1) <= 0)
    assert np.all(np.sort(ranking.order, axis=1) == np.arange(test.n_models))
    names = ranking.ranked_names(0)
    assert names[0] == test.models[ranking.choice[0]] and sorted(names) == sorted(test.models)
    assert ranking.n_prompts == test.n_prompts
    with pytest.raises(ValueError):
        ranking.order[0, 0] = 1  # read-only: a server cannot corrupt a shared ranking


def test_metadata_is_used_only_when_given(split) -> None:
    """Without task/dataset a metadata-reading router treats prompts as from an unseen
    dataset; its estimates differ from those with the metadata."""
    train, test = split
    router = PREDICTIVE["logreg"]().fit(train)
    texts = test.prompts["prompt"].tolist()
    with_meta = router.rank_prompts(texts, 1.0, tasks=test.prompts["task"].tolist())
    without = router.rank_prompts(texts, 1.0)
    assert not np.allclose(with_meta.quality, without.quality)
    knn = PREDICTIVE["knn"]().fit(train)  # reads the text only
    np.testing.assert_array_equal(
        knn.rank_prompts(texts, 1.0).quality,
        knn.rank_prompts(texts, 1.0, tasks=test.prompts["task"].tolist()).quality,
    )


@pytest.mark.parametrize(
    "router",
    [OracleRouter(), RandomRouter(), SingleModelRouter(0), ZeroRouterBaseline()],
    ids=lambda r: r.name,
)
def test_non_predictive_routers_refuse_to_rank_prompts(router, split) -> None:
    train, _ = split
    router.fit(train)
    with pytest.raises(NotPredictiveError, match="not a predictive router"):
        router.rank_prompts(["what is 2 + 2?"], 1.0)


def test_prompt_frame_checks_its_inputs() -> None:
    frame = prompt_frame(["a", "b"], tasks=["mmlu-astronomy", "gsm8k"])
    assert frame["dataset"].tolist() == ["mmlu", "gsm8k"]
    assert frame["task"].tolist() == ["mmlu-astronomy", "gsm8k"]
    assert prompt_frame(["a"], datasets=["mbpp"])["dataset"].tolist() == ["mbpp"]
    assert prompt_frame(["a"])["dataset"].tolist() == [""]
    with pytest.raises(DataError, match="2 prompts"):
        prompt_frame(["a", "b"], tasks=["mmlu"])
    with pytest.raises(DataError, match="one string"):
        prompt_frame("a single string")
    with pytest.raises(DataError, match="expected a str"):
        prompt_frame(["a", "b"], datasets=["mmlu", 3])


def test_rank_prompts_before_fit_is_an_error() -> None:
    from routerbench.errors import NotFittedError

    with pytest.raises(NotFittedError):
        KNNRouter().rank_prompts(["hello"], 1.0)
