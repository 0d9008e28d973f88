"""The server answers the official openai client, streamed and not, and shows its decision."""

from __future__ import annotations

import httpx
import openai
import pytest

from routerbench.serve.settings import ServeSettings

from .conftest import metric, serve_stack
from .upstreams import reply_text


@pytest.fixture(scope="module")
def stack():
    with serve_stack({"big": "ok", "small": "ok"}) as s:
        yield s


def client(stack) -> openai.OpenAI:
    return openai.OpenAI(base_url=stack.base_url, api_key="unused", max_retries=0, timeout=10)


def test_non_streamed_answer_and_headers(stack):
    raw = client(stack).chat.completions.with_raw_response.create(
        model="router", messages=[{"role": "user", "content": "hello"}]
    )
    completion = raw.parse()
    assert completion.choices[0].message.content == reply_text("big")
    assert completion.model == "big-id"  # the upstream that answered, in its own words
    h = raw.headers
    assert h["x-routerbench-model"] == "big"
    assert h["x-routerbench-router"] == "table"
    assert float(h["x-routerbench-wtp"]) == 1.0
    assert float(h["x-routerbench-score"]) == pytest.approx(0.9)
    assert h["x-routerbench-attempts"] == "1" and h["x-routerbench-fallbacks"] == "0"
    assert float(h["x-routerbench-decision-ms"]) >= 0
    assert float(h["x-routerbench-overhead-ms"]) >= 0
    assert float(h["x-routerbench-estimated-cost-usd"]) == pytest.approx(1e-3)
    # forwarded to the upstream with its own model id, everything else unchanged
    assert stack.upstreams["big"].bodies[-1]["model"] == "big-id"


def test_streamed_answer_headers_and_final_chunk(stack):
    with client(stack).chat.completions.with_streaming_response.create(
        model="router", messages=[{"role": "user", "content": "hello"}], stream=True
    ) as resp:
        assert resp.headers["x-routerbench-model"] == "big"
        assert resp.headers["x-routerbench-attempts"] == "1"
        chunks = list(resp.parse())
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == reply_text("big")
    assert all(c.choices for c in chunks)  # our usage request does not leak a usage-only chunk
    final = chunks[-1].model_extra["x_routerbench"]
    assert final["model"] == "big" and final["router"] == "table"
    assert final["usage"]["prompt_tokens"] == 10 and final["cost_usd"] == pytest.approx(14e-6)
    assert chunks[-1].usage.completion_tokens == 4


def test_stream_with_client_usage_keeps_usage_chunk(stack):
    chunks = list(
        client(stack).chat.completions.create(
            model="router",
            messages=[{"role": "user", "content": "hi"}],
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    assert chunks[-1].choices == [] and chunks[-1].usage.total_tokens == 14
    assert chunks[-1].model_extra["x_routerbench"]["model"] == "big"


def test_tools_and_other_fields_pass_through_unchanged(stack):
    tools = [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "description": "Weather in a city",
                "parameters": {
                    "type": "object",
                    "properties": {"city": {"type": "string"}},
                    "required": ["city"],
                },
            },
        }
    ]
    messages = [
        {"role": "system", "content": "be brief"},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "weather?"},
                {"type": "image_url", "image_url": {"url": "data:,x"}},
            ],
        },
    ]
    completion = client(stack).chat.completions.create(
        model="router",
        messages=messages,
        tools=tools,
        tool_choice="auto",
        seed=7,
        stop=["\n\n"],
        n=1,
        response_format={"type": "text"},
        temperature=0.3,
    )
    assert completion.choices[0].message.tool_calls[0].function.name == "get_weather"
    sent = stack.upstreams["big"].bodies[-1]
    assert sent["tools"] == tools and sent["messages"] == messages
    expected = {
        "tool_choice": "auto",
        "seed": 7,
        "stop": ["\n\n"],
        "n": 1,
        "response_format": {"type": "text"},
        "temperature": 0.3,
    }
    assert {k: sent[k] for k in expected} == expected


def test_client_key_is_not_forwarded_by_default(stack):
    client(stack).chat.completions.create(
        model="router", messages=[{"role": "user", "content": "x"}]
    )
    assert "authorization" not in stack.upstreams["big"].headers[-1]


def test_direct_model_and_model_list(stack):
    c = client(stack)
    raw = c.chat.completions.with_raw_response.create(
        model="small", messages=[{"role": "user", "content": "x"}]
    )
    assert raw.parse().choices[0].message.content == reply_text("small")
    assert raw.headers["x-routerbench-router"] == "none"
    ids = [m.id for m in c.models.list()]
    assert ids == ["router", "router:table", "big", "small"]


def test_health_ready_and_metrics(stack):
    assert httpx.get(f"{stack.url}/health").json() == {"status": "ok"}
    ready = httpx.get(f"{stack.url}/health/ready")
    assert ready.status_code == 200 and ready.json()["upstreams_reachable"] == {
        "big": True,
        "small": True,
    }
    before = metric(
        httpx.get(f"{stack.url}/metrics").text,
        "routerbench_requests_total",
        router="table",
        model="big",
        status="200",
    )
    client(stack).chat.completions.create(
        model="router", messages=[{"role": "user", "content": "x"}]
    )
    text = httpx.get(f"{stack.url}/metrics").text
    assert (
        metric(text, "routerbench_requests_total", router="table", model="big", status="200")
        == before + 1
    )
    assert metric(text, "routerbench_tokens_total", model="big", kind="prompt") >= 10
    assert metric(text, "routerbench_cost_usd_total", model="big") > 0
    assert metric(text, "routerbench_decision_seconds_count", router="table") >= 1
    assert metric(text, "routerbench_in_flight") == 0


def test_not_ready_when_no_router_model_is_reachable():
    with serve_stack({"a": "refuse", "b": "refuse"}, settings=ServeSettings()) as s:
        r = httpx.get(f"{s.url}/health/ready")
        assert r.status_code == 503 and r.json()["status"] == "unavailable"
        assert httpx.get(f"{s.url}/health").status_code == 200


def test_client_key_forwarded_only_when_configured_and_upstream_has_none(monkeypatch):
    monkeypatch.setenv("RB_FWD_CLIENT_KEYS", "client-secret")
    settings = ServeSettings(api_key_env="RB_FWD_CLIENT_KEYS", forward_client_key=True)
    with serve_stack({"big": "ok"}, settings=settings) as s:
        c = openai.OpenAI(base_url=s.base_url, api_key="client-secret", max_retries=0)
        c.chat.completions.create(model="router", messages=[{"role": "user", "content": "x"}])
        assert s.upstreams["big"].headers[-1]["authorization"] == "Bearer client-secret"


def test_upstream_key_comes_from_its_environment_variable(monkeypatch):
    monkeypatch.setenv("RB_UPSTREAM_KEY", "upstream-secret")
    from routerbench.endpoints import parse_models_config
    from routerbench.serve.app import RouterHandle, create_app
    from routerbench.serve.local import LocalServer

    from .conftest import table_rank
    from .upstreams import Upstream, models_yaml

    fake = Upstream("big")
    with LocalServer(fake.app) as up:
        config = models_yaml({"big": up.url + "/v1"})
        config["models"][0]["api_key_env"] = "RB_UPSTREAM_KEY"
        app = create_app(
            RouterHandle.probe("table", table_rank(["big"], [0.9], [1e-3])),
            parse_models_config(config),
        )
        with LocalServer(app) as srv:
            httpx.post(
                f"{srv.url}/v1/chat/completions",
                headers={"authorization": "Bearer c"},
                json={"model": "router", "messages": [{"role": "user", "content": "x"}]},
            )
    assert fake.headers[-1]["authorization"] == "Bearer upstream-secret"
