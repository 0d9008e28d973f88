"""The router contract as executable checks, like scikit-learn's ``check_estimator``.

One function per check; `check_router` runs them all and names the first failure,
`parametrize_with_router_checks` makes each one its own pytest test.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from routerbench.data.benchmark import Benchmark
from routerbench.decision import NO_ANSWER, Decision
from routerbench.errors import NotFittedError
from routerbench.routers.base import Router, clone
from routerbench.routers.params import ContractError, param_constraints, router_tags

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


def _check_predictive(router: Any, test: Benchmark, lambdas: list[float]) -> None:
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
        ranking = router.rank_prompts(
            test.prompts["prompt"].tolist(), lam, tasks=test.prompts["task"].tolist()
        )
        if not np.array_equal(np.asarray(ranking.choice), routed):
            raise _fail(
                "predictive",
                f"rank_prompts(texts, {lam}) picks other models than route(test) on the same "
                "prompts: the serving path and the benchmark path diverge",
            )


# --------------------------------------------------------------------------- the checks
@dataclass
class CheckContext:
    """What every check receives: a factory of fresh routers and a train/test split."""

    make: Callable[[], Router]
    train: Benchmark
    test: Benchmark
    _fitted: Router | None = field(default=None, repr=False)
    _snaps: tuple[Any, Any] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        # Taken before any check runs, so a router mutating the benchmarks in any
        # earlier check is still caught by `no-mutation`.
        self._snaps = (_snapshot(self.train), _snapshot(self.test))

    def fresh(self) -> Router:
        router = self.make()
        if not isinstance(router, Router):
            raise _fail("params", f"factory returned {type(router).__name__}, not a Router")
        return router

    def fitted(self) -> Router:
        """A router fitted on `train` (fitted once, shared by read-only checks)."""
        if self._fitted is None:
            self._fitted = self.fresh().fit(self.train)
        return self._fitted

    def settings(self, router: Router) -> list[Mapping[str, Any]]:
        settings = list(router.settings(self.test))
        if not settings or not all(isinstance(s, Mapping) for s in settings):
            raise _fail("sweep", "settings(test) must be a non-empty list of mappings")
        return settings

    def compared(self, router: Router) -> list[Mapping[str, Any]]:
        settings = self.settings(router)
        step = max(1, len(settings) // _MAX_COMPARED)
        return settings[::step]


def check_params(ctx: CheckContext) -> None:
    """The constructor stores its parameters only; get_params, set_params, clone and repr work."""
    router = ctx.fresh()
    try:
        params = router.get_params(deep=False)
        deep = router.get_params(deep=True)
    except ContractError as exc:
        raise _fail("params", str(exc)) from None
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
    if not set(params) <= set(deep):
        raise _fail("params", "get_params(deep=True) must include every get_params(deep=False) key")
    again = type(router)(**params).get_params(deep=False)
    if not _same_params(params, again):
        raise _fail("params", f"get_params does not round-trip: {params} vs {again}")
    try:
        twin = clone(router)
    except Exception as exc:
        raise _fail("params", f"clone failed ({type(exc).__name__}: {exc})") from None
    if type(twin) is not type(router) or not _same_params(params, twin.get_params(deep=False)):
        raise _fail("params", "clone(router) has other parameters than the router")
    if params:
        key, value = next(iter(params.items()))
        if twin.set_params(**{key: value}) is not twin:
            raise _fail("params", "set_params must return self")
    text = repr(router)
    if not isinstance(text, str) or not text.startswith(type(router).__name__):
        raise _fail("params", f"repr should start with the class name, got {text!r}")


def check_constraints(ctx: CheckContext) -> None:
    """Declared parameter constraints accept the router's own default parameters."""
    router = ctx.fresh()
    constraints = param_constraints(router)
    params = router.get_params(deep=False)
    unknown = sorted(set(constraints) - set(params) - {"quality", "features"})
    if unknown and type(router)._param_names():
        raise _fail("constraints", f"constraints declared for unknown parameters {unknown}")
    from routerbench.routers.params import check_param

    for key, value in params.items():
        problem = check_param(router, key, value)
        if problem:
            raise _fail("constraints", f"the factory's own value is refused: {problem}")


def check_not_fitted(ctx: CheckContext) -> None:
    """Routing before fit raises NotFittedError, not a silent default."""
    router = ctx.fresh()
    try:
        router.route(ctx.test)
    except NotFittedError:
        return
    except Exception as exc:
        raise _fail("not-fitted", f"route before fit raised {type(exc).__name__}: {exc}") from exc
    raise _fail("not-fitted", "route before fit did not raise NotFittedError")


def check_fit_returns_self(ctx: CheckContext) -> None:
    """fit returns the router itself."""
    router = ctx.fresh()
    if router.fit(ctx.train) is not router:
        raise _fail("fit-returns-self", "fit must return self")


def check_fit_keeps_params(ctx: CheckContext) -> None:
    """fit leaves the parameters as they were given (learned state goes in `name_`)."""
    router = ctx.fresh()
    before = router.get_params(deep=False)
    router.fit(ctx.train)
    after = router.get_params(deep=False)
    if not _same_params(before, after):
        changed = sorted(k for k in before if not _same_params({k: before[k]}, {k: after[k]}))
        raise _fail("fit-keeps-params", f"fit changed the parameters {changed}")


def check_route(ctx: CheckContext) -> None:
    """route returns a well-formed Decision (shapes, indices in range, chosen ⊆ called)."""
    router = ctx.fitted()
    _check_decision(router.route(ctx.test, **ctx.settings(router)[0]), ctx.test, "route")


def check_sweep(ctx: CheckContext) -> None:
    """One decision per setting, with the setting as its params, each equal to route(**setting)."""
    router = ctx.fitted()
    settings = ctx.settings(router)
    decisions = [_check_decision(d, ctx.test, "sweep") for d in router.sweep(ctx.test)]
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
        direct = router.route(ctx.test, **settings[k])
        if not _same_decision(direct, decisions[k]):
            raise _fail("sweep", f"sweep decision {k} differs from route(**{dict(settings[k])})")


def _state(router: Router) -> dict[str, bytes]:
    out = {}
    for k, v in vars(router).items():
        if k.endswith("_") and not k.startswith("__"):
            try:
                out[k] = pickle.dumps(v, protocol=pickle.HIGHEST_PROTOCOL)
            except Exception:
                out[k] = repr(v).encode()
    return out


def check_route_keeps_router(ctx: CheckContext) -> None:
    """Routing and sweeping change neither the parameters nor the learned state."""
    router = ctx.fresh().fit(ctx.train)
    params, state = router.get_params(deep=False), _state(router)
    for setting in ctx.compared(router):
        router.route(ctx.test, **setting)
    for _ in router.sweep(ctx.test):
        pass
    if not _same_params(params, router.get_params(deep=False)):
        raise _fail("route-keeps-router", "routing changed the router's parameters")
    after = _state(router)
    changed = sorted(k for k in set(state) | set(after) if state.get(k) != after.get(k))
    if changed:
        raise _fail("route-keeps-router", f"routing changed learned state {changed}")


def check_deterministic(ctx: CheckContext) -> None:
    """Two fits on the same data route identically."""
    router, twin = ctx.fitted(), ctx.fresh().fit(ctx.train)
    for setting in ctx.compared(router):
        if not _same_decision(twin.route(ctx.test, **setting), router.route(ctx.test, **setting)):
            raise _fail("deterministic", f"two fits on the same data disagree at {dict(setting)}")


def check_no_mutation(ctx: CheckContext) -> None:
    """Fitting and routing leave the train and test benchmarks unchanged."""
    snap_train, snap_test = ctx._snaps  # type: ignore[misc]
    router = ctx.fresh().fit(ctx.train)
    for _ in router.sweep(ctx.test):
        pass
    _check_unchanged(ctx.train, snap_train)
    _check_unchanged(ctx.test, snap_test)


def check_pickle(ctx: CheckContext) -> None:
    """A pickled and unpickled fitted router routes exactly like the original."""
    router = ctx.fitted()
    try:
        twin = pickle.loads(pickle.dumps(router, protocol=pickle.HIGHEST_PROTOCOL))
    except Exception as exc:
        reason = f"{type(exc).__name__}: {exc}"
        raise _fail("pickle", f"the fitted router does not pickle ({reason})") from None
    for setting in ctx.compared(router):
        if not _same_decision(twin.route(ctx.test, **setting), router.route(ctx.test, **setting)):
            raise _fail("pickle", f"the unpickled router routes differently at {dict(setting)}")


def check_subset(ctx: CheckContext) -> None:
    """A subset of the test prompts routes; unless tagged `depends_on_test_set`, each prompt
    keeps its model (a prompt's decision cannot depend on which others are tested)."""
    router = ctx.fitted()
    rows = np.arange(0, ctx.test.n_prompts, 2)
    part = ctx.test.subset(rows)
    setting = ctx.settings(router)[0]
    sub = _check_decision(router.route(part, **setting), part, "subset")
    if router_tags(router).depends_on_test_set:
        return
    full = router.route(ctx.test, **setting)
    if not np.array_equal(sub.choice, full.choice[rows]):
        raise _fail(
            "subset",
            "routing a subset of the test prompts changed their models; tag the router "
            "depends_on_test_set if its decisions really depend on the other prompts",
        )


def check_models(ctx: CheckContext) -> None:
    """A test benchmark with other (reordered) models is refused."""
    if ctx.test.n_models < 2:
        return
    router = ctx.fitted()
    shuffled = ctx.test.subset(models=list(reversed(ctx.test.models)))
    try:
        router.route(shuffled, **ctx.settings(router)[0])
    except (ValueError, KeyError):
        return
    raise _fail("models", "routing a benchmark with other (reordered) models did not raise")


def permuted_outcomes(test: Benchmark, seed: int = 0) -> Benchmark:
    """`test` with the rows of quality and cost shuffled among its prompts (prompts unchanged).

    A router that decides from the prompts alone routes it exactly like `test`.
    Stored responses are kept: they are what a called model returned, which a
    judge may read once the call is paid for, not the table's outcome columns.
    """
    rng = np.random.default_rng(seed)
    n = test.n_prompts
    perm = np.roll(np.arange(n), 1 + int(rng.integers(0, max(n - 1, 1))))  # no fixed point
    flip = rng.permutation(test.n_models)
    quality = test.quality[perm][:, flip]
    cost = test.cost[perm][:, flip]
    return Benchmark(
        test.prompts.copy(), test.models, quality, cost, responses=test.responses,
        source=test.source,
    )  # fmt: skip


def check_outcome_blind(ctx: CheckContext) -> None:
    """Unless tagged `reads_test_outcomes`, permuting the test quality and cost changes no
    setting and no decision: a router may read the test prompts, never their outcomes."""
    router = ctx.fitted()
    if router_tags(router).reads_test_outcomes:
        return
    other = permuted_outcomes(ctx.test)
    settings = ctx.settings(router)
    if list(router.settings(other)) != settings:
        raise _fail(
            "outcome-blind",
            "the settings changed when the test outcomes were permuted: the router reads "
            "the test quality or cost (tag it reads_test_outcomes if it simulates from them)",
        )
    for k, (a, b) in enumerate(zip(router.sweep(ctx.test), router.sweep(other), strict=True)):
        if not np.array_equal(a.choice, b.choice):
            raise _fail(
                "outcome-blind",
                f"decision {k} ({dict(settings[k])}) changed when the test outcomes were "
                "permuted: the router reads the test quality or cost (tag it "
                "reads_test_outcomes if it simulates from them)",
            )


def check_tags(ctx: CheckContext) -> None:
    """Declared tags are consistent: a sweep knob is in every setting; predictive routers
    have estimates and rank prompts."""
    router = ctx.fitted()
    tags = router_tags(router)
    if tags.sweep_knob is not None:
        missing = [s for s in ctx.settings(router) if tags.sweep_knob not in s]
        if missing:
            raise _fail(
                "tags", f"sweep_knob {tags.sweep_knob!r} is not in the setting {dict(missing[0])}"
            )
    if tags.predictive:
        for method in ("rank_prompts", "predict_quality", "predict_cost", "rank"):
            if not callable(getattr(router, method, None)):
                raise _fail("tags", f"tagged predictive but has no {method}()")


def check_predictive(ctx: CheckContext) -> None:
    """Predictive routers: finite estimates of the right shape, `rank` sorted by λ·P̂ − ĉ,
    and route(test) == rank(test)[:, 0] == rank_prompts(texts).choice at several λ."""
    router = ctx.fitted()
    if not router_tags(router).predictive:
        return
    lambdas = [0.0, 1.0]
    lambdas += [
        float(s["willingness_to_pay"])
        for s in ctx.compared(router)
        if s.get("willingness_to_pay") is not None
    ]
    _check_predictive(router, ctx.test, lambdas)


#: Every check, by name, in the order `check_router` runs them.
CHECKS: dict[str, Callable[[CheckContext], None]] = {
    "params": check_params,
    "constraints": check_constraints,
    "not-fitted": check_not_fitted,
    "fit-returns-self": check_fit_returns_self,
    "fit-keeps-params": check_fit_keeps_params,
    "route": check_route,
    "sweep": check_sweep,
    "route-keeps-router": check_route_keeps_router,
    "deterministic": check_deterministic,
    "no-mutation": check_no_mutation,
    "pickle": check_pickle,
    "subset": check_subset,
    "models": check_models,
    "outcome-blind": check_outcome_blind,
    "tags": check_tags,
    "predictive": check_predictive,
}


def _context(
    router_or_factory: Router | Callable[[], Router], bench: Benchmark | None
) -> CheckContext:
    make = _factory(router_or_factory)
    bench = check_bench() if bench is None else bench
    cut = max(1, round(bench.n_prompts * 0.6))
    train = bench.subset(np.arange(cut))
    test = bench.subset(np.arange(cut, bench.n_prompts))
    return CheckContext(make, train, test)


def run_check(name: str, ctx: CheckContext) -> None:
    """Run one check; any exception it raises becomes a `RouterCheckError` named after it."""
    if name not in CHECKS:
        raise KeyError(f"unknown router check {name!r}; known: {', '.join(CHECKS)}")
    try:
        CHECKS[name](ctx)
    except RouterCheckError:
        raise
    except Exception as exc:
        raise _fail(name, f"raised {type(exc).__name__}: {exc}") from exc


def router_checks(
    router_or_factory: Router | Callable[[], Router],
    bench: Benchmark | None = None,
    *,
    only: Sequence[str] | None = None,
) -> Iterator[tuple[str, Callable[[], None]]]:
    """(name, zero-argument check) for each check, sharing one fitted router between them."""
    ctx = _context(router_or_factory, bench)
    for name in only or list(CHECKS):
        if name not in CHECKS:
            raise KeyError(f"unknown router check {name!r}; known: {', '.join(CHECKS)}")
        yield name, (lambda n=name: run_check(n, ctx))


def check_router(
    router_or_factory: Router | Callable[[], Router],
    bench: Benchmark | None = None,
) -> list[str]:
    """Run every contract check; raise `RouterCheckError` naming the first failure.

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
        Names of the checks that ran and passed (tag-gated checks always run;
        they pass trivially where a tag exempts the router).
    """
    passed = []
    for name, check in router_checks(router_or_factory, bench):
        check()
        passed.append(name)
    return passed


def parametrize_with_router_checks(
    factories: Mapping[str, Callable[[], Router]] | Sequence[Callable[[], Router]],
) -> Any:
    """A ``pytest.mark.parametrize`` over (router factory, check name): one test per check.

    Use as ``@parametrize_with_router_checks({"mine": MyRouter})`` on a test
    ``def test_contract(router, check): check_one(router, check)`` — or simply call
    `run_router_check(router, check)` in it. Each failing check is its own failing test.
    """
    import pytest

    items = (
        factories.items()
        if isinstance(factories, Mapping)
        else ((getattr(f, "__name__", f"router{i}"), f) for i, f in enumerate(factories))
    )
    cases, ids = [], []
    for label, factory in items:
        for name in CHECKS:
            cases.append((factory, name))
            ids.append(f"{label}-{name}")
    return pytest.mark.parametrize(("router", "check"), cases, ids=ids)


def run_router_check(
    router_or_factory: Router | Callable[[], Router], check: str, bench: Benchmark | None = None
) -> None:
    """Run the one named check (for tests parametrised with `parametrize_with_router_checks`)."""
    run_check(check, _context(router_or_factory, bench))
