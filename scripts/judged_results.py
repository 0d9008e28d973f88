"""Regenerate the judged-routers table of docs/routers.md on the shared RouterBench rows.

    python scripts/judged_results.py [--data DIR] [--seeds 50] [--write-docs]

Per dataset (ARC-Challenge, MBPP, Winogrande; paper split, one router per
dataset trained on its train part) and for every router built on real judges:
in-sample AIQ and Δ vs the Zero router with a paired bootstrap CI; the
cross-fitted Δ (frontier settings chosen on one half of the test prompts,
scored on the other; the Zero router cross-fitted the same way); the share of
the Zero → Oracle-frontier gap it closes; and the two controls: the maximum
over `--seeds` seeds of the no-information control (`prior`) and a
length-only control, both cross-fitted. A router "beats Zero" only if its
cross-fitted Δ exceeds both. The judges' measured error rates (false accept,
false reject, and the equal-error rate ε̂) are set beside the paper's
simulated-judge cascade, whose cross-fitted Δ is given at the paper's ε grid.

MBPP code is run in `routerbench.collect.sandbox`; results are cached under
``~/.cache/routerbench/`` (keyed by a hash of the response texts), so the first
run takes about ten minutes on two cores and later ones about two.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

import routerbench
from routerbench.data.benchmark import Benchmark
from routerbench.data.splits import paper_split
from routerbench.frontier import aiq, crossfit_aiq, ndch, paired_bootstrap, zero_router
from routerbench.io import write_text_atomic
from routerbench.routers import PriorRouter, Router, WtpRouter
from routerbench.routers.cascade import PAPER_ERROR_RATES, CascadeRouter
from routerbench.routers.hybrid import HybridRouter
from routerbench.routers.judged_cascade import JudgedCascadeRouter, windows_of
from routerbench.routers.judges.verifier import judge_error_rates
from routerbench.routers.wtp import wtp_path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "realdata" / "routerbench-subset-routerdc"
DATASETS = ("arc-challenge", "mbpp", "winogrande")
CACHE = Path.home() / ".cache" / "routerbench" / "judged-results-code-evidence.json"
DOC = REPO / "docs" / "routers.md"
START, END = "<!-- judged-results:start -->", "<!-- judged-results:end -->"


#: Label of the router whose judge's error rates are reported (the registry default).
JUDGED = "judged cascade, verifier, searched chain (depth 4, default)"


def routers(cache: str) -> dict[str, Router]:
    """The judged routers compared (none reads test quality); all are reported."""
    return {
        "judged cascade, verifier, hull chain": JudgedCascadeRouter(chain="hull", code_cache=cache),
        "judged cascade, verifier, searched chain (depth 3)": JudgedCascadeRouter(
            search_depth=3, code_cache=cache
        ),
        JUDGED: JudgedCascadeRouter(code_cache=cache),
        "judged cascade, verifier, all models (paper's order)": JudgedCascadeRouter(
            chain="all", code_cache=cache
        ),
        "judged cascade, agreement only, hull chain": JudgedCascadeRouter(
            judge="agreement", chain="hull", code_cache=cache
        ),
        "hybrid: logreg first model + verifier, searched chain": HybridRouter(code_cache=cache),
    }


class LengthControl(WtpRouter):
    """Length-only control: per-model logistic P(correct | log prompt length), cost line on length.

    It knows each dataset's base rates and how long a prompt is, nothing else:
    any router that cannot beat it has learned nothing a length count would not.
    """

    name = "length"

    def __init__(self, lambdas="exact", max_settings: int = 1000) -> None:
        self.lambdas = lambdas
        self.max_settings = max_settings

    @staticmethod
    def _x(prompts) -> np.ndarray:
        return np.log1p(prompts["prompt"].str.len().to_numpy(float))[:, None]

    def fit(self, train: Benchmark) -> LengthControl:
        from sklearn.linear_model import LinearRegression, LogisticRegression

        x = self._x(train.prompts)
        self.models_ = train.models
        self.quality_ = []
        for j in range(train.n_models):
            y = (train.quality[:, j] >= 0.5).astype(int)
            self.quality_.append(
                LogisticRegression().fit(x, y) if len(np.unique(y)) > 1 else float(y.mean())
            )
        self.cost_ = LinearRegression().fit(x, train.cost)
        self._memo = None
        return self

    def _compute_prompts(self, prompts) -> tuple[np.ndarray, np.ndarray]:
        x = self._x(prompts)
        cols = [
            m.predict_proba(x)[:, 1] if not isinstance(m, float) else np.full(len(x), m)
            for m in self.quality_
        ]
        return np.column_stack(cols), np.maximum(self.cost_.predict(x), 1e-12)


def table(router: Router, test: Benchmark) -> tuple[np.ndarray, np.ndarray]:
    """``[S, n]`` realised quality and cost (judge cost included) of every setting."""
    pairs = [d.realised(test) for d in router.sweep(test)]
    return np.stack([q for q, _ in pairs]), np.stack([c for _, c in pairs])


@dataclass
class Row:
    router: str
    settings: int
    aiq: float
    delta: float
    low: float
    high: float
    crossfit: float
    gap: float


@dataclass
class Judge:
    false_accept: float  # at τ = 0.5
    false_reject: float
    fa_eer: float  # at the equal-error threshold
    fr_eer: float
    tau_eer: float
    n: int

    @property
    def eer(self) -> float:
        return (self.fa_eer + self.fr_eer) / 2


def judge_rates(router: JudgedCascadeRouter, train: Benchmark, test: Benchmark) -> Judge:
    """Measured error rates of the verifier on test, at every window of the chain from stage 0.

    A verdict is "accept the window's best answer" (P̂ ≥ τ); it is right when
    that answer's test quality is 1. False accept / false reject are at τ = 0.5;
    ε̂ is the equal-error rate (the τ where both are closest), the number to set
    on the paper's symmetric-ε curve.
    """
    ev = router._evidence(test)
    unit = router.units_[test.datasets[0]]
    rows = np.arange(test.n_prompts)
    scores, right = [], []
    for w in windows_of(unit.chain):
        if w[0] != unit.chain[0]:
            continue
        p = unit.verifier.predict(ev, rows, w)
        best = np.asarray(w)[p.argmax(axis=1)]
        scores.append(p.max(axis=1))
        right.append(test.quality[rows, best] >= 0.5)
    s, r = np.concatenate(scores), np.concatenate(right)
    fa, fr = judge_error_rates(s >= 0.5, r)
    grid = np.unique(s)
    rates = np.array([judge_error_rates(s >= t, r) for t in grid])
    k = int(np.nanargmin(np.abs(rates[:, 0] - rates[:, 1])))
    return Judge(fa, fr, float(rates[k, 0]), float(rates[k, 1]), float(grid[k]), len(s))


def evaluate(
    train: Benchmark, test: Benchmark, cache: str, seeds: int, n_boot: int
) -> tuple[dict, list[Row], Judge]:
    zero = zero_router(test.cost.sum(axis=0), test.quality.mean(axis=0), test.models)
    window = zero.window
    zero_sys = (test.quality.T, test.cost.T)
    zero_aiq = aiq(zero.curve, window=window)
    zero_cf = crossfit_aiq(*zero_sys, window)
    path = wtp_path(test.quality, test.cost, test.quality, test.cost)
    frontier = aiq(ndch(path.costs, path.qualities), window=window)
    gap = frontier - zero_aiq
    rows = []
    fitted = {}
    for name, router in routers(cache).items():
        router.fit(train)
        fitted[name] = router
        q, c = table(router, test)
        est = aiq(ndch(c.sum(axis=1), q.mean(axis=1)), window=window)
        pb = paired_bootstrap((q, c), zero_sys, n_boot=n_boot, seed=0, window=window)
        cf = crossfit_aiq(q, c, window) - zero_cf
        rows.append(Row(name, len(q), est, pb.estimate, pb.low, pb.high, cf, cf / gap))
    null = np.array(
        [
            crossfit_aiq(*table(PriorRouter(noise=0.02, seed=s).fit(train), test), window) - zero_cf
            for s in range(seeds)
        ]
    )
    length = crossfit_aiq(*table(LengthControl().fit(train), test), window) - zero_cf
    simulated = {
        eps: crossfit_aiq(*table(CascadeRouter(error_rates=(eps,)).fit(train), test), window)
        - zero_cf
        for eps in PAPER_ERROR_RATES
    }
    judge = judge_rates(fitted[JUDGED], train, test)
    facts = {
        "zero": zero_aiq,
        "frontier": frontier,
        "window": window,
        "control_max": float(null.max()),
        "control_p95": float(np.quantile(null, 0.95)),
        "length": length,
        "simulated": simulated,
        "n_test": test.n_prompts,
        "n_train": train.n_prompts,
    }
    return facts, rows, judge


def render(results: dict[str, tuple[dict, list[Row], Judge]], seeds: int) -> str:
    out = [
        "| dataset | router | settings | AIQ | Δ vs Zero | 95% CI (paired) | cross-fitted Δ "
        "| gap closed | beats controls |",
        "|---|---|---:|---:|---:|---|---:|---:|:---:|",
    ]
    best_gaps = []
    for ds, (f, rows, _) in results.items():
        bar = max(f["control_max"], f["length"])
        out.append(f"| {ds} | **Zero router** | 11 models | {f['zero']:.4f} | | | | | |")
        out.append(
            f"| {ds} | Oracle frontier (exact WTP path on test outcomes) | | "
            f"{f['frontier']:.4f} | {f['frontier'] - f['zero']:+.4f} | | | 100% | |"
        )
        for r in rows:
            ok = "yes" if r.crossfit > bar else "no"
            out.append(
                f"| {ds} | {r.router} | {r.settings} | {r.aiq:.4f} | {r.delta:+.4f} | "
                f"[{r.low:+.4f}, {r.high:+.4f}] | {r.crossfit:+.4f} | {100 * r.gap:.0f}% | {ok} |"
            )
        out.append(
            f"| {ds} | *controls (cross-fitted Δ): no-information max over {seeds} seeds "
            f"{f['control_max']:+.4f} (95th pct {f['control_p95']:+.4f}); length-only "
            f"{f['length']:+.4f}* | | | | | | | |"
        )
        best = max(rows, key=lambda r: r.crossfit)
        best_gaps.append(best.gap if best.crossfit > bar else 0.0)
    out.append("")
    out.append(
        f"Mean share of the Zero → Oracle-frontier gap closed by the best judged router per "
        f"dataset (0 where it does not beat both controls): {100 * np.mean(best_gaps):.0f}%."
    )
    out.append("")
    eps_cols = " | ".join(f"ε={e:g}" for e in PAPER_ERROR_RATES)
    out.append(
        "| dataset | false accept / reject at τ=0.5 | at equal-error τ | ε̂ "
        f"| verdicts | simulated cascade, cross-fitted Δ: {eps_cols} |"
    )
    out.append("|---|---|---|---:|---:|" + "---:|" * len(PAPER_ERROR_RATES))
    for ds, (f, _, j) in results.items():
        sim = " | ".join(f"{f['simulated'][e]:+.4f}" for e in PAPER_ERROR_RATES)
        out.append(
            f"| {ds} | {j.false_accept:.2f} / {j.false_reject:.2f} | {j.fa_eer:.2f} / "
            f"{j.fr_eer:.2f} (τ={j.tau_eer:.2f}) | {j.eer:.2f} | {j.n} | {sim} |"
        )
    return "\n".join(out)


def write_docs(text: str) -> None:
    doc = DOC.read_text(encoding="utf-8")
    if START not in doc or END not in doc:
        raise SystemExit(f"{DOC.name}: markers {START} / {END} not found")
    head, rest = doc.split(START, 1)
    _, tail = rest.split(END, 1)
    write_text_atomic(DOC, f"{head}{START}\n{text}\n{END}{tail}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--seeds", type=int, default=50)
    ap.add_argument("--n-boot", type=int, default=1000)
    ap.add_argument("--datasets", nargs="*", default=list(DATASETS))
    ap.add_argument("--code-cache", type=Path, default=CACHE)
    ap.add_argument("--write-docs", action="store_true")
    args = ap.parse_args(argv)
    if not args.data.is_dir():
        print(f"error: {args.data}: no such data folder", file=sys.stderr)
        return 2
    args.code_cache.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    split = paper_split(routerbench.load(str(args.data)))
    results = {}
    with threadpool_limits(1):
        for ds in args.datasets:
            tr, te = split.train.subset(datasets=ds), split.test.subset(datasets=ds)
            results[ds] = evaluate(tr, te, str(args.code_cache), args.seeds, args.n_boot)
            print(f"# {ds} done ({time.perf_counter() - t0:.0f} s)", file=sys.stderr)
    text = render(results, args.seeds)
    print(text)
    if args.write_docs:
        write_docs(text)
    print(f"({time.perf_counter() - t0:.0f} s)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
