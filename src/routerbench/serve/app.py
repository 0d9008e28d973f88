"""The OpenAI-compatible routing server: one FastAPI app in front of many upstream models.

``POST /v1/chat/completions`` ranks the conversation with the router (off the event
loop, with a deadline), forwards the request unchanged but for ``model`` to the best
model whose circuit breaker lets it through, and falls back down the ranking on a
connection error, timeout, 5xx or 429. Every decision is visible in ``x-routerbench-*``
headers, in ``/metrics`` and in one JSON log line per request.
"""

from __future__ import annotations

import asyncio
import dataclasses
import gc
import hmac
import itertools
import json
import logging
import os
import pickle
import re
import secrets
import sys
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from starlette.background import BackgroundTask
from starlette.exceptions import HTTPException as StarletteHTTPException

from routerbench.endpoints import ModelEndpoint, ModelsConfig, Usage
from routerbench.errors import ConfigError
from routerbench.serve._timeouts import timeout
from routerbench.serve.breaker import BreakerState, CircuitBreaker
from routerbench.serve.decide import Decider, DecisionError, RankedRow, RankFn, routing_text
from routerbench.serve.errors import ApiError, error_body
from routerbench.serve.metrics import ServeMetrics
from routerbench.serve.options import (
    ROUTER_PREFIX,
    RoutingOptions,
    Target,
    apply_body,
    apply_header,
    parse_target,
)
from routerbench.serve.process_decider import ProcessDecider
from routerbench.serve.reqlog import RequestLog
from routerbench.serve.settings import ServeSettings
from routerbench.serve.upstream import OpenStream, UpstreamFailure, UpstreamPool, UpstreamRejected

__all__ = ["RouterHandle", "create_app", "load_app"]

_PROBE_TEXT = "routerbench start-up probe"
logger = logging.getLogger("routerbench.serve")
_HEADER = "x-routerbench-"


@dataclass(frozen=True)
class RouterHandle:
    """What the server needs of a fitted router: its name, its models, a ranking function."""

    name: str
    rank: RankFn
    models: tuple[str, ...]
    #: How a ranking child process gets the same router: ``{"artifact": path}`` or
    #: ``{"router": pickled}``; None when it cannot (the router then ranks in threads).
    portable: dict[str, Any] | None = None

    @classmethod
    def probe(cls, name: str, rank: RankFn, portable: dict[str, Any] | None = None) -> RouterHandle:
        """Learn the router's models by ranking one probe text (this also warms it up)."""
        ranking = rank([_PROBE_TEXT], 1.0)
        return cls(name=name, rank=rank, models=tuple(ranking.models), portable=portable)

    @classmethod
    def from_router(
        cls, router: Any, artifact: str | os.PathLike[str] | None = None
    ) -> RouterHandle:
        """Wrap a fitted predictive router (anything with `rank_prompts`).

        With `artifact` (the file it was loaded from) a ranking child loads that file;
        without, the router is pickled for it, if it pickles.
        """
        rank_prompts = getattr(router, "rank_prompts", None)
        if rank_prompts is None:
            raise ConfigError(
                f"router {type(router).__name__} cannot rank prompt text (no rank_prompts); "
                "serve a predictive router such as knn"
            )

        def rank(texts: Sequence[str], willingness_to_pay: float) -> Any:
            return rank_prompts(list(texts), willingness_to_pay)

        handle = cls.probe(str(getattr(router, "name", "router")), rank)
        if artifact is not None:
            portable: dict[str, Any] | None = {"artifact": os.fspath(artifact)}
        else:
            try:
                portable = {"router": pickle.dumps(router, protocol=pickle.HIGHEST_PROTOCOL)}
            except Exception:  # a router holding a lock, a client, a closure: threads it is
                portable = None
        return dataclasses.replace(handle, portable=portable)


@dataclass
class _Ctx:
    """One request's trace: what was decided, what was tried, what it cost."""

    request_id: str
    t0: float
    stream: bool = False
    router: str = "none"
    wtp: float | None = None
    row: RankedRow | None = None
    decision_s: float = 0.0
    decision_error: str | None = None
    attempts: list[dict[str, Any]] = field(default_factory=list)
    upstream_s: float = 0.0
    model: str | None = None
    text: str | None = None
    usage: Usage | None = None
    cost_usd: float | None = None
    status: int | str = 200
    error: str | None = None
    first_byte_s: float | None = None
    finished: bool = False

    @property
    def calls(self) -> int:
        return sum(1 for a in self.attempts if a["outcome"] != "skipped")

    @property
    def passed_over(self) -> int:
        return sum(1 for a in self.attempts if a["outcome"] != "ok")

    def estimated_cost(self) -> float | None:
        if self.row is None or self.model is None:
            return None
        return self.row.cost.get(self.model)

    def score(self) -> float | None:
        if self.row is None or self.model is None:
            return None
        return self.row.quality.get(self.model)

    def headers(self, overhead_s: float) -> dict[str, str]:
        est, score = self.estimated_cost(), self.score()
        return {
            f"{_HEADER}model": self.model or "",
            f"{_HEADER}router": self.router,
            f"{_HEADER}wtp": "" if self.wtp is None else repr(self.wtp),
            f"{_HEADER}score": "" if score is None else f"{score:.6g}",
            f"{_HEADER}attempts": str(self.calls),
            f"{_HEADER}fallbacks": str(self.passed_over),
            f"{_HEADER}decision-ms": f"{self.decision_s * 1000:.3f}",
            f"{_HEADER}overhead-ms": f"{overhead_s * 1000:.3f}",
            f"{_HEADER}estimated-cost-usd": "" if est is None else f"{est:.6g}",
            f"{_HEADER}request-id": self.request_id,
        }


def _usage(data: Any) -> Usage | None:
    """An upstream's ``usage`` object as a Usage, or None when absent or malformed."""
    if not isinstance(data, dict):
        return None
    try:
        prompt_details = data.get("prompt_tokens_details") or {}
        completion_details = data.get("completion_tokens_details") or {}
        return Usage(
            prompt_tokens=int(data.get("prompt_tokens") or 0),
            completion_tokens=int(data.get("completion_tokens") or 0),
            cached_tokens=int(prompt_details.get("cached_tokens") or 0),
            reasoning_tokens=int(completion_details.get("reasoning_tokens") or 0),
        )
    except (TypeError, ValueError, AttributeError):
        return None


class _NonStandardNumber(ValueError):
    """NaN / Infinity: Python's json accepts them, JSON (and the upstreams) do not."""


def _refuse_constant(name: str) -> Any:
    raise _NonStandardNumber(name)


#: A chunk that may end the answer: it has a finish_reason (a string, not null) or usage.
_FINAL_CANDIDATE = re.compile(r'"finish_reason"\s*:\s*"|"usage"\s*:\s*\{')


def _finished(data: str | None) -> bool:
    """Whether a chunk ends the answer (some choice has a finish_reason)."""
    if data is None:
        return False
    try:
        chunk = json.loads(data)
    except ValueError:
        return False
    choices = chunk.get("choices") if isinstance(chunk, dict) else None
    return any(isinstance(c, dict) and c.get("finish_reason") is not None for c in choices or ())


class _Server:
    """State shared by the requests of one app: router, upstreams, breakers, metrics, log."""

    def __init__(self, handle: RouterHandle, models: ModelsConfig, settings: ServeSettings) -> None:
        self.handle = handle
        self.models = models
        self.settings = settings
        self.endpoints = {m.name: m for m in models.models}
        self.upstream_names = tuple(m.name for m in models.models)
        missing = [m for m in handle.models if m not in self.endpoints]
        if missing:
            raise ConfigError(
                f"the router's model {missing[0]!r} has no entry in MODELS.yaml (exact names "
                f"there: {', '.join(self.upstream_names)}; "
                f"the router has {', '.join(handle.models)})"
            )
        for label, names in (
            ("--fallback", settings.fallbacks),
            ("--fail-open", (settings.fail_open_model,) if settings.fail_open_model else ()),
        ):
            for name in names:
                if name not in self.endpoints:
                    raise ConfigError(
                        f"{label} {name!r} is not a model in MODELS.yaml "
                        f"(names: {', '.join(self.upstream_names)})"
                    )
        if settings.decide_in == "process" and handle.portable is None:
            raise ConfigError(
                "--decide-in process: this router cannot be sent to a child process (it "
                "was not loaded from an artifact and does not pickle); use --decide-in thread"
            )
        self.client_keys = tuple(k.encode() for k in settings.client_keys())
        self.upstream_headers = {m.name: self._headers(m) for m in models.models}
        self.metrics = ServeMetrics()
        self.breakers = {
            m.name: CircuitBreaker(settings.breaker_threshold, settings.breaker_cooldown_s)
            for m in models.models
        }
        self.log = RequestLog(settings.log_path)
        # Request ids: a random per-process prefix and a counter (unique across --workers
        # processes and restarts; no urandom call per request).
        self._id_prefix = secrets.token_hex(6)
        self._ids = itertools.count(1)
        self.pool: UpstreamPool | None = None
        self.decider: Decider | ProcessDecider | None = None
        self._ready: tuple[float, int, dict[str, Any]] | None = None
        self._ready_lock: asyncio.Lock | None = None

    @staticmethod
    def _headers(endpoint: ModelEndpoint) -> dict[str, str]:
        headers = {"content-type": "application/json", "accept": "application/json"}
        key = endpoint.api_key()  # ConfigError at start-up when the named variable is unset
        if key is not None:
            headers["authorization"] = f"Bearer {key}"
        return headers

    async def start(self) -> None:
        self.pool = UpstreamPool(
            self.models.models, connect_timeout_s=self.settings.connect_timeout_s
        )
        mode = self.settings.decide_in
        if mode == "auto":
            mode = "process" if self.handle.portable is not None else "thread"
        if mode == "process":
            assert self.handle.portable is not None
            decider = ProcessDecider(
                self.handle.portable,
                self.handle.models,
                timeout_s=self.settings.decision_timeout_s,
            )
            await decider.start()
            self.decider = decider
        else:
            self.decider = Decider(
                self.handle.rank,
                timeout_s=self.settings.decision_timeout_s,
                threads=self.settings.decision_threads,
            )
        self._ready_lock = asyncio.Lock()

    async def stop(self) -> None:
        if self.pool is not None:
            await self.pool.aclose()
        if isinstance(self.decider, ProcessDecider):
            await self.decider.aclose()
        elif self.decider is not None:
            await asyncio.get_running_loop().run_in_executor(None, self.decider.close)
        self.log.close()

    def decider_state(self) -> dict[str, Any]:
        """Where the router runs and whether it can rank now (for /health/ready)."""
        if isinstance(self.decider, ProcessDecider):
            return {
                "in": "process",
                "pid": self.decider.pid,
                "running": self.decider.alive,
                "restarts": self.decider.restarts,
            }
        return {"in": "thread", "running": self.decider is not None}

    # ----------------------------------------------------------------- checks
    def authenticate(self, request: Request) -> None:
        if not self.client_keys:
            return
        auth = request.headers.get("authorization")
        if not auth:
            raise ApiError(
                401,
                "missing bearer key: send 'Authorization: Bearer <key>'",
                code="missing_api_key",
            )
        scheme, _, given = auth.partition(" ")
        token = given.strip().encode()
        ok = scheme.lower() == "bearer" and any(
            hmac.compare_digest(token, k) for k in self.client_keys
        )
        if not ok:
            raise ApiError(401, "invalid bearer key", code="invalid_api_key")

    async def read_body(self, request: Request) -> dict[str, Any]:
        limit = self.settings.max_body_bytes
        declared = request.headers.get("content-length")
        too_big = ApiError(413, f"request body is larger than {limit} bytes", code="body_too_large")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise too_big
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise too_big
            chunks.append(chunk)
        try:
            payload = json.loads(b"".join(chunks), parse_constant=_refuse_constant)
        except UnicodeDecodeError:
            raise ApiError(400, "request body is not UTF-8 JSON", code="invalid_json") from None
        except _NonStandardNumber as exc:
            raise ApiError(
                400,
                f"request body is not valid JSON: {exc} is not a JSON number",
                code="invalid_json",
            ) from None
        except json.JSONDecodeError as exc:
            raise ApiError(
                400,
                f"request body is not valid JSON: {exc.msg} (line {exc.lineno} column {exc.colno})",
                code="invalid_json",
            ) from None
        if not isinstance(payload, dict):
            raise ApiError(400, "request body must be a JSON object", code="invalid_json")
        return payload

    def validate(self, payload: dict[str, Any]) -> None:
        messages = payload.get("messages")
        if not isinstance(messages, list) or not messages:
            raise ApiError(400, "'messages' must be a non-empty list of messages", param="messages")
        if len(messages) > self.settings.max_messages:
            raise ApiError(
                400,
                f"'messages' has {len(messages)} entries; at most "
                f"{self.settings.max_messages} are accepted",
                param="messages",
            )
        for i, m in enumerate(messages):
            if not isinstance(m, dict) or not isinstance(m.get("role"), str):
                raise ApiError(
                    400,
                    f"messages[{i}] must be an object with a string 'role'",
                    param=f"messages[{i}]",
                )
            content = m.get("content")
            if content is not None and not isinstance(content, (str, list)):
                raise ApiError(
                    400,
                    f"messages[{i}].content must be a string, a list of parts or null",
                    param=f"messages[{i}].content",
                )
        if "stream" in payload and not isinstance(payload["stream"], bool):
            raise ApiError(400, "'stream' must be true or false", param="stream")
        cap = self.settings.max_output_tokens
        for key in ("max_tokens", "max_completion_tokens"):
            if key not in payload or payload[key] is None:
                continue
            value = payload[key]
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ApiError(400, f"'{key}' must be a positive integer", param=key)
            if cap is not None and value > cap:
                raise ApiError(
                    400, f"'{key}' is {value}; this server allows at most {cap}", param=key
                )

    # --------------------------------------------------------------- decision
    async def decide(self, ctx: _Ctx, target: Target, payload: dict[str, Any]) -> list[str]:
        """Models to try, best first: the router's ranking (or the named model), then fallbacks."""
        options: RoutingOptions = target.options
        fallbacks = list(self.settings.fallbacks)
        if target.model is not None:
            names = [target.model]
        else:
            ctx.router = self.handle.name
            lam = options.willingness_to_pay
            ctx.wtp = self.settings.willingness_to_pay if lam is None else lam
            ctx.text = routing_text(payload["messages"], self.settings.route_on)  # type: ignore[arg-type]
            assert self.decider is not None
            start = time.perf_counter()
            try:
                row = await self.decider.decide(ctx.text, ctx.wtp)
            except DecisionError as exc:
                ctx.decision_s = time.perf_counter() - start
                ctx.decision_error = str(exc)
                if self.settings.fail_open_model is None:
                    raise ApiError(
                        503, f"routing failed: {exc}", code="router_unavailable"
                    ) from None
                names = [self.settings.fail_open_model]
            else:
                ctx.decision_s = time.perf_counter() - start
                ctx.row = row
                self.metrics.decision_seconds.labels(self.handle.name).observe(ctx.decision_s)
                names = list(row.order)
                if options.candidates is not None:
                    keep = set(options.candidates)
                    names = [n for n in names if n in keep]
                    fallbacks = []  # the client limited the models; fallbacks stay inside them
                if options.max_cost_usd is not None:
                    names = [n for n in names if row.cost[n] <= options.max_cost_usd]
                    if not names:
                        cheapest = min(row.cost.values())
                        raise ApiError(
                            400,
                            f"no model is estimated to cost at most max_cost_usd="
                            f"{options.max_cost_usd:g} (cheapest estimate ${cheapest:.6g})",
                            param="routing.max_cost_usd",
                            code="over_budget",
                        )
        return list(dict.fromkeys([*names, *fallbacks]))

    def upstream_body(
        self, endpoint: ModelEndpoint, payload: dict[str, Any], stream: bool
    ) -> bytes:
        body = {**endpoint.params, **payload}
        body.pop("routing", None)
        body["model"] = endpoint.model
        if stream and self.settings.stream_usage and body.get("stream_options") is None:
            body["stream_options"] = {"include_usage": True}
        return json.dumps(body, separators=(",", ":")).encode()

    def outgoing_headers(self, endpoint: ModelEndpoint, request: Request) -> dict[str, str]:
        headers = self.upstream_headers[endpoint.name]
        if (
            self.settings.forward_client_key
            and "authorization" not in headers
            and request.headers.get("authorization")
        ):
            return {**headers, "authorization": request.headers["authorization"]}
        return headers

    def first_byte_s(self, endpoint: ModelEndpoint) -> float:
        fb = self.settings.first_byte_timeout_s
        return endpoint.timeout_s if fb is None else min(fb, endpoint.timeout_s)

    # --------------------------------------------------------------- attempts
    async def attempts(self, ctx: _Ctx, names: list[str], call: Any) -> tuple[str, Any]:
        """Try `names` in order until one answers, within the attempt and time limits."""
        deadline = ctx.t0 + self.settings.request_timeout_s
        previous: tuple[str, str] | None = None
        for name in names:
            if ctx.calls >= self.settings.max_attempts or time.perf_counter() >= deadline:
                break
            breaker = self.breakers[name]
            if not breaker.allow():
                ctx.attempts.append({"model": name, "outcome": "skipped", "reason": "breaker_open"})
                self.metrics.upstream_errors.labels(name, "breaker_open").inc()
                if previous is None:
                    previous = (name, "breaker_open")
                continue
            if previous is not None and previous[0] != name:
                self.metrics.fallbacks.labels(previous[0], name, previous[1]).inc()
            endpoint = self.endpoints[name]
            start = time.perf_counter()
            try:
                result = await call(endpoint, deadline)
            except UpstreamFailure as failure:
                took = time.perf_counter() - start
                ctx.upstream_s += took
                was_open = breaker.state is not BreakerState.CLOSED
                breaker.record_failure()
                if not was_open and breaker.state is not BreakerState.CLOSED:
                    self.metrics.breaker_open.labels(name).inc()
                self.metrics.upstream_errors.labels(name, failure.reason).inc()
                ctx.attempts.append(
                    {
                        "model": name,
                        "outcome": "failed",
                        "reason": failure.reason,
                        "ms": round(took * 1000, 3),
                    }
                )
                previous = (name, failure.reason)
                continue
            except UpstreamRejected as rejected:
                ctx.upstream_s += time.perf_counter() - start
                breaker.record_success()
                ctx.attempts.append(
                    {"model": name, "outcome": "rejected", "reason": f"http_{rejected.status}"}
                )
                status = rejected.status if 400 <= rejected.status < 500 else 400
                raise ApiError(status, rejected.message, code="upstream_rejected") from None
            except BaseException:
                breaker.release()
                raise
            took = time.perf_counter() - start
            ctx.upstream_s += took
            breaker.record_success()
            ctx.attempts.append({"model": name, "outcome": "ok", "ms": round(took * 1000, 3)})
            ctx.model = name
            return name, result
        tried = ", ".join(f"{a['model']} ({a['reason']})" for a in ctx.attempts) or "none"
        if ctx.calls == 0:
            raise ApiError(
                503,
                f"no model could be tried (circuit breakers open): {tried}",
                code="upstreams_unavailable",
            )
        raise ApiError(
            502, f"no upstream model could answer; tried {tried}", code="upstreams_failed"
        )

    # ------------------------------------------------------------- accounting
    def account(self, ctx: _Ctx, usage: Usage | None) -> None:
        if usage is None or ctx.model is None:
            return
        ctx.usage = usage
        ctx.cost_usd = self.endpoints[ctx.model].price.cost(usage)
        self.metrics.tokens.labels(ctx.model, "prompt").inc(usage.prompt_tokens)
        self.metrics.tokens.labels(ctx.model, "completion").inc(usage.completion_tokens)
        self.metrics.dollars.labels(ctx.model).inc(ctx.cost_usd)

    def finish(self, ctx: _Ctx) -> None:
        """Count and log a request once, whatever way it ended."""
        if ctx.finished:
            return
        ctx.finished = True
        self.metrics.in_flight.dec()
        self.metrics.requests.labels(ctx.router, ctx.model or "none", str(ctx.status)).inc()
        record: dict[str, Any] = {
            "ts": round(time.time(), 3),
            "request_id": ctx.request_id,
            "status": ctx.status,
            "stream": ctx.stream,
            "router": ctx.router,
            "wtp": ctx.wtp,
            "model": ctx.model,
            "ranking": list(ctx.row.order) if ctx.row is not None else None,
            "estimated_cost_usd": ctx.estimated_cost(),
            "score": ctx.score(),
            "attempts": ctx.attempts,
            "decision_ms": round(ctx.decision_s * 1000, 3),
            "decision_error": ctx.decision_error,
            "upstream_ms": round(ctx.upstream_s * 1000, 3),
            "total_ms": round((time.perf_counter() - ctx.t0) * 1000, 3),
            "usage": None if ctx.usage is None else ctx.usage.model_dump(),
            "cost_usd": ctx.cost_usd,
            "error": ctx.error,
        }
        if self.settings.log_prompts and ctx.text is not None:
            record["prompt"] = ctx.text
        self.log.write(record)

    # --------------------------------------------------------------- handlers
    async def chat(self, request: Request) -> Response:
        ctx = _Ctx(request_id=f"rb-{self._id_prefix}{next(self._ids):x}", t0=time.perf_counter())
        self.metrics.in_flight.inc()
        try:
            self.authenticate(request)
            payload = await self.read_body(request)
            self.validate(payload)
            ctx.stream = payload.get("stream") is True
            target = parse_target(
                payload.get("model"),
                router_name=self.handle.name,
                router_models=self.handle.models,
                upstreams=self.upstream_names,
            )
            if target.routed:
                options = apply_header(target.options, request.headers.get("x-routerbench-wtp"))
                options = apply_body(options, payload.get("routing"), self.handle.models)
                target = Target(model=None, options=options)
            elif "routing" in payload or "x-routerbench-wtp" in request.headers:
                raise ApiError(
                    400,
                    f"routing options need a router model ('{ROUTER_PREFIX}' or "
                    f"'{ROUTER_PREFIX}:{self.handle.name}'), not {target.model!r}",
                    param="routing",
                )
            names = await self.decide(ctx, target, payload)
            if ctx.stream:
                return await self.stream(ctx, names, payload, request)
            return await self.complete(ctx, names, payload, request)
        except ApiError as exc:
            ctx.status = exc.status
            ctx.error = exc.message
            self.finish(ctx)
            headers = ctx.headers(time.perf_counter() - ctx.t0 - ctx.upstream_s)
            return JSONResponse(exc.body(), status_code=exc.status, headers=headers)
        except asyncio.CancelledError:
            ctx.status = "client_closed"
            self.finish(ctx)
            raise
        except Exception as exc:  # a bug: count it, say so in OpenAI's shape, keep the trace
            ctx.status = 500
            ctx.error = f"internal error: {type(exc).__name__}"
            self.finish(ctx)
            logger.exception("request %s failed", ctx.request_id)
            body = error_body(
                "internal error in the routing server", status=500, code="internal_error"
            )
            return JSONResponse(
                body, status_code=500, headers={f"{_HEADER}request-id": ctx.request_id}
            )

    async def complete(
        self, ctx: _Ctx, names: list[str], payload: dict[str, Any], request: Request
    ) -> Response:
        assert self.pool is not None
        pool = self.pool

        async def call(endpoint: ModelEndpoint, deadline: float) -> tuple[bytes, dict[str, Any]]:
            return await pool.complete(
                endpoint,
                self.upstream_body(endpoint, payload, False),
                self.outgoing_headers(endpoint, request),
                first_byte_s=self.first_byte_s(endpoint),
                total_deadline=deadline,
            )

        name, (raw, data) = await self.attempts(ctx, names, call)
        self.account(ctx, _usage(data.get("usage")))
        overhead = time.perf_counter() - ctx.t0 - ctx.upstream_s
        self.metrics.overhead_seconds.labels("false").observe(overhead)
        self.metrics.upstream_seconds.labels(name, "false").observe(ctx.attempts[-1]["ms"] / 1000)
        headers = ctx.headers(overhead)
        self.finish(ctx)
        return Response(content=raw, media_type="application/json", headers=headers)

    async def stream(
        self, ctx: _Ctx, names: list[str], payload: dict[str, Any], request: Request
    ) -> Response:
        assert self.pool is not None
        pool = self.pool
        client_wants_usage = isinstance(payload.get("stream_options"), dict) and bool(
            payload["stream_options"].get("include_usage")
        )

        async def call(endpoint: ModelEndpoint, deadline: float) -> OpenStream:
            return await pool.open_stream(
                endpoint,
                self.upstream_body(endpoint, payload, True),
                self.outgoing_headers(endpoint, request),
                first_byte_s=self.first_byte_s(endpoint),
                total_deadline=deadline,
            )

        name, opened = await self.attempts(ctx, names, call)
        overhead = time.perf_counter() - ctx.t0 - ctx.upstream_s
        ctx.first_byte_s = time.perf_counter() - ctx.t0
        self.metrics.overhead_seconds.labels("true").observe(overhead)
        self.metrics.upstream_seconds.labels(name, "true").observe(opened.first_byte_s)
        headers = ctx.headers(overhead)
        headers["cache-control"] = "no-cache"
        body = self.relay(ctx, opened, client_wants_usage)

        async def cleanup() -> None:
            await opened.aclose()
            self.finish(ctx)

        return StreamingResponse(
            body,
            media_type="text/event-stream",
            headers=headers,
            background=BackgroundTask(cleanup),
        )

    def _decision(self, ctx: _Ctx) -> dict[str, Any]:
        return {
            "model": ctx.model,
            "router": ctx.router,
            "willingness_to_pay": ctx.wtp,
            "attempts": ctx.calls,
            "fallbacks": ctx.passed_over,
            "estimated_cost_usd": ctx.estimated_cost(),
            "cost_usd": ctx.cost_usd,
            "usage": None if ctx.usage is None else ctx.usage.model_dump(),
        }

    def _final(self, ctx: _Ctx, held: str | None, last: str | None, usage: Any) -> str:
        """The last chunk, with the decision (and usage, when the upstream gave it) added.

        It is the held-back finish or usage chunk; when the upstream ended on a content
        chunk (already relayed), a chunk of our own with no choices, shaped like
        OpenAI's usage chunk and named after the upstream's last chunk.
        """
        chunk: Any = None
        if held is not None:
            try:
                chunk = json.loads(held)
            except ValueError:
                return held
            if not isinstance(chunk, dict):
                return held
        else:
            try:
                like = json.loads(last) if last is not None else {}
            except ValueError:
                like = {}
            like = like if isinstance(like, dict) else {}
            chunk = {
                "id": like.get("id", ctx.request_id),
                "object": "chat.completion.chunk",
                "created": like.get("created", int(time.time())),
                "model": like.get("model", ctx.model),
                "choices": [],
            }
        if usage is not None and chunk.get("usage") is None:
            chunk["usage"] = usage
        chunk["x_routerbench"] = self._decision(ctx)
        return json.dumps(chunk, separators=(",", ":"))

    async def relay(
        self, ctx: _Ctx, opened: OpenStream, client_wants_usage: bool
    ) -> AsyncIterator[bytes]:
        """The client's event stream: the upstream's events unchanged, ended by the decision.

        Content chunks go out as soon as they arrive (events that arrived together in one
        write). Only a chunk that may be the last — one with a ``finish_reason``, or a
        usage chunk — is held back one event, so the decision (and usage) can be added
        to it. A failure after the first byte ends the stream with an error event.
        """
        held: str | None = None
        last: str | None = None
        usage: Any = None
        out: list[bytes] = []
        deadline = ctx.t0 + self.settings.request_timeout_s

        def take(data: str) -> None:
            nonlocal held, last
            if held is not None:
                out.append(b"data: " + held.encode() + b"\n\n")
                held = None
            last = data
            if _FINAL_CANDIDATE.search(data):
                held = data
            else:
                out.append(b"data: " + data.encode() + b"\n\n")

        def look(data: str) -> bool:
            """Relay one event of the rest of the stream; True at [DONE]."""
            nonlocal usage
            if data.strip() == "[DONE]":
                return True
            if '"error"' in data or '"usage"' in data:
                try:
                    chunk = json.loads(data)
                except ValueError:
                    chunk = None
                if isinstance(chunk, dict) and "error" in chunk:
                    raise UpstreamFailure("stream_error", f"{ctx.model}: error event mid-stream")
                if isinstance(chunk, dict) and chunk.get("usage") is not None:
                    usage = chunk["usage"]
                    self.account(ctx, _usage(usage))
                    if not client_wants_usage and not chunk.get("choices"):
                        return False  # we asked for it; the client did not
            take(data)
            return False

        def finale() -> bytes:
            final = self._final(ctx, held, last, None if client_wants_usage else usage)
            out.append(b"data: " + final.encode() + b"\n\ndata: [DONE]\n\n")
            return b"".join(out)

        try:
            for data in opened.head:
                take(data)
            if any(look(data) for data in opened.rest):
                yield finale()  # the whole answer came with its first content: one write
                return
            if out:
                yield b"".join(out)
                out.clear()
            batches = opened.batches
            while True:
                left = deadline - time.perf_counter()
                if left <= 0:
                    raise UpstreamFailure("total_timeout", f"{ctx.model}: stream too slow")
                try:
                    async with timeout(left):  # no task per read, unlike wait_for
                        batch = await batches.__anext__()
                except StopAsyncIteration:
                    if not _finished(last):
                        raise UpstreamFailure(
                            "stream_error", f"{ctx.model}: stream ended without [DONE]"
                        ) from None
                    break
                except asyncio.TimeoutError:
                    raise UpstreamFailure(
                        "total_timeout", f"{ctx.model}: stream too slow"
                    ) from None
                if any(look(data) for data in batch):
                    break
                if out:
                    yield b"".join(out)
                    out.clear()
            yield finale()
        except (UpstreamFailure, aiohttp.ClientError, UnicodeDecodeError) as exc:
            if isinstance(exc, UpstreamFailure):
                reason, detail = exc.reason, exc.detail
            else:
                reason, detail = "stream_error", f"{ctx.model}: stream broke ({type(exc).__name__})"
            assert ctx.model is not None
            self.metrics.upstream_errors.labels(ctx.model, reason).inc()
            self.breakers[ctx.model].record_failure()
            ctx.status = "stream_error"
            ctx.error = detail
            if held is not None:
                out.append(b"data: " + held.encode() + b"\n\n")
            err = error_body(
                f"the upstream stream failed after it started: {detail}",
                status=502,
                code="stream_interrupted",
            )
            out.append(f"data: {json.dumps(err)}\n\n".encode())
            yield b"".join(out)
        except (asyncio.CancelledError, GeneratorExit):
            ctx.status = "client_closed"  # the client went away mid-stream
            raise
        finally:
            await opened.aclose()
            self.finish(ctx)

    async def ready(self) -> tuple[int, dict[str, Any]]:
        """Artifact loaded and upstreams reachable; cached for ``ready_cache_s``."""
        now = time.monotonic()
        if self._ready is not None and now - self._ready[0] < self.settings.ready_cache_s:
            return self._ready[1], self._ready[2]
        assert self._ready_lock is not None and self.pool is not None
        async with self._ready_lock:
            if (
                self._ready is not None
                and time.monotonic() - self._ready[0] < self.settings.ready_cache_s
            ):
                return self._ready[1], self._ready[2]
            names = list(self.endpoints)
            results = await asyncio.gather(*(self.pool.reachable(self.endpoints[n]) for n in names))
            upstreams = dict(zip(names, results))
            routable = [m for m in self.handle.models if upstreams[m]]
            decider = self.decider_state()
            can_decide = decider["running"] or self.settings.fail_open_model is not None
            status = 200 if routable and can_decide else 503
            body = {
                "status": "ready" if status == 200 else "unavailable",
                "router": self.handle.name,
                "router_models": list(self.handle.models),
                "decider": decider,
                "upstreams_reachable": upstreams,
                "breakers": {n: b.state.value for n, b in self.breakers.items()},
            }
            self._ready = (time.monotonic(), status, body)
            return status, body


def create_app(
    handle: RouterHandle, models: ModelsConfig, settings: ServeSettings | None = None
) -> FastAPI:
    """The server app for a router, the upstreams of MODELS.yaml and settings.

    Refuses (ConfigError) a router model, fallback or fail-open model missing from
    MODELS.yaml (exact names), an unset upstream key variable or client key variable.
    """
    server = _Server(handle, models, settings or ServeSettings())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await server.start()
        freeze_startup_objects()
        try:
            yield
        finally:
            await server.stop()

    app = FastAPI(
        title="routerbench serve",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.server = server

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse(exc.body(), status_code=exc.status)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        message = {
            404: f"no route {request.url.path}",
            405: f"method {request.method} not allowed on {request.url.path}",
        }.get(exc.status_code, str(exc.detail))
        return JSONResponse(
            error_body(message, status=exc.status_code), status_code=exc.status_code
        )

    # The hot path is a plain Starlette route: FastAPI's APIRoute would solve dependencies
    # and build an exit stack per request for a handler that takes only the Request.
    app.router.add_route("/v1/chat/completions", server.chat, methods=["POST"])

    @app.get("/v1/models")
    async def list_models(request: Request) -> JSONResponse:
        server.authenticate(request)
        ids = [ROUTER_PREFIX, f"{ROUTER_PREFIX}:{handle.name}", *server.upstream_names]
        return JSONResponse(
            {
                "object": "list",
                "data": [
                    {"id": i, "object": "model", "created": 0, "owned_by": "routerbench"}
                    for i in ids
                ],
            }
        )

    @app.get("/health")
    async def health() -> JSONResponse:
        return JSONResponse({"status": "ok"})

    @app.get("/health/ready")
    async def ready() -> JSONResponse:
        status, body = await server.ready()
        return JSONResponse(body, status_code=status)

    @app.get("/metrics")
    async def metrics() -> Response:
        return Response(server.metrics.render(), media_type="text/plain; version=0.0.4")

    return app


def load_app(
    artifact: str | os.PathLike[str],
    models_path: str | os.PathLike[str],
    settings: ServeSettings | None = None,
) -> FastAPI:
    """Build the app from a router artifact file and a MODELS.yaml file."""
    from routerbench.endpoints import load_models_config
    from routerbench.routers.artifact import load_router

    models = load_models_config(models_path)
    router = load_router(artifact)
    return create_app(
        RouterHandle.from_router(router, artifact=os.path.abspath(artifact)), models, settings
    )


def freeze_startup_objects() -> None:
    """Exclude everything alive after start-up from the cyclic garbage collector's scans.

    The router, scikit-learn, pandas and the web stack leave ~150k tracked objects; a full
    collection walks all of them (~100 ms here) and runs every few seconds under load,
    stalling every request in flight. Those objects live as long as the server, so
    `gc.freeze` moves them to a generation that is never scanned; requests' own garbage
    is still collected as usual.
    """
    gc.collect()
    gc.freeze()


def tune_process() -> None:
    """Settings of a serving process (not of a library user's): see docs/serve.md.

    The router runs in worker threads; a GIL switch interval of 1 ms (default 5 ms) lets a
    finished decision get back to the busy event loop sooner. Ranking uses one BLAS
    thread: per-request matrices are tiny, and thread pools competing with the loop for
    2 cores made one prompt's ranking ~50 ms instead of ~19 ms.
    """
    sys.setswitchinterval(0.001)
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - scikit-learn always brings it
        return
    threadpool_limits(limits=1)


def app_from_env() -> FastAPI:
    """Factory each ``--workers N`` process calls: the app described by the parent's environment."""
    tune_process()
    spec = json.loads(os.environ["ROUTERBENCH_SERVE_SPEC"])
    return load_app(spec["artifact"], spec["models"], ServeSettings.from_json(spec["settings"]))
