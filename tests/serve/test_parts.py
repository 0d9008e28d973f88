"""The server's parts on their own: model-name options, breaker states, routing text, log."""

from __future__ import annotations

import json

import numpy as np
import pytest

from routerbench.errors import ConfigError, DataError
from routerbench.serve.breaker import BreakerState, CircuitBreaker
from routerbench.serve.decide import routing_text
from routerbench.serve.errors import ApiError
from routerbench.serve.options import RoutingOptions, apply_body, apply_header, parse_target
from routerbench.serve.reqlog import RequestLog, log_to_long, replay_benchmark
from routerbench.serve.settings import ServeSettings

MODELS = ["gpt-4", "mixtral"]


def target(name: str):
    return parse_target(name, router_name="knn", router_models=MODELS, upstreams=MODELS)


def test_model_names_resolve_exactly():
    assert target("gpt-4").model == "gpt-4"
    assert target("router").routed and target("router").options == RoutingOptions()
    t = target("router:knn?wtp=0.5&max_cost_usd=0.01&candidates=mixtral,gpt-4")
    assert t.options == RoutingOptions(0.5, 0.01, ("mixtral", "gpt-4"))
    assert target("router-knn-2.5").options.willingness_to_pay == 2.5
    assert target("router-knn-1e-3").options.willingness_to_pay == 1e-3
    for bad in ("GPT-4", "gpt-4 ", "router:KNN", "router-knn", "routerknn", "gpt"):
        with pytest.raises(ApiError) as info:
            target(bad)
        assert info.value.status in (400, 404)
    for bad in (
        "router:knn?wtp=1&wtp=2",
        "router:knn?wtp",
        "router:knn?k=3",
        "router:knn?candidates=claude",
    ):
        with pytest.raises(ApiError) as info:
            target(bad)
        assert info.value.status == 400


def test_header_and_body_override_in_order():
    opts = apply_header(RoutingOptions(willingness_to_pay=1.0), "0.25")
    assert opts.willingness_to_pay == 0.25
    opts = apply_body(opts, {"willingness_to_pay": 3, "candidates": ["gpt-4"]}, MODELS)
    assert opts == RoutingOptions(3.0, None, ("gpt-4",))
    with pytest.raises(ApiError):
        apply_body(opts, {"willingness_to_pay": True}, MODELS)
    with pytest.raises(ApiError):
        apply_body(opts, "wtp=1", MODELS)
    with pytest.raises(ApiError):
        apply_header(opts, "")


def test_breaker_closed_open_half_open_closed():
    now = [0.0]
    b = CircuitBreaker(threshold=2, cooldown_s=5, clock=lambda: now[0])
    b.record_failure()
    assert b.state is BreakerState.CLOSED and b.allow()
    b.record_failure()
    assert b.state is BreakerState.OPEN and not b.allow()
    now[0] = 5.0
    assert b.state is BreakerState.HALF_OPEN
    assert b.allow() and not b.allow()  # one probe at a time
    b.record_failure()  # the probe failed: open again for a full cool-down
    assert b.state is BreakerState.OPEN
    now[0] = 10.0
    assert b.allow()
    b.record_success()
    assert b.state is BreakerState.CLOSED and b.allow()
    b.record_failure()
    assert b.state is BreakerState.CLOSED  # the count restarted after the success


def test_routing_text_last_user_or_conversation_untruncated():
    long = "word " * 5000
    messages = [
        {"role": "system", "content": "sys"},
        {"role": "user", "content": "first"},
        {"role": "assistant", "content": "reply"},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": long},
                {"type": "image_url", "image_url": {"url": "x"}},
            ],
        },
    ]
    assert routing_text(messages, "last-user") == long
    assert routing_text(messages, "conversation") == f"sys\n\nfirst\n\nreply\n\n{long}"
    assert routing_text([{"role": "system", "content": "only"}], "last-user") == "only"


def test_settings_refuse_bad_values_and_round_trip():
    for bad in (
        {"willingness_to_pay": -1},
        {"willingness_to_pay": float("nan")},
        {"route_on": "first"},
        {"max_attempts": 0},
        {"decision_timeout_s": 0},
    ):
        with pytest.raises(ConfigError):
            ServeSettings(**bad)
    s = ServeSettings(fallbacks=("a", "b"), willingness_to_pay=0.5, api_key_env="K")
    assert ServeSettings.from_json(s.to_json()) == s
    assert "K" in s.to_json()


def test_client_keys_come_from_the_named_variable(monkeypatch):
    monkeypatch.delenv("RB_KEYS_UNSET", raising=False)
    with pytest.raises(ConfigError, match="RB_KEYS_UNSET"):
        ServeSettings(api_key_env="RB_KEYS_UNSET").client_keys()
    monkeypatch.setenv("RB_KEYS_SET", "a,b")
    assert ServeSettings(api_key_env="RB_KEYS_SET").client_keys() == ("a", "b")


def test_request_log_replays_into_a_benchmark(tmp_path):
    from routerbench.data.benchmark import Benchmark

    path = tmp_path / "requests.jsonl"
    log = RequestLog(str(path))
    log.write(
        {
            "request_id": "r1",
            "status": 200,
            "model": "gpt-4",
            "prompt": "2+2?",
            "cost_usd": 0.001,
            "upstream_ms": 12.0,
        }
    )
    log.write({"request_id": "r2", "status": 502, "model": None, "prompt": "x"})
    log.write(
        {
            "request_id": "r3",
            "status": 200,
            "model": "mixtral",
            "prompt": "hi",
            "cost_usd": 0.0001,
            "upstream_ms": 3.0,
        }
    )
    log.close()
    long = log_to_long(path)
    assert list(long["sample_id"]) == ["r1", "r3"] and long["quality"].isna().all()
    bench = replay_benchmark(path, {"r1": 1.0, "r3": 0.0})
    assert isinstance(bench, Benchmark)
    assert bench.n_prompts == 2 and set(bench.models) == {"gpt-4", "mixtral"}
    i, j = list(bench.sample_ids).index("r1"), bench.model_index("gpt-4")
    assert bench.cost[i, j] == pytest.approx(0.001) and bench.quality[i, j] == 1.0
    assert np.isnan(bench.quality[i, bench.model_index("mixtral")])  # not served: unmeasured
    with pytest.raises(DataError, match="no logged request"):
        replay_benchmark(path, {})


def test_request_log_without_prompts_is_refused_by_line(tmp_path):
    path = tmp_path / "requests.jsonl"
    path.write_text(json.dumps({"request_id": "r1", "status": 200, "model": "m"}) + "\n")
    with pytest.raises(DataError, match="line 1"):
        log_to_long(path)
