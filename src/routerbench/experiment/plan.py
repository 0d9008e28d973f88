"""Expand a config into runs: protocol × fold × dataset × router setting × seed.

Each run has a stable id (its resume key); runs that share a training set and a
router are grouped into one job so the router is fitted once.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from routerbench.data.benchmark import Benchmark
from routerbench.data.splits import kfold, leave_dataset_out, paper_split
from routerbench.errors import ConfigError
from routerbench.experiment.code_version import code_fingerprint
from routerbench.experiment.config import ExperimentConfig, ProtocolConfig, RouterConfig

__all__ = [
    "BASELINE_KINDS",
    "Job",
    "Plan",
    "Run",
    "SystemSpec",
    "Unit",
    "canonical_json",
    "expand_grid",
    "make_plan",
    "router_systems",
]

Kind = Literal["model", "oracle", "zero", "router", "control"]
BASELINE_KINDS: tuple[str, ...] = ("model", "oracle", "zero")
#: Constructor parameters through which a run's seed reaches a router.
SEED_PARAMS: tuple[str, ...] = ("seed", "random_state")


def canonical_json(value: Any) -> str:
    """JSON with sorted keys and no spaces: the same value always hashes the same."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=_jsonable)


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, tuple | set | frozenset):
        return list(value)
    return repr(value)


def _hash(*parts: Any) -> str:
    return hashlib.sha256(canonical_json(parts).encode()).hexdigest()[:20]


_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")


def effective_params(router: Any) -> str:
    """Canonical JSON of a built router's constructor parameters, defaults included.

    "" for a router without `get_params`. Memory addresses in a repr (a function
    passed as a parameter) are blanked, so the same config gives the same key in
    every process.
    """
    get = getattr(router, "get_params", None)
    if get is None:
        return ""
    try:
        params = get(deep=False)
    except Exception:  # a plug-in's get_params may need fitting; its config params still count
        return ""
    return _ADDRESS.sub(" at 0x", canonical_json(params))


@dataclass(frozen=True)
class SystemSpec:
    """One system to evaluate: a configured router setting or a baseline.

    Attributes
    ----------
    spec
        Registry spec (``"knn"``, ``"pkg.mod:Class"``) or, for baselines,
        ``"single:<model>"``, ``"oracle"``, ``"zero"``.
    label
        Display name, unique within an experiment (``"knn(k=10)"``, ``"Oracle"``).
    kind
        ``"router"`` or a baseline kind (``"model"``, ``"oracle"``, ``"zero"``).
    params
        Constructor parameters (without the seed, which each run adds).
    seeded
        Whether the constructor takes a seed; unseeded systems run once.
    seed_param
        Name of the seed parameter (``"seed"`` or ``"random_state"``).
    source
        Key path in the config, for error messages (``"routers[2]"``).
    accepted
        The router's constructor parameters (empty if unknown), so runtime-only
        ones such as the embedding cache folder are passed where they fit.
    effective
        Canonical JSON of every constructor parameter of the built router, the
        defaults included (`effective_params`). Run ids hash it, so a changed
        default (new candidates of ``judged-cv``, say) re-runs what it affects
        instead of reusing results of the old code.
    code
        Fingerprint of the code the router class runs
        (`experiment.code_version.code_fingerprint`), also hashed into run
        ids: a fix that changes no parameter re-runs the runs it affects.
    """

    spec: str
    label: str
    kind: Kind
    params: Mapping[str, Any] = field(default_factory=dict)
    seeded: bool = False
    seed_param: str | None = None
    seeds: tuple[int, ...] = (0,)
    source: str = ""
    accepted: frozenset[str] = frozenset()
    effective: str = ""
    code: str = ""

    def router_params(self, seed: int) -> dict[str, Any]:
        """Constructor parameters for one run (the seed injected where the router takes one)."""
        out = dict(self.params)
        if self.seeded and self.seed_param and self.seed_param not in out:
            out[self.seed_param] = seed
        return out


@dataclass(frozen=True)
class Unit:
    """One train/test pair: a protocol, a fold and the dataset tested on.

    ``train_index`` / ``test_index`` are row indices into the experiment's
    benchmark (after dataset/model selection and the missing-cell policy).
    """

    protocol: str
    protocol_index: int
    fold: int
    dataset: str
    train_index: np.ndarray
    test_index: np.ndarray
    protocol_key: str
    train_key: str
    test_key: str

    @property
    def key(self) -> tuple[int, int, str]:
        return (self.protocol_index, self.fold, self.dataset)


@dataclass(frozen=True)
class Run:
    """One system (at one seed) trained and tested on one unit: the resume key is `run_id`."""

    run_id: str
    unit: Unit
    system: SystemSpec
    seed: int
    fit_key: str


@dataclass(frozen=True)
class Job:
    """Runs sharing a fitted router (same system, seed and training set), run together."""

    fit_key: str
    system: SystemSpec
    seed: int
    train_index: np.ndarray
    runs: tuple[Run, ...]

    @property
    def is_baseline(self) -> bool:
        return self.system.kind in BASELINE_KINDS


@dataclass(frozen=True)
class Plan:
    """Everything an experiment will run, in a fixed order."""

    fingerprint: str
    units: tuple[Unit, ...]
    systems: tuple[SystemSpec, ...]
    runs: tuple[Run, ...]

    def jobs(self, runs: Sequence[Run] | None = None) -> list[Job]:
        """Group runs (default: all) into jobs by fit key, keeping plan order."""
        groups: dict[str, list[Run]] = {}
        for run in self.runs if runs is None else runs:
            groups.setdefault(run.fit_key, []).append(run)
        out = []
        for key, members in groups.items():
            first = members[0]
            out.append(Job(key, first.system, first.seed, first.unit.train_index, tuple(members)))
        return out


# --------------------------------------------------------------------------- grids
def _fmt_value(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"), default=_jsonable)


def expand_grid(grid: Mapping[str, Sequence[Any]]) -> list[dict[str, Any]]:
    """The Cartesian product of a grid, in key order then value order.

    ``{"k": [5, 10], "metric": ["cosine"]}`` → ``[{"k": 5, "metric": "cosine"},
    {"k": 10, "metric": "cosine"}]``; an empty grid gives one empty combination.
    """
    keys = list(grid)
    return [dict(zip(keys, combo)) for combo in itertools.product(*(grid[k] for k in keys))]


def _label(cfg: RouterConfig, combo: Mapping[str, Any], n_combos: int) -> str:
    base = cfg.label or cfg.name
    if n_combos <= 1:
        return base
    # Only keys that vary in the grid name a combination; fixed ones add noise.
    varying = [k for k in cfg.grid if len(cfg.grid[k]) > 1]
    inner = ", ".join(f"{k}={_fmt_value(combo[k])}" for k in varying)
    return f"{base}({inner})"


def _probe(build: Any, cfg: RouterConfig, where: str) -> Any:
    """An instance of the configured router, to read which parameters it takes.

    Built with no parameters if it allows that, else with the first grid
    combination (a plug-in may have required parameters). An unknown name or
    an import path that does not import is an error on ``routers[i].name``.
    """
    first = {**cfg.params, **expand_grid(cfg.grid)[0]}
    errors: list[str] = []
    # The configured values first: a part named in params (quality: ...) decides
    # which nested keys (quality__alpha) exist; no parameters as the fallback.
    for params in (first, {}) if first else ({},):
        try:
            return build(cfg.name, **params)
        except (ConfigError, KeyError, ValueError, ImportError, AttributeError, TypeError) as exc:
            errors.append(str(exc.args[0] if exc.args else exc))
    if first and "rejected its parameters" in errors[-1]:
        return None  # required parameters, and the configured ones fail: checked per combination
    raise ConfigError(f"{where}.name: {errors[-1]}")


def _accepted_params(router: Any) -> set[str]:
    if router is None:
        return set()
    try:
        return set(router.get_params())
    except Exception:  # a plug-in without get_params: trust the config
        return set()


def check_values(router: Any, cfg: RouterConfig, where: str) -> None:
    """Every configured parameter and grid value against the router's declared constraints.

    A bad value fails here, before any work, with its key path
    (``routers[0].grid.n_neighbors[1]: n_neighbors must be an integer >= 1, got 0``),
    the same rule `fit` would apply later in a worker.
    """
    from routerbench.routers.params import check_param

    if router is None:
        return
    try:
        stored = router.get_params(deep=True)
    except Exception:  # a plug-in without the parameter contract: nothing declared
        return

    def resolved(key: str, value: Any) -> bool:
        # A factory turned a spec into a part (quality: "pkg.mod:Class"): the part is
        # what the router holds and what its constraints are about.
        return isinstance(value, str) and key in stored and not isinstance(stored[key], str)

    for key, value in cfg.params.items():
        problem = check_param(router, key, stored[key] if resolved(key, value) else value)
        if problem:
            raise ConfigError(f"{where}.params.{key}: {problem}")
    for key, values in cfg.grid.items():
        for j, value in enumerate(values):
            if resolved(key, value):
                continue  # built and checked per combination below
            problem = check_param(router, key, value)
            if problem:
                raise ConfigError(f"{where}.grid.{key}[{j}]: {problem}")


def get_router(spec: str, **params: Any) -> Any:
    """Build a router through `routerbench.routers.registry` (names, ``pkg.mod:Class`` paths)."""
    from routerbench.routers.registry import get_router as build

    return build(spec, **params)


def router_systems(config: ExperimentConfig, *, factory: Any = None) -> list[SystemSpec]:
    """Validate the configured routers against the registry and expand their grids.

    Each combination is built once with ``get_router(spec, **params)`` so that
    an unknown router, an unknown parameter or a bad value fails here, before
    any work, with the config key that caused it.
    """
    build = factory or get_router
    systems: list[SystemSpec] = []
    seen: dict[str, str] = {}
    for i, cfg in enumerate(config.routers):
        where = f"routers[{i}]"
        probe = _probe(build, cfg, where)
        accepted = _accepted_params(probe)
        if accepted:
            for section in ("params", "grid"):
                for key in getattr(cfg, section):
                    if key not in accepted:
                        raise ConfigError(
                            f"{where}.{section}.{key}: {cfg.name} has no parameter {key!r} "
                            f"(expected one of {', '.join(sorted(accepted))})"
                        )
        check_values(probe, cfg, where)
        seed_param = next((p for p in SEED_PARAMS if p in accepted), None)
        if seed_param and (seed_param in cfg.params or seed_param in cfg.grid):
            seed_param = None  # the user fixed it: one run, no seed sweep
        inject: dict[str, Any] = {}
        defaults = {
            "embedder": config.embedding.spec,
            "text": config.embedding.text,
            "max_settings": config.max_settings,
        }
        given = cfg.params | cfg.grid
        for key, value in defaults.items():
            if value is None:
                continue
            if key in accepted and key not in given:
                inject[key] = value
            elif f"features__{key}" in accepted and not any(
                k == "features" or k == f"features__{key}" for k in given
            ):
                inject[f"features__{key}"] = value  # a composed router's features part
        combos = expand_grid(cfg.grid)
        seeds = tuple(cfg.seeds if cfg.seeds is not None else config.seeds)
        for combo in combos:
            params = {**inject, **cfg.params, **combo}
            try:
                built = build(cfg.name, **params)
                check = getattr(built, "validate_combination", None)
                if callable(check):
                    check()  # values each allowed, but not together
            except (ConfigError, ValueError, TypeError) as exc:
                msg = exc.args[0] if exc.args else str(exc)
                bad = _blame(cfg, combo, str(msg))
                raise ConfigError(f"{where}.{bad}: {msg}") from None
            label = _label(cfg, combo, len(combos))
            if label in seen:
                raise ConfigError(
                    f"{where}.label: system {label!r} is also produced by {seen[label]}; "
                    "give one of them a distinct label"
                )
            seen[label] = where
            systems.append(
                SystemSpec(
                    spec=cfg.name,
                    label=label,
                    kind="router",
                    params=params,
                    seeded=seed_param is not None,
                    seed_param=seed_param,
                    seeds=seeds if seed_param else seeds[:1],
                    source=where,
                    accepted=frozenset(accepted),
                    effective=effective_params(built),
                    code=code_fingerprint(type(built)),
                )
            )
    return systems


def _blame(cfg: RouterConfig, combo: Mapping[str, Any], msg: str) -> str:
    """The config key a constructor error most likely refers to."""
    for key in combo:
        if key in msg:
            return f"grid.{key}"
    for key in cfg.params:
        if key in msg:
            return f"params.{key}"
    return "params" if cfg.params else "name"


def baseline_systems(bench: Benchmark) -> list[SystemSpec]:
    """Every single model, the Oracle and the Zero router: always evaluated, per dataset."""
    out = [SystemSpec(spec="oracle", label="Oracle", kind="oracle")]
    out.append(SystemSpec(spec="zero", label="Zero", kind="zero"))
    out += [SystemSpec(spec=f"single:{m}", label=m, kind="model") for m in bench.models]
    return out


def control_systems(config: ExperimentConfig, taken: set[str]) -> list[SystemSpec]:
    """The controls of `VerdictConfig`: seeded no-information ``prior`` and ``length``.

    They run beside the baselines on every test set; their cross-fitted gains
    over Zero are the bar a router must clear to be said to beat Zero.
    """
    v = config.verdict
    common = {"max_settings": config.max_settings} if config.max_settings else {}
    out = []
    if v.control_seeds > 0:
        out.append(
            SystemSpec(
                spec="prior",
                label="prior control",
                kind="control",
                params={"noise": v.control_noise, **common},
                seeded=True,
                seed_param="seed",
                seeds=tuple(range(v.control_seeds)),
                source="verdict.control_seeds",
                accepted=frozenset({"noise", "seed", "lambdas", "max_settings"}),
            )
        )
    if v.length_control:
        out.append(
            SystemSpec(
                spec="length",
                label="length control",
                kind="control",
                params=common,
                source="verdict.length_control",
                accepted=frozenset({"lambdas", "max_settings"}),
            )
        )
    for s in out:
        if s.label in taken:
            raise ConfigError(f"a router's label {s.label!r} collides with a control; rename it")
    return out


# --------------------------------------------------------------------------- units
def _protocol_key(p: ProtocolConfig) -> str:
    return canonical_json(p.model_dump())


def _indices_key(fp: str, idx: np.ndarray) -> str:
    h = hashlib.sha256(fp.encode())
    h.update(np.ascontiguousarray(idx, dtype=np.int64).tobytes())
    return h.hexdigest()[:20]


def protocol_labels(protocols: Sequence[ProtocolConfig]) -> list[str]:
    """The ``protocol`` column value of each configured protocol.

    Its ``label`` when given; else its name (``paper``, ``leave-out``,
    ``kfold``), and when a name is configured twice, the name with the keys
    that set it apart (``paper(train_on=all)``), so every protocol's rows stay
    apart in the tables under a name that says what it is.
    """
    names = [p.name for p in protocols]
    out = []
    for p in protocols:
        if p.label is not None:
            out.append(p.label)
        elif names.count(p.name) == 1:
            out.append(p.name)
        else:
            keys = sorted(p.model_fields_set - {"name", "label"})
            inner = ", ".join(f"{k}={_fmt_value(getattr(p, k))}" for k in keys)
            out.append(f"{p.name}({inner})" if inner else p.name)
    for i, lab in enumerate(out):
        if lab in out[:i]:
            raise ConfigError(
                f"protocols[{i}]: its rows would be labelled {lab!r} like protocols"
                f"[{out.index(lab)}]; give each a distinct label: key"
            )
    return out


def _units_of(
    bench: Benchmark, p: ProtocolConfig, index: int, label: str, fp: str
) -> Iterator[Unit]:
    labels = bench.prompts["dataset"].to_numpy()
    pkey = _protocol_key(p)

    def unit(fold: int, ds: str, train: np.ndarray, test: np.ndarray) -> Unit:
        train = np.sort(np.asarray(train, dtype=np.intp))
        test = np.sort(np.asarray(test, dtype=np.intp))
        return Unit(
            protocol=label,
            protocol_index=index,
            fold=fold,
            dataset=ds,
            train_index=train,
            test_index=test,
            protocol_key=pkey,
            train_key=_indices_key(fp, train),
            test_key=_indices_key(fp, test),
        )

    if p.name == "paper":
        split = paper_split(bench, fraction=p.fraction, seed=p.seed)
        train_labels = labels[split.train_index]
        test_labels = labels[split.test_index]
        for ds in bench.datasets:
            test = split.test_index[test_labels == ds]
            train = (
                split.train_index
                if p.train_on == "all"
                else (split.train_index[train_labels == ds])
            )
            yield unit(0, ds, train, test)
    elif p.name == "leave-out":
        if len(bench.datasets) < 2:
            raise ConfigError(
                f"protocols[{index}]: leave-out needs at least two datasets, "
                f"the selection has {bench.datasets}"
            )
        for ds in bench.datasets:
            split = leave_dataset_out(
                bench, ds, fraction=p.fraction, seed=p.seed, whole_test=p.whole_test
            )
            yield unit(0, ds, split.train_index, split.test_index)
    else:
        if bench.n_prompts < p.k:
            raise ConfigError(
                f"protocols[{index}].k: {bench.n_prompts} prompts cannot make {p.k} folds"
            )
        for f, split in enumerate(kfold(bench, k=p.k, seed=p.seed)):
            test_labels = labels[split.test_index]
            for ds in bench.datasets:
                test = split.test_index[test_labels == ds]
                if test.size:
                    yield unit(f, ds, split.train_index, test)


#: Fewest training prompts a unit must have for any router to be fitted on it.
MIN_TRAIN_PROMPTS = 2


def _check_trainable(units: Sequence[Unit]) -> None:
    """Refuse, before any work, units whose split leaves a router almost nothing to learn from.

    A dataset of one or two prompts (14 of RouterArena's task groups, left
    unmerged) keeps 0 or 1 of them for train under a 70/30 split: every
    learned router would fail on it, one worker at a time. The error names the
    units and the fix: merge small datasets into one (``groups``).
    """
    small = [u for u in units if len(u.train_index) < MIN_TRAIN_PROMPTS]
    if not small:
        return
    small = [u for u in small if u.protocol_index == small[0].protocol_index]
    shown = ", ".join(
        f"{u.dataset!r} ({len(u.train_index)} to train on, {len(u.test_index)} to test)"
        for u in small[:3]
    )
    more = f" and {len(small) - 3} more" if len(small) > 3 else ""
    raise ConfigError(
        f"protocols[{small[0].protocol_index}] ({small[0].protocol}): {len(small)} dataset(s) "
        f"leave fewer than {MIN_TRAIN_PROMPTS} prompts to fit a router on: {shown}{more}; "
        "merge small datasets into one with the config's groups "
        "(groups: {name: [pattern, ...]}), or leave them out with datasets"
    )


def make_plan(
    bench: Benchmark,
    config: ExperimentConfig,
    *,
    systems: Sequence[SystemSpec] | None = None,
) -> Plan:
    """Expand `config` on `bench` into units, systems and runs (deterministic order).

    `bench` is the experiment's benchmark after dataset/model selection and the
    missing-cell policy. Run ids hash the data fingerprint, the protocol's
    settings, fold, dataset, the system (spec, label, params) and the seed, so
    any change to one of them re-runs exactly the runs it affects.
    """
    fp = bench.fingerprint()
    if systems is None:
        systems = router_systems(config)
    all_systems = list(systems)
    if config.baselines:
        labels = {s.label for s in all_systems}
        for b in baseline_systems(bench):
            if b.label in labels:
                raise ConfigError(
                    f"a router's label {b.label!r} collides with a baseline system; rename it"
                )
        all_systems = all_systems + baseline_systems(bench)
        all_systems += control_systems(config, {s.label for s in all_systems})
    names = protocol_labels(config.protocols)
    units = [
        u for i, p in enumerate(config.protocols) for u in _units_of(bench, p, i, names[i], fp)
    ]
    if any(s.kind not in BASELINE_KINDS for s in all_systems):
        _check_trainable(units)
    runs: list[Run] = []
    for u in units:
        for s in all_systems:
            for seed in s.seeds:
                params = s.router_params(seed)
                ident = (s.spec, s.label, s.kind, params, s.effective, s.code)
                run_id = _hash(fp, u.protocol_key, u.fold, u.dataset, u.test_key, ident, seed)
                fit_key = (
                    _hash("baseline", u.test_key)
                    if s.kind in BASELINE_KINDS
                    else _hash(u.train_key, s.spec, params, s.effective, s.code, seed)
                )
                runs.append(Run(run_id, u, s, seed, fit_key))
    return Plan(fp, tuple(units), tuple(all_systems), tuple(runs))
