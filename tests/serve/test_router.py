"""A real KNN router artifact behind the server: the choice is `rank_prompts`', and moves with λ."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import numpy as np
import openai
import pytest
import yaml
from typer.testing import CliRunner

from routerbench.cli import app as cli_app
from routerbench.data.synthetic import make_default
from routerbench.routers import KNNRouter
from routerbench.routers.artifact import load_router, save_router
from routerbench.serve.app import load_app
from routerbench.serve.local import LocalServer

from .upstreams import Upstream, models_yaml, reply_text

MODELS = ["gpt-4-1106-preview", "mistralai/mixtral-8x7b-chat", "mistralai/mistral-7b-chat"]
LAMBDAS = [1e-4, 1e-3, 3e-3, 1e-2, 1.0]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    bench = make_default(scale=0.02)
    bench = bench.drop_models([m for m in bench.models if m not in MODELS])
    rows = np.arange(0, bench.n_prompts, 5)
    train = bench.subset(rows)
    path = save_router(
        KNNRouter(n_neighbors=10).fit(train),
        tmp_path_factory.mktemp("art") / "knn.rbr",
        train=train,
    )
    prompts = list(bench.prompts["prompt"].iloc[np.arange(2, bench.n_prompts, 97)])
    return path, load_router(path), prompts


@pytest.fixture(scope="module")
def upstreams():
    fakes = {m: Upstream(m) for m in MODELS}
    servers = [LocalServer(f.app).start() for f in fakes.values()]
    try:
        yield fakes, {m: s.url + "/v1" for m, s in zip(MODELS, servers)}
    finally:
        for s in servers:
            s.stop()


@pytest.fixture(scope="module")
def models_file(upstreams, tmp_path_factory):
    path = tmp_path_factory.mktemp("cfg") / "MODELS.yaml"
    path.write_text(yaml.safe_dump(models_yaml(upstreams[1])))
    return path


def test_choice_follows_rank_prompts_and_moves_with_lambda(trained, models_file):
    artifact, router, prompts = trained
    cases = []
    for lam in LAMBDAS:
        ranking = router.rank_prompts(prompts, lam)
        for i in range(len(prompts)):
            cases.append(
                (
                    prompts[i],
                    lam,
                    ranking.ranked_names(i)[0],
                    ranking.quality[i, ranking.order[i, 0]],
                    ranking.cost[i, ranking.order[i, 0]],
                )
            )
    chosen = {c[2] for c in cases}
    assert len(chosen) >= 2, "the test needs λ values where the router's choice differs"
    picks = []
    for model in sorted(chosen):  # a few cases per chosen model, across λ
        picks += [c for c in cases if c[2] == model][:3]
    with LocalServer(load_app(artifact, models_file)) as srv:
        client = openai.OpenAI(base_url=f"{srv.url}/v1", api_key="x", max_retries=0, timeout=20)
        for text, lam, expected, p_hat, c_hat in picks:
            raw = client.chat.completions.with_raw_response.create(
                model=f"router:knn?wtp={lam!r}", messages=[{"role": "user", "content": text}]
            )
            assert raw.headers["x-routerbench-model"] == expected
            assert raw.headers["x-routerbench-router"] == "knn"
            assert float(raw.headers["x-routerbench-wtp"]) == lam
            assert float(raw.headers["x-routerbench-score"]) == pytest.approx(p_hat, rel=1e-5)
            assert float(raw.headers["x-routerbench-estimated-cost-usd"]) == pytest.approx(
                c_hat, rel=1e-5
            )
            assert raw.parse().choices[0].message.content == reply_text(expected)
        text, lam, expected, _, _ = picks[-1]
        stream = client.chat.completions.create(
            model=f"router-knn-{lam!r}", stream=True, messages=[{"role": "user", "content": text}]
        )
        chunks = list(stream)
        assert "".join(c.choices[0].delta.content or "" for c in chunks) == reply_text(expected)
        assert chunks[-1].model_extra["x_routerbench"]["model"] == expected


def _wait(url: str, proc: subprocess.Popen, timeout_s: float = 180) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"server at {url} did not start")


@pytest.mark.parametrize("workers", [1, 2])
def test_serve_command_answers_the_openai_client(trained, models_file, workers):
    artifact, router, prompts = trained
    with LocalServer(lambda scope, receive, send: None) as placeholder:
        port = placeholder.port  # a port that was free a moment ago
    env = {**os.environ, "RB_SERVE_TEST_KEY": "client-key"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from routerbench.cli import app; app()",
            "serve",
            str(artifact),
            "--models",
            str(models_file),
            "--port",
            str(port),
            "--api-key-env",
            "RB_SERVE_TEST_KEY",
            "--wtp",
            "1e-3",
            "--workers",
            str(workers),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        _wait(f"http://127.0.0.1:{port}/health", proc)
        client = openai.OpenAI(
            base_url=f"http://127.0.0.1:{port}/v1", api_key="client-key", max_retries=0, timeout=20
        )
        expected = router.rank_prompts([prompts[0]], 1e-3).ranked_names(0)[0]
        for _ in range(2 * workers):
            raw = client.chat.completions.with_raw_response.create(
                model="router", messages=[{"role": "user", "content": prompts[0]}]
            )
            assert raw.headers["x-routerbench-model"] == expected
        with pytest.raises(openai.AuthenticationError):
            openai.OpenAI(
                base_url=f"http://127.0.0.1:{port}/v1", api_key="nope", max_retries=0
            ).chat.completions.create(model="router", messages=[{"role": "user", "content": "x"}])
        text = httpx.get(f"http://127.0.0.1:{port}/metrics").text
        from .conftest import metric

        assert (
            metric(text, "routerbench_requests_total", model=expected, status="200") == 2 * workers
        )
        assert metric(text, "routerbench_requests_total", status="401") == 1
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    assert proc.returncode in (0, -15)  # uvicorn re-raises the SIGTERM it handled gracefully


def test_serve_command_refuses_bad_setups_in_one_line(trained, models_file, tmp_path):
    artifact, _, _ = trained
    runner = CliRunner()
    partial = tmp_path / "partial.yaml"
    config = yaml.safe_load(Path(models_file).read_text())
    config["models"] = config["models"][:2]
    partial.write_text(yaml.safe_dump(config))
    cases = [
        (["serve", str(artifact), "--models", str(partial)], "mistralai/mistral-7b-chat"),
        (["serve", str(artifact), "--models", str(models_file), "--wtp", "-1"], "--wtp"),
        (["serve", str(artifact), "--models", str(models_file), "--fallback", "gpt-5"], "gpt-5"),
        (
            [
                "serve",
                str(artifact),
                "--models",
                str(models_file),
                "--api-key-env",
                "RB_SURELY_UNSET_KEY",
            ],
            "RB_SURELY_UNSET_KEY",
        ),
        (["serve", str(tmp_path / "none.rbr"), "--models", str(models_file)], "none.rbr"),
    ]
    for args, says in cases:
        result = runner.invoke(cli_app, args)
        assert result.exit_code == 2, (args, result.output)
        out = " ".join(result.output.split())
        assert says in out and "Traceback" not in out
