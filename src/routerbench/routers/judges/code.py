"""Code judges: run a response's Python in the sandbox and compare behaviour across models.

RouterBench's MBPP prompts carry no test asserts (the one-line task only), so
the tests come from the responses themselves: the example calls the models
write (``assert f(3) == 12``, ``>>> f(8, 3)``, ``print(f([1, 2]))``). Each
model's solution is run on those inputs in `routerbench.collect.sandbox`, and
two solutions *agree* when they return the same values (self-consistency
across models, as in CodeT / mixture-of-thought cascades). Where a prompt does
include asserts (MBPP's original "Your code should pass these tests:"),
`prompt_tests` reads them and `visible_tests_pass` runs them.
"""

from __future__ import annotations

import ast
import hashlib
import json
import re
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from routerbench.routers.judges.extract import code_block

#: At most this many example inputs taken from each response (the sandbox reports one
#: short line, and a cap per response keeps a pair's inputs independent of other responses).
INPUTS_PER_RESPONSE = 4
#: Sandbox limit per solution run (wall clock and CPU), seconds. Generous on purpose: each
#: example input has its own CPU-time budget (`INPUT_CPU_S`), and a tight wall limit made
#: a slow-but-finite solution's evidence depend on how busy the machine was.
RUN_TIMEOUT_S = 20.0
#: CPU seconds (user + system, not wall clock) one example input may take before it counts
#: as an error: the same verdict on a busy machine as on an idle one.
INPUT_CPU_S = 1.0
#: Dollars per sandbox run: ~0.15 s of one vCPU at a cloud price of ~$0.04/h,
#: rounded up. The judge's price, counted as the cascade's extra cost.
SANDBOX_PRICE = 2e-6

_SIG_PREFIX = "SIG:"
#: Bumped whenever what a sandbox run reports changes, so cached evidence of an older
#: program is never read as current (it is part of every cache key).
EVIDENCE_VERSION = 3
#: Items of a returned iterator that are compared (a generator may never end).
ITERATOR_ITEMS = 10_000


@dataclass(frozen=True)
class Solution:
    """A response read as code: its source, entry point and the example inputs it shows."""

    code: str
    entry: str
    inputs: tuple[str, ...]  # each the repr of an argument tuple, e.g. "(3, [1, 2])"


def _top_level_defs(code: str) -> list[str]:
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return re.findall(r"^def (\w+)\s*\(", code, re.M)
    return [n.name for n in tree.body if isinstance(n, ast.FunctionDef)]


def _literal_args(call: ast.Call) -> str | None:
    if call.keywords:
        return None
    try:
        values = tuple(ast.literal_eval(a) for a in call.args)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return None
    text = repr(values)
    return text if len(text) <= 400 else None


def _example_calls(text: str, names: set[str]) -> list[tuple[str, str]]:
    """(function name, argument-tuple repr) of every literal call to `names` in the text."""
    found: list[tuple[str, str]] = []
    for line in text.replace("\r\n", "\n").splitlines():
        line = line.strip().lstrip(">").strip()
        if "(" not in line or line.startswith("def "):
            continue
        try:
            tree = ast.parse(line)
        except (SyntaxError, ValueError):
            continue
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in names
            ):
                args = _literal_args(node)
                if args is not None:
                    found.append((node.func.id, args))
    return found


def read_solution(text: str | None) -> Solution | None:
    """The solution in a response, or None if it holds no Python function."""
    code = code_block(text)
    if not code:
        return None
    defs = _top_level_defs(code)
    if not defs:
        return None
    calls = _example_calls(text or "", set(defs))
    called = [name for name, _ in calls]
    # the entry point is the function the examples call most (on a tie the first called:
    # a set's order would change with the process's hash seed), else the last one defined
    entry = max(dict.fromkeys(called), key=called.count) if called else defs[-1]
    inputs = tuple(dict.fromkeys(args for name, args in calls if name == entry))
    return Solution(code=code, entry=entry, inputs=inputs[:INPUTS_PER_RESPONSE])


def prompt_tests(prompt: str) -> str:
    """The ``assert`` lines a prompt shows (MBPP's visible tests), joined; "" when none."""
    lines = [ln.strip() for ln in (prompt or "").splitlines()]
    return "\n".join(ln for ln in lines if ln.startswith("assert "))


def _signature_program(entry: str, inputs: Sequence[str]) -> str:
    """Test code that calls `entry` on each input and reports a short hash of each result.

    A result is compared by what it holds: an iterator (a generator, `map`,
    `itertools.combinations`) by its items, and a memory address in a repr
    (``<object at 0x7f…>``) is blanked. Otherwise two copies of one generator
    function would disagree, and the same solution would change its hash from
    one run to the next. Each call gets `INPUT_CPU_S` of CPU time (a profiling
    timer, which a busy machine does not run down the way it does a wall-clock
    alarm) and a freshly seeded `random`, so a solution that draws random
    numbers returns the same values on every run.
    """
    return (
        "import hashlib as _h, itertools as _it, random as _rnd, re as _re, signal as _s\n"
        "def _alarm(*_a):\n    raise TimeoutError()\n"
        "def _canon(_v):\n"
        "    if hasattr(_v, '__next__') and not isinstance(_v, (str, bytes)):\n"
        f"        _v = list(_it.islice(_v, {ITERATOR_ITEMS}))\n"
        "    return _re.sub(r' at 0x[0-9a-fA-F]+', ' at 0x', repr(_v))\n"
        "_s.signal(_s.SIGPROF, _alarm)\n"
        "_out = []\n"
        f"for _args in [{', '.join(inputs)}]:\n"
        "    try:\n"
        "        _rnd.seed(0)\n"
        f"        _s.setitimer(_s.ITIMER_PROF, {INPUT_CPU_S!r})\n"
        f"        _r = _canon({entry}(*_args))\n"
        "        _s.setitimer(_s.ITIMER_PROF, 0)\n"
        "        _out.append(_h.sha1(_r.encode()).hexdigest()[:4])\n"
        "    except BaseException:\n"
        "        _s.setitimer(_s.ITIMER_PROF, 0)\n"
        "        _out.append('-')\n"
        f"raise AssertionError({_SIG_PREFIX!r} + ','.join(_out))\n"
    )


def _parse_signature(detail: str, n: int) -> tuple[str, ...] | None:
    marker = detail.find(_SIG_PREFIX)
    if marker < 0:
        return None
    values = tuple(detail[marker + len(_SIG_PREFIX) :].strip().split(","))
    return values if len(values) == n else None


Runner = Callable[[str, str], tuple[bool, str]]


def sandbox_runner(code: str, tests: str) -> tuple[bool, str]:
    """Run in `routerbench.collect.sandbox` (refuses without isolation): (passed, detail)."""
    from routerbench.collect.sandbox import run_tests

    result = run_tests(code, tests, timeout_s=RUN_TIMEOUT_S)
    if result.status == "refused":
        raise RuntimeError(f"the code sandbox refused to run: {result.detail}")
    return result.passed, result.detail


def behaviour(
    solution: Solution | None,
    inputs: Sequence[str],
    runner: Runner = sandbox_runner,
) -> tuple[str, ...] | None:
    """Hashes of `solution`'s results on `inputs` ("-" for an error), None if it does not run.

    The solution runs as written, its own top-level code included, so a
    response whose code fails on import gets None (it does not run at all).
    """
    if solution is None:
        return None
    if not inputs:
        passed, _ = runner(solution.code, "pass\n")
        return () if passed else None
    _, detail = runner(solution.code, _signature_program(solution.entry, inputs))
    return _parse_signature(detail, len(inputs))


def agreement(a: tuple[str, ...] | None, b: tuple[str, ...] | None, mask: np.ndarray) -> float:
    """Share of the masked inputs on which two behaviours return the same value (NaN: none)."""
    if a is None or b is None or not mask.any():
        return float("nan")
    av, bv = np.asarray(a, dtype=object)[mask], np.asarray(b, dtype=object)[mask]
    return float(np.mean((av == bv) & (av != "-")))


@dataclass(frozen=True)
class CodeEvidence:
    """What running the responses of one prompt's models showed.

    Attributes
    ----------
    runs
        ``[m]`` bool: the model's code ran (defined its function without error).
    shown_by
        ``[k, m]`` bool: which models' responses show each of the ``k`` shared
        example inputs (an input several responses show is shown by each).
    behaviours
        Per model, the result hashes on all ``k`` inputs (None: no runnable code).
    """

    runs: np.ndarray
    shown_by: np.ndarray
    behaviours: tuple[tuple[str, ...] | None, ...]

    def pair_agreement(self, j: int, k: int) -> float:
        """Agreement of models j and k on the inputs *their own* responses show.

        Only inputs that j's or k's response shows count, and a solution's
        result on an input depends on nothing but its own code, so the value
        is a function of the two responses alone: what a cascade that has
        called (and paid for) j and k would compute by running just those two.
        The table holds every pair so that a sweep is array operations; a
        router reads only the pairs it called.
        """
        if self.shown_by.size == 0:
            return agreement(self.behaviours[j], self.behaviours[k], np.zeros(0, dtype=bool))
        mask = self.shown_by[:, j] | self.shown_by[:, k]
        return agreement(self.behaviours[j], self.behaviours[k], mask)


def _cache_key(texts: Sequence[str | None]) -> str:
    payload = [EVIDENCE_VERSION, [t or "" for t in texts]]
    return hashlib.sha1(json.dumps(payload).encode()).hexdigest()


def _harvest(texts: Sequence[str | None]) -> tuple[list, list[str], np.ndarray]:
    """Solutions, the union of their example inputs (first-seen order) and who shows each."""
    sols = [read_solution(t) for t in texts]
    pooled: dict[str, set[int]] = {}
    for j, sol in enumerate(sols):
        for args in sol.inputs if sol else ():
            pooled.setdefault(args, set()).add(j)
    inputs = list(pooled)
    shown_by = np.zeros((len(inputs), len(sols)), dtype=bool)
    for row, args in enumerate(inputs):
        shown_by[row, sorted(pooled[args])] = True
    return sols, inputs, shown_by


def _with_shown_by(ev: CodeEvidence, texts: Sequence[str | None]) -> CodeEvidence | None:
    """A cached entry with `shown_by` read again from the texts (None: it does not fit them)."""
    _, inputs, shown_by = _harvest(texts)
    if any(b is not None and len(b) != len(inputs) for b in ev.behaviours):
        return None
    return CodeEvidence(ev.runs, shown_by, ev.behaviours)


def prompt_evidence(texts: Sequence[str | None], runner: Runner = sandbox_runner) -> CodeEvidence:
    """Run every response of one prompt on the union of their example inputs."""
    sols, inputs, shown_by = _harvest(texts)
    behaviours = tuple(behaviour(sol, inputs, runner) for sol in sols)
    runs = np.array([b is not None for b in behaviours], dtype=bool)
    return CodeEvidence(runs, shown_by, behaviours)


def evidence_table(
    responses: np.ndarray,
    runner: Runner = sandbox_runner,
    *,
    workers: int = 2,
    cache: dict[str, CodeEvidence] | None = None,
) -> list[CodeEvidence]:
    """`prompt_evidence` of each row of an ``[n, m]`` response matrix, `workers` at a time."""
    rows = [list(r) for r in np.asarray(responses, dtype=object)]
    keys = [_cache_key(r) for r in rows]
    hits: dict[int, CodeEvidence] = {}
    for i, k in enumerate(keys):  # cached: the sandbox results; who shows an input: re-read
        hit = cache.get(k) if cache is not None else None
        fresh = _with_shown_by(hit, rows[i]) if hit is not None else None
        if fresh is not None:
            hits[i] = fresh
    todo = [i for i in range(len(rows)) if i not in hits]
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        done = dict(zip(todo, pool.map(lambda i: prompt_evidence(rows[i], runner), todo)))
    out = [done[i] if i in done else hits[i] for i in range(len(rows))]
    if cache is not None:
        cache.update({keys[i]: done[i] for i in todo})
    return out


# --------------------------------------------------------------------------- on-disk cache
def _evidence_to_json(ev: CodeEvidence) -> dict:
    # who shows each input is re-read from the texts on every use (`_with_shown_by`)
    return {
        "runs": ev.runs.tolist(),
        "behaviours": [None if b is None else list(b) for b in ev.behaviours],
    }


def _evidence_from_json(obj: dict) -> CodeEvidence:
    return CodeEvidence(
        np.asarray(obj["runs"], dtype=bool),
        np.zeros((0, len(obj["runs"])), dtype=bool),
        tuple(None if b is None else tuple(b) for b in obj["behaviours"]),
    )


def load_evidence_cache(path) -> dict[str, CodeEvidence]:
    """Evidence cached by `save_evidence_cache` (empty if the file does not exist).

    Running every response of a prompt takes seconds; the cache is keyed by a
    hash of the response texts, so it can never be read for other responses.
    """
    from pathlib import Path

    path = Path(path)
    if not path.exists():
        return {}
    data = json.loads(path.read_text(encoding="utf-8"))
    return {k: _evidence_from_json(v) for k, v in data.items()}


def save_evidence_cache(path, cache: dict[str, CodeEvidence]) -> None:
    """Write the cache atomically (temp file, then rename)."""
    from routerbench.io import write_text_atomic

    payload = {k: _evidence_to_json(v) for k, v in cache.items()}
    write_text_atomic(path, json.dumps(payload))
