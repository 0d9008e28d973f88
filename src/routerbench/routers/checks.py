"""`check_router`: the router contract as executable checks, like scikit-learn's check_estimator.

Run it on any router (built-in or your own) to learn, with a named failing check,
where it breaks the contract the evaluation code relies on.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from routerbench.data.benchmark import Benchmark
from routerbench.decision import NO_ANSWER, Decision
from routerbench.errors import NotFittedError
from routerbench.routers.base import PredictiveRouter, Router, clone

#: Settings compared one by one between `sweep` and `route` (the rest only for shape).
_MAX_COMPARED = 8

_WORDS = [
    "apple",
    "river",
    "stone",
    "light",
    "music",
    "garden",
    "paper",
    "window",
    "silver",
    "forest",
    "number",
    "engine",
    "history",
    "planet",
    "ocean",
    "market",
    "chapter",
    "signal",
    "bridge",
    "winter",
]


class RouterCheckError(AssertionError):
    """A router broke the contract; the message starts with the failing check's name."""


def check_bench(n: int = 80, m: int = 4, seed: int = 0) -> Benchmark:
    """A small deterministic benchmark with word prompts, two datasets and learnable signal.

    Prompts mixing a few words let text embedders fit; whether a prompt holds
    ``"apple"`` shifts which model is right, so predictive routers have
    something to learn; costs rise with the model index.
    """
    rng = np.random.default_rng(seed)
    words = rng.choice(_WORDS, size=(n, 6))
    prompts = [" ".join(row) for row in words]
    topic = np.array(["apple" in p for p in prompts])
    datasets = np.where(np.arange(n) % 2 == 0, "mmlu", "gsm8k")
    base = np.linspace(0.4, 0.8, m)
    p_right = np.where(topic[:, None], base[::-1], base)
    quality = (rng.random((n, m)) < p_right).astype(float)
    cost = rng.uniform(0.8, 1.2, (n, m)) * np.geomspace(1e-4, 1e-2, m)
    frame = pd.DataFrame(
        {"sample_id": [f"c{i}" for i in range(n)], "task": datasets, "prompt": prompts}
    )
    return Benchmark(frame, tuple(f"model-{j}" for j in range(m)), quality, cost, source="check")


def _fail(check: str, message: str) -> RouterCheckError:
    return RouterCheckError(f"[{check}] {message}")


def _factory(router_or_factory: Router | Callable[[], Router]) -> Callable[[], Router]:
    if isinstance(router_or_factory, Router):
        proto = router_or_factory
        return lambda: clone(proto)
    if callable(router_or_factory):
        return router_or_factory  # a Router subclass or a zero-argument function
    raise TypeError(f"expected a Router or a factory, got {type(router_or_factory).__name__}")


def _same_params(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    if set(a) != set(b):
        return False
    for k in a:
        x, y = a[k], b[k]
        if x is y:
            continue
        try:
            equal = bool(np.all(x == y)) if isinstance(x, np.ndarray) else x == y
        except Exception:
            equal = repr(x) == repr(y)
        if not equal and type(x).__module__ != "builtins":
            equal = repr(x) == repr(y) or type(x) is type(y)  # objects without __eq__
        if not equal:
            return False
    return True


def _snapshot(bench: Benchmark) -> tuple[str, pd.DataFrame, tuple[str, ...]]:
    return bench.fingerprint(), bench.prompts.copy(deep=True), bench.models


def _check_unchanged(bench: Benchmark, snap: tuple[str, pd.DataFrame, tuple[str, ...]]) -> None:
    if bench.fingerprint() != snap[0] or bench.models != snap[2]:
        raise _fail("no-mutation", "the benchmark's outcomes or models changed")
    if not bench.prompts.equals(snap[1]):
        raise _fail("no-mutation", "the benchmark's prompts table changed")


def _check_decision(d: Any, bench: Benchmark, check: str) -> Decision:
    if not isinstance(d, Decision):
        raise _fail(check, f"route/sweep must return a Decision, got {type(d).__name__}")
    n, m = bench.shape
    if d.choice.shape != (n,):
        raise _fail(check, f"choice has shape {d.choice.shape}, expected ({n},)")
    if d.choice.size and (d.choice.min() < NO_ANSWER or d.choice.max() >= m):
        raise _fail(check, f"choice holds an index outside [-1, {m - 1}]")
    if d.called is not None:
        if d.called.shape != (n, m):
            raise _fail(check, f"called has shape {d.called.shape}, expected {(n, m)}")
        rows = np.flatnonzero(d.choice >= 0)
        if not d.called[rows, d.choice[rows]].all():
            raise _fail(check, "a chosen model is not marked as called (chosen ⊆ called)")
    if not isinstance(d.params, Mapping):
        raise _fail(check, "Decision.params must be a mapping of the setting")
    return d


def _same_decision(a: Decision, b: Decision) -> bool:
    if not np.array_equal(a.choice, b.choice):
        return False
    ca = a.called if a.called is not None else None
    cb = b.called if b.called is not None else None
    if ca is None or cb is None:
        return ca is None and cb is None
    return bool(np.array_equal(ca, cb))


def _check_predictive(router: PredictiveRouter, test: Benchmark, lambdas: list[float]) -> None:
    n, m = test.shape
    p = np.asarray(router.predict_quality(test))
    c = np.asarray(router.predict_cost(test))
    for name, t in (("predict_quality", p), ("predict_cost", c)):
        if t.shape != (n, m):
            raise _fail("predictive", f"{name} has shape {t.shape}, expected {(n, m)}")
        if not np.all(np.isfinite(t)):
            raise _fail("predictive", f"{name} returned non-finite values")
    if np.any(c < 0):
        raise _fail("predictive", "predict_cost returned negative costs")
    rows = np.arange(n)
    for lam in lambdas:
        order = np.asarray(router.rank(test, lam))
        if order.shape != (n, m) or not np.all(np.sort(order, axis=1) == np.arange(m)):
            raise _fail("predictive", f"rank(λ={lam}) rows must be permutations of the models")
        score = lam * p - c
        ranked = np.take_along_axis(score, order, axis=1)
        if np.any(np.diff(ranked, axis=1) > 1e-12 * (1 + np.abs(ranked[:, 1:]))):
            raise _fail("predictive", f"rank(λ={lam}) is not in decreasing λ·P̂ − ĉ")
        if not np.allclose(score[rows, order[:, 0]], score.max(axis=1), rtol=0, atol=1e-12):
            raise _fail("predictive", f"rank(λ={lam})[:, 0] is not the argmax of λ·P̂ − ĉ")
        routed = router.route(test, willingness_to_pay=lam).choice
        if not np.array_equal(routed, order[:, 0]):
            raise _fail("predictive", f"route(willingness_to_pay={lam}) disagrees with rank[:, 0]")


def check_router(
    router_or_factory: Router | Callable[[], Router],
    bench: Benchmark | None = None,
) -> list[str]:
    """Run the router contract's checks; raise `RouterCheckError` naming the first failure.

    Parameters
    ----------
    router_or_factory
        A Router instance (fresh copies are made with `clone`), a Router
        subclass constructible without arguments, or a zero-argument factory.
    bench
        Benchmark to split 60/40 into train and test (default `check_bench()`).

    Returns
    -------
    list of str
        Names of the checks that ran and passed.
    """
    make = _factory(router_or_factory)
    bench = check_bench() if bench is None else bench
    cut = max(1, round(bench.n_prompts * 0.6))
    train = bench.subset(np.arange(cut))
    test = bench.subset(np.arange(cut, bench.n_prompts))
    passed: list[str] = []

    # params: the constructor stores parameters only, and get_params round-trips.
    router = make()
    if not isinstance(router, Router):
        raise _fail("params", f"factory returned {type(router).__name__}, not a Router")
    try:
        params = router.get_params()
    except Exception as exc:
        raise _fail(
            "params",
            f"get_params failed ({type(exc).__name__}: {exc}); store each "
            "constructor argument under its own name",
        ) from exc
    learned = [k for k in vars(router) if k.endswith("_") and not k.startswith("__")]
    if learned:
        raise _fail("params", f"constructor set learned state {learned}")
    extra = [k for k in vars(router) if not k.startswith("_") and k not in params]
    if extra:
        raise _fail("params", f"constructor set attributes that are not parameters: {extra}")
    again = type(router)(**params).get_params()
    if not _same_params(params, again):
        raise _fail("params", f"get_params does not round-trip: {params} vs {again}")
    passed.append("params")

    # not-fitted: routing before fit is an error, not a silent default.
    try:
        router.route(test)
    except NotFittedError:
        pass
    except Exception as exc:
        raise _fail("not-fitted", f"route before fit raised {type(exc).__name__}: {exc}") from exc
    else:
        raise _fail("not-fitted", "route before fit did not raise NotFittedError")
    passed.append("not-fitted")

    snap_train, snap_test = _snapshot(train), _snapshot(test)
    fitted = router.fit(train)
    if fitted is not router:
        raise _fail("fit-returns-self", "fit must return self")
    passed.append("fit-returns-self")

    settings = list(router.settings(test))
    if not settings or not all(isinstance(s, Mapping) for s in settings):
        raise _fail("sweep", "settings(test) must be a non-empty list of mappings")
    first = _check_decision(router.route(test, **settings[0]), test, "route")
    passed.append("route")

    decisions = [_check_decision(d, test, "sweep") for d in router.sweep(test)]
    if len(decisions) != len(settings):
        raise _fail("sweep", f"sweep gave {len(decisions)} decisions for {len(settings)} settings")
    step = max(1, len(settings) // _MAX_COMPARED)
    for k in range(0, len(settings), step):
        if not all(decisions[k].params.get(key) == v for key, v in settings[k].items()):
            raise _fail(
                "sweep",
                f"decision {k} has params {dict(decisions[k].params)}, "
                f"expected the setting {dict(settings[k])}",
            )
        direct = router.route(test, **settings[k])
        if not _same_decision(direct, decisions[k]):
            raise _fail("sweep", f"sweep decision {k} differs from route(**{dict(settings[k])})")
    passed.append("sweep")

    twin = make().fit(train)
    for k in range(0, len(settings), step):
        if not _same_decision(twin.route(test, **settings[k]), router.route(test, **settings[k])):
            raise _fail("deterministic", f"two fits on the same data disagree at {settings[k]}")
    if not _same_decision(twin.route(test, **settings[0]), first):
        raise _fail("deterministic", "a refit router routes differently")
    passed.append("deterministic")

    _check_unchanged(train, snap_train)
    _check_unchanged(test, snap_test)
    passed.append("no-mutation")

    rows = np.arange(0, test.n_prompts, 2)
    part = test.subset(rows)
    _check_decision(router.route(part, **settings[0]), part, "subset")
    passed.append("subset")

    if test.n_models >= 2:
        shuffled = test.subset(models=list(reversed(test.models)))
        try:
            router.route(shuffled, **settings[0])
        except (ValueError, KeyError):
            pass
        else:
            raise _fail("models", "routing a benchmark with other (reordered) models did not raise")
        passed.append("models")

    if isinstance(router, PredictiveRouter):
        lambdas = [0.0, 1.0]
        lambdas += [
            float(s["willingness_to_pay"])
            for s in settings[::step]
            if s.get("willingness_to_pay") is not None
        ]
        _check_predictive(router, test, lambdas)
        passed.append("predictive")
    return passed
