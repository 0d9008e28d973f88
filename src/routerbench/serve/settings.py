"""How the server behaves: default λ, routing text, failure policy, limits, keys, log.

Plain data, validated once at start-up (a bad value is a ConfigError naming the
option), and serialisable to JSON so ``--workers N`` can hand it to each worker
process. Client keys are not stored here, only the name of the variable holding them.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
from dataclasses import dataclass
from typing import Any

from routerbench.errors import ConfigError

__all__ = ["ServeSettings"]


@dataclass(frozen=True)
class ServeSettings:
    """Server options (the ``routerbench serve`` flags of the same names).

    Attributes
    ----------
    willingness_to_pay
        Default λ (dollars per unit of quality) when a request names none.
    route_on
        Routing text: ``"last-user"`` turn or the whole ``"conversation"``.
    fail_open_model
        Model used when the router fails or misses its deadline; None: answer 503.
    fallbacks
        Models tried, in order, after the router's ranking is used up.
    decision_timeout_s
        Deadline for the router's decision (queueing included).
    max_attempts
        Most upstream calls one request may make (first try plus fallbacks).
    request_timeout_s
        Budget for the whole request, all attempts together.
    connect_timeout_s, first_byte_timeout_s
        Per attempt; ``first_byte_timeout_s`` None uses the model's ``timeout_s``.
        For a stream "first byte" means its first content chunk.
    max_body_bytes
        Largest request body accepted (413 above it).
    max_output_tokens
        Largest ``max_tokens`` / ``max_completion_tokens`` a request may ask for.
    max_messages
        Longest conversation accepted.
    api_key_env
        Name of the variable holding the clients' bearer key(s) (comma-separated);
        None: no client authentication.
    forward_client_key
        Send the client's bearer key upstream to models that have no key of their own.
    stream_usage
        Ask streamed upstreams for a usage chunk (``stream_options.include_usage``)
        so tokens and dollars are known; it reaches the client only if it asked too.
    log_path, log_prompts
        JSON-lines request log (None: none; ``"-"``: standard error) and whether it
        holds the routing text.
    breaker_threshold, breaker_cooldown_s
        Circuit breaker: failures in a row that open it; seconds before a probe.
    ready_cache_s
        How long ``/health/ready`` reuses its last upstream check.
    decide_in
        Where the router runs: ``"process"`` (a child process of its own: the event loop
        never shares the GIL with it), ``"thread"`` (worker threads of this process), or
        ``"auto"`` (a process when the router can be sent to one: loaded from an artifact
        or picklable).
    decision_threads
        Worker threads that run the router (``decide_in="thread"``).
    """

    willingness_to_pay: float = 1.0
    route_on: str = "last-user"
    fail_open_model: str | None = None
    fallbacks: tuple[str, ...] = ()
    decision_timeout_s: float = 1.0
    max_attempts: int = 3
    request_timeout_s: float = 120.0
    connect_timeout_s: float = 3.0
    first_byte_timeout_s: float | None = None
    max_body_bytes: int = 1_048_576
    max_output_tokens: int | None = None
    max_messages: int = 1000
    api_key_env: str | None = None
    forward_client_key: bool = False
    stream_usage: bool = True
    log_path: str | None = None
    log_prompts: bool = False
    breaker_threshold: int = 5
    breaker_cooldown_s: float = 10.0
    ready_cache_s: float = 5.0
    decide_in: str = "auto"
    decision_threads: int = 1

    def __post_init__(self) -> None:
        object.__setattr__(self, "fallbacks", tuple(self.fallbacks))
        lam = self.willingness_to_pay
        if not isinstance(lam, (int, float)) or not math.isfinite(lam) or lam < 0:
            raise ConfigError(f"--wtp must be a finite number >= 0, got {lam!r}")
        if self.decide_in not in ("auto", "process", "thread"):
            raise ConfigError(
                f"--decide-in must be 'auto', 'process' or 'thread', got {self.decide_in!r}"
            )
        if self.route_on not in ("last-user", "conversation"):
            raise ConfigError(
                f"--route-on must be 'last-user' or 'conversation', got {self.route_on!r}"
            )
        for name in (
            "decision_timeout_s",
            "request_timeout_s",
            "connect_timeout_s",
            "breaker_cooldown_s",
            "ready_cache_s",
        ):
            v = getattr(self, name)
            if not math.isfinite(v) or (v <= 0 and name != "breaker_cooldown_s") or v < 0:
                raise ConfigError(f"--{name.replace('_', '-')} must be a positive number, got {v}")
        if self.first_byte_timeout_s is not None and not self.first_byte_timeout_s > 0:
            raise ConfigError(
                f"--first-byte-timeout-s must be > 0, got {self.first_byte_timeout_s}"
            )
        for name in (
            "max_attempts",
            "max_body_bytes",
            "max_messages",
            "breaker_threshold",
            "decision_threads",
        ):
            if int(getattr(self, name)) < 1:
                raise ConfigError(
                    f"--{name.replace('_', '-')} must be >= 1, got {getattr(self, name)}"
                )
        if self.max_output_tokens is not None and self.max_output_tokens < 1:
            raise ConfigError(f"--max-output-tokens must be >= 1, got {self.max_output_tokens}")

    def client_keys(self) -> tuple[str, ...]:
        """The accepted client keys, read from the environment now (never logged)."""
        if self.api_key_env is None:
            return ()
        raw = os.environ.get(self.api_key_env, "")
        keys = tuple(k.strip() for k in raw.split(",") if k.strip())
        if not keys:
            raise ConfigError(
                f"--api-key-env {self.api_key_env}: that environment variable is not set or "
                "empty (it must hold the clients' bearer key, or several separated by commas)"
            )
        return keys

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self))

    @classmethod
    def from_json(cls, text: str) -> ServeSettings:
        data: dict[str, Any] = json.loads(text)
        data["fallbacks"] = tuple(data.get("fallbacks", ()))
        return cls(**data)
