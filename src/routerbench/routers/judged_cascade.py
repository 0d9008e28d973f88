"""A cascade with a real judge: call models cheap to dear, stop when the judge trusts an answer.

Unlike the paper's simulated cascade (`routers.cascade`, the truth flipped at a
rate ε), the judge here reads only the responses of the models already called
and paid for — their answers, refusals, agreement, and for code whether the
solutions run and return the same values — and never the test quality.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from itertools import combinations
from math import comb
from typing import Any, ClassVar

import numpy as np

from routerbench.data.benchmark import Benchmark
from routerbench.decision import Decision
from routerbench.errors import ConfigError, DataError
from routerbench.frontier import zero_router
from routerbench.routers.base import Router
from routerbench.routers.judges.code import SANDBOX_PRICE
from routerbench.routers.judges.evidence import (
    ReadsResponses,
    ResponseEvidence,
    task_kinds,
)
from routerbench.routers.judges.verifier import JUDGES, WindowVerifier
from routerbench.routers.params import (
    Constraints,
    Interval,
    OneOf,
    Options,
    RouterSpec,
    RouterTags,
    SequenceOf,
)

#: Default judge thresholds τ swept (0 answers with the first model called; above 1 never stops).
THRESHOLDS: tuple[float, ...] = (0.0, *np.round(np.linspace(0.30, 0.99, 70), 4), 1.01)

CHAINS: tuple[str, ...] = ("hull", "all", "search")

#: Coarse threshold grid used to score candidate chains on train (`chain="search"`).
SEARCH_THRESHOLDS: tuple[float, ...] = (0.0, 0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95, 0.98, 1.01)

#: Most train prompts a chain search scores its candidate chains on (`search_rows`).
SEARCH_ROWS = 4_000

#: Most candidate chains a chain search scores exhaustively (`search_chains`); 11 models at
#: depth 4 make 176, so RouterBench's searches are exhaustive.
SEARCH_CHAINS = 256

#: Pooled fall-back unit for test datasets train never saw.
POOLED = "__pooled__"


def chain_of(train: Benchmark, how: str | Sequence[str]) -> tuple[int, ...]:
    """Model indices of a cascade's chain, cheapest (train mean cost) first.

    ``"hull"``: the models on the train Zero router's curve (the only single
    models worth answering with alone); ``"all"``: every model, the paper's
    order; or a list of model names. (``"search"`` is resolved by the router.)
    """
    cost = np.nanmean(train.cost, axis=0)
    if isinstance(how, str):
        if how == "all":
            idx = np.arange(train.n_models)
        elif how == "hull":
            zero = zero_router(cost, np.nanmean(train.quality, axis=0))
            idx = np.asarray([j for j in zero.curve.index if j >= 0], dtype=np.intp)
        else:
            raise ConfigError(
                f"chain must be one of {CHAINS} or a list of model names, got {how!r}"
            )
    else:
        idx = np.asarray([train.model_index(m) for m in how], dtype=np.intp)
        if len(set(idx.tolist())) != len(idx) or not len(idx):
            raise ConfigError(f"chain must list distinct model names, got {list(how)!r}")
    return tuple(int(j) for j in idx[np.argsort(cost[idx], kind="stable")])


def windows_of(chain: tuple[int, ...]) -> list[tuple[int, ...]]:
    """Every run chain[s..e] of consecutive stages: what a cascade started at s has called."""
    return [chain[s : e + 1] for s in range(len(chain)) for e in range(s, len(chain))]


#: Stopping rules: stop when the best answer's P̂(right) is high, or when calling on gains little.
STOPS: tuple[str, ...] = ("confidence", "gain")


class _Unit:
    """Chain and fitted verifier of one dataset (or the pooled fall-back)."""

    def __init__(
        self, chain: tuple[int, ...], verifier: WindowVerifier, escalation: Any = None
    ) -> None:
        self.chain = chain
        self.verifier = verifier
        self.escalation = escalation


class JudgedCascadeRouter(ReadsResponses, Router):
    """Call a chain of models cheapest first; stop once the judge's P̂(right) ≥ τ.

    After stage e of a cascade started at stage s, the judge scores each
    called model's answer from the responses of chain[s..e]; the best-scored
    answer is returned when its score reaches the threshold τ (or the chain is
    exhausted). Settings sweep the start stage and τ, so the single models of
    the chain (τ = 0) are among the settings.

    Parameters
    ----------
    judge
        ``"verifier"``: logistic regression P(correct | response features,
        agreement) per window and model, fitted on train; ``"agreement"``: the
        share of called models giving the same answer (nothing fitted).
    chain
        ``"hull"`` (train Zero-router models), ``"all"`` (every model, the
        paper's order), ``"search"`` (the chain with the best train AIQ, see
        `_search_chain`) or a list of model names. Learned per dataset on train.
    thresholds
        Judge thresholds τ swept by `settings`.
    run_code
        Run code answers in the sandbox (`routerbench.collect.sandbox`) to
        compare behaviour; False compares normalised code text only.
    judge_cost
        Dollars per judge call (one per model called); None prices it as the
        sandbox runs on code prompts (`SANDBOX_PRICE`) and 0 elsewhere
        (string matching and a logistic regression cost nothing measurable).
    c
        Inverse L2 strength of the verifier's logistic regressions.
    per_dataset
        Learn a chain and verifier per dataset (the prompt's dataset is known
        metadata); False pools all of train.
    search_depth
        With ``chain="search"``: the longest chain tried.
    search_rows
        With ``chain="search"``: candidate chains are scored on at most this
        many train prompts (one seeded draw, the same for every chain), so the
        search costs the same on 10,000 prompts as on 4,000; the chosen
        chain's verifier is then fitted on all of train. None scores on all.
    search_chains
        With ``chain="search"``: the most candidate chains scored exhaustively.
        With more models than that allows (the count grows as the cube of the
        number of models at depth 4: 176 for 11 models, 4,090 for 30), the
        models that may precede the last one are first cut to those whose
        two-model chain (that model, then the last) scores best on train, as
        many as keep the search within this count.
    code_cache
        Optional path of a JSON file caching sandbox results, keyed by a hash of
        each prompt's response texts (running code takes seconds per prompt).
    rich
        The verifier also reads each response's hedging and, with
        `prompt_prior`, the prompt prior (`judges.verifier.window_features`).
    prompt_prior
        None, or a predictive router spec (e.g. ``"logreg"``) whose P̂(right)
        per model from the prompt text alone becomes a verifier feature (with
        `rich`). On train the feature is out of fold (`prior_folds` folds), so
        the verifier learns how much to trust it on prompts it was not fitted
        on; on test it comes from the predictor fitted on all of train.
    prior_folds
        Folds of the out-of-fold prompt prior on train.
    stop
        ``"confidence"``: stop once the best answer's P̂(right) ≥ τ (the
        paper's rule with a real judge). ``"gain"``: a value-of-escalation
        rule — a second model per window (`judges.verifier.EscalationModel`,
        fitted on train from the window's responses only) estimates P̂ that
        the chain's dearest model would be right, and the cascade stops once
        ``P̂(best so far) − P̂(dearest) ≥ 2τ − 1``: it pays for more models
        only where they are expected to fix an answer.
    """

    name = "judged-cascade"

    parameter_constraints: ClassVar[Constraints] = {
        "judge": [Options(JUDGES)],
        "chain": [Options(CHAINS), SequenceOf(OneOf((str,), "a model name"))],
        "thresholds": [SequenceOf(Interval("real", 0))],
        "run_code": [Options((True, False))],
        "judge_cost": [Options((None,)), Interval("real", 0)],
        "c": [Interval("real", 0, closed="neither")],
        "per_dataset": [Options((True, False))],
        "search_depth": [Interval("int", 1)],
        "code_cache": [Options((None,)), OneOf((str, os.PathLike), "a file path")],
        "rich": [Options((True, False))],
        "prompt_prior": [Options((None,)), RouterSpec(predictive=True)],
        "prior_folds": [Interval("int", 2)],
        "stop": [Options(STOPS)],
        "search_rows": [Options((None,)), Interval("int", 2)],
        "search_chains": [Interval("int", 1)],
    }

    #: Set by `JudgedCVRouter` on its candidates for one inner fold (the same train
    #: prompts): chain searches configured alike then share fitted regressions and scores.
    _search_memo: dict | None = None

    def __init__(
        self,
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
        self.judge = judge
        self.chain = chain
        self.thresholds = thresholds
        self.run_code = run_code
        self.judge_cost = judge_cost
        self.c = c
        self.per_dataset = per_dataset
        self.search_depth = search_depth
        self.code_cache = code_cache
        self.rich = rich
        self.prompt_prior = prompt_prior
        self.prior_folds = prior_folds
        self.stop = stop
        self.search_rows = search_rows
        self.search_chains = search_chains

    def __router_tags__(self) -> RouterTags:
        """Reads test prompts and the responses of the models it calls, never test outcomes."""
        return RouterTags(reads_test_outcomes=False, sweep_knob="threshold")

    # ------------------------------------------------------------------ fit
    def validate_combination(self) -> None:
        """The value-of-escalation stop compares two fitted P̂: it needs the verifier."""
        if self.stop == "gain" and self.judge != "verifier":
            raise ConfigError(
                "stop='gain' needs judge='verifier' (a fitted P̂ to compare), "
                f"got judge={self.judge!r}"
            )

    def fit(self, train: Benchmark) -> JudgedCascadeRouter:
        """Learn each dataset's chain (train costs and quality) and verifier (train responses)."""
        with one_blas_thread():
            return self._fit(train)

    def _fit(self, train: Benchmark) -> JudgedCascadeRouter:
        self._validate_params()  # each value, then stop and judge together
        if train.n_prompts < 2:
            raise DataError(
                f"the judged cascade needs >= 2 training prompts, got {train.n_prompts}"
            )
        self.models_ = tuple(train.models)
        self.kinds_ = task_kinds(train)  # how each task's answers are read, learned on train
        ev = self._evidence(train)
        self.prior_ = None
        if self.prompt_prior is not None:
            ev = replace(ev, prior=self._fit_prior(train))
        groups = {POOLED: np.arange(train.n_prompts)}
        if self.per_dataset:
            ds = train.prompts["dataset"].to_numpy()
            groups.update({d: np.flatnonzero(ds == d) for d in train.datasets})
        self.units_: dict[str, _Unit] = {}
        for name, rows in groups.items():
            if name != POOLED and len(rows) == train.n_prompts:
                # one dataset: its unit is the pooled one (same rows, same fit), fitted once
                self.units_[name] = self.units_[POOLED]
                continue
            part = train.subset(rows)
            sub = _take(ev, rows)
            if isinstance(self.chain, str) and self.chain == "search":
                chain = self._search_chain(part, sub, name)
            else:
                chain = chain_of(part, self.chain)
            self.units_[name] = self._unit(sub, part.quality, chain)
        return self

    def _predictor(self):
        """A fresh prompt-prior router (its spec checked predictive by `parameter_constraints`)."""
        from routerbench.routers.registry import router_from_spec

        return router_from_spec(self.prompt_prior)

    def _fit_prior(self, train: Benchmark) -> np.ndarray:
        """Out-of-fold P̂ ``[n, m]`` on train from the prompt alone; fits `prior_` on all of it."""
        k = int(self.prior_folds)
        fold = np.random.default_rng(0).permutation(train.n_prompts) % k
        oof = np.full(train.shape, np.nan)
        for f in range(k):
            held = np.flatnonzero(fold == f)
            part = self._predictor().fit(train.subset(np.flatnonzero(fold != f)))
            oof[held] = part.predict_quality(train.subset(held))
        self.prior_ = self._predictor().fit(train)
        return oof

    def _unit(self, ev: ResponseEvidence, quality: np.ndarray, chain, memo=None) -> _Unit:
        escalation = None
        if self.stop == "gain":
            from routerbench.routers.judges.verifier import EscalationModel

            escalation = EscalationModel(c=self.c, rich=self.rich).fit(
                ev, quality, windows_of(chain), chain[-1], memo=memo
            )
        return _Unit(chain, self._fit_verifier(ev, quality, chain, memo), escalation)

    def _fit_verifier(
        self, ev: ResponseEvidence, quality: np.ndarray, chain, memo: dict | None = None
    ) -> WindowVerifier:
        return WindowVerifier(self.judge, c=self.c, rich=self.rich).fit(
            ev, quality, windows_of(chain), memo=memo
        )

    def _search_memos(self, unit: str) -> tuple[dict, dict]:
        """Fitted regressions and window scores a chain search may reuse.

        Fresh dicts, unless `_search_memo` is set: then those of earlier
        searches of the same unit, on the same prompts, whose verifier reads the
        same features with the same penalty (the scores also need the same stop).
        """
        shared = self._search_memo
        if shared is None:
            return {}, {}
        prior = (repr(self.prompt_prior), int(self.prior_folds)) if self.rich else None
        sig = (unit, self.judge, float(self.c), bool(self.rich), prior,
               self.search_rows, bool(self.run_code))  # fmt: skip
        fits = shared.setdefault(("fits", sig), {})
        return fits, shared.setdefault(("scores", sig, self.stop), {})

    def _search_chain(
        self, part: Benchmark, ev: ResponseEvidence, unit: str = POOLED
    ) -> tuple[int, ...]:
        """The chain whose cascade has the largest train AIQ (the learned order).

        Candidates end at the dearest model of the train Zero router's curve
        and add up to ``search_depth - 1`` other models before it, cheapest
        first; each is scored in sample on train (verifier fitted on train,
        coarse threshold grid) over the train Zero router's window, on at
        most `search_rows` of its prompts. Test outcomes play no part.
        """
        from routerbench.frontier import aiq, ndch

        holes = int(part.missing.sum())  # cells without quality or cost
        if holes:  # every chain is scored on every train prompt: a hole has no score
            raise DataError(
                f"the chain search needs every train cell measured, {holes} are not "
                f"(unit {unit!r}); load with missing='drop-prompts', or set chain='hull'"
            )
        cost = np.nanmean(part.cost, axis=0)
        hull = chain_of(part, "hull")
        top = hull[-1]
        cap = self.search_rows  # the chains (their last model) come from all of train, above
        if cap is not None and part.n_prompts > cap:
            keep = np.sort(np.random.default_rng(0).choice(part.n_prompts, cap, replace=False))
            part, ev = part.subset(keep), _take(ev, keep)
        zero = zero_router(part.cost.sum(axis=0), part.quality.mean(axis=0))
        rows = np.arange(part.n_prompts)
        # (window, target) -> fitted regression, and window -> its train (best member, P̂):
        # shared by the chains (and, in judged-cv, by candidates configured alike)
        memo, scored = self._search_memos(unit)
        scores: dict[tuple[int, ...], float] = {}

        def score(chain: tuple[int, ...]) -> float:
            if chain not in scores:
                fitted = self._unit(ev, part.quality, chain, memo)
                windows = self._score_windows(ev, rows, fitted, scored)
                qs, cs = _grid_points(part.quality, part.cost, chain, windows)
                scores[chain] = aiq(ndch(cs, qs), window=zero.window)
            return scores[chain]

        def ordered(models) -> tuple[int, ...]:
            return tuple(sorted((*models, top), key=lambda j: (cost[j], j)))

        depth = int(self.search_depth)  # >= 1 (parameter_constraints)
        pool = [j for j in range(part.n_models) if j != top]
        pairs = [ordered((j,)) for j in pool] if depth > 1 else []
        size = _pool_size(len(pool), depth, int(self.search_chains))
        if size < len(pool):  # too many models to try every chain: keep the best pairs' models
            ranked = sorted(pool, key=lambda j: (-score(ordered((j,))), cost[j], j))
            pool = sorted(ranked[:size])
        candidates = [hull, *pairs]
        for k in range(2, depth):
            candidates.extend(ordered(extra) for extra in combinations(pool, k))
        best, best_score = hull, -np.inf
        for chain in dict.fromkeys(candidates):
            value = score(chain)
            if value > best_score + 1e-12:
                best, best_score = chain, value
        return best

    # ------------------------------------------------------------------ route
    def _unit_rows(self, test: Benchmark) -> dict[str, np.ndarray]:
        ds = test.prompts["dataset"].to_numpy()
        out: dict[str, np.ndarray] = {}
        for d in np.unique(ds):
            key = d if (self.per_dataset and d in self.units_) else POOLED
            out[key] = np.concatenate([out.get(key, np.zeros(0, np.intp)), np.flatnonzero(ds == d)])
        return out

    def _tables(self, test: Benchmark) -> list[tuple[np.ndarray, _Unit, dict]]:
        """Per unit: its test rows and, per window, (best member, its P̂)."""
        ev = self._evidence(test)
        if getattr(self, "prior_", None) is not None:
            ev = replace(ev, prior=self.prior_.predict_quality(test))
        out = []
        for key, rows in self._unit_rows(test).items():
            unit = self.units_[key]
            out.append((rows, unit, self._score_windows(ev, rows, unit)))
        return out

    @staticmethod
    def _score_windows(
        ev: ResponseEvidence, rows: np.ndarray, unit: _Unit, memo: dict | None = None
    ) -> dict:
        """Per window of the unit's chain: (best-scored member, its P̂) for each row.

        `memo` (shared by a chain search, whose chains share their fitted
        regressions per window) reuses the scores of a window seen before.
        """
        scored = {}
        esc = getattr(unit, "escalation", None)
        for w in windows_of(unit.chain):
            if memo is not None and w in memo:
                scored[w] = memo[w]
                continue
            p = unit.verifier.predict(ev, rows, w)
            best = p.argmax(axis=1)
            score = p[np.arange(len(rows)), best]
            if esc is not None and unit.chain[-1] not in w:  # value of escalation
                score = 0.5 + (score - esc.predict(ev, rows, w)) / 2
            scored[w] = (np.asarray(w)[best], score)
            if memo is not None:
                memo[w] = scored[w]
        return scored

    def _price(self, test: Benchmark) -> np.ndarray:
        """Dollars per judge call for each test prompt."""
        if self.judge_cost is not None:
            return np.full(test.n_prompts, float(self.judge_cost))
        given = getattr(self, "kinds_", None)
        kinds = task_kinds(test, given, read_responses=given is None)
        code = np.array([kinds[str(t)] == "code" for t in test.prompts["task"]], dtype=bool)
        return np.where(code & self.run_code, SANDBOX_PRICE, 0.0)

    def _decide(self, tables, n: int, m: int, start: int, tau: float, first=None):
        choice = np.full(n, -1, dtype=np.intp)
        called = np.zeros((n, m), dtype=bool)
        for rows, unit, scored in tables:
            chain = unit.chain
            s_all = np.full(len(rows), min(start, len(chain) - 1)) if first is None else first[rows]
            for s in np.unique(s_all):
                sel = s_all == s
                r = rows[sel]
                done = np.zeros(len(r), dtype=bool)
                for e in range(s, len(chain)):
                    best, score = scored[chain[s : e + 1]]
                    best, score = best[sel], score[sel]
                    stop = ~done & ((score >= tau) | (e == len(chain) - 1))
                    live = ~done
                    called[r[live], chain[e]] = True
                    choice[r[stop]] = best[stop]
                    done |= stop
        return choice, called

    def settings(self, test: Benchmark | None = None) -> list[Mapping[str, Any]]:
        """Start stage × threshold τ (start beyond a unit's chain means its last model)."""
        self._check_fitted()
        depth = max(len(u.chain) for u in self.units_.values())
        return [
            {"start": s, "threshold": float(t)}
            for s in range(depth)
            for t in self.thresholds
            if not (s == depth - 1 and t != self.thresholds[0])  # last stage alone: one setting
        ]

    def _decision(self, test, price, choice, called, start, tau) -> Decision:
        params = {"start": int(start), "threshold": float(tau), "judge": self.judge}
        extra = price * called.sum(axis=1)
        return Decision(
            choice,
            called,
            label=self.name,
            params=params,
            extra_cost=extra if extra.any() else None,
        )

    def route(self, test: Benchmark, start: int = 0, threshold: float = 0.5) -> Decision:
        """Route every prompt of `test`: cascade from chain stage `start`, judge threshold τ."""
        self._check_fitted()
        self._check_models(test)
        if start < 0:
            raise ConfigError(f"start must be a stage index >= 0, got {start}")
        tables = self._tables(test)
        choice, called = self._decide(tables, *test.shape, start, float(threshold))
        return self._decision(test, self._price(test), choice, called, start, threshold)

    def sweep(self, test: Benchmark) -> Iterator[Decision]:
        """One Decision per setting; the judge scores every window once."""
        self._check_fitted()
        self._check_models(test)
        tables = self._tables(test)
        price = self._price(test)
        for s in self.settings(test):
            choice, called = self._decide(tables, *test.shape, s["start"], s["threshold"])
            yield self._decision(test, price, choice, called, s["start"], s["threshold"])


def _grid_points(
    quality: np.ndarray, cost: np.ndarray, chain: tuple[int, ...], scored: dict
) -> tuple[np.ndarray, np.ndarray]:
    """Train mean quality and total cost of a chain's cascade at every (start, τ) of the grid.

    The same numbers as `_decide` + `realised` for each start in turn and each
    τ of `SEARCH_THRESHOLDS` (start-major, as the search lists them), computed
    for all thresholds at once: the chain search scores thousands of chains, and
    the loop over stages and thresholds was a tenth of a judged fit. Summed in
    the same order as `realised`, so the search picks the same chain. The table
    must be complete (`_search_chain` checks).
    """
    n, m = quality.shape
    rows = np.arange(n)
    taus = np.asarray(SEARCH_THRESHOLDS)[:, None, None]
    qs, cs = [], []
    for s in range(len(chain)):
        stages = [chain[s : e + 1] for e in range(s, len(chain))]
        best = np.stack([scored[w][0] for w in stages], axis=1)  # [n, stages]
        score = np.stack([scored[w][1] for w in stages], axis=1)
        ok = score[None] >= taus  # [T, n, stages]
        ok[:, :, -1] = True  # the chain's last stage always answers
        stop = ok.argmax(axis=2)  # [T, n]: the first stage whose best answer passes τ
        choice = best[rows, stop]
        position = np.full(m, len(chain), dtype=np.intp)  # a model's stage (past the end: never)
        position[list(chain[s:])] = np.arange(len(chain) - s)
        called = position[None, None, :] <= stop[:, :, None]  # [T, n, m]
        qs.append(quality[rows, choice].mean(axis=1))
        cs.append(np.where(called, cost[None], 0.0).sum(axis=2).sum(axis=1))
    return np.concatenate(qs), np.concatenate(cs)


def _pool_size(n_pool: int, depth: int, most: int) -> int:
    """The most models that may precede a chain's last one for the search to stay within `most`.

    With p models in the pool a depth-d search tries 1 + Σ_{k<d} C(p, k) chains;
    the models' two-model chains are always scored, so at least all of them stay
    reachable as pairs (the cut applies to the longer chains).
    """
    size = n_pool
    while size > 1 and 1 + sum(comb(size, k) for k in range(1, depth)) > most:
        size -= 1
    return size


def one_blas_thread():
    """A context holding BLAS to one thread: for the chain search's thousands of regressions.

    Each has ~10 columns, so a BLAS thread pool adds nothing but synchronisation,
    and with another process on the machine its threads wait on each other: a
    10,000-prompt fit took 101 s with two threads and 26 s with one (2 cores, busy).
    """
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1, user_api="blas")


def _take(ev: ResponseEvidence, rows: np.ndarray) -> ResponseEvidence:
    return ev.take(rows)
