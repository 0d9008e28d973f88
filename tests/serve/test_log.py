"""One JSON line per request: the decision and attempts, no prompt unless asked, never a key."""

from __future__ import annotations

import json

import httpx

from routerbench.serve.settings import ServeSettings

from .conftest import serve_stack

HELLO = [{"role": "user", "content": "a secret question"}]


def _run(tmp_path, monkeypatch, log_prompts: bool) -> list[dict]:
    monkeypatch.setenv("RB_LOG_TEST_KEY", "sk-client-very-secret")
    path = tmp_path / "requests.jsonl"
    settings = ServeSettings(
        log_path=str(path), log_prompts=log_prompts, api_key_env="RB_LOG_TEST_KEY"
    )
    with serve_stack({"bad": "500", "good": "ok"}, settings=settings) as s:
        auth = {"authorization": "Bearer sk-client-very-secret"}
        assert (
            httpx.post(
                f"{s.base_url}/chat/completions",
                headers=auth,
                json={"model": "router", "messages": HELLO},
            ).status_code
            == 200
        )
        assert (
            httpx.post(
                f"{s.base_url}/chat/completions", json={"model": "router", "messages": HELLO}
            ).status_code
            == 401
        )
    text = path.read_text()
    assert "sk-client-very-secret" not in text
    return [json.loads(line) for line in text.splitlines()]


def test_log_lines_without_prompts(tmp_path, monkeypatch):
    ok, refused = _run(tmp_path, monkeypatch, log_prompts=False)
    assert ok["status"] == 200 and ok["model"] == "good" and ok["router"] == "table"
    assert ok["ranking"] == ["bad", "good"] and ok["wtp"] == 1.0
    assert [a["outcome"] for a in ok["attempts"]] == ["failed", "ok"]
    assert ok["attempts"][0]["reason"] == "http_5xx"
    assert ok["usage"]["prompt_tokens"] == 10 and ok["cost_usd"] > 0
    assert "prompt" not in ok and "secret question" not in json.dumps(ok)
    assert refused["status"] == 401 and refused["model"] is None


def test_log_lines_with_prompts(tmp_path, monkeypatch):
    ok, _ = _run(tmp_path, monkeypatch, log_prompts=True)
    assert ok["prompt"] == "a secret question"
