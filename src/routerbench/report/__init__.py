"""Reports of a benchmark run: Table 1, the Oracle's choices, cost-quality plots, one HTML page.

The experiment runner computes numbers; this package turns them into tables, figures and text.
"""

from __future__ import annotations

from routerbench.report.html import aiq_html, table1_html
from routerbench.report.palette import StyleMap, short_model_name
from routerbench.report.plots import (
    cascade_figure,
    model_grid_figure,
    oracle_heatmap_figure,
    plane_figure,
    save_figure,
)
from routerbench.report.tables import (
    ORACLE,
    TABLE1_VARIANTS,
    aiq_sorted,
    oracle_selection,
    paper_agreement,
    table1,
    table1_report,
    table1_variant,
    table1_wide,
)
from routerbench.report.terminal import summary_lines, table1_markdown, table1_rich
from routerbench.report.writer import write_report

__all__ = [
    "ORACLE",
    "TABLE1_VARIANTS",
    "StyleMap",
    "aiq_html",
    "aiq_sorted",
    "cascade_figure",
    "model_grid_figure",
    "oracle_heatmap_figure",
    "oracle_selection",
    "paper_agreement",
    "plane_figure",
    "save_figure",
    "short_model_name",
    "summary_lines",
    "table1",
    "table1_html",
    "table1_markdown",
    "table1_report",
    "table1_rich",
    "table1_variant",
    "table1_wide",
    "write_report",
]
