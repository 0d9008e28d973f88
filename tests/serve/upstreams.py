"""OpenAI-compatible upstreams for the serve tests: real HTTP apps with chosen faults.

Each `Upstream` answers ``POST /v1/chat/completions`` (streamed and not) with a reply
that names it, records every request body it received, and can be switched to a fault:
``"500"``, ``"hang"``, ``"fail_before_content"`` (a 200 stream that dies after the role
chunk), ``"die_mid_stream"`` (dies after some content), ``"slow_stream"`` (0.3 s after
each word), ``"reject"`` (a 400) or ``"no_finish"`` (no finish chunk before [DONE]).
"""

from __future__ import annotations

import asyncio
import json
import socket
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

MODES = (
    "ok",
    "500",
    "hang",
    "fail_before_content",
    "die_mid_stream",
    "slow_stream",
    "reject",
    "no_finish",
)


def reply_text(name: str) -> str:
    return f"answer from {name}"


class Upstream:
    """One fake provider; `app` is its ASGI app, `mode` its behaviour, `bodies` what it got."""

    def __init__(self, name: str, mode: str = "ok") -> None:
        assert mode in MODES
        self.name = name
        self.mode = mode
        self.bodies: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.app = Starlette(
            routes=[
                Route("/v1/chat/completions", self.chat, methods=["POST"]),
                Route("/v1/models", self.models, methods=["GET"]),
            ]
        )

    async def models(self, request: Request) -> Response:
        return JSONResponse({"object": "list", "data": [{"id": self.name, "object": "model"}]})

    def _completion(self, body: dict[str, Any]) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": reply_text(self.name)}
        if body.get("tools"):
            message = {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {
                            "name": body["tools"][0]["function"]["name"],
                            "arguments": "{}",
                        },
                    }
                ],
            }
        return {
            "id": f"chatcmpl-{self.name}",
            "object": "chat.completion",
            "created": 1,
            "model": body.get("model"),
            "choices": [
                {
                    "index": 0,
                    "message": message,
                    "finish_reason": "tool_calls" if body.get("tools") else "stop",
                }
            ],
            "usage": {"prompt_tokens": 10, "completion_tokens": 4, "total_tokens": 14},
        }

    def _chunk(self, body: dict[str, Any], delta: dict[str, Any], finish: str | None = None) -> str:
        return json.dumps(
            {
                "id": f"chatcmpl-{self.name}",
                "object": "chat.completion.chunk",
                "created": 1,
                "model": body.get("model"),
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            }
        )

    async def _events(self, body: dict[str, Any]):
        yield f"data: {self._chunk(body, {'role': 'assistant', 'content': ''})}\n\n"
        if self.mode == "fail_before_content":
            raise ConnectionError("upstream died before its first content chunk")
        words = reply_text(self.name).split(" ")
        for i, word in enumerate(words):
            piece = word if i == 0 else " " + word
            yield f"data: {self._chunk(body, {'content': piece})}\n\n"
            if self.mode == "slow_stream":
                await asyncio.sleep(0.3)
            if self.mode == "die_mid_stream" and i == 1:
                await asyncio.sleep(0.05)
                raise ConnectionError("upstream died mid-stream")
        if self.mode != "no_finish":  # "no_finish": [DONE] right after the last content chunk
            yield f"data: {self._chunk(body, {}, 'stop')}\n\n"
        if (body.get("stream_options") or {}).get("include_usage"):
            usage = {"prompt_tokens": 10, "completion_tokens": 4, "total_tokens": 14}
            yield (
                "data: "
                + json.dumps(
                    {
                        "id": f"chatcmpl-{self.name}",
                        "object": "chat.completion.chunk",
                        "created": 1,
                        "model": body.get("model"),
                        "choices": [],
                        "usage": usage,
                    }
                )
                + "\n\n"
            )
        yield "data: [DONE]\n\n"

    async def chat(self, request: Request) -> Response:
        body = await request.json()
        self.bodies.append(body)
        self.headers.append(dict(request.headers))
        if self.mode == "500":
            return Response(
                "<html><body>Internal Server Error</body></html>",
                status_code=500,
                media_type="text/html",
            )
        if self.mode == "reject":
            return JSONResponse(
                {"error": {"message": "context length exceeded", "type": "x"}}, status_code=400
            )
        if self.mode == "hang":
            await asyncio.sleep(30)
        if body.get("stream"):
            return StreamingResponse(self._events(body), media_type="text/event-stream")
        if self.mode in ("fail_before_content", "die_mid_stream"):
            return Response("", status_code=500)
        return JSONResponse(self._completion(body))


def refused_url() -> str:
    """A loopback URL where nothing listens (connection refused)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return f"http://127.0.0.1:{port}/v1"


def models_yaml(
    entries: dict[str, str], *, prices: dict[str, float] | None = None
) -> dict[str, Any]:
    """A MODELS.yaml mapping: name -> base_url, each with a price."""
    prices = prices or {}
    return {
        "models": [
            {
                "name": name,
                "base_url": url,
                "model": f"{name}-id",
                "timeout_s": 5,
                "price": {
                    "input_per_mtok": prices.get(name, 1.0),
                    "output_per_mtok": prices.get(name, 1.0),
                    "source": "test",
                    "date": "2026-12-01",
                },
            }
            for name, url in entries.items()
        ]
    }
