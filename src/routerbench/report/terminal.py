"""Terminal renderings: Table 1 as markdown or a rich table, and the short AIQ summary.

What the CLI prints after a run, so a person sees the headline without opening the HTML page.
"""

from __future__ import annotations

import math
import re

import pandas as pd
from rich.table import Table

from routerbench.report.tables import (
    ORACLE,
    TABLE1_VARIANTS,
    aiq_sorted,
    deployable,
    table1_variant,
    table1_wide,
)
from routerbench.verdicts import ABOVE_ZERO

NON_ROUTER_KINDS: frozenset[str] = frozenset(
    {"model", "oracle", "zero", "control", "oracle-frontier"}
)


def _md_cell(s: object) -> str:
    return str(s).replace("|", r"\|").replace("\n", " ")


def table1_markdown(t1: pd.DataFrame, *, variant: str | None = None) -> str:
    """Table 1 as a GitHub-style pipe table: rows models + Oracle, columns datasets.

    A frame with several variants shows one (the first by default; see `table1_variant`).
    """
    wide = table1_wide(t1, variant=variant)
    head = ["model", *map(str, wide.columns)]
    lines = [
        "| " + " | ".join(_md_cell(h) for h in head) + " |",
        "|" + "|".join([":---", *["---:"] * len(wide.columns)]) + "|",
    ]
    for model, row in wide.iterrows():
        name = f"**{model}**" if model == ORACLE else str(model)
        lines.append("| " + " | ".join(_md_cell(c) for c in [name, *row.tolist()]) + " |")
    return "\n".join(lines)


def table1_rich(t1: pd.DataFrame, *, title: str | None = None, variant: str | None = None) -> Table:
    """Table 1 as a `rich.table.Table` for `Console.print` (markup in names is not interpreted).

    The default title names the variant shown, so a reader knows which prompts it sums.
    """
    from rich.text import Text

    part = table1_variant(t1, variant)
    if title is None:
        title = "Table 1: quality / total cost"
        if "variant" in part.columns and len(part):
            v = str(part["variant"].iloc[0])
            title += f" ({TABLE1_VARIANTS.get(v, v).split(':')[0]})"
    wide = table1_wide(part)
    table = Table(title=title, show_lines=False)
    table.add_column("model", no_wrap=True)
    for ds in wide.columns:
        table.add_column(Text(str(ds)), justify="right")
    for model, row in wide.iterrows():
        style = "bold" if model == ORACLE else None
        table.add_row(Text(str(model)), *(Text(str(c)) for c in row.tolist()), style=style)
    return table


def _fmt(x: float) -> str:
    return "nan" if not math.isfinite(x) else f"{x:.4f}"


def _with_ci(row: pd.Series) -> str:
    lo, hi = float(row.get("ci_low", math.nan)), float(row.get("ci_high", math.nan))
    ci = f" [{_fmt(lo)}, {_fmt(hi)}]" if math.isfinite(lo) and math.isfinite(hi) else ""
    return f"AIQ {_fmt(float(row['aiq']))}{ci}"


def _signed(x: float) -> str:
    return "nan" if not math.isfinite(x) else f"{x:+.4f}"


def _verdict_line(head: str, best: pd.Series) -> str:
    """The honest headline: cross-fitted gain over Zero, its CI, the controls, the verdict."""
    lo, hi = float(best["crossfit_ci_low"]), float(best["crossfit_ci_high"])
    ci = f" [{_signed(lo)}, {_signed(hi)}]" if math.isfinite(lo) and math.isfinite(hi) else ""
    ctrl = float(best.get("control_max", math.nan))
    length = float(best.get("length_control", math.nan))
    gap = float(best.get("gap_closed_crossfit", math.nan))
    gap_s = f", {100 * gap:.0f}% of the gap to the Oracle frontier" if math.isfinite(gap) else ""
    verdict = str(best.get("verdict", "") or "no verdict")
    return (
        f"{head}: best learned router {best['system']} cross-fitted Δ vs Zero "
        f"{_signed(float(best['delta_crossfit']))}{ci}{gap_s}; controls: prior max "
        f"{_signed(ctrl)}, length {_signed(length)} -> {verdict}"
    )


#: A system that is one judge error rate's slice of a simulated-judge cascade (`split_by_epsilon`).
_EPS_SYSTEM = re.compile(r"^(?P<base>.+) ε=(?P<eps>[0-9.eE+-]+)$")


def _cascade_line(head: str, rows: pd.DataFrame) -> str | None:
    """Which judge error rates of a simulated-judge cascade beat Zero (it reads test outcomes)."""
    if rows.empty or "verdict" not in rows.columns:
        return None
    parsed = [(m, v) for m, v in zip(rows["system"].map(_EPS_SYSTEM.match), rows["verdict"]) if m]
    if not parsed:
        return None
    base = parsed[0][0].group("base")
    wins = sorted(float(m.group("eps")) for m, v in parsed if v in ABOVE_ZERO)
    rates = sorted(float(m.group("eps")) for m, _ in parsed)
    won = ", ".join(f"{e:g}" for e in wins) if wins else "none"
    return (
        f"{head}: {base} with a simulated judge (reads test outcomes): above Zero at ε = {won} "
        f"of {', '.join(f'{e:g}' for e in rates)}"
    )


def summary_lines(aiq: pd.DataFrame) -> list[str]:
    """One line per (protocol, dataset): the best router against the Zero router, honestly.

    With the verdict columns of ``aiq.csv`` the best router is the one with
    the largest *cross-fitted* gain over Zero, and the line gives that gain,
    its interval, the controls it had to clear and the verdict
    (`experiment.evaluate.verdict_of`), the only place "beats Zero" is
    decided. Without them (a table from elsewhere) it shows the in-sample
    AIQs and says that no verdict can be given.
    """
    df = aiq_sorted(aiq)
    multi = df["protocol"].nunique() > 1
    honest = "delta_crossfit" in df.columns and "verdict" in df.columns
    lines: list[str] = []
    for (protocol, dataset), grp in df.groupby(["protocol", "dataset"], sort=False):
        head = f"{protocol}/{dataset}" if multi else str(dataset)
        routers = grp[~grp["kind"].isin(NON_ROUTER_KINDS) & ~grp["system"].isin(["Zero", ORACLE])]
        routers = routers[routers["aiq"].notna()]
        zero = grp[(grp["kind"] == "zero") | (grp["system"] == "Zero")]
        if routers.empty:
            lines.append(f"{head}: no router evaluated")
            continue
        if honest:
            sliced = routers["system"].astype(str).str.match(_EPS_SYSTEM.pattern)
            learned = routers[~sliced & deployable(routers)]
            if learned["delta_crossfit"].notna().any():
                best = learned.loc[learned["delta_crossfit"].astype(float).idxmax()]
                lines.append(_verdict_line(head, best))
            cascade = _cascade_line(head, routers[sliced])
            if cascade:
                lines.append(cascade)
            if learned["delta_crossfit"].notna().any() or cascade:
                continue
        best = routers.iloc[0]  # aiq_sorted puts the highest AIQ first
        text = f"{head}: best {best['system']} {_with_ci(best)}"
        if zero.empty or not math.isfinite(float(zero.iloc[0]["aiq"])):
            lines.append(text + "; no Zero router to compare")
            continue
        z = zero.iloc[0]
        diff = float(best["aiq"]) - float(z["aiq"])
        lines.append(
            f"{text} vs Zero {_with_ci(z)}: {diff:+.4f} (in sample; no cross-fitted verdict)"
        )
    return lines
