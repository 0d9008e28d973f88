"""The report's figures: cost-quality planes, the model grid, the Oracle heatmap, cascade curves.

Pyplot-free matplotlib (Agg canvases): no global figure state, no window, no network.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import ParamSpec, TypeVar

import numpy as np
import pandas as pd
from matplotlib import colormaps, rc_context
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter, LogLocator, NullLocator

from routerbench.frontier import Curve, ndch
from routerbench.io import write_atomic
from routerbench.report.frames import epsilon_of, parse_setting, path_groups
from routerbench.report.labels import place_labels
from routerbench.report.palette import (
    MODEL_COLOUR,
    MODEL_EDGE,
    ORACLE_COLOUR,
    SEQUENTIAL_CMAP,
    ZERO_COLOUR,
    StyleMap,
    short_model_name,
)

DPI = 110
FORMATS: tuple[str, ...] = ("png", "svg")
_RC = {
    "svg.hashsalt": "routerbench",  # stable ids: the same data gives the same SVG bytes
    "svg.fonttype": "none",  # text stays text: editable, searchable, and fast to write
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.spines.top": False,
    "axes.spines.right": False,
    # A fixed title height skips matplotlib's search for overlapping tick labels,
    # a tight-bbox pass per axes that costs more than drawing the data.
    "axes.titley": 1.01,
}
_GRID_KW = {"color": "#E0E0E0", "lw": 0.6, "zorder": 0}
_ZERO_KW = {"color": ZERO_COLOUR, "ls": (0, (6, 3)), "lw": 1.6, "zorder": 2}


P = ParamSpec("P")
R = TypeVar("R")


def _styled(fn: Callable[P, R]) -> Callable[P, R]:
    """Build a figure under the report's rc settings without touching the caller's globals."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with rc_context(_RC):
            return fn(*args, **kwargs)

    return wrapper


def mpl_text(s: object) -> str:
    """A string matplotlib shows as is: no mathtext on ``$``, no hidden ``_``-prefixed label."""
    t = str(s).replace("$", r"\$")
    return " " + t if t.startswith("_") else t


def _new_figure(width: float, height: float) -> Figure:
    fig = Figure(figsize=(width, height), dpi=DPI)
    FigureCanvasAgg(fig)
    return fig


def _money_tick(x: float, _pos: object = None) -> str:
    if x <= 0 or not math.isfinite(x):
        return "$0" if x == 0 else ""
    if x >= 1:
        return f"${x:,.0f}" if x == round(x) else f"${x:,.1f}"
    return f"${x:.2g}"


def _cost_axis(ax: Axes, costs: np.ndarray, log_cost: bool) -> None:
    """Scale, limits and dollar ticks of a cost axis spanning `costs`."""
    c = costs[np.isfinite(costs)]
    if log_cost:
        c = c[c > 0]
        lo, hi = (float(c.min()), float(c.max())) if c.size else (0.1, 1.0)
        if hi <= lo * 1.05:
            lo, hi = lo / 1.5, hi * 1.5
        pad = (math.log10(hi) - math.log10(lo)) * 0.06
        ax.set_xscale("log", nonpositive="clip")
        ax.set_xlim(10 ** (math.log10(lo) - pad), 10 ** (math.log10(hi) + pad))
        decades = math.log10(hi) - math.log10(lo)
        subs = (1.0,) if decades > 2.5 else (1.0, 2.0, 5.0) if decades > 0.8 else np.arange(1, 10)
        ax.xaxis.set_major_locator(LogLocator(base=10, subs=subs))
        ax.xaxis.set_major_formatter(FuncFormatter(_money_tick))
    else:
        lo, hi = (float(c.min()), float(c.max())) if c.size else (0.0, 1.0)
        lo = min(lo, 0.0)
        hi = hi if hi > lo else lo + 1.0
        pad = (hi - lo) * 0.05
        ax.set_xlim(lo - pad, hi + pad)
        ax.xaxis.set_major_formatter(FuncFormatter(_money_tick))
    # No minor ticks: on a log axis they are most of the tick objects matplotlib lays
    # out (most of the render time), and the major grid already reads well.
    ax.xaxis.set_minor_locator(NullLocator())
    ax.yaxis.set_minor_locator(NullLocator())


def _quality_axis(ax: Axes, qualities: np.ndarray) -> None:
    q = qualities[np.isfinite(qualities)]
    lo, hi = (float(q.min()), float(q.max())) if q.size else (0.0, 1.0)
    span = max(hi - lo, 0.02)
    ax.set_ylim(lo - 0.08 * span, hi + 0.08 * span)


def _curve_xy(curve: Curve, log_cost: bool, xlo: float) -> tuple[np.ndarray, np.ndarray]:
    """Points that draw `curve` over its span; dense on a log axis, where its chords bend."""
    lo, hi = curve.span
    if log_cost:
        lo = max(lo, xlo)
        if not hi > lo:
            return np.empty(0), np.empty(0)
        grid = np.geomspace(lo, hi, 160)
        inner = curve.costs[(curve.costs > lo) & (curve.costs < hi)]
        xs = np.union1d(grid, inner)
    else:
        if not hi > lo:
            return np.empty(0), np.empty(0)
        inner = curve.costs[(curve.costs > lo) & (curve.costs < hi)]
        xs = np.concatenate(([lo], inner, [hi]))
    return xs, np.asarray(curve(xs), dtype=float)


def _draw_zero(ax: Axes, costs: np.ndarray, quals: np.ndarray, log_cost: bool) -> bool:
    ok = np.isfinite(costs) & np.isfinite(quals)
    if ok.sum() < 2:
        return False
    xs, ys = _curve_xy(ndch(costs[ok], quals[ok]), log_cost, ax.get_xlim()[0])
    ax.plot(xs, ys, **_ZERO_KW)
    return xs.size > 0


def _models_and_oracle(ax: Axes, pts: pd.DataFrame, fontsize: float) -> None:
    """Grey labelled model markers and the Oracle star, labels placed clear of each other."""
    models = pts[pts["kind"] == "model"]
    oracle = pts[pts["kind"] == "oracle"]
    ax.scatter(
        models["cost"],
        models["quality"],
        s=42,
        c=MODEL_COLOUR,
        edgecolors=MODEL_EDGE,
        linewidths=0.7,
        zorder=4,
    )
    ax.scatter(
        oracle["cost"],
        oracle["quality"],
        s=190,
        marker="*",
        c=ORACLE_COLOUR,
        edgecolors="black",
        linewidths=0.6,
        zorder=5,
    )
    labelled = _label_subset(pd.concat([models, oracle]))
    texts = [mpl_text(short_model_name(s)) for s in labelled["system"]]
    place_labels(
        ax,
        labelled["cost"].to_numpy(),
        labelled["quality"].to_numpy(),
        texts,
        fontsize=fontsize,
    )


#: At most this many model names per plane: past it, names pile up and hide the data.
MAX_LABELS = 24


def _label_subset(pts: pd.DataFrame, limit: int = MAX_LABELS) -> pd.DataFrame:
    """The points worth naming when there are too many to name: the Oracle, the models on
    the Zero router's frontier, then the best of the rest, `limit` in all."""
    if len(pts) <= limit:
        return pts
    c = pts["cost"].to_numpy(dtype=float)
    q = pts["quality"].to_numpy(dtype=float)
    ok = np.isfinite(c) & np.isfinite(q)
    on_hull = np.zeros(len(pts), dtype=bool)
    if ok.any():
        hull = ndch(c[ok], q[ok])
        on_hull[np.flatnonzero(ok)[hull.index[hull.index >= 0]]] = True
    priority = np.where(pts["kind"].to_numpy() == "oracle", 0, np.where(on_hull, 1, 2))
    order = np.lexsort((-np.nan_to_num(q, nan=-np.inf), priority))
    return pts.iloc[np.sort(order[:limit])]


def _legend(fig: Figure, ax: Axes, handles: list[Line2D]) -> None:
    """The legend right of the axes, in two columns when long, so it never covers data."""
    ncol = 1 if len(handles) <= 26 else 2
    size = 8 if len(handles) <= 26 else 7
    box = ax.get_position()
    fig.legend(
        handles=handles,
        loc="upper left",
        bbox_to_anchor=(box.x1 + 0.015, box.y1),
        frameon=False,
        fontsize=size,
        ncol=ncol,
        handlelength=2.4,
        borderaxespad=0.0,
    )


def _model_handles(pts: pd.DataFrame, zero_drawn: bool) -> list[Line2D]:
    out = []
    if (pts["kind"] == "oracle").any():
        out.append(
            Line2D(
                [],
                [],
                ls="",
                marker="*",
                ms=12,
                mfc=ORACLE_COLOUR,
                mec="black",
                label="Oracle (best model per prompt)",
            )
        )
    if (pts["kind"] == "model").any():
        out.append(
            Line2D(
                [],
                [],
                ls="",
                marker="o",
                ms=6,
                mfc=MODEL_COLOUR,
                mec=MODEL_EDGE,
                label="single model",
            )
        )
    if zero_drawn:
        out.append(Line2D([], [], label="Zero router (NDCH of models)", **_ZERO_KW))
    return out


@_styled
def plane_figure(
    pts: pd.DataFrame,
    styles: StyleMap,
    *,
    title: str,
    log_cost: bool = True,
) -> Figure:
    """The cost-quality plane of one dataset (paper Figures 4, 5, 8, 9).

    Parameters
    ----------
    pts
        Averaged points (`frames.average_points`) of one protocol and dataset:
        columns ``kind, family, system, setting, quality, cost``.
    styles
        The report-wide style map, so each system looks the same in every plot.
    title
        Figure title (already plain text; escaped here for matplotlib).
    log_cost
        Log cost axis (default): model prices span orders of magnitude, and on a
        linear axis every cheap model and router sits in one corner.

    Notes
    -----
    Drawn per router system: its points, and dotted lines along each sweep
    path (`frames.path_groups`); per router family: the solid NDCH of all its
    points; the Zero router: the dashed NDCH of the single models. Hull lines
    are evaluated densely, since a straight chord in dollars is a curve on a
    log axis: joining vertices directly would misdraw the frontier.
    """
    fig = _new_figure(11.0, 6.4)
    ax = fig.add_axes((0.07, 0.09, 0.62, 0.83))
    ax.grid(True, which="major", **_GRID_KW)
    _cost_axis(ax, pts["cost"].to_numpy(dtype=float), log_cost)
    _quality_axis(ax, pts["quality"].to_numpy(dtype=float))
    ax.set_xlabel("total cost on the test set ($, log scale)" if log_cost else "total cost ($)")
    ax.set_ylabel("mean quality")
    ax.set_title(mpl_text(title), loc="left")

    base = pts[pts["kind"].isin(["model", "zero"])]
    zero_drawn = _draw_zero(
        ax, base["cost"].to_numpy(dtype=float), base["quality"].to_numpy(dtype=float), log_cost
    )
    routers = pts[~pts["kind"].isin(["model", "oracle", "zero"])]
    handles = _model_handles(pts, zero_drawn)
    xlo = ax.get_xlim()[0]
    for family, fam_rows in routers.groupby("family", sort=False):
        colour = styles.family_colour(str(family))
        curve = ndch(
            fam_rows["cost"].to_numpy(dtype=float), fam_rows["quality"].to_numpy(dtype=float)
        )
        xs, ys = _curve_xy(curve, log_cost, xlo)
        if xs.size:
            ax.plot(xs, ys, color=colour, lw=1.8, alpha=0.9, zorder=3)
            handles.append(Line2D([], [], color=colour, lw=1.8, label=mpl_text(f"{family} NDCH")))
        for system, rows in fam_rows.groupby("system", sort=False):
            st = styles.get(str(system), str(family))
            c = rows["cost"].to_numpy(dtype=float)
            q = rows["quality"].to_numpy(dtype=float)
            for path in path_groups(rows):
                if path.size > 1:
                    ax.plot(c[path], q[path], color=st.colour, ls=":", lw=1.0, alpha=0.8, zorder=2)
            ax.scatter(
                c,
                q,
                s=18,
                marker=st.marker,
                c=st.colour,
                edgecolors="white",
                linewidths=0.3,
                alpha=0.9,
                zorder=3,
            )
            handles.append(
                Line2D(
                    [],
                    [],
                    color=st.colour,
                    ls=":",
                    marker=st.marker,
                    ms=5,
                    mec="white",
                    mew=0.3,
                    label=mpl_text(system),
                )
            )
    _models_and_oracle(ax, pts, 8.0)
    _legend(fig, ax, handles)
    return fig


#: A plane with more router systems than this is drawn as one panel per router family.
CROWDED = 8


@_styled
def family_panels_figure(
    pts: pd.DataFrame,
    styles: StyleMap,
    *,
    title: str,
    log_cost: bool = True,
) -> Figure:
    """The cost-quality plane of one dataset, one panel per router family (paper Figures 4-5).

    Drawn instead of `plane_figure` when a plane holds more than `CROWDED`
    router systems: each panel shows the single models, the Zero router and
    one family (its systems' points, sweep paths and NDCH), on the same axes
    limits as every other panel so panels compare at a glance.
    """
    routers = pts[~pts["kind"].isin(["model", "oracle", "zero"])]
    families = list(pd.unique(routers["family"]))
    nrows, ncols = _grid_shape(len(families), max_cols=2)
    fig, axes = _panels(nrows, ncols, panel=(5.2, 3.6), right_in=0.25)
    fig.suptitle(
        mpl_text(title), x=0.01, y=1 - 0.12 / fig.get_figheight(), ha="left", va="top", fontsize=11
    )
    all_c = pts["cost"].to_numpy(dtype=float)
    all_q = pts["quality"].to_numpy(dtype=float)
    base = pts[pts["kind"].isin(["model", "zero"])]
    for k, ax in enumerate(axes.flat):
        if k >= len(families):
            ax.set_visible(False)
            continue
        family = families[k]
        ax.grid(True, which="major", **_GRID_KW)
        _cost_axis(ax, all_c, log_cost)
        _quality_axis(ax, all_q)
        ax.set_title(mpl_text(f"{family}"), loc="left")
        ax.tick_params(labelsize=7.5)
        _draw_zero(
            ax, base["cost"].to_numpy(dtype=float), base["quality"].to_numpy(dtype=float), log_cost
        )
        fam_rows = routers[routers["family"] == family]
        colour = styles.family_colour(str(family))
        systems = list(pd.unique(fam_rows["system"]))
        many = len(systems) > 4  # e.g. one system per judge error rate: one hull each
        if not many:
            curve = ndch(
                fam_rows["cost"].to_numpy(dtype=float), fam_rows["quality"].to_numpy(dtype=float)
            )
            xs, ys = _curve_xy(curve, log_cost, ax.get_xlim()[0])
            if xs.size:
                ax.plot(xs, ys, color=colour, lw=1.6, alpha=0.9, zorder=3)
        handles = []
        for i, (system, rows) in enumerate(fam_rows.groupby("system", sort=False)):
            st = styles.get(str(system), str(family))
            # Within one panel, a sequential colour per system when the family has many (ε).
            col = (
                colormaps[SEQUENTIAL_CMAP](0.05 + 0.85 * i / max(len(systems) - 1, 1))
                if len(systems) > 4
                else st.colour
            )
            c = rows["cost"].to_numpy(dtype=float)
            q = rows["quality"].to_numpy(dtype=float)
            for path in path_groups(rows):
                if path.size > 1:
                    ax.plot(c[path], q[path], color=col, ls=":", lw=1.0, alpha=0.9, zorder=2)
            if many:
                xs, ys = _curve_xy(ndch(c, q), log_cost, ax.get_xlim()[0])
                if xs.size:
                    ax.plot(xs, ys, color=col, lw=1.3, alpha=0.9, zorder=3)
            ax.scatter(c, q, s=12, marker=st.marker, color=col, linewidths=0, zorder=3)
            handles.append(
                Line2D([], [], color=col, ls=":", marker=st.marker, ms=4, label=mpl_text(system))
            )
        _models_and_oracle(ax, pts, 6.5)
        handles.append(Line2D([], [], label="Zero router", **_ZERO_KW))
        ax.legend(
            handles=handles, loc="lower right", fontsize=6.5, frameon=True, framealpha=0.85,
            ncol=2 if len(handles) > 6 else 1, handlelength=2.0,
        )  # fmt: skip
        if k % ncols == 0:
            ax.set_ylabel("mean quality")
        if k + ncols >= len(families):
            ax.set_xlabel("total cost on the test set ($)")
    return fig


def _panels(
    nrows: int, ncols: int, *, panel: tuple[float, float], right_in: float
) -> tuple[Figure, np.ndarray]:
    """A figure of equal panels with margins fixed in inches, whatever the grid size.

    Margins given as fractions shrink or grow with the figure and clip axis
    labels on a one-row grid; inches keep room for titles and labels exactly.
    """
    left, bottom, top, gap_w, gap_h = 0.75, 0.55, 0.85, 0.55, 0.75
    width = left + ncols * panel[0] + (ncols - 1) * gap_w + right_in
    height = bottom + nrows * panel[1] + (nrows - 1) * gap_h + top
    fig = _new_figure(width, height)
    fig.subplots_adjust(
        left=left / width,
        right=1 - right_in / width,
        bottom=bottom / height,
        top=1 - top / height,
        wspace=gap_w / panel[0],
        hspace=gap_h / panel[1],
    )
    axes = fig.subplots(nrows, ncols, squeeze=False)
    return fig, axes


def _grid_shape(n: int, max_cols: int = 2) -> tuple[int, int]:
    cols = min(max_cols, max(n, 1))
    return math.ceil(max(n, 1) / cols), cols


@_styled
def model_grid_figure(points: pd.DataFrame, *, title: str, log_cost: bool = True) -> Figure:
    """One small panel per dataset with every single model's point and the Oracle (Figure 7).

    Parameters
    ----------
    points
        Columns ``dataset, system, kind, quality, cost`` (``kind`` "model" or
        "oracle"), e.g. Table 1 reshaped by `report.writer`.
    """
    datasets = list(pd.unique(points["dataset"]))
    nrows, ncols = _grid_shape(len(datasets), max_cols=2)
    fig, axes = _panels(nrows, ncols, panel=(4.6, 3.5), right_in=0.2)
    fig.suptitle(
        mpl_text(title), x=0.01, y=1 - 0.12 / fig.get_figheight(), ha="left", va="top", fontsize=11
    )
    for k, ax in enumerate(axes.flat):
        if k >= len(datasets):
            ax.set_visible(False)
            continue
        pts = points[points["dataset"] == datasets[k]]
        ax.grid(True, which="major", **_GRID_KW)
        _cost_axis(ax, pts["cost"].to_numpy(dtype=float), log_cost)
        _quality_axis(ax, pts["quality"].to_numpy(dtype=float))
        ax.set_title(mpl_text(datasets[k]), loc="left")
        ax.tick_params(labelsize=7.5)
        models = pts[pts["kind"] == "model"]
        _draw_zero(
            ax,
            models["cost"].to_numpy(dtype=float),
            models["quality"].to_numpy(dtype=float),
            log_cost,
        )
        _models_and_oracle(ax, pts, 7.0)
        if k % ncols == 0:
            ax.set_ylabel("mean quality")
        if k // ncols == nrows - 1 or k + ncols >= len(datasets):
            ax.set_xlabel("total cost ($)")
    return fig


#: Columns of the Oracle heatmap before the least chosen models are folded into one.
MAX_HEATMAP_MODELS = 24


def _top_columns(share: pd.DataFrame, limit: int) -> pd.DataFrame:
    if share.shape[1] <= limit:
        return share
    keep = share.max(axis=0).sort_values(ascending=False, kind="stable").index[: limit - 1]
    kept = [c for c in share.columns if c in set(keep)]
    rest = [c for c in share.columns if c not in set(keep)]
    out = share[kept].copy()
    out[f"other ({len(rest)} models)"] = share[rest].sum(axis=1)
    return out


@_styled
def oracle_heatmap_figure(share: pd.DataFrame, *, title: str) -> Figure:
    """The Oracle's choice of model per dataset as a heatmap of prompt shares (Figure 3, right).

    With more than `MAX_HEATMAP_MODELS` models only the most chosen keep a column
    and the rest are summed into one ``other (k models)`` column, so 200 models
    give a readable figure of ordinary size and the rows still add up to 1.
    """
    share = _top_columns(share, MAX_HEATMAP_MODELS)
    vals = share.to_numpy(dtype=float)
    n, m = vals.shape
    fig = _new_figure(max(6.0, 0.72 * m + 3.0), max(3.0, 0.42 * n + 2.3))
    ax = fig.add_axes((0.16, 0.30, 0.74, 0.60))
    vmax = float(np.nanmax(vals)) if vals.size and np.nanmax(vals) > 0 else 1.0
    cmap = colormaps[SEQUENTIAL_CMAP]
    im = ax.imshow(vals, cmap=cmap, vmin=0.0, vmax=vmax, aspect="auto")
    ax.set_xticks(np.arange(m), [mpl_text(short_model_name(c)) for c in share.columns])
    ax.set_yticks(np.arange(n), [mpl_text(i) for i in share.index])
    ax.tick_params(axis="x", labelrotation=40, labelsize=8)
    for lab in ax.get_xticklabels():
        lab.set_horizontalalignment("right")
        lab.set_rotation_mode("anchor")
    for spine in ax.spines.values():
        spine.set_visible(False)
    rows, cols = np.nonzero(vals >= 0.005)
    for i, j in zip(rows, cols):
        v = vals[i, j]
        ax.text(
            j,
            i,
            f"{100 * v:.0f}%",
            ha="center",
            va="center",
            fontsize=7.5,
            color="white" if v < 0.55 * vmax else "black",
        )
    cax = fig.add_axes((0.92, 0.30, 0.015, 0.60))
    cb = fig.colorbar(im, cax=cax)
    cb.ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _p: f"{100 * v:.0f}%"))
    cb.set_label("share of the dataset's prompts", fontsize=8)
    ax.set_title(mpl_text(title), loc="left")
    return fig


@_styled
def cascade_figure(
    pts: pd.DataFrame, *, title: str, log_cost: bool = True, family: str = "cascade"
) -> Figure | None:
    """Cascade NDCH curves, one per judge error rate ε, one panel per dataset (paper Figure 6).

    Parameters
    ----------
    pts
        Averaged points of one protocol (all datasets). Rows of `family` are
        grouped by their setting's ε (``epsilon`` or ``error_rate``); single
        models give each panel the Zero router for reference.

    Returns
    -------
    Figure or None
        None when there is no cascade row with an ε: nothing to draw.
    """
    cas = pts[(pts["family"] == family) & ~pts["kind"].isin(["model", "oracle", "zero"])].copy()
    if cas.empty:
        return None
    cas["eps"] = [epsilon_of(parse_setting(s)) for s in cas["setting"]]
    cas = cas[np.isfinite(cas["eps"].to_numpy(dtype=float))]
    if cas.empty:
        return None
    eps_values = np.sort(cas["eps"].unique())
    cmap = colormaps[SEQUENTIAL_CMAP]
    colour = {
        e: cmap(0.05 + 0.85 * k / max(len(eps_values) - 1, 1)) for k, e in enumerate(eps_values)
    }
    systems = list(pd.unique(cas["system"]))
    styles = ["-", "-.", (0, (1, 1)), (0, (3, 1, 1, 1, 1, 1))]
    datasets = list(pd.unique(cas["dataset"]))
    nrows, ncols = _grid_shape(len(datasets), max_cols=2)
    fig, axes = _panels(nrows, ncols, panel=(4.4, 3.4), right_in=2.0)
    fig.suptitle(
        mpl_text(title), x=0.01, y=1 - 0.12 / fig.get_figheight(), ha="left", va="top", fontsize=11
    )
    zero_drawn = False
    for k, ax in enumerate(axes.flat):
        if k >= len(datasets):
            ax.set_visible(False)
            continue
        ds = datasets[k]
        rows = cas[cas["dataset"] == ds]
        models = pts[(pts["dataset"] == ds) & (pts["kind"] == "model")]
        allc = np.concatenate(
            [rows["cost"].to_numpy(dtype=float), models["cost"].to_numpy(dtype=float)]
        )
        allq = np.concatenate(
            [rows["quality"].to_numpy(dtype=float), models["quality"].to_numpy(dtype=float)]
        )
        ax.grid(True, which="major", **_GRID_KW)
        _cost_axis(ax, allc, log_cost)
        _quality_axis(ax, allq)
        ax.set_title(mpl_text(ds), loc="left")
        ax.tick_params(labelsize=7.5)
        zero_drawn |= _draw_zero(
            ax,
            models["cost"].to_numpy(dtype=float),
            models["quality"].to_numpy(dtype=float),
            log_cost,
        )
        ax.scatter(
            models["cost"],
            models["quality"],
            s=14,
            c=MODEL_COLOUR,
            edgecolors=MODEL_EDGE,
            lw=0.4,
            zorder=4,
        )
        for (system, eps), grp in rows.groupby(["system", "eps"], sort=False):
            c = grp["cost"].to_numpy(dtype=float)
            q = grp["quality"].to_numpy(dtype=float)
            ls = styles[systems.index(system) % len(styles)]
            xs, ys = _curve_xy(ndch(c, q), log_cost, ax.get_xlim()[0])
            ax.plot(xs, ys, color=colour[eps], lw=1.5, ls=ls, zorder=3)
            ax.scatter(c, q, s=9, color=colour[eps], zorder=3)
            if xs.size:  # name the curve where it ends: eight shades are hard to match
                ax.annotate(
                    f"ε={eps:g}", (xs[-1], ys[-1]), xytext=(3, 0), textcoords="offset points",
                    fontsize=6.5, color="#303030", va="center", zorder=6,
                )  # fmt: skip
        if k % ncols == 0:
            ax.set_ylabel("mean quality")
        if k + ncols >= len(datasets):
            ax.set_xlabel("total cost ($)")
    handles = [Line2D([], [], color=colour[e], lw=2, label=f"ε = {e:g}") for e in eps_values]
    if len(systems) > 1:
        handles += [
            Line2D([], [], color="#404040", ls=styles[i % len(styles)], label=mpl_text(s))
            for i, s in enumerate(systems)
        ]
    if zero_drawn:
        handles.append(Line2D([], [], label="Zero router", **_ZERO_KW))
    handles.append(
        Line2D(
            [], [], ls="", marker="o", ms=4, mfc=MODEL_COLOUR, mec=MODEL_EDGE, label="single model"
        )
    )
    fig.legend(
        handles=handles,
        loc="upper left",
        bbox_to_anchor=(axes[0, -1].get_position().x1 + 0.015, axes[0, -1].get_position().y1),
        frameon=False,
        fontsize=8,
        title="judge error rate",
        title_fontsize=8,
        handlelength=3.0,
    )
    return fig


def save_figure(fig: Figure, stem: Path, formats: Iterable[str] = FORMATS) -> dict[str, Path]:
    """Write `fig` as ``stem.<fmt>`` for each format, each atomically (temp file, then rename).

    A crash mid-write never leaves a truncated image a reader could mistake
    for a finished one. Metadata that changes between runs (dates, software
    versions) is dropped, so identical inputs give identical files.
    """
    out: dict[str, Path] = {}
    with rc_context(_RC):
        for fmt in formats:
            meta: dict[str, None] = {"Date": None} if fmt in ("svg", "pdf") else {"Software": None}
            target = stem.with_suffix(f".{fmt}")

            def write(tmp: Path, fmt: str = fmt, meta: dict[str, None] = meta) -> None:
                fig.savefig(tmp, format=fmt, dpi=DPI, metadata=meta, facecolor="white")

            out[fmt] = write_atomic(target, write)
    return out
