"""MODELS.yaml: the OpenAI-compatible endpoints a run may call, with their prices.

One file serves `routerbench collect` (which asks every model) and `routerbench serve`
(which forwards each request to the model a router picks). API keys never appear in
it: an entry names the environment variable that holds its key.

Example::

    models:
      - name: small-t0                     # the model's name in the benchmark
        base_url: http://127.0.0.1:8001/v1 # any OpenAI-compatible chat endpoint
        model: smollm2                     # the id sent upstream
        api_key_env: SMALL_KEY             # optional
        params: {temperature: 0, max_tokens: 256}
        price: {input_per_mtok: 0.2, output_per_mtok: 0.2, cached_input_per_mtok: 0.1,
                per_request: 0, source: "provider price page", date: 2026-12-01}
    judge: {model: small-t0}
"""

from __future__ import annotations

import datetime as dt
import math
import os
import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from routerbench.errors import ConfigError

__all__ = [
    "JudgeRef",
    "ModelEndpoint",
    "ModelsConfig",
    "Price",
    "Usage",
    "load_models_config",
    "parse_models_config",
]

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Usage(_Strict):
    """Token counts of one call, as a provider reports them (OpenAI's ``usage`` object).

    ``cached_tokens`` are part of ``prompt_tokens`` and ``reasoning_tokens`` part of
    ``completion_tokens``, as in OpenAI's ``prompt_tokens_details`` /
    ``completion_tokens_details``.
    """

    prompt_tokens: int = Field(0, ge=0)
    completion_tokens: int = Field(0, ge=0)
    cached_tokens: int = Field(0, ge=0)
    reasoning_tokens: int = Field(0, ge=0)

    @model_validator(mode="after")
    def _parts_within_totals(self) -> Usage:
        if self.cached_tokens > self.prompt_tokens:
            raise ValueError("cached_tokens exceeds prompt_tokens")
        if self.reasoning_tokens > self.completion_tokens:
            raise ValueError("reasoning_tokens exceeds completion_tokens")
        return self


class Price(_Strict):
    """Dollars per million tokens (and per request), with where the figures came from.

    There is no default price: a model without one cannot be costed, so it is refused
    before any call is made. ``cached_input_per_mtok`` defaults to the input price and
    ``reasoning_per_mtok`` to the output price (reasoning tokens are billed as output
    by the providers that report them).
    """

    input_per_mtok: float = Field(ge=0)
    output_per_mtok: float = Field(ge=0)
    cached_input_per_mtok: float | None = Field(None, ge=0)
    reasoning_per_mtok: float | None = Field(None, ge=0)
    per_request: float = Field(0.0, ge=0)
    source: str = Field(min_length=1)
    date: dt.date

    @field_validator(
        "input_per_mtok",
        "output_per_mtok",
        "cached_input_per_mtok",
        "reasoning_per_mtok",
        "per_request",
    )
    @classmethod
    def _finite(cls, v: float | None) -> float | None:
        if v is not None and not math.isfinite(v):
            raise ValueError("must be a finite number")
        return v

    def cost(self, usage: Usage) -> float:
        """Dollars for one call with this usage."""
        cached_rate = (
            self.input_per_mtok
            if self.cached_input_per_mtok is None
            else self.cached_input_per_mtok
        )
        reasoning_rate = (
            self.output_per_mtok if self.reasoning_per_mtok is None else self.reasoning_per_mtok
        )
        fresh_in = usage.prompt_tokens - usage.cached_tokens
        plain_out = usage.completion_tokens - usage.reasoning_tokens
        dollars = (
            fresh_in * self.input_per_mtok
            + usage.cached_tokens * cached_rate
            + plain_out * self.output_per_mtok
            + usage.reasoning_tokens * reasoning_rate
        ) / 1e6
        return dollars + self.per_request


class ModelEndpoint(_Strict):
    """One model: its benchmark name, where to reach it, how to call it, what it costs."""

    name: str = Field(min_length=1)
    base_url: str
    model: str = Field(min_length=1)
    api_key_env: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    price: Price
    timeout_s: float = Field(60.0, gt=0)
    max_concurrency: int = Field(16, ge=1)
    #: Ask for a streamed reply (time to first token is measured; usage is requested
    #: at the end of the stream with ``stream_options.include_usage``).
    stream: bool = False
    #: Retry bounds per request (`routerbench collect`): attempts, wall seconds, and the
    #: base of the jittered exponential backoff.
    max_attempts: int = Field(6, ge=1)
    retry_wall_s: float = Field(300.0, gt=0)
    retry_base_s: float = Field(0.5, ge=0)

    @field_validator("name", "model")
    @classmethod
    def _no_surrounding_space(cls, v: str) -> str:
        if v != v.strip():
            raise ValueError("must not start or end with whitespace")
        return v

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, v: str) -> str:
        if not re.match(r"^https?://[^\s/]+", v):
            raise ValueError("must be an http:// or https:// URL, e.g. http://127.0.0.1:8001/v1")
        return v.rstrip("/")

    @field_validator("api_key_env")
    @classmethod
    def _env_name(cls, v: str | None) -> str | None:
        if v is not None and not _ENV_NAME.match(v):
            raise ValueError(
                "must be the *name* of an environment variable (letters, digits, _), "
                "never the key itself"
            )
        return v

    @field_validator("params")
    @classmethod
    def _no_routing_fields(cls, v: dict[str, Any]) -> dict[str, Any]:
        for key in ("model", "messages", "stream"):
            if key in v:
                raise ValueError(f"{key!r} is set by routerbench, not in params")
        return v

    def api_key(self) -> str | None:
        """The key from the environment, or None when the entry names no variable.

        Raises ConfigError (naming the variable, never a value) when it is named but unset.
        """
        if self.api_key_env is None:
            return None
        key = os.environ.get(self.api_key_env)
        if not key:
            raise ConfigError(
                f"model {self.name!r}: environment variable {self.api_key_env} is not set "
                "(api_key_env names the variable that holds the key)"
            )
        return key


class JudgeRef(_Strict):
    """Which entry of ``models`` grades ``judge`` rows."""

    model: str


class ModelsConfig(_Strict):
    """The whole MODELS.yaml."""

    models: tuple[ModelEndpoint, ...] = Field(min_length=1)
    judge: JudgeRef | None = None

    @model_validator(mode="after")
    def _unique_and_resolvable(self) -> ModelsConfig:
        seen: set[str] = set()
        for i, m in enumerate(self.models):
            if m.name in seen:
                raise ValueError(f"models[{i}].name {m.name!r} is used twice")
            seen.add(m.name)
        if self.judge is not None and self.judge.model not in seen:
            raise ValueError(
                f"judge.model {self.judge.model!r} is not the name of an entry of models "
                f"(names: {sorted(seen)})"
            )
        return self

    def get(self, name: str) -> ModelEndpoint:
        """The entry called `name` (exact match only)."""
        for m in self.models:
            if m.name == name:
                return m
        raise ConfigError(f"no model named {name!r} in MODELS.yaml (names: {self.names})")

    @property
    def names(self) -> list[str]:
        return [m.name for m in self.models]


class _UniqueKeyLoader(yaml.SafeLoader):
    """A safe YAML loader that refuses a mapping with the same key twice."""


def _construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode, deep: bool = False) -> Any:
    keys: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in keys:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        keys.add(key)
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _loc(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def parse_models_config(data: Any, *, source: str = "MODELS.yaml") -> ModelsConfig:
    """Validate parsed YAML; one ConfigError line naming the key path on failure."""
    if data is None:
        raise ConfigError(f"{source}: the file is empty; expected a 'models:' list")
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: expected a mapping with a 'models:' list")
    try:
        return ModelsConfig.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        msg = str(err["msg"]).removeprefix("Value error, ")
        raise ConfigError(f"{source}: {_loc(tuple(err['loc']))}: {msg}") from None


def load_models_config(path: str | Path) -> ModelsConfig:
    """Read and validate a MODELS.yaml file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{path}:{where}: invalid YAML: {problem}") from None
    return parse_models_config(data, source=str(path))
