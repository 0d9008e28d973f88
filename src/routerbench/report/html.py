"""The self-contained HTML page: escaped tables, inlined PNG figures, inline CSS, no requests.

The page must open offline and years later, so nothing in it points outside the file.
"""

from __future__ import annotations

import base64
import math
from dataclasses import dataclass
from html import escape

import numpy as np
import pandas as pd

from routerbench.report.tables import (
    COST_TOLERANCE,
    ORACLE,
    QUALITY_TOLERANCE,
    TABLE1_VARIANTS,
    aiq_sorted,
    best_models,
    money,
    paper_agreement,
    table1_variant,
    table1_wide,
)

#: AIQ-table columns the page lays out itself; any other numeric column is shown as an extra.
_AIQ_KNOWN = {
    "protocol",
    "dataset",
    "system",
    "family",
    "kind",
    "aiq",
    "ci_low",
    "ci_high",
    "window_lo",
    "window_hi",
    "n_points",
    "delta_zero",
}

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
th,td{padding:3px 9px;border-bottom:1px solid #e3e3e3;text-align:right;white-space:nowrap}
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
    return "–" if not math.isfinite(v) else format(v, fmt)


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


def _aiq_row(r: pd.Series, extras: list[str], top: bool) -> str:
    """One AIQ-table row: AIQ, CI and Δ at fixed 4 decimals so the column lines up."""
    kind = str(r.get("kind", ""))
    tr = "top" if top else "oracle" if kind == "oracle" else "zero" if kind == "zero" else ""
    lo, hi = r.get("ci_low", np.nan), r.get("ci_high", np.nan)
    ci = f"[{_num(lo, '.4f')}, {_num(hi, '.4f')}]" if pd.notna(lo) and pd.notna(hi) else "–"
    is_zero = kind == "zero" or r["system"] == "Zero"
    d = float(r["delta_zero"]) if pd.notna(r["delta_zero"]) and not is_zero else math.nan
    dcls = "pos" if d > 0 else "neg" if d < 0 else ""
    wlo, whi = r.get("window_lo", np.nan), r.get("window_hi", np.nan)
    win = f"{money(float(wlo))} – {money(float(whi))}" if pd.notna(wlo) and pd.notna(whi) else "–"
    npts = r.get("n_points", np.nan)
    cells = [
        f'<td class="l">{escape(str(r["system"]))}</td>',
        f'<td class="l">{escape(kind)}</td>',
        f'<td class="l">{escape(str(r.get("family", "")))}</td>',
        f"<td>{_num(r['aiq'], '.4f')}</td>",
        f"<td>{escape(ci)}</td>",
        f'<td class="{dcls}">{"–" if math.isnan(d) else format(d, "+.4f")}</td>',
        f"<td>{escape(win)}</td>",
        f"<td>{_num(npts, '.0f') if pd.notna(npts) else '–'}</td>",
        *(f"<td>{_num(r[c])}</td>" for c in extras),
    ]
    return f'<tr class="{tr}">{"".join(cells)}</tr>'


def aiq_html(aiq: pd.DataFrame) -> str:
    """The AIQ table: one sub-table per (protocol, dataset), best AIQ first, CI and Δ vs Zero.

    Routers, the Zero router and the Oracle come first; single models, a long
    list that rarely matters once Zero summarises them, fold into a collapsed
    ``<details>`` block under it.
    """
    df = aiq_sorted(aiq)
    extras = [
        c
        for c in df.columns
        if c not in _AIQ_KNOWN and pd.api.types.is_numeric_dtype(df[c]) and df[c].notna().any()
    ]
    head = ["system", "kind", "family", "AIQ", "95% CI", "Δ vs Zero", "window", "points", *extras]
    cls = ["l", "l", "l", *[""] * (len(head) - 3)]
    ths = "".join(
        (f'<th class="{c}">' if c else "<th>") + f"{escape(h)}</th>" for h, c in zip(head, cls)
    )

    def table(rows: list[str]) -> str:
        return (
            f'<div class="scroll"><table><thead><tr>{ths}</tr></thead>'
            f"<tbody>{''.join(rows)}</tbody></table></div>"
        )

    multi = df["protocol"].nunique() > 1
    parts = []
    for (protocol, dataset), grp in df.groupby(["protocol", "dataset"], sort=False):
        name = f"{dataset} ({protocol})" if multi or protocol else str(dataset)
        parts.append(f"<h3>{escape(name)}</h3>")
        is_model = (grp["kind"] == "model").to_numpy()
        routers = grp[~grp["kind"].isin(["model", "oracle", "zero"])]
        top = routers["aiq"].idxmax() if routers["aiq"].notna().any() else None
        main = [_aiq_row(r, extras, i == top) for i, r in grp[~is_model].iterrows()]
        models = [_aiq_row(r, extras, False) for _, r in grp[is_model].iterrows()]
        if main:
            parts.append(table(main))
        if models:
            parts.append(
                f"<details><summary>single models ({len(models)})</summary>"
                f"{table(models)}</details>"
            )
    return "\n".join(parts)


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
) -> str:
    """Assemble the page. Every argument that is text is escaped here; tables arrive as HTML."""
    sections: list[tuple[str, str, str]] = []  # (anchor, heading, body)
    if summary:
        items = "".join(f"<li>{escape(s)}</li>" for s in summary)
        sections.append(
            ("summary", "Summary: best router vs Zero", f'<ul class="summary">{items}</ul>')
        )
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
                "<p>AIQ: mean height of the system's non-decreasing convex hull over "
                "the cost window, with bootstrap 95% CI. Δ vs Zero: AIQ minus the Zero "
                "router's (mixing models without looking at the prompt). Bold: best "
                "router.</p>" + aiq,
            )
        )
    for k, (name, figs) in enumerate(by_section.items()):
        sections.append((f"fig{k}", name, "".join(figure_html(f) for f in figs)))
    run_info = (
        f"<dl><dt>package version</dt><dd>{escape(version)}</dd>"
        f"<dt>data fingerprint</dt><dd>{escape(fingerprint)}</dd>"
        f"<dt>run time</dt><dd>{escape(_duration(runtime_s))}</dd>"
        f"<dt>data</dt><dd>{'SYNTHETIC' if synthetic else 'real'}</dd></dl>"
        f"<h3>Configuration</h3><pre>{escape(config_text)}</pre>"
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
    meta = (
        f"routerbench {escape(version)} · data {escape(fingerprint)} · "
        f"run time {escape(_duration(runtime_s))}"
    )
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
