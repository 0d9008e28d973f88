"""The HTTP client against a real scripted server on 127.0.0.1: retries, limits, terminal errors."""

from __future__ import annotations

import asyncio
import datetime as dt
import time

import pytest

from routerbench.collect.client import (
    AdaptiveLimit,
    EndpointClient,
    RetryPolicy,
    parse_reset_header,
)
from routerbench.collect.stub import Reply, ScriptedResponder, StubServer, ok_reply
from routerbench.endpoints import ModelEndpoint, Price

PRICE = Price(input_per_mtok=1.0, output_per_mtok=2.0, source="test", date=dt.date(2026, 12, 1))
FAST = RetryPolicy(max_attempts=4, max_wall_s=10.0, base_s=0.01, cap_s=0.05)


def _ep(url: str, **kw) -> ModelEndpoint:
    return ModelEndpoint(name="m", base_url=url, model="stub", price=PRICE, **kw)


def _call(server: StubServer, prompt: str, policy: RetryPolicy = FAST, **kw):
    async def go():
        async with EndpointClient(_ep(server.url, **kw), policy=policy, seed=0) as c:
            return await c.call([{"role": "user", "content": prompt}]), c

    return asyncio.run(go())


@pytest.fixture
def server():
    plans = {
        "ok": [ok_reply("Answer: B", prompt_tokens=20, completion_tokens=5)],
        "r429": [
            Reply(429, {"error": {"message": "slow down"}}, {"Retry-After": "0.3"}),
            ok_reply("fine"),
        ],
        "reset": [
            Reply(429, {"error": {"message": "slow"}}, {"x-ratelimit-reset-requests": "250ms"}),
            ok_reply("fine"),
        ],
        "e500once": [Reply(500, {"error": {"message": "boom"}}), ok_reply("recovered")],
        "e500": [Reply(500, {"error": {"message": "boom"}})],
        "loading": [Reply(503, {"error": {"message": "Loading model"}}), ok_reply("loaded")],
        "hang": [Reply(hang=True)],
        "badjson": [Reply(200, "{not json")],
        "null": [ok_reply(None)],
        "nousage": [ok_reply("Answer: C", usage=False)],
        "e400": [Reply(400, {"error": {"message": "bad request"}})],
        "e401": [Reply(401, {"error": {"message": "invalid key"}})],
        "e404": [Reply(404, {"error": {"message": "no such model"}})],
        "e422": [Reply(422, {"error": {"message": "unprocessable"}})],
        "ctx": [
            Reply(
                400,
                {
                    "error": {
                        "message": "This model's maximum context length is 4096",
                        "code": "context_length_exceeded",
                    }
                },
            )
        ],
        "long429": [Reply(429, {"error": {"message": "quota"}}, {"Retry-After": "100"})],
    }
    with StubServer(ScriptedResponder(plans)) as s:
        yield s


def _n(server: StubServer, key: str) -> int:
    return sum(1 for r in server.requests if key == r["messages"][-1]["content"])


def test_answer_with_usage(server):
    out, _ = _call(server, "ok")
    assert out.status == "ok" and out.text == "Answer: B" and out.attempts == 1
    assert out.usage.prompt_tokens == 20 and out.usage.completion_tokens == 5
    assert server.requests[-1]["model"] == "stub"


def test_429_honours_retry_after(server):
    t0 = time.monotonic()
    out, client = _call(server, "r429")
    assert out.status == "ok" and out.text == "fine" and out.attempts == 2
    assert time.monotonic() - t0 >= 0.3
    assert client.stats.rate_limited == 1 and client.limit.limit < client.limit.max_limit


def test_429_honours_ratelimit_reset_header(server):
    t0 = time.monotonic()
    out, _ = _call(server, "reset")
    assert out.status == "ok" and time.monotonic() - t0 >= 0.25


def test_500_is_retried_then_succeeds(server):
    out, _ = _call(server, "e500once")
    assert out.status == "ok" and out.text == "recovered" and out.attempts == 2


def test_persistent_500_gives_up_after_max_attempts_with_no_answer(server):
    out, _ = _call(server, "e500")
    assert out.status == "error" and out.text is None and out.attempts == 4
    assert _n(server, "e500") == 4 and "HTTP 500" in out.error


def test_server_still_loading_is_retried(server):
    out, _ = _call(server, "loading")
    assert out.status == "ok" and out.text == "loaded"


def test_hang_times_out_and_is_bounded(server):
    policy = RetryPolicy(max_attempts=2, max_wall_s=10, base_s=0.01, cap_s=0.02)
    t0 = time.monotonic()
    out, _ = _call(server, "hang", policy, timeout_s=0.3)
    assert out.status == "timeout" and out.text is None and out.attempts == 2
    assert time.monotonic() - t0 < 3


def test_invalid_json_and_null_content_are_parse_failures(server):
    for key in ("badjson", "null"):
        out, _ = _call(server, key)
        assert out.status == "parse_fail" and out.text is None and out.attempts == 4


def test_missing_usage_is_still_an_answer(server):
    out, _ = _call(server, "nousage")
    assert out.status == "ok" and out.usage is None


@pytest.mark.parametrize("key", ["e400", "e401", "e404", "e422", "ctx"])
def test_terminal_errors_are_not_retried(server, key):
    out, _ = _call(server, key)
    assert out.status == "error" and out.attempts == 1 and _n(server, key) == 1
    if key == "ctx":
        assert "context length" in out.error


def test_wall_time_bounds_a_long_retry_after(server):
    policy = RetryPolicy(max_attempts=10, max_wall_s=1.0, base_s=0.01, cap_s=0.05)
    t0 = time.monotonic()
    out, _ = _call(server, "long429", policy)
    assert out.status == "error" and time.monotonic() - t0 < 1.0
    assert "wall limit" in out.error


def test_api_key_is_sent_from_env_and_never_in_the_error(server, monkeypatch):
    monkeypatch.setenv("STUB_KEY", "sk-very-secret")
    out, _ = _call(server, "e401", api_key_env="STUB_KEY")
    assert server.headers_seen[-1]["authorization"] == "Bearer sk-very-secret"
    assert "sk-very-secret" not in out.error


def test_streaming_measures_time_to_first_token_and_reads_usage(server):
    out, _ = _call(server, "ok", stream=True)
    assert out.status == "ok" and out.text == "Answer: B"
    assert out.ttft_s is not None and out.ttft_s <= out.latency_s
    assert out.usage.prompt_tokens == 20
    assert server.requests[-1]["stream_options"] == {"include_usage": True}


def test_parse_reset_header():
    assert parse_reset_header("2") == 2.0
    assert parse_reset_header("1m30s") == 90.0
    assert parse_reset_header("250ms") == pytest.approx(0.25)
    assert parse_reset_header("garbage") is None
    assert parse_reset_header(None) is None
    date = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=30)).strftime(
        "%a, %d %b %Y %H:%M:%S GMT"
    )
    assert 25 <= parse_reset_header(date) <= 31


def test_adaptive_limit_halves_and_recovers():
    async def go():
        lim = AdaptiveLimit(8)
        lim.on_rate_limit(0.0)
        assert lim.limit == 4
        lim.on_rate_limit(0.0)
        assert lim.limit == 2
        for _ in range(2 + 3 + 4 + 5 + 6 + 7):
            lim.on_success()
        assert lim.limit == 8
        await lim.acquire()
        assert lim.active == 1
        await lim.release()

    asyncio.run(go())


def test_concurrency_cap_is_respected():
    inflight = {"now": 0, "max": 0}

    def slow(body):
        inflight["now"] += 1
        inflight["max"] = max(inflight["max"], inflight["now"])
        return Reply(200, ok_reply("x").body, delay_s=0.05)

    class Counting(StubServer):
        async def _send(self, writer, reply):
            inflight["now"] -= 1
            await super()._send(writer, reply)

    with Counting(slow) as s:

        async def go():
            async with EndpointClient(_ep(s.url, max_concurrency=3), policy=FAST) as c:
                await asyncio.gather(
                    *[c.call([{"role": "user", "content": str(i)}]) for i in range(12)]
                )

        asyncio.run(go())
    assert 1 <= inflight["max"] <= 3
