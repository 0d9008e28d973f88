"""Predictive routers: per-prompt estimates (P̂, ĉ) from a prompts table, routed by willingness
to pay; sweeping λ reuses one P̂ and ĉ per test benchmark and walks the exact path.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from routerbench.data.benchmark import Benchmark
from routerbench.decision import Decision
from routerbench.errors import ConfigError, DataError
from routerbench.routers.base import Router
from routerbench.routers.params import Constraint, Interval, Options, RouterTags, SequenceOf
from routerbench.routers.ranking import (
    PromptColumns,
    Ranking,
    prompt_columns,
    ranking_of,
)
from routerbench.routers.wtp import PAPER_LAMBDAS, WtpPath, wtp_choice, wtp_path, wtp_rank

LAMBDA_MODES: tuple[str, ...] = ("exact", "paper")


def check_lambdas(lambdas: Any) -> str | tuple[float, ...]:
    """``"exact"``, ``"paper"`` or a sequence of λ ≥ 0, else a ConfigError."""
    if isinstance(lambdas, str):
        if lambdas not in LAMBDA_MODES:
            raise ConfigError(f"lambdas must be one of {LAMBDA_MODES} or a list, got {lambdas!r}")
        return lambdas
    try:
        values = tuple(float(v) for v in lambdas)
    except (TypeError, ValueError):
        raise ConfigError(f"lambdas must be 'exact', 'paper' or numbers, got {lambdas!r}") from None
    if not values or any(not np.isfinite(v) or v < 0 for v in values):
        raise ConfigError(f"lambdas must be a non-empty list of finite values >= 0, got {values}")
    return values


def require_trainable(train: Benchmark, who: str) -> None:
    """Refuse a training set a predictive router cannot learn from, naming why."""
    if train.n_prompts < 2:
        raise DataError(f"{who} needs at least 2 training prompts, got {train.n_prompts}")
    measured = ~np.isnan(train.quality)
    if not measured.any(axis=0).all():
        j = int(np.flatnonzero(~measured.any(axis=0))[0])
        raise DataError(
            f"{who}: model has no measured training quality",
            source=train.source or "<train>",
            column=train.models[j],
        )


#: Constraints of the λ policy, shared by every predictive router.
LAMBDA_CONSTRAINTS: dict[str, list[Constraint]] = {
    "lambdas": [
        Options(LAMBDA_MODES),
        SequenceOf(Interval("real", 0.0)),
    ],
    "max_settings": [Interval("int", 2)],
}


class PredictiveRouter(Router):
    """Routes by willingness to pay from per-prompt estimates (P̂, ĉ); subclasses supply them.

    Subclasses implement `_compute_prompts(prompts) -> (P̂, ĉ)`, reading only a
    prompts table (text, task, dataset), and set ``lambdas`` and ``max_settings``
    parameters. This class memoises the estimates per test benchmark and provides
    `rank_prompts`, `route`, `rank`, `path`, `settings` and `sweep`: a benchmark
    and a server's prompts reach the estimates through the same one method.
    """

    name = "wtp"
    parameter_constraints = LAMBDA_CONSTRAINTS

    def __router_tags__(self) -> RouterTags:
        return RouterTags(predictive=True, sweep_knob="willingness_to_pay")

    def predict_quality(self, test: Benchmark) -> np.ndarray:
        """P̂ ``[n_prompts, n_models]``: estimated quality (probability of a correct answer)."""
        return self._estimates(test)[0].copy()

    def predict_cost(self, test: Benchmark) -> np.ndarray:
        """ĉ ``[n_prompts, n_models]``: estimated dollars per call."""
        return self._estimates(test)[1].copy()

    def _compute_prompts(self, prompts: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    def _reads_prompt_columns(self) -> bool:
        """True if `_compute_prompts` accepts `PromptColumns` as well as a DataFrame.

        Then `rank_prompts` skips building a pandas frame (most of the fixed cost
        of ranking one prompt); the values read are the same either way.
        """
        return False

    def _estimate_prompts(
        self, prompts: pd.DataFrame | PromptColumns
    ) -> tuple[np.ndarray, np.ndarray]:
        """(P̂, ĉ) of a prompts table, checked for shape and finiteness, read-only."""
        self._check_fitted()
        p, c = (np.array(a, dtype=float) for a in self._compute_prompts(prompts))
        shape = (len(prompts), len(self.models_))
        if p.shape != shape or c.shape != shape:
            raise ValueError(
                f"{type(self).__name__} estimated P̂ {p.shape} and ĉ {c.shape}, expected {shape}"
            )
        p.setflags(write=False)
        c.setflags(write=False)
        return p, c

    def _estimates(self, test: Benchmark) -> tuple[np.ndarray, np.ndarray]:
        """(P̂, ĉ) of a test benchmark's prompts, computed once per benchmark object."""
        self._check_fitted()
        self._check_models(test)
        memo = getattr(self, "_memo", None)
        if memo is not None and memo[0] is test:
            return memo[1], memo[2]
        p, c = self._estimate_benchmark(test)
        self._memo = (test, p, c)
        return p, c

    def _estimate_benchmark(self, test: Benchmark) -> tuple[np.ndarray, np.ndarray]:
        """(P̂, ĉ) of a test benchmark, read-only: from its prompts table alone.

        The one place a benchmark's estimates are computed; a system that reads
        more of the benchmark than its prompts (the all-responses reference
        reads the stored responses) overrides it and is then not predictive.
        """
        return self._estimate_prompts(test.prompts)

    def __getstate__(self) -> dict[str, Any]:
        # The memo holds a test Benchmark: never part of a pickled or saved router.
        state = dict(self.__dict__)
        state.pop("_memo", None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._memo = None

    def rank_prompts(
        self,
        texts: Sequence[str],
        willingness_to_pay: float,
        *,
        tasks: Sequence[str] | None = None,
        datasets: Sequence[str] | None = None,
    ) -> Ranking:
        """Per prompt, the models best first by λ·P̂ − ĉ, from prompt text (and metadata) alone.

        Parameters
        ----------
        texts
            The prompts, as sent to a model.
        willingness_to_pay
            λ ≥ 0, dollars per unit of quality.
        tasks, datasets
            Optional metadata per prompt (``mmlu-astronomy`` / ``mmlu``); parts
            that use it treat a missing value as a dataset unseen in training.

        Returns
        -------
        Ranking
            Order, P̂ and ĉ; ``choice`` is what `route` picks on a benchmark of
            the same prompts at this λ.
        """
        columns = prompt_columns(texts, tasks=tasks, datasets=datasets)
        p, c = self._estimate_prompts(columns if self._reads_prompt_columns() else columns.frame())
        return ranking_of(self.models_, p, c, willingness_to_pay)

    def rank(self, test: Benchmark, willingness_to_pay: float) -> np.ndarray:
        """Models best first by λ·P̂ − ĉ (ties: cheaper ĉ, then lower index)."""
        p, c = self._estimates(test)
        return wtp_rank(p, c, willingness_to_pay)

    def ranking(self, test: Benchmark, willingness_to_pay: float) -> Ranking:
        """The `Ranking` of a test benchmark's prompts (what `rank_prompts` gives on them)."""
        p, c = self._estimates(test)
        return ranking_of(self.models_, p, c, willingness_to_pay)

    # ----------------------------------------------------------------- routing
    def route(self, test: Benchmark, willingness_to_pay: float | None = None) -> Decision:
        """Route by the ranking's first model; ``None`` means quality only (the λ → ∞ limit)."""
        if willingness_to_pay is None:
            p, c = self._estimates(test)
            tied = p == p.max(axis=1, keepdims=True)
            choice = np.argmin(np.where(tied, c, np.inf), axis=1)
        else:
            choice = self.ranking(test, willingness_to_pay).choice.copy()
        return Decision(choice, label=self.label, params={"willingness_to_pay": willingness_to_pay})

    def path(self, test: Benchmark, *, outcomes: bool = True) -> WtpPath:
        """The exact λ path on `test`; with `outcomes`, each region's realised point too."""
        p, c = self._estimates(test)
        if outcomes:
            return wtp_path(p, c, test.quality, test.cost)
        return wtp_path(p, c)

    def _plan(self, test: Benchmark) -> tuple[WtpPath | None, np.ndarray, np.ndarray]:
        """(path or None, regions, λ per setting) for `settings` and `sweep`."""
        mode = check_lambdas(self.lambdas)
        if mode == "exact":
            path = self.path(test, outcomes=False)
            regions = path.thin(int(self.max_settings))
            return path, regions, path.representatives()[regions]
        values = PAPER_LAMBDAS if mode == "paper" else mode
        lams = np.asarray(values, dtype=float)
        return None, np.arange(lams.size), lams

    def settings(self, test: Benchmark | None = None) -> Sequence[Mapping[str, Any]]:
        """One ``{"willingness_to_pay": λ}`` per setting (exact mode needs `test`)."""
        mode = check_lambdas(self.lambdas)
        if mode == "exact" and test is None:
            raise ValueError("exact willingness-to-pay settings depend on the test prompts")
        if test is None:
            values = PAPER_LAMBDAS if mode == "paper" else mode
            return [{"willingness_to_pay": float(v)} for v in values]
        _, _, lams = self._plan(test)
        return [{"willingness_to_pay": float(v)} for v in lams]

    def sweep(self, test: Benchmark) -> Iterator[Decision]:
        """One Decision per setting, from one P̂ and ĉ (exact mode replays the path)."""
        path, regions, lams = self._plan(test)
        if path is None:
            p, c = self._estimates(test)
            for lam in lams:
                yield Decision(
                    wtp_choice(p, c, lam),
                    label=self.label,
                    params={"willingness_to_pay": float(lam)},
                )
            return
        for (_, choice), lam in zip(path.choices(regions), lams):
            yield Decision(choice, label=self.label, params={"willingness_to_pay": float(lam)})


#: The name this class had before predictive routers were composed from parts.
WtpRouter = PredictiveRouter
