"""A scripted OpenAI-compatible chat server on 127.0.0.1, for tests, benchmarks and dry runs.

It speaks real HTTP/1.1 (keep-alive, JSON and server-sent events) over a real socket,
so the client under test is exercised exactly as against a provider: rate limits with
``Retry-After``, 500s, hangs, invalid JSON, null content, missing usage. Behaviour is
chosen per prompt by a responder function.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Reply", "ScriptedResponder", "StubServer", "default_answer", "ok_reply"]


@dataclass
class Reply:
    """What the server sends for one request."""

    status: int = 200
    body: Any = None  # dict → JSON; str/bytes → sent as is
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    hang: bool = False  # never answer (the client's timeout must fire)
    stream_chunks: list[str] | None = None  # SSE "data:" payloads, for stream requests


def default_answer(messages: list[dict[str, str]]) -> str:
    """A deterministic answer: 'Answer: X' where X is the letter after 'pick ' in the prompt."""
    text = messages[-1].get("content", "") if messages else ""
    marker = text.rfind("pick ")
    if marker >= 0 and marker + 5 < len(text):
        return f"I think so.\nAnswer: {text[marker + 5]}"
    return "Answer: A"


def ok_reply(
    text: str | None,
    *,
    prompt_tokens: int = 11,
    completion_tokens: int = 7,
    cached_tokens: int = 0,
    reasoning_tokens: int = 0,
    usage: bool = True,
    model: str = "stub",
) -> Reply:
    body: dict[str, Any] = {
        "id": "chatcmpl-stub",
        "object": "chat.completion",
        "model": model,
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
        ],
    }
    if usage:
        body["usage"] = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
            "prompt_tokens_details": {"cached_tokens": cached_tokens},
            "completion_tokens_details": {"reasoning_tokens": reasoning_tokens},
        }
    return Reply(200, body)


class ScriptedResponder:
    """Per-prompt scripts: the n-th request whose last message contains a key gets
    ``plans[key][n]`` (the last entry repeats); others get `default`."""

    def __init__(
        self,
        plans: dict[str, list[Reply]] | None = None,
        default: Callable[[dict[str, Any]], Reply] | None = None,
    ) -> None:
        self.plans = plans or {}
        self.default = default or (lambda body: ok_reply(default_answer(body["messages"])))
        self.seen: dict[str, int] = {}
        self._lock = threading.Lock()

    def __call__(self, body: dict[str, Any]) -> Reply:
        text = body["messages"][-1].get("content", "") if body.get("messages") else ""
        for key, replies in self.plans.items():
            if key in text:
                with self._lock:
                    n = self.seen.get(key, 0)
                    self.seen[key] = n + 1
                return replies[min(n, len(replies) - 1)]
        return self.default(body)


_REASONS = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    404: "Not Found",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


class StubServer:
    """The server, on its own event loop in a daemon thread; ``with StubServer(r) as s: s.url``."""

    def __init__(
        self,
        responder: Callable[[dict[str, Any]], Reply] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.responder = responder or ScriptedResponder()
        self.host = host
        self.port = port
        self.requests: list[dict[str, Any]] = []
        self.headers_seen: list[dict[str, str]] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.base_events.Server | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._record = True

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    def start(self, *, record: bool = True) -> StubServer:
        self._record = record
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("stub server did not start")
        return self

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        self._server = loop.run_until_complete(
            asyncio.start_server(self._handle, self.host, self.port, backlog=1024)
        )
        self.port = self._server.sockets[0].getsockname()[1]
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            self._server.close()
            loop.run_until_complete(self._server.wait_closed())
            pending = asyncio.all_tasks(loop)
            for t in pending:
                t.cancel()
            with contextlib.suppress(Exception):
                loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.close()

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)

    def __enter__(self) -> StubServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def serve_forever(self) -> None:
        """Run in the calling thread (for a server in its own process)."""
        self._run()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                headers = {}
                for ln in lines[1:]:
                    if ":" in ln:
                        k, v = ln.split(":", 1)
                        headers[k.strip().lower()] = v.strip()
                raw = await reader.readexactly(int(headers.get("content-length", "0")))
                try:
                    body = json.loads(raw) if raw else {}
                except ValueError:
                    body = {}
                if self._record:
                    self.requests.append(body)
                    self.headers_seen.append(headers)
                try:
                    reply = self.responder(body)
                except Exception as exc:  # a broken script answers 500, like a broken server
                    reply = Reply(500, {"error": {"message": f"stub responder failed: {exc}"}})
                if reply.hang:
                    await asyncio.sleep(3600)
                if reply.delay_s:
                    await asyncio.sleep(reply.delay_s)
                if body.get("stream") and reply.status == 200 and isinstance(reply.body, dict):
                    await self._send_stream(writer, reply, body)
                    return
                await self._send(writer, reply)
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        except asyncio.CancelledError:  # the server is stopping (a hung reply included)
            return
        finally:
            with contextlib.suppress(Exception):
                writer.close()

    async def _send(self, writer: asyncio.StreamWriter, reply: Reply) -> None:
        if isinstance(reply.body, (dict, list)):
            payload = json.dumps(reply.body).encode()
        elif isinstance(reply.body, str):
            payload = reply.body.encode()
        else:
            payload = reply.body or b""
        head = [
            f"HTTP/1.1 {reply.status} {_REASONS.get(reply.status, 'Status')}",
            "Content-Type: application/json",
            f"Content-Length: {len(payload)}",
        ]
        head += [f"{k}: {v}" for k, v in reply.headers.items()]
        writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + payload)
        await writer.drain()

    async def _send_stream(self, writer: asyncio.StreamWriter, reply: Reply, req: dict) -> None:
        text = reply.body["choices"][0]["message"]["content"] or ""
        chunks = reply.stream_chunks
        if chunks is None:
            pieces = [text[i : i + 4] for i in range(0, len(text), 4)]
            chunks = [
                json.dumps({"choices": [{"index": 0, "delta": {"content": p}}]}) for p in pieces
            ]
            chunks.append(
                json.dumps({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
            )
            if reply.body.get("usage") and (req.get("stream_options") or {}).get("include_usage"):
                chunks.append(json.dumps({"choices": [], "usage": reply.body["usage"]}))
            chunks.append("[DONE]")
        head = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n"
        writer.write(head.encode())
        for c in chunks:
            writer.write(f"data: {c}\n\n".encode())
            await writer.drain()
        writer.close()
