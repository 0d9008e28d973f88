"""`write_report`: every figure, the CSV tables and the one-page HTML report of a run.

The runner hands over its results and tables; this module decides files, names and layout.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from routerbench.errors import ConfigError
from routerbench.io import write_text_atomic
from routerbench.report.frames import average_points, check_results, split_epsilon
from routerbench.report.html import (
    FigureEntry,
    aiq_html,
    domain_html,
    headline_html,
    page_html,
    table1_html,
)
from routerbench.report.palette import StyleMap
from routerbench.report.plots import (
    CROWDED,
    FORMATS,
    cascade_figure,
    family_panels_figure,
    model_grid_figure,
    oracle_heatmap_figure,
    plane_figure,
    save_figure,
)
from routerbench.report.tables import ORACLE, check_aiq, check_table1
from routerbench.report.terminal import summary_lines

DEFAULT_TITLE = "RouterBench report"
IMAGE_FORMATS: tuple[str, ...] = ("png", "svg", "pdf")
PLOTS_DIR = "plots"
_SLUG = re.compile(r"[^A-Za-z0-9._-]+")


def slug(text: str) -> str:
    """A file-name-safe form of `text`; a short hash keeps names differing in odd chars apart."""
    clean = _SLUG.sub("-", str(text)).strip("-.")[:60] or "x"
    if clean != str(text):
        clean += "-" + hashlib.sha1(str(text).encode()).hexdigest()[:6]
    return clean


def _grid_points(table1: pd.DataFrame | None, pts: pd.DataFrame) -> pd.DataFrame:
    """Model and Oracle points per dataset for the grid: Table 1 (full data) when given."""
    if table1 is not None and "variant" in table1.columns:
        table1 = table1[table1["variant"] == "full"]
    if table1 is not None and not table1.empty:
        return pd.DataFrame(
            {
                "dataset": table1["dataset"].astype(str),
                "system": table1["model"].astype(str),
                "kind": ["oracle" if m == ORACLE else "model" for m in table1["model"]],
                "quality": table1["quality"].astype(float),
                "cost": table1["total_cost"].astype(float),
            }
        ).dropna(subset=["quality", "cost"])
    if pts.empty:
        return pts
    first = pts["protocol"].iloc[0]
    keep = (pts["protocol"] == first) & pts["kind"].isin(["model", "oracle"])
    return pts.loc[keep, ["dataset", "system", "kind", "quality", "cost"]]


def _entry(section: str, title: str, caption: str, files: dict[str, Path]) -> FigureEntry:
    svg = files.get("svg")
    return FigureEntry(
        section=section,
        title=title,
        caption=caption,
        png=files["png"].read_bytes(),
        svg_name=svg.name if svg is not None else None,
    )


def write_report(
    out_dir: str | Path,
    *,
    results: pd.DataFrame,
    aiq: pd.DataFrame | None,
    table1: pd.DataFrame | None,
    oracle_share: pd.DataFrame | None,
    config_text: str,
    fingerprint: str,
    version: str,
    runtime_s: float,
    synthetic: bool,
    title: str = DEFAULT_TITLE,
    log_cost: bool = True,
    formats: Sequence[str] = FORMATS,
    write_tables: bool = True,
    data: str | None = None,
    effective_config: str | None = None,
) -> Path:
    """Write the plots, ``table1.csv``, ``aiq.csv`` and the self-contained ``index.html``.

    Parameters
    ----------
    out_dir
        Run folder; figures go to ``out_dir/plots/`` as PNG and SVG.
    results
        The runner's tidy results (one row per evaluated point, see the results
        contract); several folds or seeds of one setting are averaged for plots.
    aiq
        The AIQ table (``aiq.csv`` columns) or None.
    table1, oracle_share
        `tables.table1` and `tables.oracle_selection` of the full benchmark, or None.
    config_text
        The configuration as the user wrote it; shown verbatim (escaped).
    fingerprint, version, runtime_s, synthetic
        Provenance shown on the page; `synthetic` adds a banner and tags every title.
    title
        Page title.
    log_cost
        Log cost axes (default) or linear.
    formats
        Image formats to write; PNG is always written, since the page inlines it.
    write_tables
        Also write ``table1.csv`` and ``aiq.csv``; the experiment runner passes
        False because it has already written them in the same format.
    data, effective_config
        The data actually used (path or ``default``) and the config as it ran
        (overrides applied, defaults filled in), shown beside `config_text`.

    Returns
    -------
    Path
        ``out_dir/index.html``. Every file is written atomically, so an
        interrupted run leaves finished files or none, never half an image.
    """
    out = Path(out_dir)
    plots = out / PLOTS_DIR
    fmts = tuple(dict.fromkeys(["png", *(str(f).lower() for f in formats)]))
    unknown = [f for f in fmts if f not in IMAGE_FORMATS]
    if unknown:
        raise ConfigError(
            f"formats: unknown image format {unknown[0]!r}; expected some of "
            f"{', '.join(IMAGE_FORMATS)}"
        )
    res = check_results(results)
    if aiq is not None:
        check_aiq(aiq)
    if table1 is not None:
        check_table1(table1)
    pts_all = average_points(res)
    # Planes: one system per judge error rate, and no controls (dozens of noise seeds).
    pts = average_points(split_epsilon(res[res["kind"] != "control"]))
    styles = StyleMap(zip(pts["kind"], pts["family"], pts["system"]))
    tag = " · SYNTHETIC data" if synthetic else ""
    figures: list[FigureEntry] = []
    used: set[str] = set()

    def stem(name: str) -> Path:
        base, k = name, 1
        while name in used:
            k += 1
            name = f"{base}-{k}"
        used.add(name)
        return plots / name

    if oracle_share is not None and not oracle_share.empty:
        fig = oracle_heatmap_figure(oracle_share, title=f"Oracle's choice of model{tag}")
        figures.append(
            _entry(
                "Oracle model selection",
                "Oracle model selection",
                "Share of each dataset's prompts for which the Oracle (best model per "
                "prompt, cheapest on ties) picks each model.",
                save_figure(fig, stem("oracle-selection"), fmts),
            )
        )
    multi_protocol = pts["protocol"].nunique() > 1
    for (protocol, dataset), grp in pts.groupby(["protocol", "dataset"], sort=False):
        where = f"{dataset} ({protocol} protocol)" if multi_protocol else str(dataset)
        n_routers = grp.loc[~grp["kind"].isin(["model", "oracle", "zero"]), "system"].nunique()
        crowded = n_routers > CROWDED
        draw = family_panels_figure if crowded else plane_figure
        fig = draw(grp, styles, title=f"{where}: cost vs quality{tag}", log_cost=log_cost)
        figures.append(
            _entry(
                "Cost-quality planes",
                f"{where}: cost vs quality",
                ("One panel per router family (the plane holds many systems). " if crowded else "")
                + "Grey: single models; star: Oracle; dashed black: Zero router (NDCH of "
                "the models); markers on dotted lines: each router's settings along its "
                "sweep (a cascade: one colour per judge error rate ε, named in the legend); "
                "solid lines: each router family's NDCH.",
                save_figure(fig, stem(f"plane_{slug(protocol)}_{slug(dataset)}"), fmts),
            )
        )
    grid = _grid_points(table1, pts)
    if not grid.empty:
        fig = model_grid_figure(grid, title=f"Single models per dataset{tag}", log_cost=log_cost)
        figures.append(
            _entry(
                "Single models per dataset",
                "Single models per dataset",
                "Each model's mean quality and total cost per dataset, the Oracle as a "
                "star, and the Zero router's NDCH (dashed).",
                save_figure(fig, stem("models-grid"), fmts),
            )
        )
    for protocol, grp in pts_all.groupby("protocol", sort=False):
        title_p = f" ({protocol} protocol)" if multi_protocol else ""
        fig = cascade_figure(
            grp, title=f"Cascade by judge error rate{title_p}{tag}", log_cost=log_cost
        )
        if fig is None:
            continue
        figures.append(
            _entry(
                "Cascade by judge error rate",
                f"Cascade by judge error rate{title_p}",
                "One NDCH per judge error rate ε: how fast the cascade's advantage "
                "fades as its quality judge errs more often.",
                save_figure(fig, stem(f"cascade_{slug(protocol)}"), fmts),
            )
        )

    if write_tables and table1 is not None:
        write_text_atomic(out / "table1.csv", table1.to_csv(index=False))
    if write_tables and aiq is not None:
        write_text_atomic(out / "aiq.csv", aiq.to_csv(index=False))
    summary = summary_lines(aiq) if aiq is not None and not aiq.empty else []
    page = page_html(
        title=title,
        synthetic=synthetic,
        summary=summary,
        table1=table1_html(table1) if table1 is not None and not table1.empty else None,
        aiq=aiq_html(aiq) if aiq is not None and not aiq.empty else None,
        domain=domain_html(aiq) if aiq is not None and not aiq.empty else None,
        headline=headline_html(aiq) if aiq is not None and not aiq.empty else None,
        data=data,
        effective_config=effective_config,
        figures=figures,
        config_text=config_text,
        fingerprint=fingerprint,
        version=version,
        runtime_s=runtime_s,
    )
    return write_text_atomic(out / "index.html", page)
