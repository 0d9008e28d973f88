"""The learned verifier: P(correct | response features, agreement with the models called so far).

A cascade that has called the models of a window W (a run of its chain) asks,
for each called model t, how likely t's answer is right given what W's
responses show. One logistic regression per (window, target) is fitted on
train only; features use nothing but the responses of W.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.linear_model import LogisticRegression

from routerbench.routers.judges.evidence import ResponseEvidence

#: Judge kinds: the learned verifier, or plain agreement counting (no fitting of weights).
JUDGES: tuple[str, ...] = ("verifier", "agreement")


def window_features(
    ev: ResponseEvidence, rows: np.ndarray, window: tuple[int, ...], t: int, rich: bool = False
):
    """``[len(rows), f]`` features of target model `t` inside `window` (model indices).

    Own response: answer read, refusal, log length, and for worked numeric
    answers the share of false ``a op b = c`` steps and how many were checked
    (`ResponseEvidence.arith`). Against each other model
    u of the window, in window order: agreement(t, u). Then the share of the
    others that agree with t, and whether t's answer is the window's plurality.

    With `rich`: also t's hedging (`evidence.hedging`), for multiple choice
    the option letter each model of the window chose (one-hot), and, where the evidence
    carries a prompt prior (P̂ of each model from the prompt alone), logit P̂_t,
    the mean logit P̂ of the others weighted by their agreement with t, and
    the largest P̂ among those that disagree. Only models of `window` are read.
    """
    others = [u for u in window if u != t]
    own = [ev.valid[rows, t], ev.refusal[rows, t], ev.log_length[rows, t] / 8.0]
    prior = ev.prior if rich else None
    if rich and ev.hedge is not None:
        own.append(ev.hedge[rows, t])
    if prior is not None:
        own.append(ev.prior_logit[rows, t])
    if ev.arith is not None:  # worked numeric answers: false steps, steps shown (0 elsewhere)
        own += [ev.arith[rows, t, 0], ev.arith[rows, t, 1] / 4.0]
    if not others:
        return np.column_stack(own).astype(float)
    members = list(window)
    block = _agreement_block(ev.agree, rows, members)  # [r, k, k]: the window's agreement only
    pos = {u: i for i, u in enumerate(members)}
    ag = block[:, pos[t], [pos[u] for u in others]]  # [r, k-1]
    support = ag.sum(axis=1)
    rivals = block[:, [pos[u] for u in others], :].sum(axis=2)  # [r, k-1]
    plurality = support + ev.valid[rows, t] >= rivals.max(axis=1)
    cols = [*own, *ag.T, support / len(others), plurality]
    if rich:  # which option each called model chose: models lean on one letter, so a
        # model giving its rare letter says more than one giving its usual one
        letters = ev.letter_choice[np.ix_(rows, members)]  # [r, k, 4]
        cols += list(letters.reshape(len(rows), -1).T)
    if prior is not None:
        po = prior[np.ix_(rows, others)]
        cols.append((ag * ev.prior_logit[np.ix_(rows, others)]).sum(axis=1) / len(others))
        cols.append(((1 - ag) * po).max(axis=1))
    return np.column_stack(cols).astype(float)


def _agreement_block(agree: np.ndarray, rows: np.ndarray, members: list[int]) -> np.ndarray:
    """``agree[rows][:, members][:, :, members]``, gathered as two `take`s of a flat view.

    The same values as ``agree[np.ix_(rows, members, members)]``, an order of
    magnitude faster (a chain search gathers a block for each of thousands of fits).
    """
    n, m = agree.shape[:2]
    k = len(members)
    flat = (np.asarray(members)[:, None] * m + np.asarray(members)[None, :]).ravel()
    pairs = agree.reshape(n, m * m).take(flat, axis=1)  # [n, k*k]
    return pairs.take(rows, axis=0).reshape(len(rows), k, k)


def window_key(window: tuple[int, ...], t: int) -> str:
    """String key of a (window, target) pair, e.g. ``"0,2,3:2"`` (artifacts need str keys)."""
    return ",".join(str(int(j)) for j in window) + f":{int(t)}"


@dataclass
class _Fitted:
    model: LogisticRegression | None
    constant: float


def _fit_one(x: np.ndarray, y: np.ndarray, c: float) -> _Fitted:
    rate = float((y.sum() + 1.0) / (len(y) + 2.0))  # Laplace-smoothed base rate
    if len(np.unique(y)) < 2:
        return _Fitted(None, rate)
    model = LogisticRegression(C=c, max_iter=1000).fit(x, y)
    return _Fitted(model, rate)


def _predict_one(f: _Fitted, x: np.ndarray) -> np.ndarray:
    if f.model is None:
        return np.full(len(x), f.constant)
    return f.model.predict_proba(x)[:, 1]


def agreement_score(ev: ResponseEvidence, rows: np.ndarray, window: tuple[int, ...], t: int):
    """Unfitted judge: share of the window's models (t included) that give t's answer.

    A refusal or unreadable answer scores 0. A lone model that answered
    scores 0.5: nothing confirms or contradicts it, so any threshold above
    0.5 asks for a second opinion, and two models that agree score 1.
    """
    if len(window) == 1:
        score = np.full(len(rows), 0.5)
    else:
        score = ev.agree[rows, t][:, list(window)].sum(axis=1) / len(window)
    return np.where(ev.valid[rows, t] & ~ev.refusal[rows, t], score, 0.0)


class WindowVerifier:
    """P̂(answer of t is right | responses of a window), for every window and target.

    Parameters
    ----------
    judge
        ``"verifier"`` (logistic regression per window and target, fitted on
        train) or ``"agreement"`` (`agreement_score`, nothing fitted).
    c
        Inverse L2 strength of the logistic regressions.
    threshold
        A train answer counts as right when its quality is ≥ this.
    rich
        Use the rich features of `window_features` (hedging, prompt prior).
    """

    def __init__(
        self, judge: str = "verifier", c: float = 1.0, threshold: float = 0.5, rich: bool = False
    ) -> None:
        if judge not in JUDGES:
            raise ValueError(f"judge must be one of {JUDGES}, got {judge!r}")
        self.judge = judge
        self.c = c
        self.threshold = threshold
        self.rich = rich

    def fit(
        self, ev: ResponseEvidence, quality: np.ndarray, windows, *, memo: dict | None = None
    ) -> WindowVerifier:
        """Fit on train evidence and train quality ``[n, m]`` for each window of `windows`.

        `memo` (a dict shared between calls on the same evidence) reuses the
        regression of a (window, target) pair fitted before, as a chain search does.
        """
        self.fitted_: dict[str, _Fitted] = {}
        if self.judge == "agreement":
            return self
        for window in windows:
            for t in window:
                key = window_key(window, t)
                if memo is not None and key in memo:
                    self.fitted_[key] = memo[key]
                    continue
                measured = ~np.isnan(quality[:, t])
                rows = np.flatnonzero(measured)
                x = window_features(ev, rows, window, t, self.rich)
                y = (quality[rows, t] >= self.threshold).astype(int)
                self.fitted_[key] = _fit_one(x, y, self.c)
                if memo is not None:
                    memo[key] = self.fitted_[key]
        return self

    def predict(self, ev: ResponseEvidence, rows: np.ndarray, window: tuple[int, ...]):
        """``[len(rows), len(window)]`` P̂ of each window member's answer being right."""
        if self.judge == "agreement":
            cols = [agreement_score(ev, rows, window, t) for t in window]
        else:
            cols = [
                _predict_one(
                    self.fitted_[window_key(window, t)],
                    window_features(ev, rows, window, t, self.rich),
                )
                for t in window
            ]
        return np.column_stack(cols) if cols else np.zeros((len(rows), 0))


def window_design(ev: ResponseEvidence, rows: np.ndarray, window: tuple[int, ...], rich: bool):
    """Features of a whole window: every member's `window_features`, side by side."""
    return np.column_stack([window_features(ev, rows, window, t, rich) for t in window])


class EscalationModel:
    """P̂(the chain's dearest model is right | responses of a window it is not in).

    The second half of a value-of-escalation stopping rule: calling on is worth
    it where the dearest model is likely right *and* the best answer so far is
    likely wrong. One logistic regression per window, fitted on train; the
    features read only the window's responses (never the dearest model's).
    """

    def __init__(self, c: float = 1.0, threshold: float = 0.5, rich: bool = False) -> None:
        self.c = c
        self.threshold = threshold
        self.rich = rich

    def fit(self, ev: ResponseEvidence, quality: np.ndarray, windows, top: int, *, memo=None):
        self.top_ = int(top)
        self.fitted_: dict[str, _Fitted] = {}
        measured = np.flatnonzero(~np.isnan(quality[:, top]))
        y = (quality[measured, top] >= self.threshold).astype(int)
        for window in windows:
            if top in window:
                continue
            key = window_key(window, top)
            if memo is not None and key in memo:
                self.fitted_[key] = memo[key]
                continue
            x = window_design(ev, measured, window, self.rich)
            self.fitted_[key] = _fit_one(x, y, self.c)
            if memo is not None:
                memo[key] = self.fitted_[key]
        return self

    def predict(self, ev: ResponseEvidence, rows: np.ndarray, window: tuple[int, ...]):
        """``[len(rows)]`` P̂ that the dearest model is right on each prompt."""
        f = self.fitted_[window_key(window, self.top_)]
        return _predict_one(f, window_design(ev, rows, window, self.rich))


def judge_error_rates(accept: np.ndarray, right: np.ndarray) -> tuple[float, float]:
    """Measured (false-accept, false-reject) of a judge's verdicts against the truth.

    false-accept = P(accept | answer wrong), false-reject = P(reject | answer
    right): the two sides of the paper's symmetric error rate ε. NaN where a
    side has no cases.
    """
    accept = np.asarray(accept, dtype=bool)
    right = np.asarray(right, dtype=bool)
    fa = float(accept[~right].mean()) if (~right).any() else float("nan")
    fr = float((~accept[right]).mean()) if right.any() else float("nan")
    return fa, fr
