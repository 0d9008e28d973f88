"""Bad requests get the right 4xx with an OpenAI-style body; the per-request knob moves λ."""

from __future__ import annotations

import httpx
import openai
import pytest

from routerbench.serve.settings import ServeSettings

from .conftest import serve_stack, table_rank

HELLO = [{"role": "user", "content": "hello"}]
# a: better and dearer; b: worse and cheap. λ = 1 picks a, λ = 0.001 picks b.
RANK = table_rank(["a", "b"], [0.9, 0.5], [0.01, 0.0001])


@pytest.fixture(scope="module")
def stack(monkeypatch_module):
    monkeypatch_module.setenv("RB_TEST_CLIENT_KEYS", "key-one, key-two")
    settings = ServeSettings(
        api_key_env="RB_TEST_CLIENT_KEYS", max_body_bytes=4096, max_output_tokens=512
    )
    with serve_stack({"a": "ok", "b": "ok"}, rank=RANK, settings=settings) as s:
        yield s


@pytest.fixture(scope="module")
def monkeypatch_module():
    mp = pytest.MonkeyPatch()
    yield mp
    mp.undo()


def post(stack, body=None, *, content=None, key="key-one", headers=None) -> httpx.Response:
    h = {"authorization": f"Bearer {key}"} if key else {}
    h.update(headers or {})
    if content is not None:
        return httpx.post(
            f"{stack.base_url}/chat/completions",
            content=content,
            headers={**h, "content-type": "application/json"},
        )
    return httpx.post(f"{stack.base_url}/chat/completions", json=body, headers=h)


def expect(r: httpx.Response, status: int, *, code: str | None = None, says: str = "") -> dict:
    assert r.status_code == status, r.text
    err = r.json()["error"]
    assert set(err) == {"message", "type", "param", "code"}
    assert isinstance(err["message"], str) and says in err["message"]
    if code is not None:
        assert err["code"] == code
    return err


def test_malformed_json(stack):
    expect(
        post(stack, content=b'{"model": "router", "messages": ['),
        400,
        code="invalid_json",
        says="not valid JSON",
    )
    expect(post(stack, content=b"[1, 2]"), 400, says="JSON object")


def test_messages_missing_empty_or_malformed(stack):
    err = expect(post(stack, {"model": "router"}), 400, says="messages")
    assert err["param"] == "messages"
    expect(post(stack, {"model": "router", "messages": []}), 400, says="non-empty")
    expect(
        post(stack, {"model": "router", "messages": [{"content": "x"}]}), 400, says="messages[0]"
    )
    expect(post(stack, {"model": "router", "messages": HELLO, "stream": "yes"}), 400, says="stream")


def test_oversized_body(stack):
    big = [{"role": "user", "content": "x" * 5000}]
    expect(post(stack, {"model": "router", "messages": big}), 413, code="body_too_large")


def test_token_limit(stack):
    err = expect(
        post(stack, {"model": "router", "messages": HELLO, "max_tokens": 4096}),
        400,
        says="at most 512",
    )
    assert err["param"] == "max_tokens"


def test_unknown_model_and_router_option(stack):
    expect(post(stack, {"model": "gpt-4", "messages": HELLO}), 404, code="model_not_found")
    expect(post(stack, {"model": "A", "messages": HELLO}), 404, code="model_not_found")  # exact
    expect(post(stack, {"model": "router:tabel", "messages": HELLO}), 404)
    expect(
        post(stack, {"model": "router:table?temperature=1", "messages": HELLO}),
        400,
        code="unknown_router_option",
    )
    expect(
        post(stack, {"model": "router", "messages": HELLO, "routing": {"lambda": 1}}),
        400,
        code="unknown_router_option",
    )
    expect(
        post(stack, {"model": "router", "messages": HELLO, "routing": {"candidates": ["a", "c"]}}),
        400,
        says="'c'",
    )
    expect(
        post(stack, {"model": "a", "messages": HELLO, "routing": {"max_cost_usd": 1}}),
        400,
        says="router model",
    )


@pytest.mark.parametrize("where", ["name", "dash", "header", "body"])
@pytest.mark.parametrize("bad", ["-1", "nan", "inf", "cheap"])
def test_bad_lambda(stack, where, bad):
    body = {"model": "router", "messages": HELLO}
    headers = {}
    if where == "name":
        body["model"] = f"router:table?wtp={bad}"
    elif where == "dash":
        body["model"] = f"router-table-{bad}"
    elif where == "header":
        headers["x-routerbench-wtp"] = bad
    else:
        value = {"-1": "-1", "nan": "NaN", "inf": "Infinity", "cheap": '"cheap"'}[bad]
        content = (
            '{"model": "router", "messages": [{"role": "user", "content": "x"}], '
            f'"routing": {{"willingness_to_pay": {value}}}}}'
        ).encode()
        expect(post(stack, content=content), 400)
        return
    expect(post(stack, body, headers=headers), 400)


def test_missing_and_wrong_bearer_key(stack):
    expect(
        post(stack, {"model": "router", "messages": HELLO}, key=None), 401, code="missing_api_key"
    )
    expect(
        post(stack, {"model": "router", "messages": HELLO}, key="nope"), 401, code="invalid_api_key"
    )
    assert post(stack, {"model": "router", "messages": HELLO}, key="key-two").status_code == 200
    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(
            base_url=stack.base_url, api_key="wrong", max_retries=0
        ).chat.completions.create(model="router", messages=HELLO)
    assert httpx.get(f"{stack.base_url}/models").status_code == 401


def test_unknown_route_is_openai_style(stack):
    expect(httpx.get(f"{stack.url}/v1/nothing"), 404, says="no route")


@pytest.mark.parametrize(
    ("model", "headers", "routing", "expected"),
    [
        ("router", {}, None, "a"),  # server default λ = 1
        ("router:table?wtp=0.001", {}, None, "b"),
        ("router-table-0.001", {}, None, "b"),
        ("router", {"x-routerbench-wtp": "0.001"}, None, "b"),
        ("router", {}, {"willingness_to_pay": 0.001}, "b"),
        ("router:table?wtp=0.001", {"x-routerbench-wtp": "5"}, None, "a"),  # header wins
        ("router", {"x-routerbench-wtp": "0.001"}, {"willingness_to_pay": 5}, "a"),  # body wins
        ("router", {}, {"max_cost_usd": 0.001}, "b"),
        ("router", {}, {"candidates": ["b"]}, "b"),
    ],
)
def test_the_knob_moves_the_choice(stack, model, headers, routing, expected):
    body = {"model": model, "messages": HELLO}
    if routing is not None:
        body["routing"] = routing
    r = post(stack, body, headers=headers)
    assert r.status_code == 200, r.text
    assert r.headers["x-routerbench-model"] == expected
    sent = stack.upstreams[expected].bodies[-1]
    assert "routing" not in sent and sent["model"] == f"{expected}-id"


def test_budget_below_every_estimate(stack):
    expect(
        post(stack, {"model": "router", "messages": HELLO, "routing": {"max_cost_usd": 0.00001}}),
        400,
        code="over_budget",
    )
