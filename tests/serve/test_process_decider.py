"""The router in a child process: same decisions as in-process, failures contained, no orphan."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import yaml

from routerbench.serve.app import RouterHandle
from routerbench.serve.local import LocalServer
from routerbench.serve.settings import ServeSettings

from .conftest import serve_stack
from .scripted_router import ScriptedRouter
from .upstreams import Upstream, models_yaml, reply_text

MODELS = ("cheap", "mid", "dear")
QUALITY = (0.5, 0.7, 0.9)
COST = (1e-4, 1e-3, 1e-2)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie (exited, not yet reaped by its parent) counts as gone.
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split(")")[-1].split()[0] == "Z")


def _gone_within(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not _alive(pid):
            return True
        time.sleep(0.05)
    return False


def _ask(url: str, text: str, wtp: float = 1.0) -> httpx.Response:
    return httpx.post(
        f"{url}/v1/chat/completions",
        json={"model": f"router?wtp={wtp!r}", "messages": [{"role": "user", "content": text}]},
        timeout=20,
    )


def _stack(**settings):
    router = ScriptedRouter(MODELS, QUALITY, COST)
    handle = RouterHandle.from_router(router)
    assert handle.portable is not None and "router" in handle.portable
    return router, serve_stack(
        dict.fromkeys(MODELS, "ok"), handle=handle, settings=ServeSettings(**settings)
    )


@pytest.mark.parametrize("decide_in", ["process", "thread"])
def test_decisions_match_rank_prompts_in_a_process_and_in_threads(decide_in):
    router, stack = _stack(decide_in=decide_in)
    lambdas = [0.0, 0.01, 0.05, 0.2, 10.0]
    expected = [router.rank_prompts(["hello"], lam).ranked_names(0)[0] for lam in lambdas]
    assert len(set(expected)) == 3, "the λ values must move the choice across all models"
    with stack as s:
        state = httpx.get(f"{s.url}/health/ready", timeout=20).json()["decider"]
        assert state["in"] == decide_in and state["running"] is True
        if decide_in == "process":
            assert state["pid"] != os.getpid() and _alive(state["pid"])
        for lam, model in zip(lambdas, expected):
            r = _ask(s.url, "hello", lam)
            assert r.status_code == 200
            assert r.headers["x-routerbench-model"] == model
            assert r.json()["choices"][0]["message"]["content"] == reply_text(model)
            i = MODELS.index(model)
            assert float(r.headers["x-routerbench-score"]) == pytest.approx(QUALITY[i])
            assert float(r.headers["x-routerbench-estimated-cost-usd"]) == pytest.approx(COST[i])
        # The ranking really ran in the child: its P̂ of "pid" is the child's process id.
        r = _ask(s.url, "pid", 1.0)
        if decide_in == "process":
            assert float(r.headers["x-routerbench-score"]) == pytest.approx(state["pid"])
        else:
            assert float(r.headers["x-routerbench-score"]) == pytest.approx(os.getpid())
    if decide_in == "process":
        assert _gone_within(state["pid"], 5), "the ranking child outlived the server"


def test_a_failing_slow_or_dead_ranking_process_fails_requests_and_restarts():
    _, stack = _stack(decide_in="process", decision_timeout_s=0.3)
    with stack as s:
        first = httpx.get(f"{s.url}/health/ready", timeout=20).json()["decider"]
        r = _ask(s.url, "boom")
        assert r.status_code == 503
        assert r.json()["error"]["code"] == "router_unavailable"
        assert "ValueError: scripted failure" in r.json()["error"]["message"]
        assert _ask(s.url, "fine").status_code == 200  # the child survived the router's error

        r = _ask(s.url, "sleep:1.0")
        assert r.status_code == 503 and "within 300 ms" in r.json()["error"]["message"]
        time.sleep(1.0)
        assert _ask(s.url, "fine").status_code == 200

        r = _ask(s.url, "exit")
        assert r.status_code == 503
        assert "exited (status 3)" in r.json()["error"]["message"]
        assert _gone_within(first["pid"], 5)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            state = s.server.decider_state()
            if state["running"]:
                break
            time.sleep(0.1)
        assert state["running"] and state["restarts"] == 1 and state["pid"] != first["pid"]
        r = _ask(s.url, "fine")
        assert r.status_code == 200 and r.headers["x-routerbench-model"] == "dear"


def test_fail_open_covers_a_dead_ranking_process():
    _, stack = _stack(decide_in="process", fail_open_model="cheap")
    with stack as s:
        r = _ask(s.url, "exit")
        assert r.status_code == 200 and r.headers["x-routerbench-model"] == "cheap"


def test_process_mode_refuses_a_router_that_cannot_travel():
    from routerbench.endpoints import parse_models_config
    from routerbench.errors import ConfigError
    from routerbench.serve.app import create_app

    from .conftest import table_rank

    handle = RouterHandle.probe("table", table_rank(MODELS, QUALITY, COST))  # a closure
    assert handle.portable is None
    config = parse_models_config(models_yaml(dict.fromkeys(MODELS, "http://127.0.0.1:9/v1")))
    with pytest.raises(ConfigError, match="--decide-in thread"):
        create_app(handle, config, ServeSettings(decide_in="process"))
    # auto: the same router ranks in threads instead
    app = create_app(handle, config, ServeSettings())
    with LocalServer(app):
        assert app.state.server.decider_state() == {"in": "thread", "running": True}


def test_ranking_child_dies_with_a_killed_server(tmp_path):
    """SIGKILL of the serving process (no shutdown code runs) still ends its ranking child."""
    import pickle
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    up = Upstream("cheap")
    with LocalServer(up.app) as upstream:
        models = tmp_path / "models.yaml"
        models.write_text(yaml.safe_dump(models_yaml(dict.fromkeys(MODELS, upstream.url + "/v1"))))
        script = (
            "import sys, pickle, uvicorn; sys.path[:0] = pickle.loads(bytes.fromhex(sys.argv[1]));"
            "from routerbench.endpoints import load_models_config;"
            "from routerbench.serve.app import RouterHandle, create_app;"
            "r = pickle.loads(bytes.fromhex(sys.argv[2]));"
            "app = create_app(RouterHandle.from_router(r), load_models_config(sys.argv[3]));"
            "uvicorn.run(app, host='127.0.0.1', port=int(sys.argv[4]), log_level='warning')"
        )
        router = ScriptedRouter(MODELS, QUALITY, COST)
        proc = subprocess.Popen(
            [
                sys.executable,
                "-c",
                script,
                pickle.dumps(sys.path).hex(),
                pickle.dumps(router).hex(),
                str(models),
                str(port),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            deadline = time.monotonic() + 60
            state = None
            while time.monotonic() < deadline and state is None:
                assert proc.poll() is None, proc.stderr.read().decode()
                try:
                    state = httpx.get(f"http://127.0.0.1:{port}/health/ready", timeout=2).json()
                except httpx.HTTPError:
                    time.sleep(0.1)
            assert state is not None and state["decider"]["in"] == "process"
            child = state["decider"]["pid"]
            assert _alive(child)
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
            assert _gone_within(child, 5), "the ranking child outlived a SIGKILLed server"
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
