"""A reference, not a router: the judged cascades' verifier reading every model's response free.

A judged cascade may read only the responses of the models it has called and
paid for. How much could the stored responses tell it at best? This reference
answers with the same learned verifier (`judges.verifier.WindowVerifier`),
fitted on train with a window of *every* model, so that for each test prompt
P̂(model j is right) is read from all responses at once, none paid for; it then
routes by willingness to pay (λ·P̂ − ĉ, ĉ the model's mean train cost in the
prompt's dataset) and pays only for the model it picks. Every cascade built on
that verifier reads a subset of those responses and pays at least as much for
its answer, so what the reference cannot reach out of sample, they cannot be
expected to reach either (for this family of verifiers; it is an estimate, not a
proof). It is tagged ``reads_uncalled_responses``: its verdict is the reference
one and it is never counted as a router that beats Zero.
"""

from __future__ import annotations

import os
from typing import Any, ClassVar

import numpy as np

from routerbench.data.benchmark import Benchmark
from routerbench.routers.base import Router
from routerbench.routers.costs import dataset_rows, group_means
from routerbench.routers.judges.evidence import ReadsResponses, task_kinds
from routerbench.routers.judges.verifier import WindowVerifier
from routerbench.routers.params import Constraints, Interval, OneOf, Options, RouterTags
from routerbench.routers.predictive import LAMBDA_CONSTRAINTS, PredictiveRouter, require_trainable


class AllResponsesReference(ReadsResponses, PredictiveRouter):
    """P̂ from every model's response (read free), routed by willingness to pay: a reference.

    Parameters
    ----------
    c
        Inverse L2 strength of the verifier's logistic regressions (as
        `judged-cascade`'s ``c``).
    rich
        The verifier's rich features (hedging, the option letter each model chose).
    run_code, code_cache
        As `judged-cascade`: run code answers in the sandbox (behavioural
        agreement), with results cached in a JSON file.
    per_dataset
        One verifier and cost table per train dataset (prompts of a dataset
        train never saw use the pooled one); False pools all of train.
    lambdas, max_settings
        The willingness-to-pay settings, as every predictive router's.
    """

    name = "all-responses"

    parameter_constraints: ClassVar[Constraints] = {
        **LAMBDA_CONSTRAINTS,
        "c": [Interval("real", 0, closed="neither")],
        "rich": [Options((True, False))],
        "run_code": [Options((True, False))],
        "code_cache": [Options((None,)), OneOf((str, os.PathLike), "a file path")],
        "per_dataset": [Options((True, False))],
    }

    def __init__(
        self,
        *,
        c: float = 1.0,
        rich: bool = False,
        run_code: bool = True,
        code_cache: str | None = None,
        per_dataset: bool = True,
        lambdas: Any = "exact",
        max_settings: int = 100,
    ) -> None:
        self.c = c
        self.rich = rich
        self.run_code = run_code
        self.code_cache = code_cache
        self.per_dataset = per_dataset
        self.lambdas = lambdas
        self.max_settings = max_settings

    @property
    def label(self) -> str:
        return "reference: verifier reading every model's response free"

    def __router_tags__(self) -> RouterTags:
        """Not predictive (it needs the responses), and it reads responses it never paid for."""
        return RouterTags(reads_uncalled_responses=True, sweep_knob="willingness_to_pay")

    def fit(self, train: Benchmark) -> AllResponsesReference:
        """One verifier over every model's response, per train dataset and pooled."""
        from routerbench.routers.judged_cascade import one_blas_thread

        self._validate_params()
        require_trainable(train, "AllResponsesReference")
        self.models_ = tuple(train.models)
        self.kinds_ = task_kinds(train)
        ev = self._evidence(train)
        labels = train.prompts["dataset"].to_numpy()
        self.datasets_ = tuple(train.datasets) if self.per_dataset else ()
        self.cost_table_ = group_means(train.cost, labels, self.datasets_)
        window = tuple(range(train.n_models))
        groups = [np.flatnonzero(labels == d) for d in self.datasets_]
        groups.append(np.arange(train.n_prompts))  # pooled, for datasets train never saw
        self.verifiers_: list[WindowVerifier] = []
        with one_blas_thread():
            for rows in groups:
                if len(rows) == train.n_prompts and self.verifiers_:
                    self.verifiers_.append(self.verifiers_[0])  # one dataset: the same fit
                    continue
                verifier = WindowVerifier(c=self.c, rich=self.rich)
                self.verifiers_.append(verifier.fit(ev.take(rows), train.quality[rows], [window]))
        self._memo = None
        return self

    def _estimate_benchmark(self, test: Benchmark) -> tuple[np.ndarray, np.ndarray]:
        """(P̂, ĉ) of a test benchmark from all its stored responses, read-only."""
        ev = self._evidence(test)
        unit = dataset_rows(self.datasets_, test.prompts["dataset"].to_numpy())
        window = tuple(range(len(self.models_)))
        p = np.empty(test.shape)
        for k in np.unique(unit):
            rows = np.flatnonzero(unit == k)
            p[rows] = self.verifiers_[k].predict(ev, rows, window)
        c = self.cost_table_[unit]
        for a in (p, c):
            a.setflags(write=False)
        return p, c

    #: Refused (`Router.rank_prompts`): P̂ is read from the models' responses, which a prompt
    #: alone does not carry, so there is nothing to rank from text.
    rank_prompts = Router.rank_prompts
