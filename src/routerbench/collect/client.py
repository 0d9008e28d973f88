"""Calling OpenAI-compatible chat endpoints: pooled, capped, retried within bounds.

One `httpx.AsyncClient` per endpoint with a connection pool the size of its concurrency
cap, and an adaptive limit on top (halved on a rate limit, grown back on success). 429
honours ``Retry-After`` / ``x-ratelimit-reset-*``; 5xx, timeouts, dropped connections, a
server still loading and unparseable replies are retried with jittered exponential
backoff, bounded by attempts *and* wall time. 400/401/403/404/413/422 and context-length
errors are terminal. An error is never returned as an answer.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import random
import re
import time
from dataclasses import dataclass, field
from typing import Any, Literal

import httpcore
import httpx

from routerbench.collect.netbackend import AsyncioBackend
from routerbench.endpoints import ModelEndpoint, Usage

__all__ = [
    "AdaptiveLimit",
    "CallOutcome",
    "EndpointClient",
    "EndpointStats",
    "RetryPolicy",
    "parse_reset_header",
]

CallStatus = Literal["ok", "error", "timeout", "parse_fail"]
_TERMINAL = {400, 401, 403, 404, 405, 413, 422}
_CONTEXT = re.compile(r"context[_ ]length|maximum context|too many tokens|context window", re.I)


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try one request: attempts *and* wall time, whichever ends first."""

    max_attempts: int = 6
    max_wall_s: float = 300.0
    base_s: float = 0.5
    cap_s: float = 30.0

    def backoff(self, attempt: int, rng: random.Random) -> float:
        """Full-jitter exponential backoff (AWS): uniform in [0, min(cap, base·2^attempt)]."""
        return rng.uniform(0.0, min(self.cap_s, self.base_s * 2.0**attempt))


def parse_reset_header(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from ``Retry-After`` (seconds or an HTTP date) or an OpenAI-style
    ``x-ratelimit-reset-*`` value (``"1s"``, ``"6m0s"``, ``"250ms"``, ``"0.5"``)."""
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|h|m|s)", value)
    if parts and "".join(n + u for n, u in parts) == value.replace(" ", ""):
        scale = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
        return sum(float(n) * scale[u] for n, u in parts)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


@dataclass
class EndpointStats:
    """Running figures of one endpoint, for the progress display and the summary."""

    ok: int = 0
    failed: int = 0
    retries: int = 0
    rate_limited: int = 0
    waiting: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    dollars: float = 0.0
    started: float = field(default_factory=time.monotonic)

    def calls_per_s(self) -> float:
        return (self.ok + self.failed) / max(time.monotonic() - self.started, 1e-9)


class AdaptiveLimit:
    """A concurrency cap that halves on rate limits and grows back by one per window.

    A rate limit also pauses every caller of the endpoint until the reset time the
    server gave, instead of letting each of them discover the limit again.
    """

    def __init__(self, max_limit: int) -> None:
        self.max_limit = max_limit
        self.limit = max_limit
        self.active = 0
        self._successes = 0
        self._pause_until = 0.0
        self._waiting = 0
        self._cond = asyncio.Condition()

    async def acquire(self) -> None:
        # Fast path (the usual case): a free slot and nobody queued; single-threaded
        # asyncio, so no lock is needed to take it.
        if self.active < self.limit and not self._waiting:
            self.active += 1
        else:
            self._waiting += 1
            try:
                async with self._cond:
                    await self._cond.wait_for(lambda: self.active < self.limit)
                    self.active += 1
            finally:
                self._waiting -= 1
        if self._pause_until:
            delay = self._pause_until - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)

    async def release(self) -> None:
        self.active -= 1
        if self._waiting:
            async with self._cond:
                self._cond.notify_all()

    def on_rate_limit(self, wait_s: float) -> None:
        self.limit = max(1, self.limit // 2)
        self._successes = 0
        self._pause_until = max(self._pause_until, time.monotonic() + wait_s)

    def on_success(self) -> None:
        self._successes += 1
        if self.limit < self.max_limit and self._successes >= self.limit:
            self._successes = 0
            self.limit += 1


@dataclass
class CallOutcome:
    """The result of one request after all its attempts."""

    status: CallStatus
    text: str | None = None
    usage: Usage | None = None
    finish_reason: str | None = None
    latency_s: float | None = None
    ttft_s: float | None = None
    attempts: int = 0
    error: str | None = None
    http_status: int | None = None


class _Retry(Exception):
    def __init__(self, kind: CallStatus, message: str, wait_s: float | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.wait_s = wait_s


class _Terminal(Exception):
    def __init__(self, message: str, http_status: int | None) -> None:
        super().__init__(message)
        self.http_status = http_status


def _error_text(resp: httpx.Response) -> str:
    try:
        body = resp.json()
        err = body.get("error", body) if isinstance(body, dict) else body
        msg = err.get("message") if isinstance(err, dict) else err
        text = str(msg)
    except (ValueError, AttributeError):
        text = resp.text
    return " ".join(text.split())[:300]


_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode


def _encode(body: dict[str, Any]) -> bytes:
    """The request body as httpx's ``json=`` would encode it, with one encoder built once.

    The client's default headers already say ``Content-Type: application/json``.
    """
    return _dumps(body).encode("utf-8")


def _transport(base_url: str, limits: httpx.Limits) -> httpx.AsyncHTTPTransport:
    """httpx's transport sized to the concurrency cap; on plain http its connection pool
    runs on the asyncio network backend (`netbackend`), which costs a fraction of anyio's
    per call. https keeps httpx's default (anyio, TLS)."""
    transport = httpx.AsyncHTTPTransport(limits=limits, trust_env=False)
    if httpx.URL(base_url).scheme == "http" and isinstance(
        getattr(transport, "_pool", None), httpcore.AsyncConnectionPool
    ):
        transport._pool = httpcore.AsyncConnectionPool(
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=AsyncioBackend(),
        )
    return transport


class EndpointClient:
    """Calls one endpoint; use as ``async with EndpointClient(ep) as c: await c.call(msgs)``."""

    def __init__(
        self,
        endpoint: ModelEndpoint,
        *,
        policy: RetryPolicy | None = None,
        concurrency: int | None = None,
        seed: int | None = None,
    ) -> None:
        self.endpoint = endpoint
        self.policy = policy or RetryPolicy(
            max_attempts=endpoint.max_attempts,
            max_wall_s=endpoint.retry_wall_s,
            base_s=endpoint.retry_base_s,
        )
        cap = min(endpoint.max_concurrency, concurrency or endpoint.max_concurrency)
        self.limit = AdaptiveLimit(cap)
        self.stats = EndpointStats()
        self._rng = random.Random(seed)
        headers = {"Content-Type": "application/json"}
        key = endpoint.api_key()
        if key:
            headers["Authorization"] = f"Bearer {key}"
        limits = httpx.Limits(max_connections=cap, max_keepalive_connections=cap)
        self._http = httpx.AsyncClient(
            base_url=endpoint.base_url + "/",
            headers=headers,
            timeout=httpx.Timeout(endpoint.timeout_s),
            limits=limits,
            trust_env=False,
            transport=_transport(endpoint.base_url, limits),
        )
        # Built once: the absolute URL (no per-request join and parse of the base URL).
        self._url = self._http.base_url.join("chat/completions")
        self._timeout = self._http.timeout.as_dict()

    async def __aenter__(self) -> EndpointClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    def body(self, messages: list[dict[str, str]], overrides: dict[str, Any] | None = None) -> dict:
        body: dict[str, Any] = {"model": self.endpoint.model, "messages": messages}
        body.update(self.endpoint.params)
        body.update(overrides or {})
        if self.endpoint.stream:
            body["stream"] = True
            body["stream_options"] = {"include_usage": True}
        return body

    async def call(
        self, messages: list[dict[str, str]], overrides: dict[str, Any] | None = None
    ) -> CallOutcome:
        """Ask once, retrying within the policy; never raises for HTTP or network trouble."""
        body = self.body(messages, overrides)
        start = time.monotonic()
        deadline = start + self.policy.max_wall_s
        attempt = 0
        last: _Retry | None = None
        while attempt < self.policy.max_attempts:
            attempt += 1
            await self.limit.acquire()
            try:
                t0 = time.monotonic()
                outcome = await self._attempt(body, t0)
                outcome.attempts = attempt
                self.limit.on_success()
                return outcome
            except _Terminal as exc:
                return CallOutcome(
                    "error", attempts=attempt, error=str(exc), http_status=exc.http_status
                )
            except _Retry as exc:
                last = exc
            finally:
                await self.limit.release()
            wait = self.policy.backoff(attempt - 1, self._rng)
            if last.wait_s is not None:
                wait = max(wait, last.wait_s)
                self.limit.on_rate_limit(last.wait_s)
                self.stats.rate_limited += 1
            if attempt >= self.policy.max_attempts:
                break
            if time.monotonic() + wait > deadline:
                last = _Retry(last.kind, f"{last} (gave up: retry wait would pass the wall limit)")
                break
            self.stats.retries += 1
            self.stats.waiting += 1
            try:
                await asyncio.sleep(wait)
            finally:
                self.stats.waiting -= 1
        assert last is not None
        return CallOutcome(last.kind, attempts=attempt, error=f"after {attempt} attempts: {last}")

    def _request(self, body: dict[str, Any]) -> httpx.Request:
        """What ``client.post(url, json=body)`` builds, without re-merging the client's
        constant parts (absolute URL, headers, timeout) on every call; the client's
        cookies still go in, as httpx would send them."""
        return httpx.Request(
            "POST",
            self._url,
            headers=self._http.headers,
            cookies=self._http.cookies,
            content=_encode(body),
            extensions={"timeout": self._timeout},
        )

    async def _attempt(self, body: dict[str, Any], t0: float) -> CallOutcome:
        try:
            if body.get("stream"):
                return await self._stream(body, t0)
            resp = await self._http.send(self._request(body))
        except httpx.TimeoutException:
            raise _Retry("timeout", f"no reply within {self.endpoint.timeout_s:g} s") from None
        except httpx.TransportError as exc:
            raise _Retry("error", f"connection failed: {type(exc).__name__}") from None
        self._check_status(resp)
        latency = time.monotonic() - t0
        try:
            data = resp.json()
        except ValueError:
            raise _Retry("parse_fail", "reply is not valid JSON") from None
        return self._outcome(data, latency, None)

    def _check_status(self, resp: httpx.Response) -> None:
        code = resp.status_code
        if code == 200:
            return
        text = _error_text(resp)
        if code == 429:
            wait = max(
                (
                    w
                    for w in (
                        parse_reset_header(resp.headers.get("retry-after")),
                        parse_reset_header(resp.headers.get("x-ratelimit-reset-requests")),
                        parse_reset_header(resp.headers.get("x-ratelimit-reset-tokens")),
                    )
                    if w is not None
                ),
                default=None,
            )
            raise _Retry("error", f"HTTP 429 rate limited: {text}", wait_s=wait or 0.0)
        if code in _TERMINAL or (400 <= code < 500 and code not in (408, 409, 425)):
            if _CONTEXT.search(text):
                raise _Terminal(f"HTTP {code} context length exceeded: {text}", code)
            raise _Terminal(f"HTTP {code}: {text}", code)
        raise _Retry("error", f"HTTP {code}: {text}")

    def _outcome(self, data: Any, latency: float, ttft: float | None) -> CallOutcome:
        from routerbench.collect.usage import parse_usage

        try:
            choice = data["choices"][0]
            message = choice.get("message") or {}
            text = message.get("content")
        except (KeyError, IndexError, TypeError, AttributeError):
            raise _Retry("parse_fail", "reply has no choices[0].message") from None
        if not isinstance(text, str):
            raise _Retry("parse_fail", "reply has null content")
        return CallOutcome(
            "ok",
            text=text,
            usage=parse_usage(data.get("usage")),
            finish_reason=choice.get("finish_reason"),
            latency_s=latency,
            ttft_s=ttft,
        )

    async def _stream(self, body: dict[str, Any], t0: float) -> CallOutcome:
        parts: list[str] = []
        ttft = None
        usage = None
        finish = None
        async with self._http.stream("POST", self._url, content=_encode(body)) as resp:
            if resp.status_code != 200:
                await resp.aread()
                self._check_status(resp)
            async for line in resp.aiter_lines():
                if not line.startswith("data:"):
                    continue
                payload = line[5:].strip()
                if payload == "[DONE]":
                    break
                try:
                    chunk = json.loads(payload)
                except ValueError:
                    raise _Retry("parse_fail", "stream chunk is not valid JSON") from None
                if chunk.get("usage"):
                    usage = chunk["usage"]
                for ch in chunk.get("choices") or []:
                    delta = ch.get("delta") or {}
                    if isinstance(delta.get("content"), str) and delta["content"]:
                        if ttft is None:
                            ttft = time.monotonic() - t0
                        parts.append(delta["content"])
                    finish = ch.get("finish_reason") or finish
        latency = time.monotonic() - t0
        data = {
            "choices": [{"message": {"content": "".join(parts)}, "finish_reason": finish}],
            "usage": usage,
        }
        return self._outcome(data, latency, ttft)
