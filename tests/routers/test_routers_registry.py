"""Tests of the router registry: built-in names, import paths, entry points and clear errors.

`ThirdPartyRouter` below plays a user's own router, plugged in by import path and
by entry point, and evaluated end to end like a built-in.
"""

from __future__ import annotations

from importlib.metadata import EntryPoint

import numpy as np
import pytest

from routerbench.data.benchmark import Benchmark
from routerbench.decision import Decision
from routerbench.errors import ConfigError
from routerbench.routers import (
    KNNRouter,
    LogisticRouter,
    Router,
    SingleModelRouter,
    available,
    check_bench,
    check_router,
    get_router,
    register,
    unregister,
)
from routerbench.routers import registry as registry_module


class ThirdPartyRouter(Router):
    """Sends prompts whose text contains `word` to the dearest model, the rest to the cheapest."""

    name = "third-party"

    def __init__(self, word: str = "apple") -> None:
        self.word = word

    def fit(self, train: Benchmark) -> ThirdPartyRouter:
        mean_cost = np.nanmean(train.cost, axis=0)
        self.cheap_, self.dear_ = int(np.argmin(mean_cost)), int(np.argmax(mean_cost))
        self.models_ = train.models
        return self

    def route(self, test: Benchmark) -> Decision:
        self._check_fitted()
        self._check_models(test)
        hit = test.prompts["prompt"].str.contains(self.word).to_numpy()
        return Decision(np.where(hit, self.dear_, self.cheap_), label=self.name)


def make_third_party(**params) -> Router:
    return ThirdPartyRouter(**params)


def not_a_router_factory(**params):
    return {"params": params}


SPEC = f"{__name__}:ThirdPartyRouter"


def test_builtin_names_build_the_right_classes():
    assert isinstance(get_router("knn", n_neighbors=40), KNNRouter)
    assert get_router("knn", n_neighbors=40).n_neighbors == 40
    assert isinstance(get_router("logreg"), LogisticRouter)
    carrot = get_router("carrot")
    assert isinstance(carrot, LogisticRouter) and carrot.cost == "regress"
    single = get_router("single:gpt-4-1106-preview")
    assert isinstance(single, SingleModelRouter) and single.model == "gpt-4-1106-preview"
    assert {"knn", "mlp", "svr", "oracle", "zero", "random", "single", "logreg", "mf"} <= set(
        available()
    )


def test_a_third_party_router_runs_end_to_end_by_import_path():
    router = get_router(SPEC, word="river")
    assert isinstance(router, ThirdPartyRouter) and router.word == "river"
    check_router(lambda: get_router(SPEC))
    bench = check_bench()
    train, test = bench.subset(np.arange(40)), bench.subset(np.arange(40, 80))
    decision = next(iter(router.fit(train).sweep(test)))
    point = decision.point(test)
    hit = test.prompts["prompt"].str.contains("river").to_numpy()
    expected = np.where(hit, test.cost[:, -1], test.cost[:, 0]).sum()
    assert point.cost == pytest.approx(expected)


def test_a_factory_function_works_too():
    assert isinstance(get_router(f"{__name__}:make_third_party", word="x"), ThirdPartyRouter)


def test_register_and_unregister():
    register("my-third-party", ThirdPartyRouter)
    try:
        assert isinstance(get_router("my-third-party"), ThirdPartyRouter)
        with pytest.raises(ConfigError, match="already taken"):
            register("my-third-party", ThirdPartyRouter)
        register("my-third-party", make_third_party, overwrite=True)
        assert "my-third-party" in available()
    finally:
        unregister("my-third-party")
    assert "my-third-party" not in available()
    with pytest.raises(ConfigError, match="already taken"):
        register("knn", ThirdPartyRouter)
    with pytest.raises(ConfigError, match="without ':'"):
        register("a:b", ThirdPartyRouter)


def test_entry_points_are_discovered(monkeypatch):
    ep = EntryPoint(name="plugged", value=SPEC, group=registry_module.ENTRY_POINT_GROUP)
    broken = EntryPoint(
        name="broken", value="no_such_module_xyz:Thing", group=registry_module.ENTRY_POINT_GROUP
    )
    monkeypatch.setattr(
        registry_module, "entry_points", lambda group: [ep, broken] if group == ep.group else []
    )
    assert "plugged" in available()
    assert isinstance(get_router("plugged", word="stone"), ThirdPartyRouter)
    with pytest.raises(ConfigError, match="entry point 'broken' failed to load"):
        get_router("broken")


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("no-such-router", "unknown router 'no-such-router'; known: .*knn"),
        ("no_such_module_xyz:Router", "cannot import module 'no_such_module_xyz'"),
        (f"{__name__}:Missing", "has no attribute 'Missing'"),
        ("collections:OrderedDict", "not a subclass of routerbench.routers.Router"),
        (f"{__name__}:not_a_router_factory", "produced a dict, not a routerbench"),
        ("single:", "needs a model name"),
        ("", "non-empty string"),
    ],
)
def test_bad_specs_fail_with_a_clear_message(spec, message):
    with pytest.raises(ConfigError, match=message):
        get_router(spec)


def test_bad_parameters_name_the_router():
    with pytest.raises(ConfigError, match="'knn' rejected its parameters"):
        get_router("knn", n_neigbours=3)
    with pytest.raises(ConfigError, match="Router instance"):
        get_router(KNNRouter(), n_neighbors=3)
    instance = KNNRouter()
    assert get_router(instance) is instance
