"""The parameter contract of routers and their parts, scikit-learn style: parameters by name
(``part__param`` reaches into parts), a repr built from them, declared constraints, tags.

`fit` and the config planner check the same constraints, so a bad value fails at plan
time with its config key, before any work starts.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Iterable
from dataclasses import dataclass
from numbers import Integral, Real
from typing import Any, ClassVar

import numpy as np

from routerbench.errors import (
    ConfigError,
    ContractError,
)

__all__ = [
    "Constraint",
    "Constraints",
    "ContractError",
    "HasMethods",
    "Interval",
    "OneOf",
    "Options",
    "Params",
    "RouterSpec",
    "RouterTags",
    "SequenceOf",
    "check_param",
    "param_constraints",
    "router_tags",
    "validate_params",
]


# --------------------------------------------------------------------------- constraints
class Constraint:
    """One allowed form of a parameter value; a parameter passes if any of its forms does."""

    def accepts(self, value: Any) -> bool:
        raise NotImplementedError

    def describe(self) -> str:
        raise NotImplementedError

    def reason(self, value: Any) -> str | None:
        """What exactly is wrong with a refused `value`, where more can be said than `describe`."""
        return None


@dataclass(frozen=True)
class Interval(Constraint):
    """A number of a kind (``"int"``: integers only, ``"real"``: finite numbers) in a range.

    A float is never an integer here (``2.5`` and ``2.0`` are refused for an
    int), and ``bool`` is no number: silently truncating is what this prevents.
    """

    kind: str
    low: float | None = None
    high: float | None = None
    closed: str = "both"  # "both", "left", "right", "neither"

    def accepts(self, value: Any) -> bool:
        if isinstance(value, bool | np.bool_):
            return False
        if self.kind == "int":
            if not isinstance(value, Integral):
                return False
        elif not isinstance(value, Real) or not math.isfinite(float(value)):
            return False
        v = float(value)
        open_low = self.closed in ("right", "neither")
        open_high = self.closed in ("left", "neither")
        if self.low is not None and (v < self.low or (v == self.low and open_low)):
            return False
        return not (self.high is not None and (v > self.high or (v == self.high and open_high)))

    def describe(self) -> str:
        what = "an integer" if self.kind == "int" else "a finite number"
        lo_op = ">=" if self.closed in ("both", "left") else ">"
        hi_op = "<=" if self.closed in ("both", "right") else "<"
        parts = []
        if self.low is not None:
            parts.append(f"{lo_op} {_num(self.low)}")
        if self.high is not None:
            parts.append(f"{hi_op} {_num(self.high)}")
        return what + (" " + " and ".join(parts) if parts else "")


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else repr(float(x))


@dataclass(frozen=True)
class Options(Constraint):
    """One of a fixed set of values (strings, None, booleans)."""

    values: tuple[Any, ...]

    def accepts(self, value: Any) -> bool:
        return any(value is v or (type(value) is type(v) and value == v) for v in self.values)

    def describe(self) -> str:
        return "one of " + ", ".join(repr(v) for v in self.values)


@dataclass(frozen=True)
class SequenceOf(Constraint):
    """A list or tuple whose every item passes `item` (non-empty unless `empty`)."""

    item: Constraint
    empty: bool = False

    def accepts(self, value: Any) -> bool:
        if not isinstance(value, list | tuple | np.ndarray):
            return False
        if len(value) == 0:
            return self.empty
        return all(self.item.accepts(v) for v in value)

    def describe(self) -> str:
        base = "a list" if self.empty else "a non-empty list"
        return f"{base} of items each {self.item.describe()}"


@dataclass(frozen=True)
class HasMethods(Constraint):
    """An object with these methods (an embedder, a quality model, a cost model)."""

    methods: tuple[str, ...]
    label: str = "an object"

    def accepts(self, value: Any) -> bool:
        return not isinstance(value, type) and all(
            callable(getattr(value, m, None)) for m in self.methods
        )

    def describe(self) -> str:
        return f"{self.label} with {', '.join(m + '()' for m in self.methods)}"


@dataclass(frozen=True)
class OneOf(Constraint):
    """A value of one of these Python types (e.g. a spec string)."""

    types: tuple[type, ...]
    label: str

    def accepts(self, value: Any) -> bool:
        return isinstance(value, self.types) and not isinstance(value, bool | np.bool_)

    def describe(self) -> str:
        return self.label


@dataclass(frozen=True)
class RouterSpec(Constraint):
    """A router part spec that builds (`registry.router_from_spec`), optionally predictive.

    Building an unfitted router is cheap, so a bad name, a mistyped mapping key or
    an unknown parameter of a hybrid's predictor is refused when the config is
    planned, not an hour later when the router is fitted.
    """

    predictive: bool = False

    def accepts(self, value: Any) -> bool:
        return self.reason(value) is None

    def reason(self, value: Any) -> str | None:
        from routerbench.routers.registry import router_from_spec

        try:
            built = router_from_spec(value)
            validate_params(built)
        except Exception as exc:  # the registry's or the part's own one-line error
            return str(exc.args[0]) if exc.args else type(exc).__name__
        if not self.predictive:
            return None
        from routerbench.routers.predictive import PredictiveRouter

        if isinstance(built, PredictiveRouter):
            return None
        return f"{type(built).__name__} has no predict_quality"

    def describe(self) -> str:
        what = "a predictive router" if self.predictive else "a router"
        return (
            f"{what} part spec (a registered name, 'pkg.mod:Class', a router "
            "or a {name, params} mapping)"
        )


#: Parameter name → its allowed forms (a value passes if any one accepts it).
Constraints = dict[str, list[Constraint]]


def param_constraints(obj: Any) -> dict[str, list[Constraint]]:
    """The declared constraints of an object's class (merged along its bases)."""
    out: dict[str, list[Constraint]] = {}
    for cls in reversed(type(obj).__mro__ if not isinstance(obj, type) else obj.__mro__):
        out.update(getattr(cls, "__dict__", {}).get("parameter_constraints", {}) or {})
    return out


def check_param(obj: Any, key: str, value: Any) -> str | None:
    """Why `value` is not allowed for parameter `key` of `obj` (None: allowed or unchecked).

    ``part__param`` keys are checked against the part currently set on `obj`.
    """
    name, sep, rest = key.partition("__")
    if sep:
        part = getattr(obj, name, None)
        if part is None or isinstance(part, str | type):
            return None
        return check_param(part, rest, value)
    forms = param_constraints(obj).get(key)
    if not forms or any(f.accepts(value) for f in forms):
        return None
    expected = " or ".join(f.describe() for f in forms)
    reasons = [r for r in (f.reason(value) for f in forms) if r]
    because = f" ({reasons[0]})" if reasons else ""
    return f"{key} must be {expected}, got {value!r}{because}"


def validate_params(obj: Any, *, who: str | None = None) -> None:
    """Check every declared constraint of `obj` and of its parts, then the values that
    must go together (`validate_combination`, where one is defined); raise one ConfigError line.

    Called first thing in `fit`, and by the config planner for every value
    of every grid, so both refuse the same values with the same words.
    """
    label = who or type(obj).__name__
    try:
        params = obj.get_params(deep=False)
    except Exception:
        return
    for key, value in params.items():
        problem = check_param(obj, key, value)
        if problem:
            raise ConfigError(f"{label}: {problem}")
        if isinstance(value, Params):
            validate_params(value, who=f"{label}.{key}")
    together = getattr(obj, "validate_combination", None)
    if callable(together):
        together()


# --------------------------------------------------------------------------- tags
@dataclass(frozen=True)
class RouterTags:
    """What a router reads and how it is swept, declared rather than guessed.

    Attributes
    ----------
    predictive
        It has per-prompt estimates (P̂, ĉ) and so `rank_prompts` from text alone.
    reads_test_outcomes
        Its decisions read the test benchmark's quality or cost (the Oracle, the
        simulated-judge cascade, rerank): an upper bound or a simulation, never
        something one could deploy. The outcome-blindness check skips only these.
    depends_on_test_set
        A prompt's decision at one setting may depend on which other prompts are
        in the test set (draws by row, budget mixing): no subset invariance.
    sweep_knob
        Name of the setting `settings` varies (``"willingness_to_pay"``,
        ``"budget"``...), or None when it has no knob.
    reads_uncalled_responses
        Its decision for a prompt reads the stored responses of models it did
        not call (and so did not pay for): a reference for how much the
        responses can tell (`routers.all_responses`), not a router one could
        deploy; its verdict never says "beats Zero".
    """

    predictive: bool = False
    reads_test_outcomes: bool = False
    depends_on_test_set: bool = False
    sweep_knob: str | None = None
    #: Last, so that tags built by position before it existed keep their meaning.
    reads_uncalled_responses: bool = False


def router_tags(router: Any) -> RouterTags:
    """A router's tags (`RouterTags()` for objects that declare none)."""
    get = getattr(router, "__router_tags__", None)
    if callable(get) and not isinstance(router, type):
        tags = get()
        if isinstance(tags, RouterTags):
            return tags
    return RouterTags()


# --------------------------------------------------------------------------- params mixin
def _same(a: Any, b: Any) -> bool:
    if a is b:
        return True
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return False
    if type(a) is not type(b) and not (isinstance(a, Real) and isinstance(b, Real)):
        return False
    try:
        return bool(a == b)
    except Exception:
        return False


class Params:
    """Parameters by name, scikit-learn style, for routers and their parts.

    The constructor names every parameter (no ``*args``/``**kwargs``) and stores
    each unchanged under its own name; `get_params` reads them back, with
    ``deep=True`` adding each part's parameters as ``part__param``;
    `set_params` writes them (parts included); `repr` shows the non-defaults.
    """

    #: Declared constraints: parameter → allowed forms (any one passes).
    parameter_constraints: ClassVar[Constraints] = {}

    @classmethod
    def _param_names(cls) -> list[str]:
        init = cls.__init__
        if init is object.__init__:
            return []
        names = []
        for p in inspect.signature(init).parameters.values():
            if p.name == "self":
                continue
            if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
                star = "*" if p.kind is p.VAR_POSITIONAL else "**"
                raise ContractError(
                    f"{cls.__name__}.__init__ takes {star}{p.name}: name every parameter in the "
                    "signature (no *args or **kwargs), so get_params, clone and configs can see it"
                )
            names.append(p.name)
        return names

    @classmethod
    def _param_defaults(cls) -> dict[str, Any]:
        sig = inspect.signature(cls.__init__)
        return {
            n: p.default
            for n, p in sig.parameters.items()
            if n != "self" and p.default is not inspect.Parameter.empty
        }

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Constructor parameters by name; with `deep`, each part's too as ``part__param``."""
        out: dict[str, Any] = {}
        for name in self._param_names():
            try:
                value = getattr(self, name)
            except AttributeError:
                raise ContractError(
                    f"{type(self).__name__} does not store its parameter {name!r} under that "
                    "name; the constructor must set self.<param> = <param>"
                ) from None
            if deep and hasattr(value, "get_params") and not isinstance(value, type):
                out.update((f"{name}__{k}", v) for k, v in value.get_params(deep=True).items())
            out[name] = value
        return out

    def set_params(self, **params: Any) -> Params:
        """Set parameters (``part__param`` sets a part's); return self.

        Raises
        ------
        ConfigError
            A name the object (or the part) does not have, listing the valid ones.
        """
        if not params:
            return self
        valid = self.get_params(deep=True)
        own = set(self._param_names())
        nested: dict[str, dict[str, Any]] = {}
        for key, value in params.items():
            name, sep, sub = key.partition("__")
            if name not in own:
                raise ConfigError(
                    f"{type(self).__name__} has no parameter {name!r} "
                    f"(expected one of {', '.join(sorted(own))})"
                )
            if sep:
                nested.setdefault(name, {})[sub] = value
            else:
                setattr(self, name, value)
                valid[name] = value
        for name, sub_params in nested.items():
            part = valid[name]
            if not hasattr(part, "set_params") or isinstance(part, type):
                raise ConfigError(
                    f"{type(self).__name__}.{name} is {part!r}, which has no parameters to set "
                    f"({', '.join(name + '__' + k for k in sub_params)})"
                )
            part.set_params(**sub_params)
        return self

    def __repr__(self) -> str:
        try:
            params = self.get_params(deep=False)
        except ContractError:
            return f"<{type(self).__name__}>"
        defaults = self._param_defaults()
        shown = [
            f"{k}={v!r}"
            for k, v in params.items()
            if k not in defaults or not _same(v, defaults[k])
        ]
        return f"{type(self).__name__}({', '.join(shown)})"


def short_value(value: Any) -> str:
    """A value as a report label shows it: ``40``, ``(100, 100)``, ``'final-turn'`` → final-turn."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        value = tuple(value)
    if isinstance(value, Params):
        return type(value).__name__
    return repr(value)


def changed_params(obj: Any, skip: Iterable[str] = ()) -> dict[str, Any]:
    """Parameters whose value differs from the constructor default (for labels).

    Works for any object with ``get_params`` (a scikit-learn estimator too).
    """
    defaults = Params._param_defaults.__func__(type(obj))  # type: ignore[attr-defined]
    skipped = set(skip)
    return {
        k: v
        for k, v in obj.get_params(deep=False).items()
        if k not in skipped and (k not in defaults or not _same(v, defaults[k]))
    }
