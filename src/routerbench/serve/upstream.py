"""Calls to the OpenAI-compatible upstreams: one pooled aiohttp client, limits, timeouts, SSE.

Every failure is classified (connection refused, connect / first-byte / total timeout,
HTTP 5xx / 429, a broken or invalid stream) so the fallback loop can decide whether to
try the next model, and the metrics can count each class. A stream is opened and read
up to its first content chunk under the first-byte deadline, so a failure before the
client has seen a byte can still fall back invisibly.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from routerbench.endpoints import ModelEndpoint
from routerbench.serve._timeouts import timeout

__all__ = [
    "RETRYABLE_STATUS",
    "OpenStream",
    "UpstreamFailure",
    "UpstreamPool",
    "UpstreamRejected",
    "is_content_chunk",
]

#: Upstream statuses that say "this provider, not this request": try the next model.
RETRYABLE_STATUS = frozenset({401, 403, 404, 408, 409, 429})
_ERROR_BODY_LIMIT = 64 * 1024


class UpstreamFailure(Exception):
    """One attempt failed in a way another model may not: the fallback loop moves on.

    ``reason`` is one of ``connect``, ``connect_timeout``, ``first_byte_timeout``,
    ``total_timeout``, ``http_5xx``, ``http_429``, ``http_4xx``, ``invalid_response``,
    ``stream_error``, ``breaker_open``, ``config``.
    """

    def __init__(self, reason: str, detail: str, status: int | None = None) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail
        self.status = status


class UpstreamRejected(Exception):
    """The upstream refused the request itself (HTTP 400, 413, 422, ...): no fallback."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _status_failure(status: int, body: bytes, name: str) -> Exception:
    message = _upstream_message(body)
    if status >= 500:
        return UpstreamFailure("http_5xx", f"{name} answered HTTP {status}", status)
    if status == 429:
        return UpstreamFailure("http_429", f"{name} is rate limiting (HTTP 429)", status)
    if status in RETRYABLE_STATUS:
        return UpstreamFailure("http_4xx", f"{name} answered HTTP {status}", status)
    text = f"upstream {name} rejected the request (HTTP {status})"
    return UpstreamRejected(status, f"{text}: {message}" if message else text)


def _upstream_message(body: bytes) -> str:
    """The ``error.message`` of an OpenAI-style error body (never the raw page)."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return ""
    err = data.get("error") if isinstance(data, dict) else None
    msg = err.get("message") if isinstance(err, dict) else err if isinstance(err, str) else None
    return " ".join(msg.split())[:300] if isinstance(msg, str) else ""


def _auth_only(endpoint: ModelEndpoint) -> dict[str, str]:
    key = endpoint.api_key()
    return {"authorization": f"Bearer {key}"} if key else {}


def is_content_chunk(chunk: Any) -> bool:
    """Whether a parsed chunk carries answer content (text, tool calls, a refusal or an end)."""
    if not isinstance(chunk, dict):
        return False
    for choice in chunk.get("choices") or ():
        if not isinstance(choice, dict):
            continue
        if choice.get("finish_reason") is not None:
            return True
        delta = choice.get("delta")
        if isinstance(delta, dict) and (
            delta.get("content")
            or delta.get("tool_calls")
            or delta.get("function_call")
            or delta.get("refusal")
        ):
            return True
    return False


async def _sse_batches(response: aiohttp.ClientResponse) -> AsyncIterator[list[str]]:
    """The ``data`` payloads of a server-sent event stream, as they arrive.

    Each item holds the events completed by one read from the socket, so events that
    arrived together can be relayed together (one write instead of one per event).
    Lines are split here (not with ``readline``) so one long chunk, e.g. a large tool
    call, is never refused for its length.
    """
    data: list[str] = []
    buffer = b""
    async for piece in response.content.iter_any():
        buffer += piece
        *lines, buffer = buffer.split(b"\n")
        batch: list[str] = []
        for raw in lines:
            line = raw.rstrip(b"\r").decode("utf-8")
            if not line:
                if data:
                    batch.append("\n".join(data))
                    data = []
            elif line.startswith("data:"):
                value = line[5:]
                data.append(value[1:] if value.startswith(" ") else value)
            # comments (":...") and other fields (event:, id:, retry:) are not relayed
        if batch:
            yield batch
    tail = buffer.rstrip(b"\r").decode("utf-8")
    if tail.startswith("data:"):
        data.append(tail[5:].lstrip(" "))
    if data:
        yield ["\n".join(data)]


@dataclass
class OpenStream:
    """An upstream stream read up to its first content chunk.

    ``head`` holds the events received up to the first content chunk (their raw
    ``data`` strings, that chunk last); ``rest`` the events that arrived with it but
    were not looked at yet; `batches` yields the rest of the stream. Always `aclose` it.
    """

    response: aiohttp.ClientResponse
    head: list[str]
    batches: AsyncIterator[list[str]]
    first_byte_s: float
    parsed_head: list[Any] = field(default_factory=list)
    slot: asyncio.Semaphore | None = None
    rest: list[str] = field(default_factory=list)

    async def aclose(self) -> None:
        """Close the upstream response and give back its concurrency slot (once)."""
        slot, self.slot = self.slot, None
        try:
            _close(self.response)
        finally:
            if slot is not None:
                slot.release()


def _close(response: aiohttp.ClientResponse) -> None:
    """Reuse the connection when the body was read to its end, else drop it."""
    if response.content.at_eof():
        response.release()
    else:
        response.close()


class UpstreamPool:
    """One pooled HTTP client for all upstreams, with per-upstream concurrency limits.

    aiohttp rather than httpx on this path: on loopback httpx's client alone managed
    about 130-270 requests/s here against ~1,500-4,700 for aiohttp, and the pool is the
    server's hot path (see docs/serve.md).

    Parameters
    ----------
    endpoints
        The MODELS.yaml entries this server may call.
    connect_timeout_s
        Longest wait for a TCP connection.
    """

    def __init__(
        self, endpoints: tuple[ModelEndpoint, ...], *, connect_timeout_s: float = 3.0
    ) -> None:
        self.endpoints = {e.name: e for e in endpoints}
        self.connect_timeout_s = connect_timeout_s
        total = sum(e.max_concurrency for e in endpoints)
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=total + 8, limit_per_host=0),
            timeout=aiohttp.ClientTimeout(total=None, sock_connect=connect_timeout_s),
            trust_env=False,
            auto_decompress=True,
        )
        self._slots = {e.name: asyncio.Semaphore(e.max_concurrency) for e in endpoints}

    async def aclose(self) -> None:
        await self._session.close()

    async def reachable(self, endpoint: ModelEndpoint, timeout_s: float = 1.0) -> bool:
        """Whether the upstream answers HTTP at all (``GET /models``; any status below 500)."""
        try:
            async with self._session.get(
                f"{endpoint.base_url}/models",
                headers=_auth_only(endpoint),
                timeout=aiohttp.ClientTimeout(total=timeout_s),
            ) as response:
                return response.status < 500
        except (aiohttp.ClientError, asyncio.TimeoutError):
            return False

    async def _send(
        self,
        endpoint: ModelEndpoint,
        body: bytes,
        headers: dict[str, str],
        first_byte_s: float,
        total_deadline: float,
    ) -> aiohttp.ClientResponse:
        name = endpoint.name
        wait = min(first_byte_s, total_deadline - time.perf_counter())
        if wait <= 0:
            raise UpstreamFailure("total_timeout", f"{name}: no time left in the request budget")
        request = self._session.request(
            "POST",
            f"{endpoint.base_url}/chat/completions",
            data=body,
            headers=headers,
            allow_redirects=False,
        )
        try:
            # asyncio.timeout, not wait_for: no extra task per request on the hot path.
            async with timeout(wait):
                return await request
        except aiohttp.ConnectionTimeoutError:
            raise UpstreamFailure("connect_timeout", f"{name}: connect timed out") from None
        except asyncio.TimeoutError:
            kind = "first_byte_timeout" if wait == first_byte_s else "total_timeout"
            raise UpstreamFailure(kind, f"{name}: no response within {wait:.2f} s") from None
        except aiohttp.ClientError as exc:
            raise UpstreamFailure("connect", f"{name}: {type(exc).__name__}") from None

    async def complete(
        self,
        endpoint: ModelEndpoint,
        body: bytes,
        headers: dict[str, str],
        *,
        first_byte_s: float,
        total_deadline: float,
    ) -> tuple[bytes, dict[str, Any]]:
        """POST a non-streamed completion; return its raw bytes and parsed JSON."""
        name = endpoint.name
        async with self._slots[name]:
            response = await self._send(endpoint, body, headers, first_byte_s, total_deadline)
            try:
                left = total_deadline - time.perf_counter()
                async with timeout(max(left, 0.001)):
                    raw = await response.read()
            except asyncio.TimeoutError:
                raise UpstreamFailure("total_timeout", f"{name}: response body too slow") from None
            except aiohttp.ClientError as exc:
                raise UpstreamFailure("connect", f"{name}: {type(exc).__name__} in body") from None
            finally:
                _close(response)
        if response.status != 200:
            raise _status_failure(response.status, raw[:_ERROR_BODY_LIMIT], name)
        try:
            data = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            raise UpstreamFailure("invalid_response", f"{name}: answer is not JSON") from None
        if not isinstance(data, dict) or not isinstance(data.get("choices"), list):
            raise UpstreamFailure("invalid_response", f"{name}: answer has no 'choices' list")
        return raw, data

    async def open_stream(
        self,
        endpoint: ModelEndpoint,
        body: bytes,
        headers: dict[str, str],
        *,
        first_byte_s: float,
        total_deadline: float,
    ) -> OpenStream:
        """Open a streamed completion and read it up to its first content chunk.

        The whole opening (connect, headers, chunks before content) runs under the
        first-byte deadline; any failure in it is an UpstreamFailure, so the caller can
        still fall back before the client has seen anything.
        """
        name = endpoint.name
        start = time.perf_counter()
        slot = self._slots[name]
        await slot.acquire()
        response: aiohttp.ClientResponse | None = None
        try:
            response = await self._send(endpoint, body, headers, first_byte_s, total_deadline)
            if response.status != 200:
                try:
                    raw = await asyncio.wait_for(response.read(), 2.0)
                except (asyncio.TimeoutError, aiohttp.ClientError):
                    raw = b""
                raise _status_failure(response.status, raw[:_ERROR_BODY_LIMIT], name)
            batches = _sse_batches(response)
            head: list[str] = []
            parsed: list[Any] = []
            rest: list[str] = []
            now = time.perf_counter()
            left = min(first_byte_s - (now - start), total_deadline - now)
            try:
                async with timeout(max(left, 0.001)):
                    await self._read_head(name, batches, head, parsed, rest)
            except asyncio.TimeoutError:
                raise UpstreamFailure(
                    "first_byte_timeout", f"{name}: no content within {first_byte_s:.2f} s"
                ) from None
            except (aiohttp.ClientError, UnicodeDecodeError) as exc:
                raise UpstreamFailure(
                    "stream_error", f"{name}: stream broke before content ({type(exc).__name__})"
                ) from None
        except BaseException:
            if response is not None:
                response.close()
            slot.release()
            raise
        return OpenStream(response, head, batches, time.perf_counter() - start, parsed, slot, rest)

    @staticmethod
    async def _read_head(
        name: str,
        batches: AsyncIterator[list[str]],
        head: list[str],
        parsed: list[Any],
        rest: list[str],
    ) -> None:
        async for batch in batches:
            for i, data in enumerate(batch):
                if data.strip() == "[DONE]":
                    break
                try:
                    chunk = json.loads(data)
                except ValueError:
                    raise UpstreamFailure(
                        "invalid_response", f"{name}: stream chunk is not JSON"
                    ) from None
                if isinstance(chunk, dict) and "error" in chunk:
                    raise UpstreamFailure("stream_error", f"{name}: error event before content")
                head.append(data)
                parsed.append(chunk)
                if is_content_chunk(chunk):
                    rest.extend(batch[i + 1 :])
                    return
            else:
                continue
            break  # [DONE] before any content
        raise UpstreamFailure("stream_error", f"{name}: stream ended before any content")
