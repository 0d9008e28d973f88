"""The self-contained HTML page: escaped tables, inlined PNG figures, inline CSS, no requests.

The page must open offline and years later, so nothing in it points outside the file.
"""

from __future__ import annotations

import base64
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

import pandas as pd

from routerbench.report.tables import (
    COST_TOLERANCE,
    ORACLE,
    QUALITY_TOLERANCE,
    TABLE1_VARIANTS,
    aiq_sorted,
    best_models,
    deployable,
    money,
    paper_agreement,
    table1_variant,
    table1_wide,
)
from routerbench.verdicts import ABOVE_ZERO

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;
 max-width:1280px;margin:0 auto;padding:1rem 2rem 3rem;color:#1f1f1f;line-height:1.45}
h1{font-size:1.7rem;margin:.6rem 0 .2rem}h2{margin-top:2.2rem;border-bottom:2px solid #ddd;
 padding-bottom:.2rem}h3{margin:1.4rem 0 .4rem;font-size:1.05rem}
.meta{color:#555;font-size:.9rem}
.banner{background:#b3261e;color:#fff;font-weight:700;font-size:1.15rem;padding:.7rem 1rem;
 border-radius:6px;margin:1rem 0;letter-spacing:.02em}
nav ul{columns:2;font-size:.9rem}
.scroll{overflow-x:auto}
table{border-collapse:collapse;font-size:.84rem;margin:.3rem 0 1rem}
th,td{padding:3px 8px;border-bottom:1px solid #e3e3e3;text-align:right;white-space:nowrap;
 vertical-align:top}th{white-space:normal;max-width:9rem;vertical-align:bottom}
td.wrap{white-space:normal;max-width:11rem}span.ci{color:#666;font-size:.74rem}
td.beats{color:#0a6b35;font-weight:700;text-align:left}tr.control td{color:#555;background:#fafafa}
p.unit{color:#333;font-size:.86rem;margin:.1rem 0 .3rem}
.explain dt{margin-top:.4rem}.explain dd{font-family:inherit;margin:0 0 .3rem 0}
.explain dl{display:block}
th{background:#f4f4f4;position:sticky;top:0}
th.l,td.l{text-align:left}
tr.oracle td{background:#fff3e8}tr.zero td{background:#efefef}
tr.top td{font-weight:700}td.best{font-weight:700}
td.pos{color:#0a6b35}td.neg{color:#a1261b}
figure{margin:1rem 0 2rem}figure img{max-width:100%;height:auto;border:1px solid #eee}
figcaption{font-size:.88rem;color:#444;margin-top:.3rem}
pre{background:#f6f8fa;border:1px solid #e1e4e8;padding:.8rem;overflow:auto;font-size:.8rem}
details{margin:-.5rem 0 1rem}summary{cursor:pointer;color:#444;font-size:.88rem}
ul.summary{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.84rem}
dl{display:grid;grid-template-columns:max-content auto;gap:.2rem 1rem}dt{font-weight:600}
dd{margin:0;font-family:ui-monospace,Menlo,Consolas,monospace}
"""


_BEST_TD = '<td class="best">'


@dataclass(frozen=True)
class FigureEntry:
    """One figure for the page: its section, title, caption, PNG bytes and the SVG beside it."""

    section: str
    title: str
    caption: str
    png: bytes
    svg_name: str | None = None


def _num(x: object, fmt: str = ".4g") -> str:
    try:
        v = float(x)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return escape(str(x))
    if not math.isfinite(v):
        return "–"
    text = format(v, fmt)
    return format(0.0, fmt) if text.lstrip("+-").strip("0.%") == "" else text


_PAPER_SPAN = '<br><span style="color:#666;font-size:.76rem">'


def _mark(text: str, ok: bool) -> str:
    """A small green (reproduces the paper) or red (does not) piece of a Table 1 cell."""
    colour = "#0a6b35" if ok else "#a1261b"
    return f'<span style="color:{colour};font-size:.76rem">{escape(text)}</span>'


def _variant_table(t1: pd.DataFrame, variant: str | None) -> str:
    """One variant of Table 1: "q / $c" per cell and, where the paper has it, its cell and Δ."""
    part = table1_variant(t1, variant)
    wide = table1_wide(part)
    best = best_models(part)
    has_paper = "paper_quality" in part.columns and part["paper_quality"].notna().any()
    cells_of = part.set_index(["model", "dataset"])
    head = "".join(f"<th>{escape(str(c))}</th>" for c in wide.columns)
    rows = []
    for model, row in wide.iterrows():
        cls = ' class="oracle"' if model == ORACLE else ""
        tds = []
        for ds, v in row.items():
            td = _BEST_TD if best.get(ds) == model else "<td>"
            text = escape(str(v))
            if has_paper and (model, ds) in cells_of.index:
                r = cells_of.loc[(model, ds)]
                pq, pc = float(r["paper_quality"]), float(r["paper_total_cost"])
                if math.isfinite(pq) and math.isfinite(pc):
                    dq, ratio = float(r["quality_diff"]), float(r["cost_ratio"])
                    q_ok = abs(dq) <= QUALITY_TOLERANCE + 1e-12
                    c_ok = math.isfinite(ratio) and abs(ratio - 1.0) <= COST_TOLERANCE + 1e-12
                    text += f"{_PAPER_SPAN}paper {pq:.3f} / {escape(money(pc))}</span><br>"
                    text += _mark(f"Δ {dq:+.3f}", q_ok) + _mark(f" · cost ×{ratio:.2f}", c_ok)
            tds.append(f"{td}{text}</td>")
        rows.append(f'<tr{cls}><td class="l">{escape(str(model))}</td>{"".join(tds)}</tr>')
    return (
        '<div class="scroll"><table><thead><tr><th class="l">model</th>'
        f"{head}</tr></thead><tbody>{''.join(rows)}</tbody></table></div>"
    )


def _agreement_html(t1: pd.DataFrame) -> str:
    """Plain words: where each variant reproduces the paper, and where none does."""
    agree = paper_agreement(t1)
    if agree.empty:
        return ""
    variants = list(pd.unique(t1["variant"]))
    items = []
    for v in variants:
        parts = []
        for measure, tol in (
            ("quality", f"within ±{QUALITY_TOLERANCE:g}"),
            ("cost", f"within {COST_TOLERANCE:.0%}"),
        ):
            sel = agree[agree["measure"] == measure]
            ok = sel["reproduced_by"].str.split(",").map(lambda xs, v=v: v in xs)
            parts.append(f"{measure} {tol} of the paper's in {int(ok.sum())} of {len(sel)} cells")
        items.append(f"<li><b>{escape(TABLE1_VARIANTS.get(v, v))}</b>: {'; '.join(parts)}.</li>")
    none = agree[agree["reproduced_by"] == ""]
    if none.empty:
        tail = "<p>Every cell the paper has is reproduced by at least one variant.</p>"
    else:

        def fmt(x: float, measure: str) -> str:
            return f"{x:.3f}" if measure == "quality" else money(x)

        lines = [
            f"{escape(str(r.dataset))} {escape(str(r.model))} {r.measure}: paper "
            f"{escape(fmt(r.paper, r.measure))}, ours at best {escape(fmt(r.closest, r.measure))} "
            f"({escape(str(r.closest_variant))})"
            for r in none.itertuples(index=False)
        ]
        tail = (
            f"<p><b>No variant reproduces the paper</b> in {len(none)} of {len(agree)} "
            "(cell, measure) pairs:</p><details><summary>show them</summary><ul>"
            + "".join(f"<li>{line}</li>" for line in lines)
            + "</ul></details>"
        )
    return (
        "<p>Paper's numbers: Table 1 of Hu et al. (2024), beside ours in grey, with ours "
        "minus the paper's quality and our cost over the paper's (green: reproduced, red: "
        "not).</p><ul>" + "".join(items) + "</ul>" + tail
    )


def table1_html(t1: pd.DataFrame) -> str:
    """Table 1 as HTML: one table per variant, the paper's cell beside ours where it has one.

    Rows are models then the Oracle, columns datasets, cells "q / $c". The best
    single model per dataset is bold, the Oracle row shaded, so the gap between the
    best model and the Oracle (the room routing has) is easy to see. Each variant is
    labelled for the prompts it sums over, and a paragraph says where no variant
    reproduces the paper.
    """
    variants = list(pd.unique(t1["variant"])) if "variant" in t1.columns else [None]
    blocks = [_agreement_html(t1)] if "variant" in t1.columns else []
    for v in variants:
        label = TABLE1_VARIANTS.get(str(v), str(v)) if v is not None else ""
        heading = f"<h3>{escape(label[:1].upper() + label[1:])}</h3>" if label else ""
        blocks.append(heading + _variant_table(t1, v))
    return "".join(blocks)


#: Other papers' metrics, shown folded under each AIQ table, with their plain-words names.
OTHER_METRICS: tuple[tuple[str, str], ...] = (
    ("aiq_crossfit", "own cross-fitted AIQ"),
    ("n_points", "points"),
    ("apgr", "APGR"),
    ("arena_score", "arena score"),
    ("gap_at_oracle", "gap at Oracle"),
    ("perf_gain", "perf. gain"),
    ("cost_save", "cost save"),
    ("pareto_distance", "Pareto dist."),
)
_KIND_NAME = {
    "router": "router",
    "control": "control",
    "zero": "baseline",
    "oracle": "upper ref.",
    "oracle-frontier": "upper bound",
    "model": "model",
}


def _kind_name(kind: str, system: str) -> str:
    """What a row is, in words; a cascade's per-ε slice says its judge is simulated."""
    if kind == "router" and re.search(r" ε=[0-9.eE+-]+$", system):
        return "simulated judge"
    return _KIND_NAME.get(kind, kind)


def _get(r: pd.Series, col: str) -> float:
    try:
        return float(r.get(col, math.nan))
    except (TypeError, ValueError):
        return math.nan


def _fmt(v: float, fmt: str) -> str:
    """`format`, with a value that rounds to zero shown as zero (no "-0.0000", no "-0%")."""
    text = format(v, fmt)
    if text.lstrip("+-").strip("0.%") == "":
        text = format(0.0, fmt)
    return text


def _with_interval(est: float, lo: float, hi: float, fmt: str) -> str:
    """An estimate over its interval on a second, smaller line: narrow columns, no cut-off."""
    if not math.isfinite(est):
        return "–"
    top = _fmt(est, fmt)
    if math.isfinite(lo) and math.isfinite(hi):
        return f'{top}<br><span class="ci">[{_fmt(lo, fmt)}, {_fmt(hi, fmt)}]</span>'
    return top


def _sign_class(v: float, lo: float = math.nan) -> str:
    if not math.isfinite(v):
        return ""
    if math.isfinite(lo) and lo > 0:
        return "pos"
    return "neg" if v < 0 else ""


def _aiq_row(r: pd.Series, top: bool) -> str:
    """One row of an AIQ table: AIQ, paired Δ, cross-fitted Δ, gap closed and verdict."""
    kind = str(r.get("kind", ""))
    tr = (
        "top"
        if top
        else {"oracle": "oracle", "oracle-frontier": "oracle", "zero": "zero"}.get(kind, "")
    )
    if kind == "control":
        tr = "control"
    d, dlo, dhi = _get(r, "delta_zero"), _get(r, "delta_ci_low"), _get(r, "delta_ci_high")
    cf, clo = _get(r, "delta_crossfit"), _get(r, "crossfit_ci_low")
    chi = _get(r, "crossfit_ci_high")
    if kind == "zero":
        d = cf = math.nan
    gap = _get(r, "gap_closed_crossfit")
    verdict = r.get("verdict", "")
    verdict = "" if not isinstance(verdict, str) else verdict
    vcls = "beats" if verdict == "beats Zero" else "l"
    cells = [
        f'<td class="l">{escape(str(r["system"]))}</td>',
        f'<td class="l">{escape(_kind_name(kind, str(r["system"])))}</td>',
        f"<td>{_with_interval(_get(r, 'aiq'), _get(r, 'ci_low'), _get(r, 'ci_high'), '.4f')}</td>",
        f'<td class="{_sign_class(d, dlo)}">{_with_interval(d, dlo, dhi, "+.4f")}</td>',
        f'<td class="{_sign_class(cf, clo)}">{_with_interval(cf, clo, chi, "+.4f")}</td>',
        f"<td>{'–' if not math.isfinite(gap) else _fmt(100 * gap, '.0f') + '%'}</td>",
        f'<td class="{vcls} wrap">{escape(verdict) or "–"}</td>',
    ]
    return f'<tr class="{tr}">{"".join(cells)}</tr>'


_AIQ_HEAD = (
    ("system", "l"),
    ("kind", "l"),
    ("AIQ [95% CI]", ""),
    ("Δ vs Zero [paired CI]", ""),
    ("cross-fitted Δ [CI]", ""),
    ("gap closed", ""),
    ("verdict", "l"),
)


def _table(head: Sequence[tuple[str, str]], rows: list[str]) -> str:
    ths = "".join((f'<th class="{c}">' if c else "<th>") + f"{escape(h)}</th>" for h, c in head)
    return (
        f'<div class="scroll"><table><thead><tr>{ths}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table></div>"
    )


def _unit_line(grp: pd.DataFrame) -> str:
    """The numbers every row of one test set is judged against, in one sentence."""
    first = grp.iloc[0]
    parts = []
    wlo, whi = _get(first, "window_lo"), _get(first, "window_hi")
    if math.isfinite(wlo) and math.isfinite(whi):
        parts.append(f"window {money(wlo)} – {money(whi)}")
    zero = grp[grp["kind"] == "zero"]
    if not zero.empty:
        parts.append(f"Zero AIQ {_num(zero['aiq'].iloc[0], '.4f')}")
    of = _get(first, "oracle_frontier")
    if math.isfinite(of):
        parts.append(f"Oracle frontier {of:.4f}")
    ctrl, length = _get(first, "control_max"), _get(first, "length_control")
    seeds = _get(first, "n_control_seeds")
    if math.isfinite(ctrl) or math.isfinite(length):
        n = f" over {seeds:.0f} seeds" if math.isfinite(seeds) and seeds > 0 else ""
        parts.append(
            f"bar to clear: prior control max{n} {_num(ctrl, '+.4f')}, "
            f"length control {_num(length, '+.4f')}"
        )
    return f'<p class="unit">{escape(" · ".join(parts))}</p>' if parts else ""


def _other_metrics(grp: pd.DataFrame) -> str:
    cols = [(c, n) for c, n in OTHER_METRICS if c in grp.columns and grp[c].notna().any()]
    if not cols:
        return ""
    head = [("system", "l"), *((n, "") for _, n in cols)]
    rows = []
    for _, r in grp.iterrows():
        cells = "".join(
            f"<td>{_num(r[c], '.0f' if c == 'n_points' else '.4g')}</td>" for c, _ in cols
        )
        rows.append(f'<tr><td class="l">{escape(str(r["system"]))}</td>{cells}</tr>')
    return (
        f"<details><summary>other metrics ({len(cols)} columns, explained above)</summary>"
        f"{_table(head, rows)}</details>"
    )


def aiq_html(aiq: pd.DataFrame) -> str:
    """The AIQ tables: one per (protocol, dataset), best AIQ first, every gain against Zero.

    Routers, controls, the Zero router, the Oracle and the Oracle frontier come
    first, seven columns that fit the page; other papers' metrics and the
    single models fold into collapsed ``<details>`` blocks under it.
    """
    df = aiq_sorted(aiq)
    multi = df["protocol"].nunique() > 1
    parts = []
    for (protocol, dataset), grp in df.groupby(["protocol", "dataset"], sort=False):
        name = f"{dataset} ({protocol})" if multi or protocol else str(dataset)
        parts.append(f"<h3>{escape(name)}</h3>{_unit_line(grp)}")
        is_model = (grp["kind"] == "model").to_numpy()
        routers = grp[grp["kind"] == "router"]
        routers = routers[deployable(routers)]  # the top row is a router one could deploy
        key = "delta_crossfit" if "delta_crossfit" in grp.columns else "aiq"
        top = routers[key].astype(float).idxmax() if routers[key].notna().any() else None
        main = [_aiq_row(r, i == top) for i, r in grp[~is_model].iterrows()]
        models = [_aiq_row(r, False) for _, r in grp[is_model].iterrows()]
        if main:
            parts.append(_table(_AIQ_HEAD, main))
        parts.append(_other_metrics(grp[~is_model]))
        if models:
            parts.append(
                f"<details><summary>single models ({len(models)})</summary>"
                f"{_table(_AIQ_HEAD, models)}</details>"
            )
    return "\n".join(parts)


_EPS = re.compile(r"^(?P<base>.+) ε=(?P<eps>[0-9.eE+-]+)$")


def headline_html(aiq: pd.DataFrame) -> str | None:
    """The page's headline: per test set the best learned router, out of sample, and why.

    The best learned router is the one with the largest cross-fitted gain over
    Zero (never the largest in-sample AIQ); beside it, the bar it had to clear
    (controls), the share of the gap to the Oracle frontier and the verdict.
    The simulated-judge cascade reads test outcomes, so it gets its own column:
    the judge error rates ε at which it beats Zero. None without verdict columns.
    """
    if "verdict" not in aiq.columns or "delta_crossfit" not in aiq.columns:
        return None
    head = [
        ("test set", "l"),
        ("best learned router", "l"),
        ("cross-fitted Δ [CI]", ""),
        ("gap closed", ""),
        ("prior control max", ""),
        ("length control", ""),
        ("verdict", "l"),
        ("simulated-judge cascade above Zero at ε", "l"),
    ]
    rows = []
    multi = aiq["protocol"].nunique() > 1
    for (protocol, dataset), grp in aiq.groupby(["protocol", "dataset"], sort=False):
        routers = grp[grp["kind"] == "router"]
        sliced = routers["system"].astype(str).str.match(_EPS.pattern)
        learned = routers[~sliced & deployable(routers) & routers["delta_crossfit"].notna()]
        name = f"{dataset} ({protocol})" if multi else str(dataset)
        cells = [f'<td class="l">{escape(name)}</td>']
        if learned.empty:
            cells += ['<td class="l">–</td>', *["<td>–</td>"] * 4, '<td class="l">–</td>']
        else:
            b = learned.loc[learned["delta_crossfit"].astype(float).idxmax()]
            cf, lo, hi = (_get(b, c) for c in ("delta_crossfit", "crossfit_ci_low",
                                                "crossfit_ci_high"))  # fmt: skip
            gap = _get(b, "gap_closed_crossfit")
            verdict = b["verdict"] if isinstance(b["verdict"], str) else ""
            cells += [
                f'<td class="l">{escape(str(b["system"]))}</td>',
                f'<td class="{_sign_class(cf, lo)}">{_with_interval(cf, lo, hi, "+.4f")}</td>',
                f"<td>{'–' if not math.isfinite(gap) else _fmt(100 * gap, '.0f') + '%'}</td>",
                f"<td>{_num(_get(b, 'control_max'), '+.4f')}</td>",
                f"<td>{_num(_get(b, 'length_control'), '+.4f')}</td>",
                f'<td class="{"beats" if verdict == "beats Zero" else "l"} wrap">'
                f"{escape(verdict) or '–'}</td>",
            ]
        eps = [
            (float(m.group("eps")), v)
            for m, v in zip(routers["system"].astype(str).map(_EPS.match), routers["verdict"])
            if m
        ]
        wins = sorted(e for e, v in eps if v in ABOVE_ZERO)
        text = ("none" if not wins else ", ".join(f"{e:g}" for e in wins)) if eps else "–"
        if eps:
            text += f" (of {len(eps)} rates)"
        cells.append(f'<td class="l wrap">{escape(text)}</td>')
        rows.append(f"<tr>{''.join(cells)}</tr>")
    return _table(head, rows)


def domain_html(aiq: pd.DataFrame) -> str | None:
    """In-domain vs out-of-domain AIQ of every router side by side, with their difference.

    The first two protocols of the table (in config order) are compared; the
    paper's Figures 8-9 ask how much a router loses when it is tested on a
    dataset it was not trained on. None when fewer than two protocols ran.
    """
    protocols = list(dict.fromkeys(aiq["protocol"].astype(str)))
    if len(protocols) < 2:
        return None
    a, b = protocols[:2]
    keep = aiq[aiq["kind"].isin(["router", "zero", "control"])]
    idx = ["dataset", "system"]
    left = keep[keep["protocol"] == a].set_index(idx)
    right = keep[keep["protocol"] == b].set_index(idx)
    both = left.index.intersection(right.index, sort=False)
    if both.empty:
        return None
    head = [
        ("dataset", "l"),
        ("system", "l"),
        (f"AIQ {a}", ""),
        (f"AIQ {b}", ""),
        (f"{b} − {a}", ""),
        (f"cross-fitted Δ {a}", ""),
        (f"cross-fitted Δ {b}", ""),
    ]
    rows = []
    for ds, system in both:
        ra, rb = left.loc[(ds, system)], right.loc[(ds, system)]
        diff = _get(rb, "aiq") - _get(ra, "aiq")
        cls = "neg" if diff < 0 else "pos" if diff > 0 else ""
        rows.append(
            f'<tr><td class="l">{escape(str(ds))}</td><td class="l">{escape(str(system))}</td>'
            f"<td>{_num(_get(ra, 'aiq'), '.4f')}</td><td>{_num(_get(rb, 'aiq'), '.4f')}</td>"
            f'<td class="{cls}">{_num(diff, "+.4f")}</td>'
            f"<td>{_num(_get(ra, 'delta_crossfit'), '+.4f')}</td>"
            f"<td>{_num(_get(rb, 'delta_crossfit'), '+.4f')}</td></tr>"
        )
    return _table(head, rows)


def figure_html(fig: FigureEntry) -> str:
    """An inlined PNG (base64 data URI) with caption and a relative link to its SVG."""
    data = base64.b64encode(fig.png).decode("ascii")
    svg = f' <a href="plots/{escape(fig.svg_name, quote=True)}">SVG</a>' if fig.svg_name else ""
    return (
        f'<figure><img alt="{escape(fig.title, quote=True)}" '
        f'src="data:image/png;base64,{data}">'
        f"<figcaption><b>{escape(fig.title)}.</b> {escape(fig.caption)}{svg}</figcaption>"
        "</figure>"
    )


def page_html(
    *,
    title: str,
    synthetic: bool,
    summary: list[str],
    table1: str | None,
    aiq: str | None,
    figures: list[FigureEntry],
    config_text: str,
    fingerprint: str,
    version: str,
    runtime_s: float,
    domain: str | None = None,
    headline: str | None = None,
    data: str | None = None,
    effective_config: str | None = None,
) -> str:
    """Assemble the page. Every argument that is text is escaped here; tables arrive as HTML."""
    from routerbench.report.explain import explain_html

    sections: list[tuple[str, str, str]] = []  # (anchor, heading, body)
    if headline:
        sections.append(
            (
                "summary",
                "Summary: best router vs Zero, out of sample",
                "<p>Per test set, the learned router with the largest cross-fitted gain over "
                "the Zero router, its interval, the share of the gap to the Oracle frontier, "
                "the controls' gains it had to exceed and the verdict; last, the judge error "
                "rates at which the paper's simulated-judge cascade (it reads the test "
                "outcomes) beats Zero. Terms are explained in the next section.</p>" + headline,
            )
        )
    elif summary:
        items = "".join(f"<li>{escape(s)}</li>" for s in summary)
        sections.append(
            (
                "summary",
                "Summary: best router vs Zero, out of sample",
                "<p>Per test set, the router with the largest cross-fitted gain over the "
                "Zero router, its interval, the controls it had to clear and the verdict "
                "(terms explained in the next section).</p>"
                f'<ul class="summary">{items}</ul>',
            )
        )
    if aiq:
        sections.append(("explain", "How to read this report", explain_html()))
    if table1:
        sections.append(
            (
                "table1",
                "Table 1: each model and the Oracle per dataset",
                "<p>Mean quality / total cost ($) per dataset, over the prompts each "
                "variant names. Bold: best single model. "
                "Oracle: best model per prompt, cheapest on ties.</p>" + table1,
            )
        )
    by_section: dict[str, list[FigureEntry]] = {}
    for f in figures:
        by_section.setdefault(f.section, []).append(f)
    oracle_figs = by_section.pop("Oracle model selection", [])
    if oracle_figs:
        sections.append(
            ("oracle", "Oracle model selection", "".join(figure_html(f) for f in oracle_figs))
        )
    if aiq:
        sections.append(
            (
                "aiq",
                "AIQ per dataset",
                "<p>One table per test set; each line above a table gives the cost window, "
                "the Zero router's AIQ, the Oracle frontier's and the controls' gains a "
                "router must clear. Bold: the router with the largest cross-fitted gain. "
                "Only the verdict column decides whether a router beats Zero.</p>" + aiq,
            )
        )
    if domain:
        sections.append(
            (
                "domain",
                "In-domain vs out-of-domain",
                "<p>Each router's AIQ on the same test prompts when trained on its own "
                "dataset's train part and when trained on the other datasets only "
                "(the paper's Figures 8-9), and the difference.</p>" + domain,
            )
        )
    for k, (name, figs) in enumerate(by_section.items()):
        sections.append((f"fig{k}", name, "".join(figure_html(f) for f in figs)))
    kind = "SYNTHETIC" if synthetic else "real"
    source = f"{data} ({kind})" if data else kind
    config_block = f"<h3>Configuration</h3><pre>{escape(config_text)}</pre>"
    if effective_config is not None:
        config_block = (
            "<h3>Effective configuration</h3><p>What ran: the config file with the "
            "command-line overrides applied and every default filled in.</p>"
            f"<pre>{escape(effective_config)}</pre>"
            "<details><summary>the config file as written</summary>"
            f"<pre>{escape(config_text)}</pre></details>"
        )
    run_info = (
        f"<dl><dt>package version</dt><dd>{escape(version)}</dd>"
        f"<dt>data</dt><dd>{escape(source)}</dd>"
        f"<dt>data fingerprint</dt><dd>{escape(fingerprint)}</dd>"
        f"<dt>run time</dt><dd>{escape(_duration(runtime_s))}</dd></dl>"
        f"{config_block}"
    )
    sections.append(("run", "Run", run_info))
    banner = (
        '<div class="banner" role="alert">SYNTHETIC data: these numbers come from a '
        "generated benchmark, not from real model outputs.</div>"
        if synthetic
        else ""
    )
    nav = "".join(f'<li><a href="#{a}">{escape(h)}</a></li>' for a, h, _ in sections)
    body = "".join(f'<section id="{a}"><h2>{escape(h)}</h2>{b}</section>' for a, h, b in sections)
    shown = f"{escape(data)} · fingerprint {escape(fingerprint)}" if data else escape(fingerprint)
    meta = f"routerbench {escape(version)} · data {shown} · run time {escape(_duration(runtime_s))}"
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{CSS}</style></head><body>"
        f'<h1>{escape(title)}</h1><p class="meta">{meta}</p>{banner}'
        f"<nav><ul>{nav}</ul></nav>{body}</body></html>\n"
    )


def _duration(seconds: float) -> str:
    s = float(seconds)
    if not math.isfinite(s):
        return "unknown"
    if s < 60:
        return f"{s:.1f} s"
    m, sec = divmod(round(s), 60)
    h, m = divmod(m, 60)
    return f"{h} h {m:02d} min {sec:02d} s" if h else f"{m} min {sec:02d} s"
