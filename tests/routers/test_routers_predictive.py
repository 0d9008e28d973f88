"""Tests of the predictive routers, their features and cost models, against independent code.

KNN is checked against a hand-written neighbour loop and scikit-learn, the joint
logistic fit against scikit-learn's per-model LogisticRegression.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from threadpoolctl import threadpool_limits

from routerbench.data.benchmark import Benchmark
from routerbench.embed import TfidfSvdEmbedder
from routerbench.errors import ConfigError, NotFittedError
from routerbench.routers import (
    PAPER_LAMBDAS,
    FactorRouter,
    KNNRouter,
    LogisticRouter,
    MLPRouter,
    SVRRouter,
    check_bench,
    wtp_path,
)
from routerbench.routers.costs import PAPER_TOKEN_PRICES, CostModel, legacy_price_index
from routerbench.routers.quality.logistic_fit import fit_logit


@pytest.fixture(scope="module", autouse=True)
def _one_blas_thread():
    with threadpool_limits(1):
        yield


def emb() -> TfidfSvdEmbedder:
    return TfidfSvdEmbedder(dim=8, min_df=1, ngram_max=1)


def split(bench: Benchmark, cut: int) -> tuple[Benchmark, Benchmark]:
    return bench.subset(np.arange(cut)), bench.subset(np.arange(cut, bench.n_prompts))


def signal_bench(n=400, seed=0) -> Benchmark:
    """Model 0 is right on prompts about apples, model 1 on the others; model 2 on half."""
    rng = np.random.default_rng(seed)
    words = np.array(["apple", "river", "stone", "light", "music", "garden", "paper", "window"])
    topic = rng.random(n) < 0.5
    prompts = [("apple " if t else "river ") + " ".join(rng.choice(words[2:], 4)) for t in topic]
    q = np.column_stack([topic, ~topic, rng.random(n) < 0.5]).astype(float)
    noise = rng.random(q.shape) < 0.1
    q = np.where(noise, 1 - q, q)
    length = np.array([len(p) for p in prompts], dtype=float)
    cost = np.column_stack([length * 1e-5, length * 2e-5, np.full(n, 1e-3)])
    frame = pd.DataFrame(
        {"sample_id": [f"s{i}" for i in range(n)], "task": "mmlu", "prompt": prompts}
    )
    return Benchmark(frame, ("a", "b", "c"), q, cost, source="signal")


# ------------------------------------------------------------------------------ KNN
def test_knn_equals_a_hand_written_neighbour_mean_and_sklearn():
    from sklearn.neighbors import KNeighborsRegressor

    train, test = split(check_bench(n=90, m=3, seed=2), 60)
    router = KNNRouter(7, embedder=emb()).fit(train)
    p = router.predict_quality(test)
    xtr = router.features_.transform(train)
    xte = router.features_.transform(test)
    for i in range(test.n_prompts):
        dist = 1 - (xtr @ xte[i]) / (np.linalg.norm(xtr, axis=1) * np.linalg.norm(xte[i]))
        nearest = np.argsort(dist, kind="stable")[:7]
        np.testing.assert_allclose(p[i], train.quality[nearest].mean(axis=0), atol=1e-12)
    ref = KNeighborsRegressor(7, metric="cosine", algorithm="brute").fit(xtr, train.quality)
    np.testing.assert_allclose(p, ref.predict(xte), atol=1e-12)


def test_knn_skips_unmeasured_neighbours():
    train, test = split(check_bench(n=60, m=3), 40)
    q = train.quality.copy()
    q[:, 1] = np.nan  # model 1 never measured... except one prompt
    q[0, 1] = 1.0
    holed = Benchmark(train.prompts, train.models, q, train.cost)
    p = KNNRouter(train.n_prompts, embedder=emb()).fit(holed).predict_quality(test)
    np.testing.assert_allclose(p[:, 1], 1.0)  # the NaN-aware mean over all prompts
    np.testing.assert_allclose(p[:, 0], np.nanmean(q[:, 0]))


# ----------------------------------------------------------------------------- MLP/SVR
def test_mlp_is_deterministic_clipped_and_per_model_when_cells_are_missing():
    train, test = split(check_bench(n=80, m=3), 50)
    a = MLPRouter((16,), max_iter=50, embedder=emb()).fit(train)
    b = MLPRouter((16,), max_iter=50, embedder=emb()).fit(train)
    pa = a.predict_quality(test)
    np.testing.assert_array_equal(pa, b.predict_quality(test))
    assert pa.min() >= 0 and pa.max() <= 1 and len(a.quality_.nets_) == 1
    q = train.quality.copy()
    q[:5, 2] = np.nan
    holed = Benchmark(train.prompts, train.models, q, train.cost)
    c = MLPRouter((16,), max_iter=50, embedder=emb()).fit(holed)
    assert len(c.quality_.nets_) == 3 and c.predict_quality(test).shape == test.shape


def test_svr_predictions_are_clipped_probabilities():
    train, test = split(check_bench(), 50)
    p = SVRRouter(embedder=emb()).fit(train).predict_quality(test)
    assert p.shape == test.shape and p.min() >= 0 and p.max() <= 1


# ----------------------------------------------------------------------------- costs
def test_legacy_price_index_is_the_papers_per_token_price():
    idx = legacy_price_index(["gpt-4-1106-preview", "mistralai/mistral-7b-chat"])
    np.testing.assert_allclose(idx, [40e-6, 0.4e-6])
    assert len(PAPER_TOKEN_PRICES) == 11
    with pytest.raises(ConfigError, match="no price for 'my-model'"):
        legacy_price_index(["my-model"])


def test_mean_cost_is_per_dataset_with_an_overall_fallback():
    bench = check_bench(n=60, m=3)
    model = CostModel("mean").fit(bench)
    labels = bench.prompts["dataset"].to_numpy()
    pred = model.predict(bench)
    for ds in ("mmlu", "gsm8k"):
        expected = bench.cost[labels == ds].mean(axis=0)
        np.testing.assert_allclose(pred[labels == ds], np.tile(expected, ((labels == ds).sum(), 1)))
    other = bench.subset(np.arange(3))
    other = Benchmark(
        other.prompts.assign(task="unseen", dataset="unseen"),
        other.models,
        other.quality,
        other.cost,
    )
    np.testing.assert_allclose(model.predict(other), np.tile(bench.cost.mean(axis=0), (3, 1)))
    with pytest.raises(ConfigError, match="cost must be one of"):
        CostModel("free").fit(bench)  # the constructor only stores; fit checks


def test_regressed_cost_tracks_prompt_length_better_than_the_mean():
    train, test = split(signal_bench(600), 400)
    mean = LogisticRouter(alphas=(1e-2,), cv=2, embedder=emb()).fit(train).predict_cost(test)
    reg = LogisticRouter(alphas=(1e-2,), cv=2, embedder=emb(), cost="regress").fit(train)
    pred = reg.predict_cost(test)
    err_reg = np.abs(np.log(pred[:, :2]) - np.log(test.cost[:, :2])).mean()
    err_mean = np.abs(np.log(mean[:, :2]) - np.log(test.cost[:, :2])).mean()
    assert err_reg < 0.5 * err_mean
    assert (pred > 0).all()


# ------------------------------------------------------------------------ logistic
def test_joint_logistic_fit_equals_sklearn_per_model():
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    n, d, m = 300, 5, 3
    x = rng.normal(size=(n, d))
    y = (rng.random((n, m)) < 1 / (1 + np.exp(-x @ rng.normal(size=(d, m))))).astype(float)
    alpha = 1e-3
    model = fit_logit(x, y, alpha=alpha)
    for j in range(m):
        ref = LogisticRegression(C=1 / (n * m * alpha), tol=1e-10, max_iter=10_000)
        ref.fit(x, y[:, j])
        np.testing.assert_allclose(model.weights[:, j], ref.coef_[0], atol=2e-4)
        np.testing.assert_allclose(model.bias[j], ref.intercept_[0], atol=2e-4)


def test_logistic_and_factor_routers_learn_a_planted_signal():
    from sklearn.metrics import roc_auc_score

    train, test = split(signal_bench(500), 350)
    for router in (
        LogisticRouter(embedder=emb(), cv=3),
        FactorRouter(ranks=(2,), alphas=(1e-3, 1e-2), cv=3, embedder=emb()),
    ):
        p = router.fit(train).predict_quality(test)
        for j in (0, 1):
            assert roc_auc_score(test.quality[:, j], p[:, j]) > 0.8
        assert router.quality_.best_params_["alpha"] in router.alphas
    # Routing by argmax picks the right model far more often than either alone.
    choice = router.route(test).choice
    assert test.quality[np.arange(test.n_prompts), choice].mean() > 0.8


# --------------------------------------------------------------- shared behaviour
def test_sweep_predicts_once_and_matches_the_exact_path(monkeypatch):
    train, test = split(signal_bench(300), 200)
    router = LogisticRouter(alphas=(1e-2,), cv=2, embedder=emb()).fit(train)
    calls = []
    original = router.quality_.predict
    monkeypatch.setattr(router.quality_, "predict", lambda x: calls.append(1) or original(x))
    decisions = list(router.sweep(test))
    assert len(calls) == 1
    path = router.path(test)
    assert len(decisions) == path.n_regions
    points = [d.point(test) for d in decisions]
    np.testing.assert_allclose([p.cost for p in points], path.costs, rtol=1e-9)
    np.testing.assert_allclose([p.quality for p in points], path.qualities, atol=1e-12)
    ref = wtp_path(router.predict_quality(test), router.predict_cost(test), test.quality, test.cost)
    np.testing.assert_allclose(ref.lambdas, path.lambdas)
    # λ = None is quality only: the last region of the path.
    np.testing.assert_array_equal(router.route(test).choice, path.choice(path.n_regions - 1))


def test_lambda_modes_and_thinning():
    train, test = split(signal_bench(300), 200)
    paper = KNNRouter(5, embedder=emb(), lambdas="paper").fit(train)
    assert [s["willingness_to_pay"] for s in paper.settings()] == list(PAPER_LAMBDAS)
    assert len(list(paper.sweep(test))) == 32
    fixed = KNNRouter(5, embedder=emb(), lambdas=[0.0, 1.0]).fit(train)
    assert [d.params["willingness_to_pay"] for d in fixed.sweep(test)] == [0.0, 1.0]
    thin = KNNRouter(5, embedder=emb(), max_settings=5).fit(train)
    assert 2 <= len(thin.settings(test)) <= 7
    with pytest.raises(ConfigError):
        KNNRouter(lambdas="dense").fit(train)
    with pytest.raises(ValueError, match="depend on the test prompts"):
        thin.settings()


def test_features_use_train_only_and_ignore_other_columns():
    train, test = split(signal_bench(300), 200)
    embedder = emb()
    router = KNNRouter(5, embedder=embedder).fit(train)
    assert embedder.fit_fingerprint_ is None  # the object passed in was not fitted
    leaky = Benchmark(
        test.prompts.assign(oracle_model_to_route_to="a", label="B"),
        test.models,
        test.quality,
        test.cost,
    )
    np.testing.assert_array_equal(router.predict_quality(test), router.predict_quality(leaky))
    with pytest.raises(NotFittedError):
        KNNRouter().predict_quality(test)


# ------------------------------------------------------------------- the control
def test_prior_control_noise_follows_the_prompt_not_its_row():
    from routerbench.routers import PriorRouter
    from routerbench.routers.control import prompt_noise

    train, test = split(check_bench(n=120, m=3), 60)
    router = PriorRouter(noise=0.1, seed=3).fit(train)
    full = router.predict_quality(test)
    rows = np.array([5, 1, 30, 7])
    np.testing.assert_allclose(router.predict_quality(test.subset(rows)), full[rows])
    # Without noise: the train base rate of the prompt's dataset, for every prompt.
    flat = PriorRouter(noise=0.0).fit(train).predict_quality(test)
    labels_tr = train.prompts["dataset"].to_numpy()
    for i, ds in enumerate(test.prompts["dataset"]):
        np.testing.assert_allclose(flat[i], train.quality[labels_tr == ds].mean(axis=0))
    z = prompt_noise(pd.Series([f"id{i}" for i in range(20_000)]), 2, seed=0)
    assert abs(z.mean()) < 0.03 and abs(z.std() - 1) < 0.03
    assert abs(np.corrcoef(z[:, 0], z[:, 1])[0, 1]) < 0.03
    other = prompt_noise(pd.Series([f"id{i}" for i in range(20_000)]), 2, seed=1)
    assert abs(np.corrcoef(z[:, 0], other[:, 0])[0, 1]) < 0.03
