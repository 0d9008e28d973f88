"""A judged cascade whose configuration is chosen by cross-validation on train alone.

Which judged cascade works best differs by dataset (on the shared RouterBench
rows: the confidence stop on ARC, the value-of-escalation stop on MBPP). Picking
the winner by looking at test results would be a fooled evaluation; this router
picks it by K-fold cross-validation on the training prompts — each candidate
fitted on K−1 folds and scored on the held-out fold by the same symmetric,
cross-fitted gain over the fold's Zero router that the verdict uses — then
refits the chosen one on all of train. Test quality is never read.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, ClassVar

import numpy as np

from routerbench.data.benchmark import Benchmark
from routerbench.decision import Decision
from routerbench.errors import ConfigError, DataError
from routerbench.routers.base import Router
from routerbench.routers.params import (
    Constraint,
    Constraints,
    Interval,
    OneOf,
    Options,
    RouterTags,
    validate_params,
)

#: Candidates tried by default: parameter overrides of `JudgedCascadeRouter`, or with
#: ``"router": "hybrid"`` of `HybridRouter` (here: the first model picked with a per-prompt
#: cost estimate, which wins where bills follow prompt length, e.g. RouteLLM's MMLU).
DEFAULT_CANDIDATES: tuple[dict[str, Any], ...] = (
    {},
    {"stop": "gain"},
    {"rich": True, "prompt_prior": "logreg"},
    {"judge": "agreement", "chain": "hull"},
    {"router": "hybrid", "predictor": {"name": "logreg", "params": {"cost": "regress"}}},
)

#: Fewest held-out prompts per inner fold for the CV to choose; below, the first candidate.
MIN_FOLD_PROMPTS = 4

#: The routers a candidate may name with its ``"router"`` key.
CANDIDATE_ROUTERS: tuple[str, ...] = ("judged-cascade", "hybrid")


class _Candidates(Constraint):
    """A non-empty list of candidate mappings, each building a valid judged router."""

    def accepts(self, value: Any) -> bool:
        return self.reason(value) is None

    def reason(self, value: Any) -> str | None:
        if not isinstance(value, list | tuple) or not value:
            return "not a non-empty list"
        for i, cand in enumerate(value):
            if not isinstance(cand, Mapping):
                return f"candidate {i} is not a mapping"
            try:
                validate_params(_build(cand, None, True))
            except ConfigError as exc:
                return f"candidate {i}: {exc.args[0]}"
        return None

    def describe(self) -> str:
        return "a non-empty list of parameter mappings of judged routers"


def _build(overrides: Mapping[str, Any], code_cache: str | None, run_code: bool) -> Router:
    """The router a candidate describes (`CANDIDATE_ROUTERS`), unfitted."""
    from routerbench.routers.registry import get_router

    params = {"code_cache": code_cache, "run_code": run_code, **dict(overrides)}
    name = params.pop("router", "judged-cascade")
    if name not in CANDIDATE_ROUTERS:
        raise ConfigError(f"a candidate's router must be one of {CANDIDATE_ROUTERS}, got {name!r}")
    try:
        return get_router(name, **params)
    except ConfigError as exc:
        raise ConfigError(f"judged-cv candidate {dict(overrides)!r}: {exc}") from None


class JudgedCVRouter(Router):
    """`JudgedCascadeRouter` with its configuration chosen by K-fold CV on train.

    Parameters
    ----------
    candidates
        One dict per candidate: parameter overrides of `JudgedCascadeRouter`, or,
        with ``"router": "hybrid"``, of `HybridRouter` (`CANDIDATE_ROUTERS`).
    folds
        K of the inner cross-validation (prompts drawn at random, seed `seed`).
        A train set of fewer than ``MIN_FOLD_PROMPTS * folds`` prompts (12 by
        default; most of RouterArena's task groups, left unmerged) is too small
        to choose on: the first candidate (the default cascade) is fitted,
        `cross_validated_` is False and `cv_gains_` are NaN, so the experiment
        still runs and says it did not choose.
    reps
        Random halvings of each held-out fold in its cross-fitted gain.
    seed
        Seed of the fold assignment and the halvings.
    code_cache, run_code
        Passed to every candidate (see `JudgedCascadeRouter`).
    """

    name = "judged-cv"
    parameter_constraints: ClassVar[Constraints] = {
        "candidates": [_Candidates()],
        "folds": [Interval("int", 2)],
        "reps": [Interval("int", 1)],
        "seed": [Interval("int")],
        "code_cache": [Options((None,)), OneOf((str, os.PathLike), "a file path")],
        "run_code": [Options((True, False))],
    }
    reads_responses = True

    def __init__(
        self,
        candidates: Sequence[Mapping[str, Any]] = DEFAULT_CANDIDATES,
        folds: int = 3,
        reps: int = 5,
        seed: int = 0,
        code_cache: str | None = None,
        run_code: bool = True,
    ) -> None:
        self.candidates = candidates
        self.folds = folds
        self.reps = reps
        self.seed = seed
        self.code_cache = code_cache
        self.run_code = run_code

    def __router_tags__(self) -> RouterTags:
        """Reads test prompts and the responses of the models it calls, never test outcomes."""
        return RouterTags(reads_test_outcomes=False, sweep_knob="threshold")

    def _make(self, overrides: Mapping[str, Any]):
        return _build(overrides, self.code_cache, self.run_code)

    def _fold_gain(
        self, overrides, train: Benchmark, fold: np.ndarray, k: int, memo: dict | None = None
    ) -> float:
        from routerbench.frontier import crossfit_delta, zero_router

        fit_rows, held_rows = np.flatnonzero(fold != k), np.flatnonzero(fold == k)
        part, held = train.subset(fit_rows), train.subset(held_rows)
        router = self._make(overrides)
        router._search_memo = memo  # candidates of one fold share what their searches fit
        try:
            router.fit(part)
        finally:
            router._search_memo = None
        pairs = [d.realised(held) for d in router.sweep(held)]
        q = np.stack([a for a, _ in pairs])
        c = np.stack([b for _, b in pairs])
        window = zero_router(held.cost.sum(axis=0), held.quality.mean(axis=0)).window
        res = crossfit_delta(
            (q, c), (held.quality.T, held.cost.T), window,
            reps=int(self.reps), n_boot=0, seed=int(self.seed) + k,
        )  # fmt: skip
        return float(res.estimate)

    def fit(self, train: Benchmark) -> JudgedCVRouter:
        """Score every candidate by inner CV on train, then refit the best on all of train."""
        from routerbench.routers.judged_cascade import one_blas_thread

        with one_blas_thread():
            return self._fit(train)

    def _fit(self, train: Benchmark) -> JudgedCVRouter:
        self._validate_params()  # a bad candidate or fold count fails here, before any fit
        cands = [dict(c) for c in self.candidates]
        k = int(self.folds)
        if train.n_prompts < 2:
            raise DataError(f"judged-cv needs >= 2 training prompts, got {train.n_prompts}")
        self.cross_validated_ = train.n_prompts >= MIN_FOLD_PROMPTS * k
        if not self.cross_validated_:
            # folds of a prompt or three would choose by noise: keep the first candidate
            self.cv_gains_ = [float("nan")] * len(cands)
            self.chosen_index_ = 0
        else:
            fold = np.random.default_rng(self.seed).permutation(train.n_prompts) % k
            gains: list[list[float]] = [[] for _ in cands]
            for f in range(k):  # fold by fold: what the candidates share is freed after each
                memo: dict = {}
                for i, c in enumerate(cands):
                    gains[i].append(self._fold_gain(c, train, fold, f, memo))
            self.cv_gains_ = [float(np.mean(g)) for g in gains]
            self.chosen_index_ = int(np.argmax(self.cv_gains_))  # ties: the earlier candidate
        self.chosen_ = self._make(cands[self.chosen_index_]).fit(train)
        self.models_ = tuple(train.models)
        return self

    def settings(self, test: Benchmark | None = None) -> list[Mapping[str, Any]]:
        self._check_fitted()
        return self.chosen_.settings(test)

    def _label(self, d: Decision) -> Decision:
        return Decision(
            d.choice, d.called, label=self.name, params=d.params, extra_cost=d.extra_cost
        )

    def route(self, test: Benchmark, **setting: Any) -> Decision:
        """Route with the chosen cascade (its settings: start stage and threshold τ)."""
        self._check_fitted()
        self._check_models(test)
        return self._label(self.chosen_.route(test, **setting))

    def sweep(self, test: Benchmark) -> Iterator[Decision]:
        self._check_fitted()
        self._check_models(test)
        for d in self.chosen_.sweep(test):
            yield self._label(d)
