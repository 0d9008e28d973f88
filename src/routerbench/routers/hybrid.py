"""A hybrid router: a predictive router picks the first model, a real judge decides to escalate.

The predictive part reads prompt text only (where the prompt should start); the
judge reads only the responses of the models called since (whether to go on).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any, ClassVar

import numpy as np

from routerbench.data.benchmark import Benchmark
from routerbench.decision import Decision
from routerbench.routers.judged_cascade import (
    SEARCH_CHAINS,
    SEARCH_ROWS,
    THRESHOLDS,
    JudgedCascadeRouter,
)
from routerbench.routers.params import Constraints, Interval, RouterSpec, SequenceOf
from routerbench.routers.registry import router_from_spec

#: Willingness-to-pay values (dollars per unit of quality) swept for the first model.
HYBRID_LAMBDAS: tuple[float, ...] = tuple(float(v) for v in np.geomspace(1e-4, 1.0, 13))


class HybridRouter(JudgedCascadeRouter):
    """Start each prompt at the chain model a predictive router picks, then cascade on the judge.

    For willingness to pay λ the first model is ``argmax_j λ·P̂[i, j] − ĉ[i, j]``
    over the chain's models (P̂, ĉ from `predictor`, fitted on train); from
    there the cascade climbs the chain as `JudgedCascadeRouter` does, stopping
    once the judge's P̂(right) ≥ τ. Settings sweep λ × τ.

    Parameters
    ----------
    predictor
        A router spec, instance or ``{name, params}`` mapping with
        `predict_quality`/`predict_cost` (a `PredictiveRouter`, e.g. ``"logreg"``,
        or ``{"name": "logreg", "params": {"cost": "regress"}}`` to pick the
        first model with a per-prompt cost estimate); built anew and fitted on train.
    lambdas
        Willingness-to-pay values swept.
    judge, chain, thresholds, run_code, judge_cost, c, per_dataset, search_depth, code_cache, \
    rich, prompt_prior, prior_folds, stop, search_rows, search_chains
        As for `JudgedCascadeRouter`.
    """

    name = "hybrid"
    parameter_constraints: ClassVar[Constraints] = {
        **JudgedCascadeRouter.parameter_constraints,
        "predictor": [RouterSpec(predictive=True)],
        "lambdas": [SequenceOf(Interval("real", 0))],
    }

    def __init__(
        self,
        predictor: Any = "logreg",
        lambdas: Sequence[float] = HYBRID_LAMBDAS,
        judge: str = "verifier",
        chain: str | Sequence[str] = "search",
        thresholds: Sequence[float] = THRESHOLDS,
        run_code: bool = True,
        judge_cost: float | None = None,
        c: float = 1.0,
        per_dataset: bool = True,
        search_depth: int = 4,
        code_cache: str | None = None,
        rich: bool = False,
        prompt_prior: Any = None,
        prior_folds: int = 5,
        stop: str = "confidence",
        search_rows: int | None = SEARCH_ROWS,
        search_chains: int = SEARCH_CHAINS,
    ) -> None:
        super().__init__(
            judge=judge,
            chain=chain,
            thresholds=thresholds,
            run_code=run_code,
            judge_cost=judge_cost,
            c=c,
            per_dataset=per_dataset,
            search_depth=search_depth,
            code_cache=code_cache,
            rich=rich,
            prompt_prior=prompt_prior,
            prior_folds=prior_folds,
            stop=stop,
            search_rows=search_rows,
            search_chains=search_chains,
        )
        self.predictor = predictor
        self.lambdas = lambdas

    def fit(self, train: Benchmark) -> HybridRouter:
        """Fit the judged cascade and, on the same train prompts, the predictor.

        The cascade's fit checks every parameter first, the predictor's spec included
        (`parameter_constraints`), so a bad predictor fails before any fitting.
        """
        super().fit(train)
        self.predictor_ = router_from_spec(self.predictor).fit(train)
        return self

    def _first(self, test: Benchmark, lam: float, p: np.ndarray, c: np.ndarray) -> np.ndarray:
        """Chain stage of the first model per prompt at willingness to pay `lam`."""
        first = np.zeros(test.n_prompts, dtype=np.intp)
        for key, rows in self._unit_rows(test).items():
            chain = np.asarray(self.units_[key].chain)
            score = lam * p[np.ix_(rows, chain)] - c[np.ix_(rows, chain)]
            first[rows] = score.argmax(axis=1)  # ties: the cheaper (earlier) stage
        return first

    def settings(self, test: Benchmark | None = None) -> list[Mapping[str, Any]]:
        """λ × τ."""
        self._check_fitted()
        return [
            {"willingness_to_pay": float(v), "threshold": float(t)}
            for v in self.lambdas
            for t in self.thresholds
        ]

    def route(  # type: ignore[override]
        self, test: Benchmark, willingness_to_pay: float = 1e-2, threshold: float = 0.5
    ) -> Decision:
        """Route with first model by willingness to pay λ and judge threshold τ."""
        return next(self._run(test, [{"willingness_to_pay": willingness_to_pay,
                                      "threshold": threshold}]))  # fmt: skip

    def sweep(self, test: Benchmark) -> Iterator[Decision]:
        yield from self._run(test, self.settings(test))

    def _run(self, test: Benchmark, settings: Sequence[Mapping[str, Any]]) -> Iterator[Decision]:
        self._check_fitted()
        self._check_models(test)
        tables = self._tables(test)
        price = self._price(test)
        p = self.predictor_.predict_quality(test)
        c = self.predictor_.predict_cost(test)
        firsts: dict[float, np.ndarray] = {}
        for s in settings:
            lam, tau = float(s["willingness_to_pay"]), float(s["threshold"])
            if lam not in firsts:
                firsts[lam] = self._first(test, lam, p, c)
            choice, called = self._decide(tables, *test.shape, 0, tau, first=firsts[lam])
            d = self._decision(test, price, choice, called, 0, tau)
            params = {"willingness_to_pay": lam, "threshold": tau, "judge": self.judge}
            yield Decision(d.choice, d.called, label=self.name, params=params,
                           extra_cost=d.extra_cost)  # fmt: skip
