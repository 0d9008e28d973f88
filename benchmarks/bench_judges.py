"""Speed of the judges' reading of stored responses (what a judged cascade computes once).

RouterBench's GSM8K part is 7,450 prompts × 11 models of worked answers: reading
them (final number, agreement, the arithmetic self-check) must take well under a
minute, so the check reads 20,000 worked answers in under 5 s.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from _util import timed
from routerbench.routers.judges.arithmetic import arithmetic_checks
from routerbench.routers.judges.extract import final_numbers

N_RESPONSES = 20_000


def worked_answers(n: int = N_RESPONSES, seed: int = 0) -> np.ndarray:
    """GSM8K-like chains of thought: 3-6 steps of prose and arithmetic, ~10% with a false step."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        steps, total = [], int(rng.integers(2, 60))
        for _ in range(int(rng.integers(3, 7))):
            x = int(rng.integers(2, 40))
            op = "+-*"[int(rng.integers(0, 3))]
            value = {"+": total + x, "-": total - x, "*": total * x}[op]
            shown = value + (int(rng.integers(1, 9)) if rng.random() < 0.03 else 0)
            steps.append(f"Then she has {total} {op} {x} = {shown} apples left for the market.")
            total = shown
        out.append(f"Question {i}, worked through.\n" + "\n".join(steps) + f"\n#### {total}")
    return np.array(out, dtype=object)


def run(emit: Callable[..., None]) -> None:
    texts = worked_answers()
    (checked, _), seconds = timed(lambda: arithmetic_checks(texts), repeat=2)
    assert checked.sum() > 3 * len(texts)
    emit(
        "judges.arithmetic_check_20k_responses",
        seconds,
        "s",
        "< 5 s",
        seconds < 5,
    )
    _, seconds = timed(lambda: final_numbers(texts), repeat=2)
    emit("judges.final_number_20k_responses", seconds, "s", "< 2 s", seconds < 2)
