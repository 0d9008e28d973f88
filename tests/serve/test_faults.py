"""Upstream faults: before the first byte they fall back invisibly; after it, an error event."""

from __future__ import annotations

import json
import threading
import time

import httpx
import numpy as np
import openai
import pytest

from routerbench.serve.settings import ServeSettings

from .conftest import metric, serve_stack, table_rank
from .upstreams import reply_text

FAST = ServeSettings(first_byte_timeout_s=0.5, connect_timeout_s=0.5)
HELLO = [{"role": "user", "content": "hello"}]

# fault of the top-ranked model -> the error class the metrics must count
FAULTS = {
    "refuse": "connect",
    "hang": "first_byte_timeout",
    "500": "http_5xx",
    "fail_before_content": "stream_error",
}


def client(stack) -> openai.OpenAI:
    return openai.OpenAI(base_url=stack.base_url, api_key="x", max_retries=0, timeout=10)


@pytest.mark.parametrize("fault", list(FAULTS))
def test_fault_before_first_byte_falls_back(fault):
    with serve_stack({"bad": fault, "good": "ok"}, settings=FAST) as s:
        c = client(s)
        streams = [True] if fault == "fail_before_content" else [False, True]
        for stream in streams:
            if stream:
                with c.chat.completions.with_streaming_response.create(
                    model="router", messages=HELLO, stream=True
                ) as resp:
                    headers = resp.headers
                    text = "".join(
                        ch.choices[0].delta.content or "" for ch in resp.parse() if ch.choices
                    )
            else:
                raw = c.chat.completions.with_raw_response.create(model="router", messages=HELLO)
                headers, text = raw.headers, raw.parse().choices[0].message.content
            assert text == reply_text("good")
            assert headers["x-routerbench-model"] == "good"
            assert headers["x-routerbench-attempts"] == "2"
            assert headers["x-routerbench-fallbacks"] == "1"
        m = httpx.get(f"{s.url}/metrics").text
        reason = FAULTS[fault]
        n = len(streams)
        assert metric(m, "routerbench_upstream_errors_total", model="bad", error=reason) == n
        assert (
            metric(
                m, "routerbench_fallbacks_total", from_model="bad", to_model="good", reason=reason
            )
            == n
        )
        assert metric(m, "routerbench_requests_total", model="good", status="200") == n


def test_death_mid_stream_ends_with_an_error_event():
    with serve_stack({"flaky": "die_mid_stream", "good": "ok"}, settings=FAST) as s:
        got: list[str] = []
        with pytest.raises(openai.APIError) as info:
            for ch in client(s).chat.completions.create(
                model="router", messages=HELLO, stream=True
            ):
                got.append(ch.choices[0].delta.content or "")
        assert "".join(got) == "answer from"  # what was sent stays sent; not a silent cut
        assert "stream failed after it started" in str(info.value)
        m = httpx.get(f"{s.url}/metrics").text
        assert (
            metric(m, "routerbench_upstream_errors_total", model="flaky", error="stream_error") == 1
        )
        assert metric(m, "routerbench_requests_total", model="flaky", status="stream_error") == 1
        assert metric(m, "routerbench_in_flight") == 0


def test_mid_stream_error_event_on_the_wire():
    with (
        serve_stack({"flaky": "die_mid_stream"}, settings=FAST) as s,
        httpx.stream(
            "POST",
            f"{s.base_url}/chat/completions",
            json={"model": "router", "messages": HELLO, "stream": True},
        ) as r,
    ):
        events = [line for line in r.iter_lines() if line.startswith("data: ")]
    assert r.status_code == 200
    assert '"error"' in events[-1] and "stream_interrupted" in events[-1]
    assert "[DONE]" not in events[-1]


def test_all_upstreams_failing_is_an_openai_style_502_without_raw_pages():
    with serve_stack({"a": "500", "b": "refuse"}, settings=FAST) as s:
        r = httpx.post(
            f"{s.base_url}/chat/completions", json={"model": "router", "messages": HELLO}
        )
        assert r.status_code == 502
        err = r.json()["error"]
        assert err["code"] == "upstreams_failed" and "a (http_5xx)" in err["message"]
        assert "<html>" not in r.text


def test_attempt_limit_is_respected():
    settings = ServeSettings(first_byte_timeout_s=0.5, max_attempts=2)
    with serve_stack({"a": "500", "b": "500", "c": "ok"}, settings=settings) as s:
        r = httpx.post(
            f"{s.base_url}/chat/completions", json={"model": "router", "messages": HELLO}
        )
        assert r.status_code == 502 and r.headers["x-routerbench-attempts"] == "2"
        assert s.upstreams["c"].bodies == []


def test_configured_fallback_after_the_ranking():
    settings = ServeSettings(fallbacks=("spare",))
    with serve_stack({"a": "500", "spare": "ok"}, router_models=["a"], settings=settings) as s:
        r = httpx.post(
            f"{s.base_url}/chat/completions", json={"model": "router", "messages": HELLO}
        )
        assert r.status_code == 200 and r.headers["x-routerbench-model"] == "spare"


def test_circuit_breaker_opens_skips_and_probes():
    settings = ServeSettings(breaker_threshold=2, breaker_cooldown_s=0.5)
    with serve_stack({"bad": "500", "good": "ok"}, settings=settings) as s:

        def call() -> httpx.Response:
            return httpx.post(
                f"{s.base_url}/chat/completions", json={"model": "router", "messages": HELLO}
            )

        for _ in range(2):
            assert call().headers["x-routerbench-attempts"] == "2"
        before = len(s.upstreams["bad"].bodies)
        r = call()  # breaker open: "bad" is skipped without a call
        assert r.headers["x-routerbench-model"] == "good"
        assert r.headers["x-routerbench-attempts"] == "1"
        assert r.headers["x-routerbench-fallbacks"] == "1"
        assert len(s.upstreams["bad"].bodies) == before
        m = httpx.get(f"{s.url}/metrics").text
        assert metric(m, "routerbench_breaker_opened_total", model="bad") == 1
        assert (
            metric(m, "routerbench_upstream_errors_total", model="bad", error="breaker_open") == 1
        )
        time.sleep(0.6)
        s.upstreams["bad"].mode = "ok"  # recovered: the half-open probe closes the breaker
        r = call()
        assert r.headers["x-routerbench-model"] == "bad"
        assert s.server.breakers["bad"].state.value == "closed"


def _slow_rank(delay_s: float, fail: bool = False):
    base = table_rank(["a", "b"], [0.9, 0.5], [1e-3, 1e-3])

    def rank(texts, wtp):
        if texts and texts[0] != "routerbench start-up probe":
            if fail:
                raise RuntimeError("embedding back end exploded")
            time.sleep(delay_s)
        return base(texts, wtp)

    return rank


def test_decision_timeout_fails_closed_and_does_not_block_the_loop():
    settings = ServeSettings(decision_timeout_s=0.8)
    with serve_stack({"a": "ok", "b": "ok"}, rank=_slow_rank(1.5), settings=settings) as s:
        result: dict[str, httpx.Response] = {}
        t = threading.Thread(
            target=lambda: result.setdefault(
                "r",
                httpx.post(
                    f"{s.base_url}/chat/completions", json={"model": "router", "messages": HELLO}
                ),
            )
        )
        t.start()
        time.sleep(0.1)
        assert httpx.get(f"{s.url}/health").status_code == 200
        assert t.is_alive()  # the loop answered while the router was still busy
        t.join()
        r = result["r"]
        assert r.status_code == 503 and r.json()["error"]["code"] == "router_unavailable"
        assert "800 ms" in r.json()["error"]["message"]


def test_router_failure_fails_open_to_the_configured_model():
    settings = ServeSettings(fail_open_model="b")
    with serve_stack({"a": "ok", "b": "ok"}, rank=_slow_rank(0, fail=True), settings=settings) as s:
        r = httpx.post(
            f"{s.base_url}/chat/completions", json={"model": "router", "messages": HELLO}
        )
        assert r.status_code == 200 and r.headers["x-routerbench-model"] == "b"
        assert r.headers["x-routerbench-score"] == ""  # no ranking behind this choice


def test_concurrent_requests_are_ranked_in_batches():
    calls: list[int] = []
    base = table_rank(["a", "b"], [0.9, 0.5], [1e-3, 1e-3])

    def rank(texts, wtp):
        calls.append(len(texts))
        time.sleep(0.05)
        return base(texts, wtp)

    with serve_stack({"a": "ok", "b": "ok"}, rank=rank) as s:
        threads = [
            threading.Thread(
                target=lambda: httpx.post(
                    f"{s.base_url}/chat/completions", json={"model": "router", "messages": HELLO}
                )
            )
            for _ in range(12)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert sum(calls[1:]) == 12 and max(calls[1:]) > 1 and np.all(np.array(calls) >= 1)


def test_client_leaving_mid_stream_is_counted_and_frees_the_slot():
    with serve_stack({"slow": "slow_stream"}) as s:
        with httpx.stream(
            "POST",
            f"{s.base_url}/chat/completions",
            json={"model": "router", "messages": HELLO, "stream": True},
        ) as r:
            assert r.status_code == 200
            next(r.iter_lines())  # the first event, then hang up
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            m = httpx.get(f"{s.url}/metrics").text
            if metric(m, "routerbench_requests_total", status="client_closed") == 1:
                break
            time.sleep(0.1)
        assert metric(m, "routerbench_requests_total", status="client_closed") == 1
        assert metric(m, "routerbench_in_flight") == 0
        assert s.server.pool._slots["slow"]._value == s.server.endpoints["slow"].max_concurrency


def test_upstream_refusing_the_request_is_relayed_without_fallback():
    with serve_stack({"strict": "reject", "good": "ok"}) as s:
        r = httpx.post(
            f"{s.base_url}/chat/completions", json={"model": "router", "messages": HELLO}
        )
        assert r.status_code == 400 and r.json()["error"]["code"] == "upstream_rejected"
        assert "context length exceeded" in r.json()["error"]["message"]
        assert s.upstreams["good"].bodies == []  # the request's fault: no other model tried


def test_stream_relays_each_content_chunk_as_it_arrives_not_one_event_late():
    # The upstream pauses 0.3 s after each word. The first word must reach the client at
    # once (no hold-back of content chunks), each later word ~0.3 s after the one before,
    # and the decision still arrives on the final chunk.
    with serve_stack({"slow": "slow_stream"}) as s:
        t0 = time.monotonic()
        words: list[tuple[float, str]] = []
        final = None
        with httpx.stream(
            "POST",
            f"{s.base_url}/chat/completions",
            json={"model": "router", "messages": HELLO, "stream": True},
            timeout=10,
        ) as r:
            assert r.status_code == 200
            opened = time.monotonic() - t0
            for line in r.iter_lines():
                if not line.startswith("data: ") or line == "data: [DONE]":
                    continue
                chunk = json.loads(line[6:])
                for choice in chunk.get("choices", []):
                    if choice["delta"].get("content"):
                        words.append((time.monotonic() - t0, choice["delta"]["content"]))
                final = chunk
    assert "".join(w for _, w in words) == reply_text("slow")
    assert words[0][0] - opened < 0.2, f"first word {words[0][0] - opened:.3f} s after the 200"
    gaps = np.diff([t for t, _ in words])
    assert np.all(gaps > 0.2), gaps
    assert final is not None and final["x_routerbench"]["model"] == "slow"


def test_stream_ending_on_a_content_chunk_gets_a_decision_chunk_of_its_own():
    # Some upstreams send [DONE] right after the last content chunk (no finish chunk, no
    # usage). That chunk was relayed at once; the decision then comes in a chunk of the
    # server's own with no choices (shaped like OpenAI's usage chunk), which the official
    # client accepts.
    with serve_stack({"terse": "no_finish"}) as s:
        stream = openai.OpenAI(
            base_url=s.base_url, api_key="x", max_retries=0, timeout=10
        ).chat.completions.create(model="router", messages=HELLO, stream=True)
        chunks = list(stream)
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == (
        reply_text("terse")
    )
    assert chunks[-1].choices == []
    assert chunks[-1].id == "chatcmpl-terse"
    assert chunks[-1].model_extra["x_routerbench"]["model"] == "terse"
    assert sum(1 for c in chunks if "x_routerbench" in (c.model_extra or {})) == 1
