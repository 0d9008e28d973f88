"""The per-request knob: which router or model a request names, and its routing options.

A request picks its λ (willingness to pay), a cost cap and a candidate set in any of
four places, later ones winning: the server's default, the model name
(``router:knn?wtp=0.5`` or RouteLLM's ``router-knn-0.5``), the ``x-routerbench-wtp``
header, and a ``routing`` object in the body. Every value is validated exactly; a bad
one is a 400 naming the place and what was expected, never a silent default.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import parse_qsl

from routerbench.serve.errors import ApiError

__all__ = [
    "ROUTER_PREFIX",
    "RoutingOptions",
    "Target",
    "apply_body",
    "apply_header",
    "parse_target",
]

ROUTER_PREFIX = "router"
OPTION_NAMES = ("wtp", "max_cost_usd", "candidates")
BODY_OPTION_NAMES = ("willingness_to_pay", "max_cost_usd", "candidates")


@dataclass(frozen=True)
class RoutingOptions:
    """What one request asks of the router; ``None`` fields keep the server's default."""

    willingness_to_pay: float | None = None
    max_cost_usd: float | None = None
    candidates: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Target:
    """Where a request goes: through the router (``model`` is None) or straight to `model`."""

    model: str | None
    options: RoutingOptions

    @property
    def routed(self) -> bool:
        return self.model is None


def _number(value: Any, *, where: str, param: str, positive_ok_zero: bool = True) -> float:
    if isinstance(value, bool):
        raise ApiError(400, f"{where} must be a number >= 0, got {value!r}", param=param)
    if isinstance(value, str):
        try:
            out = float(value.strip())
        except ValueError:
            raise ApiError(
                400, f"{where} must be a number >= 0, got {value!r}", param=param
            ) from None
    elif isinstance(value, (int, float)):
        out = float(value)
    else:
        raise ApiError(400, f"{where} must be a number >= 0, got {value!r}", param=param)
    if not math.isfinite(out) or out < 0 or (not positive_ok_zero and out == 0):
        bound = ">= 0" if positive_ok_zero else "> 0"
        raise ApiError(400, f"{where} must be a finite number {bound}, got {value!r}", param=param)
    return out


def _candidates(value: Any, known: Sequence[str], *, where: str, param: str) -> tuple[str, ...]:
    if isinstance(value, str):
        names = [v for v in value.split(",")]
    elif isinstance(value, list) and all(isinstance(v, str) for v in value):
        names = list(value)
    else:
        raise ApiError(400, f"{where} must be a list of model names, got {value!r}", param=param)
    if not names or any(not n for n in names):
        raise ApiError(400, f"{where} must name at least one model and no empty names", param=param)
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ApiError(
            400,
            f"{where}: {unknown[0]!r} is not one of the router's models (exact names: "
            f"{', '.join(known)})",
            param=param,
        )
    return tuple(dict.fromkeys(names))


def _query_options(query: str, known: Sequence[str], model: str) -> RoutingOptions:
    try:
        pairs = parse_qsl(query, keep_blank_values=True, strict_parsing=True)
    except ValueError:
        raise ApiError(
            400,
            f"model {model!r}: options must look like 'wtp=0.5&max_cost_usd=0.01'",
            param="model",
        ) from None
    seen: dict[str, str] = {}
    for key, value in pairs:
        if key not in OPTION_NAMES:
            raise ApiError(
                400,
                f"model {model!r}: unknown router option {key!r} "
                f"(known: {', '.join(OPTION_NAMES)})",
                param="model",
                code="unknown_router_option",
            )
        if key in seen:
            raise ApiError(400, f"model {model!r}: option {key!r} given twice", param="model")
        seen[key] = value
    where = f"model {model!r} option"
    return RoutingOptions(
        willingness_to_pay=(
            _number(seen["wtp"], where=f"{where} wtp", param="model") if "wtp" in seen else None
        ),
        max_cost_usd=(
            _number(seen["max_cost_usd"], where=f"{where} max_cost_usd", param="model")
            if "max_cost_usd" in seen
            else None
        ),
        candidates=(
            _candidates(seen["candidates"], known, where=f"{where} candidates", param="model")
            if "candidates" in seen
            else None
        ),
    )


def parse_target(
    model: Any, *, router_name: str, router_models: Sequence[str], upstreams: Sequence[str]
) -> Target:
    """Resolve the request's ``model`` field by exact name, never by a fuzzy match.

    Accepted: an upstream name from MODELS.yaml (sent there, no routing); ``router`` or
    ``router:<name>`` with optional ``?wtp=..&max_cost_usd=..&candidates=a,b``; and
    ``router-<name>-<wtp>``. Anything else is a 404 ``model_not_found``.
    """
    if not isinstance(model, str) or not model:
        raise ApiError(400, "'model' must be a non-empty string", param="model")
    if model in upstreams:
        return Target(model=model, options=RoutingOptions())
    aliases = (
        f"'{ROUTER_PREFIX}', '{ROUTER_PREFIX}:{router_name}', '{ROUTER_PREFIX}-{router_name}-<wtp>'"
    )
    head, sep, query = model.partition("?")
    if head in (ROUTER_PREFIX, f"{ROUTER_PREFIX}:{router_name}"):
        opts = _query_options(query, router_models, model) if sep else RoutingOptions()
        return Target(model=None, options=opts)
    dash = f"{ROUTER_PREFIX}-{router_name}-"
    if not sep and model.startswith(dash):
        lam = _number(
            model[len(dash) :], where=f"model {model!r}: the wtp after {dash!r}", param="model"
        )
        return Target(model=None, options=RoutingOptions(willingness_to_pay=lam))
    raise ApiError(
        404,
        f"model {model!r} does not exist here; use {aliases} or one of: {', '.join(upstreams)}",
        param="model",
        code="model_not_found",
    )


def apply_header(options: RoutingOptions, value: str | None) -> RoutingOptions:
    """Override λ with the ``x-routerbench-wtp`` header, when present."""
    if value is None:
        return options
    lam = _number(value, where="header x-routerbench-wtp", param="x-routerbench-wtp")
    return replace(options, willingness_to_pay=lam)


def apply_body(
    options: RoutingOptions, routing: Any, router_models: Sequence[str]
) -> RoutingOptions:
    """Override with the body's ``routing`` object (the most specific place)."""
    if routing is None:
        return options
    if not isinstance(routing, Mapping):
        raise ApiError(400, f"'routing' must be an object, got {routing!r}", param="routing")
    for key in routing:
        if key not in BODY_OPTION_NAMES:
            raise ApiError(
                400,
                f"routing: unknown option {key!r} (known: {', '.join(BODY_OPTION_NAMES)})",
                param=f"routing.{key}",
                code="unknown_router_option",
            )
    out = options
    if "willingness_to_pay" in routing:
        out = replace(
            out,
            willingness_to_pay=_number(
                routing["willingness_to_pay"],
                where="routing.willingness_to_pay",
                param="routing.willingness_to_pay",
            ),
        )
    if "max_cost_usd" in routing:
        out = replace(
            out,
            max_cost_usd=_number(
                routing["max_cost_usd"], where="routing.max_cost_usd", param="routing.max_cost_usd"
            ),
        )
    if "candidates" in routing:
        if isinstance(routing["candidates"], str):
            raise ApiError(
                400, "routing.candidates must be a list of model names", param="routing.candidates"
            )
        out = replace(
            out,
            candidates=_candidates(
                routing["candidates"],
                router_models,
                where="routing.candidates",
                param="routing.candidates",
            ),
        )
    return out
