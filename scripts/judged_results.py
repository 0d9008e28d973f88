"""Regenerate the judged-routers table of docs/routers.md from one `routerbench run`.

    python scripts/judged_results.py [--data PATH] [--config configs/judged.yaml] [--write-docs]
    python scripts/judged_results.py --data routellm.parquet --datasets gsm8k mtbench \
        --marker judged-results-routellm --write-docs   # the same routers on other real data
    python scripts/judged_results.py --data arena.parquet --group 'routerarena=*' \
        --out out/judged-routerarena --marker judged-results-routerarena --write-docs

It runs the experiment of ``configs/judged.yaml`` on the shared RouterBench rows
(ARC-Challenge, MBPP, Winogrande; the paper's 70/30 split, one router per
dataset trained on its train part) exactly as ``routerbench run --config
configs/judged.yaml --data DIR`` does (finished runs are reused), and renders
its ``aiq.csv``: per dataset the Zero router, the Oracle frontier, and every
router with its Δ vs Zero (paired CI), its symmetric cross-fitted Δ (CI), the
controls it must clear (max over the no-information seeds; length only), the
share of the Zero → Oracle-frontier gap it closes and **the verdict of
aiq.csv** — the only thing that says "beats Zero". The paper's simulated-judge
cascade (it reads test outcomes) gives the ε curve; the real judge's measured
error rates on test (false accept / false reject, equal-error ε̂) are set beside it.

MBPP code runs in `routerbench.collect.sandbox`; results are cached (keyed by a
hash of the response texts) in the file the config names, so the first run
takes longer.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "realdata" / "routerbench-subset-routerdc"
CONFIG = REPO / "configs" / "judged.yaml"
DOC = REPO / "docs" / "routers.md"
MARKER = "judged-results"  # docs/routers.md holds <!-- MARKER:start --> ... <!-- MARKER:end -->
PROTOCOL = "in-domain"
SIMULATED = "cascade"  # the paper's simulated-judge cascade (family name)
#: Label (in configs/judged.yaml) of the router whose judge's error rates are measured.
JUDGED = "judged cascade: verifier, searched chain"


def run(
    config: Path,
    data: Path,
    out: Path | None,
    datasets: list[str] | None = None,
    groups: dict[str, list[str]] | None = None,
) -> tuple[pd.DataFrame, object]:
    """`routerbench run --config CONFIG --data DATA [--out OUT]`; its aiq frame and config.

    `groups` is added to the config's own (``{dataset: [pattern, ...]}``, e.g.
    RouterArena's 78 task groups as one dataset: ``{"routerarena": ["*"]}``).
    """
    from routerbench.experiment import load_config, run_experiment
    from routerbench.experiment.config import parse_config

    cfg, text = load_config(config)
    merged = cfg.model_dump(exclude_unset=True)
    merged["data"] = str(data)
    if out is not None:
        merged["out"] = str(out)
    if datasets:
        merged["datasets"] = list(datasets)
    if groups:
        merged["groups"] = {**merged.get("groups", {}), **groups}
    cfg = parse_config(merged, source="command line")
    result = run_experiment(
        cfg, config_text=text, quiet=True, echo=lambda s: print(s, file=sys.stderr)
    )
    return result.aiq, cfg


def _unsigned_zero(v: float, digits: int = 4) -> float:
    """`v` rounded to the digits shown, with -0.0 (a sum's rounding noise) as 0."""
    return round(v, digits) + 0.0


def _f(v: float, fmt: str = "+.4f") -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
    digits = int(fmt.rsplit(".", 1)[1].rstrip("f")) if "." in fmt else 4
    return format(_unsigned_zero(v, digits), fmt)


def _ci(lo: float, hi: float) -> str:
    if math.isnan(lo) or math.isnan(hi):
        return ""
    return f"[{_unsigned_zero(lo):+.4f}, {_unsigned_zero(hi):+.4f}]"


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


def judge_rates(router, test) -> Judge:
    """Measured error rates of a fitted judged cascade's verifier on test.

    For every window of the chain from its first stage, a verdict is "accept
    the window's best answer" (P̂ ≥ τ); it is right when that answer's test
    quality is 1 (read here only to *score* the judge). False accept / false
    reject at τ = 0.5; ε̂ is the equal-error rate, the number to set on the
    paper's symmetric-ε curve.
    """
    from routerbench.routers.judged_cascade import windows_of
    from routerbench.routers.judges.verifier import judge_error_rates

    tables = router._tables(test)
    scores, right = [], []
    for rows, unit, _ in tables:
        ev = router._evidence(test)
        if getattr(router, "prior_", None) is not None:
            from dataclasses import replace

            ev = replace(ev, prior=router.prior_.predict_quality(test))
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


def judges(cfg, datasets: list[str]) -> dict[str, Judge]:
    """Refit the `JUDGED` router of the config per dataset (paper split) and measure its judge."""
    from routerbench.data.splits import paper_split
    from routerbench.experiment.runner import prepare_benchmark
    from routerbench.routers import get_router

    spec = next(r for r in cfg.routers if r.label == JUDGED)
    proto = next(p for p in cfg.protocols if p.label == PROTOCOL)
    bench = prepare_benchmark(cfg)  # the run's own data: missing policy, groups, datasets
    split = paper_split(bench, fraction=proto.fraction, seed=proto.seed)
    out = {}
    for ds in datasets:
        tr, te = split.train.subset(datasets=ds), split.test.subset(datasets=ds)
        router = get_router(spec.name, **spec.params).fit(tr)
        out[ds] = judge_rates(router, te)
    return out


def _is_reference(family: str) -> bool:
    """A system tagged ``reads_uncalled_responses``: a ceiling to show, never a router to count."""
    from routerbench.experiment.evaluate import family_tags

    return family_tags(family).reads_uncalled_responses


def render(aiq: pd.DataFrame, judged: dict[str, Judge], n_configs: int) -> str:
    from routerbench.report.tables import deployable

    frame = aiq[aiq["protocol"] == PROTOCOL]
    out = [
        "| dataset | system | AIQ | Δ vs Zero (paired 95% CI) | cross-fitted Δ (95% CI) "
        "| control max | length control | gap closed (cross-fitted) | verdict |",
        "|---|---|---:|---|---|---:|---:|---:|---|",
    ]
    best_gaps: dict[str, tuple[str, float, str]] = {}
    reference_gaps: dict[str, float] = {}
    simulated: dict[str, dict[str, float]] = {}
    for ds, part in frame.groupby("dataset", sort=True):
        zero = part[part["kind"] == "zero"].iloc[0]
        front = part[part["kind"] == "oracle-frontier"]
        out.append(f"| {ds} | **Zero router** | {zero['aiq']:.4f} | | | | | | |")
        if len(front):
            f = front.iloc[0]
            out.append(
                f"| {ds} | Oracle frontier (exact WTP path on test outcomes) | {f['aiq']:.4f} "
                f"| {f['aiq'] - zero['aiq']:+.4f} | | | | 100% | |"
            )
        routers = part[part["kind"] == "router"]
        for r in routers.itertuples():
            if r.family == SIMULATED:
                simulated.setdefault(ds, {})[r.system] = r.delta_crossfit
                continue
            out.append(
                f"| {ds} | {r.system} | {r.aiq:.4f} | {_f(r.delta_zero)} "
                f"{_ci(r.delta_ci_low, r.delta_ci_high)} | {_f(r.delta_crossfit)} "
                f"{_ci(r.crossfit_ci_low, r.crossfit_ci_high)} | {_f(r.control_max)} "
                f"({int(r.n_control_seeds)} seeds) | {_f(r.length_control)} "
                f"| {_f(100 * r.gap_closed_crossfit, '.0f')}% | {r.verdict} |"
            )
        reference = routers["family"].map(_is_reference).astype(bool)
        for r in routers[reference].itertuples():
            reference_gaps[ds] = max(reference_gaps.get(ds, -np.inf), r.gap_closed_crossfit)
        honest = routers[deployable(routers)]  # neither simulated nor a reference
        if len(honest):
            b = honest.loc[honest["delta_crossfit"].idxmax()]
            best_gaps[ds] = (b["system"], float(b["gap_closed_crossfit"]), str(b["verdict"]))
    from routerbench.verdicts import BEATS_ZERO

    counted = [g if v == BEATS_ZERO else 0.0 for _, g, v in best_gaps.values()]
    raw = [g for _, g, _ in best_gaps.values()]
    out += [
        "",
        f"Configurations compared (routers that do not read test quality): {n_configs}. "
        "The verdict is aiq.csv's: cross-fitted gain with its bootstrap interval above 0 "
        "*and* above the largest gain of every no-information control seed *and* above the "
        "length control.",
        "",
        "| dataset | best router (by cross-fitted Δ) | gap closed | verdict |",
        "|---|---|---:|---|",
    ]
    for ds, (name, gap, verdict) in best_gaps.items():
        out.append(f"| {ds} | {name} | {100 * gap:.0f}% | {verdict} |")
    out += [
        "",
        f"Mean share of the Zero → Oracle-frontier gap closed by the best router per dataset: "
        f'{100 * np.mean(counted):.0f}% counting only verdicts of "{BEATS_ZERO}" '
        f"(0 elsewhere); {100 * np.mean(raw):.0f}% raw.",
        "",
    ]
    if reference_gaps:
        shares = ", ".join(f"{ds} {100 * g:.0f}%" for ds, g in reference_gaps.items())
        out += [
            "Reading every model's response free (the reference row, tagged as reading "
            "responses it did not pay for; not a router, not counted above), the same verifier "
            f"closes {shares} of the gap: mean "
            f"{100 * np.mean(list(reference_gaps.values())):.0f}%.",
            "",
        ]
    if judged:
        eps = sorted({k for v in simulated.values() for k in v}, key=_eps_of)
        head = " | ".join(k.replace(f"{SIMULATED} ", "") for k in eps)
        out.append(
            "| dataset | false accept / reject at τ=0.5 | at equal-error τ | ε̂ | verdicts "
            f"| simulated cascade, cross-fitted Δ: {head} |"
        )
        out.append("|---|---|---|---:|---:|" + "---:|" * len(eps))
        for ds, j in judged.items():
            sim = " | ".join(_f(simulated.get(ds, {}).get(k, float("nan"))) for k in eps)
            out.append(
                f"| {ds} | {j.false_accept:.2f} / {j.false_reject:.2f} | {j.fa_eer:.2f} / "
                f"{j.fr_eer:.2f} (τ={j.tau_eer:.2f}) | {j.eer:.2f} | {j.n} | {sim} |"
            )
    return "\n".join(out)


def _eps_of(system: str) -> float:
    try:
        return float(system.rsplit("ε=", 1)[1])
    except (IndexError, ValueError):
        return float("inf")


def _markers(marker: str) -> tuple[str, str]:
    return f"<!-- {marker}:start -->", f"<!-- {marker}:end -->"


def missing_markers(marker: str) -> str | None:
    """Why `write_docs` could not write `marker`'s block (None when it can)."""
    start, end = _markers(marker)
    doc = DOC.read_text(encoding="utf-8")
    if start not in doc or end not in doc:
        return f"{DOC.name}: markers {start} / {end} not found"
    return None


def write_docs(text: str, marker: str = MARKER) -> None:
    from routerbench.io import write_text_atomic

    problem = missing_markers(marker)
    if problem:
        raise SystemExit(problem)
    start, end = _markers(marker)
    doc = DOC.read_text(encoding="utf-8")
    head, rest = doc.split(start, 1)
    _, tail = rest.split(end, 1)
    write_text_atomic(DOC, f"{head}{start}\n{text}\n{end}{tail}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--config", type=Path, default=CONFIG)
    ap.add_argument("--out", type=Path, default=None, help="output folder (default: the config's)")
    ap.add_argument("--no-judges", action="store_true", help="skip measuring the judges' ε̂")
    ap.add_argument("--datasets", nargs="+", default=None, help="only these datasets")
    ap.add_argument(
        "--group",
        action="append",
        default=[],
        metavar="NAME=PATTERN[,PATTERN]",
        help="merge the datasets or tasks matching the patterns into one dataset NAME",
    )
    ap.add_argument("--marker", default=MARKER, help="which marked block of routers.md to write")
    ap.add_argument("--write-docs", action="store_true")
    args = ap.parse_args(argv)
    if not args.data.exists():
        print(f"error: {args.data}: no such data file or folder", file=sys.stderr)
        return 2
    if args.write_docs and (problem := missing_markers(args.marker)):  # before minutes of work
        print(f"error: --marker {args.marker}: {problem}", file=sys.stderr)
        return 2
    from routerbench.cli_support import explain_os_error
    from routerbench.errors import RouterBenchError

    groups: dict[str, list[str]] = {}
    for item in args.group:
        name, sep, patterns = item.partition("=")
        if not (sep and name.strip() and patterns.strip()):
            print(f"error: --group {item!r}: expected NAME=PATTERN[,PATTERN]", file=sys.stderr)
            return 2
        groups[name.strip()] = [p.strip() for p in patterns.split(",") if p.strip()]
    t0 = time.perf_counter()
    try:
        with threadpool_limits(1):
            aiq, cfg = run(args.config, args.data, args.out, args.datasets, groups)
            datasets = sorted(aiq.loc[aiq["protocol"] == PROTOCOL, "dataset"].unique())
            judged = {} if args.no_judges else judges(cfg, datasets)
    except RouterBenchError as exc:  # a bad --datasets, --config or data file: one line
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"error: {explain_os_error(exc)}", file=sys.stderr)
        return 2
    from routerbench.report.tables import deployable_family

    n_configs = sum(
        int(np.prod([len(v) for v in r.grid.values()])) if r.grid else 1
        for r in cfg.routers
        if deployable_family(r.name)
    )
    text = render(aiq, judged, n_configs)
    print(text)
    if args.write_docs:
        write_docs(text, args.marker)
    print(f"({time.perf_counter() - t0:.0f} s)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
