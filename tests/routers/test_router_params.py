"""The parameter contract: part__param names, recursive clone with sklearn's identity check,
repr and labels from parameters, refusal of *args/**kwargs, and declared constraints that
`fit` and the config planner both apply (the planner with the value's key path)."""

from __future__ import annotations

import numpy as np
import pytest

from routerbench.embed import HashingEmbedder
from routerbench.errors import ConfigError
from routerbench.experiment.config import parse_config
from routerbench.experiment.plan import router_systems
from routerbench.routers import (
    ComposedRouter,
    ContractError,
    KNNQuality,
    KNNRouter,
    LogisticQuality,
    LogisticRouter,
    MLPRouter,
    PromptFeatures,
    Router,
    check_bench,
    clone,
    get_router,
)


def composed() -> ComposedRouter:
    return ComposedRouter(KNNQuality(5), PromptFeatures("hashing", dim=16), cost="mean")


def test_deep_params_name_the_parts_and_set_params_reaches_them() -> None:
    router = composed()
    deep = router.get_params(deep=True)
    assert deep["quality__n_neighbors"] == 5 and deep["features__dim"] == 16
    assert deep["quality"] is router.quality and "quality__n_neighbors" not in router.get_params(
        deep=False
    )
    assert router.set_params(quality__n_neighbors=9, features__text="final-turn") is router
    assert router.quality.n_neighbors == 9 and router.features.text == "final-turn"
    with pytest.raises(ConfigError, match="has no parameter 'nope'"):
        router.set_params(quality__nope=1)
    with pytest.raises(ConfigError, match="has no parameter 'colour'"):
        router.set_params(colour="red")


def test_clone_is_recursive_and_unfitted() -> None:
    router = composed().fit(check_bench(n=40))
    twin = clone(router)
    assert twin.quality is not router.quality and twin.features is not router.features
    assert twin.get_params(deep=True)["quality__n_neighbors"] == 5
    assert not hasattr(twin, "models_") and hasattr(router, "models_")
    knn = KNNRouter(7, embedder=HashingEmbedder(dim=8))
    copy = clone(knn)
    assert copy.embedder is not knn.embedder and copy.n_neighbors == 7


class Rounds(Router):
    """Breaks the contract: its constructor changes the parameter it is given."""

    def __init__(self, share: float = 0.5) -> None:
        self.share = round(share, 1)

    def fit(self, train):
        return self

    def route(self, test):
        raise NotImplementedError


def test_clone_applies_sklearns_identity_check() -> None:
    with pytest.raises(RuntimeError, match="share"):
        clone(Rounds(0.55))


def test_star_args_and_kwargs_are_refused() -> None:
    class Star(Rounds):
        def __init__(self, *shares: float) -> None:
            self.shares = shares

    class Kw(Rounds):
        def __init__(self, **options: float) -> None:
            self.options = options

    for cls in (Star, Kw):
        with pytest.raises(ContractError, match="no \\*args or \\*\\*kwargs"):
            cls().get_params()


def test_repr_and_label_come_from_parameters() -> None:
    assert repr(KNNRouter(40)) == "KNNRouter(n_neighbors=40)"
    assert repr(KNNRouter()) == "KNNRouter()"
    assert KNNRouter(40).label == "knn(k=40)"
    assert MLPRouter((100, 100)).label == "mlp(100, 100)"
    assert LogisticRouter().label == "logreg"
    assert LogisticRouter(cv=3).label == "logreg(cv=3)"
    assert repr(composed()).startswith("ComposedRouter(quality=KNNQuality(n_neighbors=5)")
    assert composed().name == "knn"


@pytest.mark.parametrize(
    ("router", "message"),
    [
        (KNNRouter(n_neighbors=2.5), "n_neighbors must be an integer >= 1, got 2.5"),
        (KNNRouter(n_neighbors=0), "n_neighbors must be an integer >= 1, got 0"),
        (KNNRouter(n_neighbors="ten"), "got 'ten'"),
        (KNNRouter(n_neighbors=True), "got True"),
        (KNNRouter(lambdas=[1.0, -1.0]), "lambdas must be one of 'exact', 'paper'"),
        (KNNRouter(max_settings=1), "max_settings must be an integer >= 2"),
        (KNNRouter(text="middle"), "text must be one of 'full', 'final-turn'"),
        (LogisticRouter(alphas=(0.1, 0.0)), "list of items each a finite number > 0"),
        (LogisticRouter(cv=1), "cv must be an integer >= 2"),
        (ComposedRouter(LogisticQuality(cv=1), PromptFeatures()), "cv must be an integer >= 2"),
        (ComposedRouter(object(), PromptFeatures()), "quality must be a quality model"),
    ],
)
def test_fit_refuses_values_outside_the_declared_constraints(router, message) -> None:
    with pytest.raises(ConfigError) as exc:
        router.fit(check_bench(n=30))
    assert message in str(exc.value)


def test_a_preset_is_exactly_its_composition() -> None:
    bench = check_bench(n=60, seed=1)
    train, test = bench.subset(np.arange(40)), bench.subset(np.arange(40, 60))
    preset = KNNRouter(4, embedder="hashing", cost="regress").fit(train)
    parts = ComposedRouter(KNNQuality(4), PromptFeatures("hashing"), cost="regress").fit(train)
    np.testing.assert_array_equal(preset.predict_quality(test), parts.predict_quality(test))
    np.testing.assert_array_equal(preset.predict_cost(test), parts.predict_cost(test))
    assert preset.name == parts.name == "knn"


def _plan(routers: list[dict]) -> list:
    return router_systems(parse_config({"routers": routers}))


@pytest.mark.parametrize(
    ("routers", "expected"),
    [
        (
            [{"name": "knn", "grid": {"n_neighbors": [5, 0]}}],
            "routers[0].grid.n_neighbors[1]: n_neighbors must be an integer >= 1, got 0",
        ),
        (
            [{"name": "knn", "grid": {"n_neighbors": [-5]}}],
            "routers[0].grid.n_neighbors[0]: n_neighbors must be an integer >= 1, got -5",
        ),
        (
            [{"name": "svr"}, {"name": "knn", "params": {"n_neighbors": 2.5}}],
            "routers[1].params.n_neighbors: n_neighbors must be an integer >= 1, got 2.5",
        ),
        (
            [{"name": "knn", "params": {"n_neighbors": "ten"}}],
            "routers[0].params.n_neighbors: n_neighbors must be an integer >= 1, got 'ten'",
        ),
        (
            [{"name": "mlp", "grid": {"hidden_layer_sizes": [[100], [100, 0]]}}],
            "routers[0].grid.hidden_layer_sizes[1]: hidden_layer_sizes must be",
        ),
        (
            [
                {
                    "name": "wtp",
                    "params": {"quality": "knn"},
                    "grid": {"quality__n_neighbors": [3, 0]},
                }
            ],
            "routers[0].grid.quality__n_neighbors[1]: n_neighbors must be an integer >= 1",
        ),
        (
            [{"name": "wtp", "grid": {"features__dim": [16, -1]}}],
            "routers[0].grid.features__dim[1]: dim must be an integer >= 1",
        ),
        (
            [
                {
                    "name": "wtp",
                    "params": {"quality": "sklearn.linear_model:Ridge"},
                    "grid": {"quality__nope": [1]},
                }
            ],
            "routers[0].grid.quality__nope: wtp has no parameter 'quality__nope'",
        ),
        (
            [{"name": "logreg", "params": {"cv": 1}}],
            "routers[0].params.cv: cv must be an integer >= 2, got 1",
        ),
        (
            [{"name": "prior", "params": {"noise": -0.1}}],
            "routers[0].params.noise: noise must be a finite number >= 0, got -0.1",
        ),
        (
            [{"name": "oracle", "params": {"no_correct": "never"}}],
            "routers[0].params.no_correct: no_correct must be one of 'cheapest', 'zero-cost'",
        ),
    ],
)
def test_the_planner_checks_every_value_with_its_key_path(routers, expected) -> None:
    with pytest.raises(ConfigError) as exc:
        _plan(routers)
    assert expected in str(exc.value), str(exc.value)
    assert "\n" not in str(exc.value)


def test_the_planner_accepts_nested_grids_and_injects_the_embedder() -> None:
    systems = _plan(
        [
            {
                "name": "wtp",
                "params": {"quality": "sklearn.linear_model:Ridge"},
                "grid": {"quality__alpha": [0.5, 5.0]},
            }
        ]
    )
    assert [s.label for s in systems] == ["wtp(quality__alpha=0.5)", "wtp(quality__alpha=5.0)"]
    params = systems[1].router_params(0)
    assert params["quality__alpha"] == 5.0 and params["features__embedder"] == "tfidf-svd"
    router = get_router(systems[1].spec, **params)
    assert router.quality.alpha == 5.0 and router.features.embedder == "tfidf-svd"
    assert router.max_settings == 200  # the config's settings cap reaches it too
