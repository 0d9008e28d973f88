"""What a judge sees of each response: its answer, whether it refused, and agreement with others.

Computed once per benchmark from the stored responses (never from quality or
cost). A router may use model j's row of evidence for prompt i only once it
has called model j on prompt i; `ResponseEvidence` holds every model's row so
that a whole sweep is a handful of array operations, and the routers index it
only by the models they called.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from routerbench.data.benchmark import Benchmark
from routerbench.data.datasets import dataset_of
from routerbench.errors import DataError
from routerbench.routers.judges.arithmetic import arithmetic_features
from routerbench.routers.judges.code import (
    CodeEvidence,
    Runner,
    evidence_table,
    load_evidence_cache,
    sandbox_runner,
    save_evidence_cache,
)
from routerbench.routers.judges.extract import (
    DATASET_LETTERS,
    answer_keys,
    infer_kind,
    known_kind,
    offered_letters,
)
from routerbench.routers.judges.refusal import is_refusal


@dataclass(frozen=True)
class ResponseEvidence:
    """Per-response judge inputs of one benchmark, ``n`` prompts × ``m`` models.

    Attributes
    ----------
    kind
        ``[n]`` task kind of each prompt ("choice", "number", "code", "text").
    keys
        ``[n, m]`` normalised answers ("" = no answer could be read).
    valid
        ``[n, m]``: an answer was read (for code: the code ran).
    refusal
        ``[n, m]``: the response declines or is empty.
    log_length
        ``[n, m]``: log(1 + characters) of the response.
    agree
        ``[n, m, m]`` in [0, 1]: same answer key (choice, number, text) or
        share of example inputs on which two solutions return the same value
        (code); 0 where either has no answer. The diagonal is 1 where valid.
    hedge
        ``[n, m]`` float: hedging in the response (words of doubt, several
        letters offered), see `hedging`; None when not computed.
    prior
        ``[n, m]`` P̂(right) of each model from the *prompt alone* (a
        predictive router fitted on train), set by a router that uses one;
        None otherwise. It reads no response and no outcome.
    arith
        ``[n, m, 2]`` for worked numeric answers (kind "number"): the share of
        the response's ``a op b = c`` steps that are false, and log(1 + steps
        checked) (`judges.arithmetic`); 0 for other kinds. None when not computed.
    """

    kind: np.ndarray
    keys: np.ndarray
    valid: np.ndarray
    refusal: np.ndarray
    log_length: np.ndarray
    agree: np.ndarray
    hedge: np.ndarray | None = None
    prior: np.ndarray | None = None
    arith: np.ndarray | None = None

    def take(self, rows: np.ndarray) -> ResponseEvidence:
        """The evidence of the prompts `rows`."""
        return ResponseEvidence(
            *(None if v is None else v[rows] for v in (
                self.kind, self.keys, self.valid, self.refusal, self.log_length, self.agree,
                self.hedge, self.prior, self.arith,
            ))
        )  # fmt: skip

    @property
    def shape(self) -> tuple[int, int]:
        return self.keys.shape

    # Derived arrays the verifier's features read for every (window, target) it fits:
    # computed once per evidence (a chain search asks for them thousands of times).
    @cached_property
    def letter_choice(self) -> np.ndarray:
        """``[n, m, 4]`` bool: a multiple-choice prompt whose answer key is A, B, C or D."""
        choice = (self.kind == "choice")[:, None]
        return np.stack([choice & (self.keys == letter) for letter in "ABCD"], axis=2)

    @cached_property
    def prior_logit(self) -> np.ndarray | None:
        """``[n, m]`` log-odds of `prior` (clipped to [0.001, 0.999]); None without a prior."""
        if self.prior is None:
            return None
        p = np.clip(np.asarray(self.prior, dtype=float), 1e-3, 1 - 1e-3)
        return np.log(p / (1 - p))


#: Words of doubt in a response (each counts once).
HEDGE_PATTERN = (
    r"(?i)\b(?:however|but|although|might|may|perhaps|possibly|probably|likely|unclear|"
    r"not sure|uncertain|depends|either|both|ambiguous|could be|it seems|i think|i believe)\b"
)


def hedging(texts: np.ndarray, kind: np.ndarray) -> np.ndarray:
    """``[n, m]`` doubt of each response: log(1 + words of doubt) plus, for multiple choice,
    log(1 + option letters named beyond the first) (a response weighing several options)."""
    import pandas as pd

    arr = np.asarray(texts, dtype=object)
    s = pd.Series(arr.ravel()).fillna("").astype(str)
    words = s.str.count(HEDGE_PATTERN).to_numpy(float)
    letters = s.str.findall(r"\b([A-D])[).:]").map(lambda x: len(set(x))).to_numpy(float)
    choice = np.repeat(kind == "choice", arr.shape[1]) if arr.ndim == 2 else kind == "choice"
    out = np.log1p(words) + np.where(choice, np.log1p(np.maximum(letters - 1, 0)), 0.0)
    return out.reshape(arr.shape)


def _key_agreement(keys: np.ndarray) -> np.ndarray:
    valid = keys != ""
    same = keys[:, :, None] == keys[:, None, :]
    return (same & valid[:, :, None] & valid[:, None, :]).astype(float)


def _code_agreement(ev: list[CodeEvidence], m: int) -> tuple[np.ndarray, np.ndarray]:
    n = len(ev)
    agree = np.zeros((n, m, m))
    runs = np.zeros((n, m), dtype=bool)
    for i, e in enumerate(ev):  # per prompt: m(m-1)/2 short comparisons of hashes
        runs[i] = e.runs
        for j in range(m):
            for k in range(j + 1, m):
                a = e.pair_agreement(j, k)
                agree[i, j, k] = agree[i, k, j] = 0.0 if np.isnan(a) else a
        agree[i, np.arange(m), np.arange(m)] = e.runs
    return agree, runs


def task_kinds(
    bench: Benchmark, given: dict[str, str] | None = None, *, read_responses: bool = True
) -> dict[str, str]:
    """The task kind of each task of `bench`: `given`, else by name, else read from its rows.

    Keyed by task (``mmlu-astronomy``, RouterArena's ``MMLUPro_law``), so a dataset
    that merges many tasks (RouterArena's 78 groups as one) reads each the way
    its own answers are written. A router calls this once on train and keeps the
    result, so test prompts are read the way its judge was fitted. A task it did
    not see on train is read from its prompts alone (`read_responses=False`): the
    responses of models a cascade has not called are not its to read.
    """
    tasks = bench.prompts["task"].astype(str).to_numpy()
    datasets = bench.prompts["dataset"].astype(str).to_numpy()
    out: dict[str, str] = {}
    texts = None
    for task in np.unique(tasks):
        rows = tasks == task
        kind = (given or {}).get(task) or known_kind(task) or known_kind(datasets[rows][0])
        if kind is None:
            if read_responses and texts is None:
                texts = np.asarray(_responses(bench).load(), dtype=object)
            prompts = bench.prompts["prompt"].to_numpy()[rows]
            kind = infer_kind(prompts, texts[rows] if read_responses else None)
        out[str(task)] = kind
    return out


def _responses(bench: Benchmark):
    if bench.responses is None:
        raise DataError(
            "judges read the models' responses, but this benchmark stores none; load a "
            "file with <model>|model_response columns (or a 'response' column)",
            source=bench.source or "<benchmark>",
            column="response",
        )
    return bench.responses


def _letters(bench: Benchmark, rows: np.ndarray, dataset: str) -> np.ndarray:
    """Option letters of each prompt of `rows`: those it lists, else the dataset's default."""
    listed = offered_letters(bench.prompts["prompt"].to_numpy()[rows])
    default = DATASET_LETTERS.get(dataset_of(dataset), "ABCD")
    return np.where(listed == "", default, listed).astype(object)


def response_evidence(
    bench: Benchmark,
    *,
    code_runner: Runner | None = sandbox_runner,
    code_cache: dict[str, CodeEvidence] | None = None,
    workers: int = 2,
    kinds: dict[str, str] | None = None,
) -> ResponseEvidence:
    """Judge inputs of every stored response of `bench` (reads prompts and responses only).

    Parameters
    ----------
    code_runner
        How code is run for code prompts (default: the sandbox); None skips
        running, so code answers are compared as normalised text.
    code_cache
        Optional dict reused across calls (see `judges.code.load_evidence_cache`).
    kinds
        Task kind per task, as `task_kinds` returned on train (a fitted
        router's reading). Tasks it does not name are read from their prompts
        alone; without `kinds`, every task is read by `task_kinds` from its
        prompts and responses (a whole benchmark, as on train).
    """
    texts = np.asarray(_responses(bench).load(), dtype=object)
    n, m = texts.shape
    datasets = bench.prompts["dataset"].to_numpy()
    tasks = bench.prompts["task"].astype(str).to_numpy()
    kind_of_task = task_kinds(bench, kinds, read_responses=kinds is None)
    kind = np.array([kind_of_task[t] for t in tasks], dtype=object)
    keys = np.empty((n, m), dtype=object)
    arith = np.zeros((n, m, 2))
    for ds in np.unique(datasets):  # one vectorised extraction per dataset and kind
        for task_kind in np.unique(kind[datasets == ds]):
            rows = np.flatnonzero((datasets == ds) & (kind == task_kind))
            letters = _letters(bench, rows, ds) if task_kind == "choice" else "ABCD"
            keys[rows] = answer_keys(texts[rows], task_kind, letters)
            if task_kind == "number":
                arith[rows] = arithmetic_features(texts[rows])
    refusal = is_refusal(texts)
    lengths = np.vectorize(lambda t: len(t) if isinstance(t, str) else 0, otypes=[float])(texts)
    agree = _key_agreement(keys)
    valid = keys != ""
    code_rows = np.flatnonzero(kind == "code")
    if code_rows.size and code_runner is not None:
        ev = evidence_table(texts[code_rows], code_runner, workers=workers, cache=code_cache)
        agree[code_rows], valid[code_rows] = _code_agreement(ev, m)
    hedge = hedging(texts, kind)
    return ResponseEvidence(
        kind, keys, valid, refusal, np.log1p(lengths), agree, hedge, arith=arith
    )


def router_evidence(
    bench: Benchmark,
    *,
    run_code: bool,
    code_cache: str | os.PathLike[str] | None,
    kinds: dict[str, str] | None,
) -> ResponseEvidence:
    """`response_evidence` as a judged router reads it, with its sandbox cache on disk.

    `run_code` False compares code answers as text; `code_cache` names a JSON
    file of sandbox results (keyed by a hash of the response texts, so it
    cannot be read for other responses), read first and rewritten atomically
    only when this call ran something new; `kinds` is the fitted router's
    task kinds (None on train).
    """
    runner = sandbox_runner if run_code else None
    if runner is None or code_cache is None:
        return response_evidence(bench, code_runner=runner, kinds=kinds)
    path = Path(code_cache).expanduser()
    cache = load_evidence_cache(path)
    size = len(cache)
    ev = response_evidence(bench, code_runner=runner, code_cache=cache, kinds=kinds)
    if len(cache) > size:
        path.parent.mkdir(parents=True, exist_ok=True)
        save_evidence_cache(path, cache)
    return ev


class ReadsResponses:
    """Mixin of the routers that read stored responses (parameters ``run_code``, ``code_cache``).

    `_evidence` reads a benchmark's responses as the fitted router reads them:
    each task as the kind it had on train (``kinds_``, once fitted).
    """

    reads_responses = True
    run_code: bool
    code_cache: str | os.PathLike[str] | None

    def _evidence(self, bench: Benchmark) -> ResponseEvidence:
        """Judge inputs of `bench`, each dataset read as the kind it had on train."""
        return router_evidence(
            bench,
            run_code=self.run_code,
            code_cache=self.code_cache,
            kinds=getattr(self, "kinds_", None),
        )


EvidenceFn = Callable[[Benchmark], ResponseEvidence]
