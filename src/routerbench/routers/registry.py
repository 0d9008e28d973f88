"""Routers by name: built-ins, `register`-ed factories, import paths and entry points.

A spec is a name (``"knn"``, ``"single:gpt-4-1106-preview"``), an import path
(``"mypkg.routers:MyRouter"``) or the name of a ``routerbench.routers`` entry point.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from importlib.metadata import entry_points
from typing import Any

from routerbench.errors import ConfigError
from routerbench.routers.base import Router, clone

#: Entry-point group third-party packages use to publish routers.
ENTRY_POINT_GROUP = "routerbench.routers"

Factory = Callable[..., Router]

#: Built-in names resolved lazily (import path of the class), so importing the
#: registry never imports scikit-learn models or optional modules.
_BUILTIN: dict[str, str] = {
    "knn": "routerbench.routers.presets:KNNRouter",
    "mlp": "routerbench.routers.presets:MLPRouter",
    "svr": "routerbench.routers.presets:SVRRouter",
    "logreg": "routerbench.routers.presets:LogisticRouter",
    "mf": "routerbench.routers.presets:FactorRouter",
    "carrot": "routerbench.routers.presets:carrot",
    "wtp": "routerbench.routers.composed:composed_router",
    "prior": "routerbench.routers.control:PriorRouter",
    "length": "routerbench.routers.length_control:LengthControlRouter",
    "oracle": "routerbench.routers.baselines:OracleRouter",
    "zero": "routerbench.routers.baselines:TrainedZeroRouter",
    "random": "routerbench.routers.baselines:RandomRouter",
    "single": "routerbench.routers.baselines:SingleModelRouter",
    "cascade": "routerbench.routers.cascade:CascadeRouter",
    "rerank": "routerbench.routers.rerank:RerankRouter",
    "judged-cascade": "routerbench.routers.judged_cascade:JudgedCascadeRouter",
    "hybrid": "routerbench.routers.hybrid:HybridRouter",
    "judged-cv": "routerbench.routers.judged_cv:JudgedCVRouter",
    "all-responses": "routerbench.routers.all_responses:AllResponsesReference",
}

_REGISTERED: dict[str, Factory] = {}


def register(name: str, factory: Factory, *, overwrite: bool = False) -> None:
    """Make ``get_router(name, **params)`` call ``factory(**params)``.

    Parameters
    ----------
    name
        Spec name; no colon (colons mark import paths and ``single:<model>``).
    factory
        A Router subclass or any callable returning a Router.
    overwrite
        Allow replacing an earlier registration or shadowing a built-in name.
    """
    if not isinstance(name, str) or not name or ":" in name:
        raise ConfigError(f"router name must be a non-empty string without ':', got {name!r}")
    if not callable(factory):
        raise ConfigError(f"router factory for {name!r} must be callable, got {factory!r}")
    if not overwrite and (name in _REGISTERED or name in _BUILTIN):
        raise ConfigError(f"router name {name!r} is already taken; pass overwrite=True")
    _REGISTERED[name] = factory


def unregister(name: str) -> None:
    """Forget a name given to `register` (built-ins stay)."""
    _REGISTERED.pop(name, None)


def _entry_points() -> dict[str, Any]:
    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


def available() -> list[str]:
    """Every router name `get_router` knows: registered, built-in and entry points."""
    return sorted(set(_REGISTERED) | set(_BUILTIN) | set(_entry_points()))


def import_path(path: str, spec: str) -> Any:
    """The object ``package.module:Name`` names, or a ConfigError naming `spec`."""
    module_name, _, attr = path.partition(":")
    if not module_name or not attr:
        raise ConfigError(f"router import path must look like 'package.module:Name', got {spec!r}")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(
            f"router spec {spec!r}: cannot import module {module_name!r} ({exc})"
        ) from None
    obj: Any = module
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise ConfigError(
                f"router spec {spec!r}: module {module_name!r} has no attribute {attr!r}"
            ) from None
    return obj


def _resolve(spec: str) -> tuple[Factory, dict[str, Any]]:
    """The factory a spec names, and parameters the spec itself carries."""
    if spec in _REGISTERED:
        return _REGISTERED[spec], {}
    if spec in _BUILTIN:
        return import_path(_BUILTIN[spec], spec), {}
    head, sep, tail = spec.partition(":")
    if sep and head == "single":
        if not tail:
            raise ConfigError("router spec 'single:<model>' needs a model name after the colon")
        return import_path(_BUILTIN["single"], spec), {"model": tail}
    if sep:
        return import_path(spec, spec), {}
    eps = _entry_points()
    if spec in eps:
        try:
            return eps[spec].load(), {}
        except Exception as exc:  # a broken plug-in must not look like an unknown name
            raise ConfigError(f"router entry point {spec!r} failed to load: {exc}") from exc
    raise ConfigError(
        f"unknown router {spec!r}; known: {', '.join(available())}, 'single:<model>', "
        "or an import path 'package.module:ClassName'"
    )


def get_router(spec: str | Router, **params: Any) -> Router:
    """Build a router from a spec; a Router instance is returned as is (no params allowed).

    Parameters named ``part__param`` are set with `Router.set_params` once the
    router is built, so a config can reach into its parts (``quality__alpha``).

    Raises
    ------
    ConfigError
        Unknown name (the message lists the known ones), an import path that
        does not import, a factory that rejects the parameters, or one that
        does not produce a `Router`.
    """
    if isinstance(spec, Router):
        if params:
            raise ConfigError("parameters given with a Router instance; set them on it instead")
        return spec
    if not isinstance(spec, str) or not spec.strip():
        raise ConfigError(f"router spec must be a non-empty string, got {spec!r}")
    factory, implied = _resolve(spec.strip())
    flat = {k: v for k, v in params.items() if "__" not in k}
    nested = {k: v for k, v in params.items() if "__" in k}
    if isinstance(factory, type) and not issubclass(factory, Router):
        raise ConfigError(
            f"router spec {spec!r} names {factory.__module__}.{factory.__qualname__}, which is not "
            "a subclass of routerbench.routers.Router"
        )
    if not callable(factory):
        raise ConfigError(f"router spec {spec!r} names {factory!r}, which is not callable")
    try:
        router = factory(**{**implied, **flat})
    except TypeError as exc:
        raise ConfigError(f"router {spec!r} rejected its parameters: {exc}") from exc
    if not isinstance(router, Router):
        raise ConfigError(
            f"router spec {spec!r} produced a {type(router).__name__}, not a "
            "routerbench.routers.Router"
        )
    if nested:  # parameters of parts (quality__alpha): set after the parts exist
        try:
            router.set_params(**nested)
        except (ConfigError, ValueError, TypeError) as exc:
            raise ConfigError(f"router {spec!r}: {exc}") from None
    return router


def router_from_spec(spec: str | Router | Mapping[str, Any]) -> Router:
    """A router from a part spec: a name, a Router (cloned, so fits never share state), or a
    mapping ``{"name": ..., "params": {...}}`` as a config writes a router inside another.

    E.g. a hybrid's first-model predictor with a per-prompt cost estimate:
    ``predictor: {name: logreg, params: {cost: regress}}``.
    """
    if isinstance(spec, Router):
        return clone(spec)
    if isinstance(spec, Mapping):
        unknown = set(spec) - {"name", "params"}
        params = spec.get("params") or {}
        if unknown or "name" not in spec or not isinstance(params, Mapping):
            raise ConfigError(
                "a router part spec is a name or {name: ..., params: {...}}, "
                f"got {dict(spec)!r}"
            )
        return get_router(spec["name"], **dict(params))
    return get_router(spec)
