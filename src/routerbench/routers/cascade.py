"""The RouterBench cascade: call models cheapest first until a (noisy) judge accepts an answer.

A non-predictive router simulated from the table: the judge's verdict is the truth
(quality ≥ t) flipped at a seeded error rate, the budget is checked on train costs.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from routerbench.data.benchmark import Benchmark
from routerbench.decision import NO_ANSWER, Decision
from routerbench.errors import ConfigError, DataError
from routerbench.routers.base import Router
from routerbench.routers.costs import dataset_rows, group_means
from routerbench.routers.params import RouterTags

#: The paper's per-prompt budgets T in dollars (withmartian/routerbench,
#: configs/evaluate_routers.yaml, ``max_cost_per_response_list``).
PAPER_BUDGETS: tuple[float, ...] = (
    0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 50.0, 100.0,
)  # fmt: skip

#: The paper's judge error rates ε (same file, ``error_rates``).
PAPER_ERROR_RATES: tuple[float, ...] = (0.0, 0.01, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8)

#: Quantile levels of train quality tried as judge thresholds when quality is not 0/1.
THRESHOLD_LEVELS: tuple[float, ...] = tuple(np.linspace(0.05, 1.0, 20))


# --------------------------------------------------------------------------- shared helpers
def require_measured(bench: Benchmark, who: str) -> None:
    """Raise `DataError` if any quality or cost cell is NaN.

    Simulated routers read every cell (a cascade may call any model), so an
    unmeasured cell has no safe default; the caller must pick a missing policy.
    """
    miss = bench.missing
    if miss.any():
        i, j = np.argwhere(miss)[0]
        raise DataError(
            f"{who} needs every cell measured but {int(miss.sum())} are NaN; apply "
            "bench.handle_missing('drop-prompts' | 'zero') first",
            source=bench.source or "<benchmark>",
            column=bench.models[j],
            row=repr(bench.prompts["sample_id"].iloc[i]),
        )


@dataclass(frozen=True)
class ExpectedCost:
    """Train mean cost per prompt of each model, per dataset and overall.

    A router may not read a test prompt's realised cost before calling the
    model, so the order of a cascade and its budget check use these means.

    Parameters
    ----------
    datasets
        Datasets seen in train, one row of `table` each.
    table
        ``[len(datasets) + 1, n_models]`` mean dollars per call; the last row is
        the mean over all of train, used for test datasets train never saw.
    """

    datasets: tuple[str, ...]
    table: np.ndarray

    @classmethod
    def fit(cls, train: Benchmark, *, per_dataset: bool = True) -> ExpectedCost:
        """Means over `train`; `per_dataset=False` keeps only the overall row."""
        names = tuple(train.datasets) if per_dataset else ()
        return cls(names, group_means(train.cost, train.prompts["dataset"].to_numpy(), names))

    def rows_of(self, bench: Benchmark) -> np.ndarray:
        """Row of `table` for each prompt of `bench` (overall row for unseen datasets)."""
        return dataset_rows(self.datasets, bench.prompts["dataset"].to_numpy())


def check_rate(value: float, name: str) -> float:
    value = float(value)
    if not 0.0 <= value <= 1.0:
        raise ConfigError(f"{name} must be a probability in [0, 1], got {value}")
    return value


# --------------------------------------------------------------------------- the core
def cascade_decide(
    stage_model: np.ndarray,
    stage_cum_cost: np.ndarray,
    stage_good: np.ndarray,
    stage_uniform: np.ndarray,
    budget: float,
    false_accept: float,
    false_reject: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Run the cascade for every prompt at once, stage by stage in array form.

    Parameters
    ----------
    stage_model
        ``[n, m]`` int: the model called at stage k for prompt i (cheapest first).
    stage_cum_cost
        ``[n, m]``: expected dollars spent once stage k has been called and judged,
        non-decreasing along each row, so "affordable" is a prefix of the stages.
    stage_good
        ``[n, m]`` bool: the truth the judge tries to see, quality ≥ threshold.
    stage_uniform
        ``[n, m]`` uniforms in [0, 1): the judge's verdict is flipped iff the
        uniform is below the error rate for that truth (common random numbers,
        so a larger rate flips a superset of verdicts).
    budget
        Per-prompt budget T: stage k is called only if its cumulative expected
        cost is ≤ T.
    false_accept, false_reject
        P(accept | truly bad) and P(reject | truly good).

    Returns
    -------
    choice, called
        ``[n]`` model returned (the accepted one, else the last one called, else
        `NO_ANSWER` when not even the first stage fits the budget) and the
        ``[n, m]`` bool mask of models paid for.
    """
    n, m = stage_model.shape
    affordable = stage_cum_cost <= budget
    accept = np.where(stage_good, stage_uniform >= false_reject, stage_uniform < false_accept)
    stop = affordable & accept
    any_stop = stop.any(axis=1)
    n_called = np.where(any_stop, stop.argmax(axis=1) + 1, affordable.sum(axis=1))
    called_stage = np.arange(m) < n_called[:, None]
    called = np.zeros((n, m), dtype=bool)
    np.put_along_axis(called, stage_model, called_stage, axis=1)
    last = np.take_along_axis(stage_model, np.maximum(n_called - 1, 0)[:, None], axis=1)[:, 0]
    choice = np.where(n_called > 0, last, NO_ANSWER)
    return choice, called


@dataclass(frozen=True)
class _Prepared:
    """Per-test arrays shared by every setting of a sweep (computed once)."""

    stage_model: np.ndarray
    stage_cost: np.ndarray  # expected cost of each stage's model, without the judge
    stage_quality: np.ndarray
    stage_uniform: np.ndarray


class CascadeRouter(Router):
    """Call models in increasing expected cost; stop when the judge accepts the answer.

    Models are ordered per dataset by their train mean cost per prompt. After
    each call a simulated judge says whether the answer is good: the truth is
    ``quality ≥ threshold``, and the verdict is flipped with probability
    ``false_reject`` for good answers and ``false_accept`` for bad ones (both
    equal to the symmetric error rate ε unless set). A model is called only if
    the expected cumulative cost of the prompt, judge included, stays within
    the per-prompt budget T. Without an accepted answer the last model called
    answers (the paper's code does the same); if not even the cheapest model
    fits, no model answers.

    Parameters
    ----------
    threshold
        Judge threshold t in (0, 1]; None fits it on train (see `fit`).
    budgets
        Per-prompt budgets T (dollars) swept by `settings`; the paper's grid by default.
    error_rates
        Symmetric judge error rates ε swept by `settings`.
    false_accept, false_reject
        Fixed asymmetric error rates; when set, each overrides ε on its side.
    judge_cost
        Dollars per judge call. It counts against the budget and is recorded in
        each decision's params as ``judge_cost_per_call``; the table holds no
        judge column, so each decision carries it as ``extra_cost`` (one judge
        call per model called), which `Decision.realised` adds.
    per_dataset
        Order and budget models by per-dataset train means (prompt's dataset is
        known metadata); False uses one order for all prompts.
    seed
        Seed of the judge's noise. The uniform for prompt i and model j is
        ``np.random.default_rng(seed).random((n, m))[i, j]``, whatever the
        setting, so settings share their random numbers.

    Notes
    -----
    Budget semantics are per prompt, as in the paper's code
    (``max_cost_per_response``). A budget for a whole set of n prompts maps to
    ``T = total / n`` only approximately: it is then a per-prompt cap, not a
    pooled one. The paper's code orders models by per-token price, checks each
    model's *realised* cost against the remaining budget and always calls the
    cheapest model; we order and check by *expected* (train mean) cost, since
    a router cannot see a test call's price before making it, and call nothing
    that does not fit. The paper's threshold is the 0.95 quantile of quality
    per task; for 0/1 quality every t in (0, 1] gives the same verdicts, so
    fitting sets 1.0.
    """

    name = "cascade"

    def __router_tags__(self) -> RouterTags:
        # The judge is simulated from the test quality, its errors drawn by row.
        return RouterTags(reads_test_outcomes=True, depends_on_test_set=True, sweep_knob="budget")

    def __init__(
        self,
        threshold: float | None = None,
        budgets: Sequence[float] = PAPER_BUDGETS,
        error_rates: Sequence[float] = PAPER_ERROR_RATES,
        false_accept: float | None = None,
        false_reject: float | None = None,
        judge_cost: float = 0.0,
        per_dataset: bool = True,
        seed: int = 0,
    ) -> None:
        self.threshold = threshold
        self.budgets = budgets
        self.error_rates = error_rates
        self.false_accept = false_accept
        self.false_reject = false_reject
        self.judge_cost = judge_cost
        self.per_dataset = per_dataset
        self.seed = seed

    # ------------------------------------------------------------------ fit
    def _validate(self) -> None:
        for t in self.budgets:
            if not (t >= 0):  # also rejects NaN
                raise ConfigError(f"budgets must be >= 0 dollars per prompt, got {t}")
        for e in self.error_rates:
            check_rate(e, "error_rates")
        for name in ("false_accept", "false_reject"):
            if getattr(self, name) is not None:
                check_rate(getattr(self, name), name)
        if not (math.isfinite(self.judge_cost) and self.judge_cost >= 0):
            raise ConfigError(f"judge_cost must be finite and >= 0 dollars, got {self.judge_cost}")
        if self.threshold is not None and not 0.0 < float(self.threshold) <= 1.0:
            raise ConfigError(f"threshold must be in (0, 1], got {self.threshold}")

    def fit(self, train: Benchmark) -> CascadeRouter:
        """Learn the cost order (train means) and, if not given, the judge threshold.

        The threshold is chosen on train, never on test: for 0/1 quality it is
        1.0 (any t in (0, 1] is equivalent); otherwise each quantile of train
        quality in `THRESHOLD_LEVELS` is tried with a perfect judge over
        `budgets`, and the one whose cost-quality points have the largest AIQ
        (over the single models' cost range) wins, the smallest t on ties.
        """
        self._validate()
        require_measured(train, "the cascade")
        if train.n_prompts == 0:
            raise DataError("cannot fit the cascade on an empty benchmark", source=train.source)
        self.models_ = tuple(train.models)
        self.expected_cost_ = ExpectedCost.fit(train, per_dataset=self.per_dataset)
        if self.threshold is not None:
            self.threshold_ = float(self.threshold)
        else:
            self.threshold_ = self._fit_threshold(train)
        return self

    def _fit_threshold(self, train: Benchmark) -> float:
        q = train.quality
        if np.isin(q, (0.0, 1.0)).all():
            return 1.0
        from routerbench.frontier import aiq, ndch

        candidates = np.unique(np.quantile(q, THRESHOLD_LEVELS))
        candidates = candidates[candidates > 0] if (candidates > 0).any() else np.array([1.0])
        prep = self._prepare(train)
        mean_cost = train.cost.mean(axis=0)
        window = (float(mean_cost.min()), float(mean_cost.max()))
        if window[1] <= window[0]:
            window = (window[0], window[0] + 1.0)
        best_t, best_score = float(candidates[0]), -math.inf
        for t in candidates:  # ≤ 20 thresholds × len(budgets), each vectorised over prompts
            costs, quals = [], []
            for budget in self.budgets:
                choice, called = self._decide(prep, float(t), budget, 0.0, 0.0)
                rows = np.arange(len(choice))
                qual = np.where(choice >= 0, q[rows, np.maximum(choice, 0)], 0.0)
                costs.append(float(np.where(called, train.cost, 0.0).sum(axis=1).mean()))
                quals.append(float(qual.mean()))
            score = float(aiq(ndch(np.asarray(costs), np.asarray(quals)), window=window))
            if score > best_score + 1e-12:
                best_t, best_score = float(t), score
        return best_t

    # ---------------------------------------------------------------- route
    def _prepare(self, test: Benchmark) -> _Prepared:
        exp = self.expected_cost_
        order_table = np.argsort(exp.table, axis=1, kind="stable")
        cost_table = np.take_along_axis(exp.table, order_table, axis=1)
        rows = exp.rows_of(test)
        stage_model = order_table[rows]
        n, m = test.shape
        uniform = np.random.default_rng(self.seed).random((n, m))
        return _Prepared(
            stage_model=stage_model,
            stage_cost=cost_table[rows],
            stage_quality=np.take_along_axis(test.quality, stage_model, axis=1),
            stage_uniform=np.take_along_axis(uniform, stage_model, axis=1),
        )

    def _decide(
        self, prep: _Prepared, threshold: float, budget: float, fa: float, fr: float
    ) -> tuple[np.ndarray, np.ndarray]:
        cum = np.cumsum(prep.stage_cost + float(self.judge_cost), axis=1)
        good = prep.stage_quality >= threshold
        return cascade_decide(prep.stage_model, cum, good, prep.stage_uniform, budget, fa, fr)

    def _rates(
        self, error_rate: float, false_accept: float | None, false_reject: float | None
    ) -> tuple[float, float]:
        eps = check_rate(error_rate, "error_rate")
        fa = false_accept if false_accept is not None else self.false_accept
        fr = false_reject if false_reject is not None else self.false_reject
        fa = eps if fa is None else check_rate(fa, "false_accept")
        fr = eps if fr is None else check_rate(fr, "false_reject")
        return fa, fr

    def _check_test(self, test: Benchmark) -> None:
        self._check_fitted()
        self._check_models(test)
        require_measured(test, "the cascade")

    def route(
        self,
        test: Benchmark,
        budget: float = math.inf,
        error_rate: float = 0.0,
        false_accept: float | None = None,
        false_reject: float | None = None,
    ) -> Decision:
        """Route every prompt of `test` with per-prompt budget T and judge error ε.

        Parameters
        ----------
        test
            Prompts to route; its quality is read only to simulate the judge.
        budget
            Per-prompt budget T in dollars, checked against expected cost.
        error_rate
            Symmetric judge error ε (used on a side whose asymmetric rate is unset).
        false_accept, false_reject
            Override the constructor's asymmetric rates for this call.
        """
        self._check_test(test)
        if not (budget >= 0):
            raise ConfigError(f"budget must be >= 0 dollars per prompt, got {budget}")
        fa, fr = self._rates(error_rate, false_accept, false_reject)
        choice, called = self._decide(self._prepare(test), self.threshold_, budget, fa, fr)
        return self._decision(choice, called, budget, error_rate, fa, fr)

    def _decision(
        self,
        choice: np.ndarray,
        called: np.ndarray,
        budget: float,
        eps: float,
        fa: float,
        fr: float,
    ) -> Decision:
        params: dict[str, Any] = {
            "budget": float(budget),
            "error_rate": float(eps),
            "false_accept": float(fa),
            "false_reject": float(fr),
            "threshold": self.threshold_,
            "judge_cost_per_call": float(self.judge_cost),
            "seed": self.seed,
        }
        extra = float(self.judge_cost) * called.sum(axis=1) if self.judge_cost else None
        return Decision(choice, called, label=self.name, params=params, extra_cost=extra)

    def settings(self, test: Benchmark | None = None) -> list[Mapping[str, Any]]:
        """The budget × error-rate grid (the paper's 11 × 8 by default)."""
        return [
            {"budget": float(t), "error_rate": float(e)}
            for e in self.error_rates
            for t in self.budgets
        ]

    def sweep(self, test: Benchmark) -> Iterator[Decision]:
        """One Decision per setting, preparing the per-test arrays once."""
        self._check_test(test)
        prep = self._prepare(test)
        for s in self.settings(test):
            fa, fr = self._rates(s["error_rate"], None, None)
            choice, called = self._decide(prep, self.threshold_, s["budget"], fa, fr)
            yield self._decision(choice, called, s["budget"], s["error_rate"], fa, fr)


def judge_cost_of(decision: Decision) -> np.ndarray:
    """Per-prompt judge dollars of a cascade decision: one judge call per model called.

    The cascade also attaches it as the decision's `extra_cost`, so
    `Decision.realised` and `Decision.point` already include the judge.
    """
    per_call = float(decision.params.get("judge_cost_per_call", 0.0))
    if decision.called is None:
        return np.where(decision.choice >= 0, per_call, 0.0)
    return per_call * decision.called.sum(axis=1)
