"""Data benchmarks: load a full-size (36,497 × 11) RouterBench wide pickle.

The file is generated at the published file's size and layout (list-literal
prompts of 5-shot length, a response and a cost per model), then loaded in a
fresh subprocess so wall time and peak RSS are those of the load alone.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd

from routerbench.data.datasets import PAPER_MODELS

N_ROWS = 36_497


def make_wide_pickle(path: Path, n: int = N_ROWS, seed: int = 0) -> None:
    """Write a wide pickle with RouterBench's columns and realistic text sizes."""
    rng = np.random.default_rng(seed)
    words = np.array(
        [
            "the",
            "of",
            "a",
            "model",
            "answer",
            "question",
            "which",
            "is",
            "to",
            "and",
            "in",
            "that",
            "for",
            "on",
        ]
    )
    lengths = rng.integers(200, 600, n)  # words per prompt (5-shot prompts are long)
    vocab = words[rng.integers(0, len(words), int(lengths.sum()))]
    cuts = np.cumsum(lengths)[:-1]
    prompts = [repr([" ".join(chunk)]) for chunk in np.split(vocab, cuts)]
    tasks = np.array(
        [
            "mmlu-astronomy",
            "hellaswag",
            "grade-school-math",
            "arc-challenge",
            "winogrande",
            "mbpp",
            "mtbench",
        ]
    )
    data: dict[str, object] = {
        "sample_id": [f"sample.{i}" for i in range(n)],
        "prompt": prompts,
        "eval_name": tasks[rng.integers(0, len(tasks), n)],
    }
    for m in PAPER_MODELS:
        data[m] = pd.array(rng.integers(0, 2, n).astype(float), dtype=object)
    answers = [repr([" ".join(words[rng.integers(0, len(words), k)])]) for k in range(1, 80)]
    for m in PAPER_MODELS:
        data[f"{m}|model_response"] = [answers[k] for k in rng.integers(0, len(answers), n)]
    for m in PAPER_MODELS:
        data[f"{m}|total_cost"] = rng.uniform(1e-5, 1e-2, n)
    data["oracle_model_to_route_to"] = [PAPER_MODELS[0]] * n
    pd.DataFrame(data).to_pickle(path)


LOADER = textwrap.dedent(
    """
    import json, resource, sys, time
    t0 = time.perf_counter()
    import routerbench
    bench = routerbench.load(sys.argv[1])
    elapsed = time.perf_counter() - t0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": elapsed, "rss_mib": rss, "shape": list(bench.shape)}))
    """
)


def run(emit) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "routerbench_0shot.pkl"
        make_wide_pickle(path)
        size = path.stat().st_size / 2**20
        emit("data.wide_pickle_size", size, "MiB", "informational")
        out = subprocess.run(
            [sys.executable, "-c", LOADER, str(path)], capture_output=True, text=True, check=True
        )
        res = json.loads(out.stdout.strip().splitlines()[-1])
        assert res["shape"] == [N_ROWS, len(PAPER_MODELS)], res
        emit("data.load_wide_36497x11", res["seconds"], "s", "< 10 s", res["seconds"] < 10)
        emit("data.load_wide_peak_rss", res["rss_mib"], "MiB", "< 2048 MiB", res["rss_mib"] < 2048)
