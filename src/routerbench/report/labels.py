"""Greedy placement of point labels so that model names do not pile on top of each other.

Eleven models often crowd one corner of the cost-quality plane; a label is put on the side of
its point where it overlaps the fewest already-placed labels, markers and the axes border.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.font_manager import FontProperties

#: Unit directions tried around a point, in order of preference (right, left, up, down, ...).
_DIRECTIONS = np.array(
    [(1, 0), (-1, 0), (0, 1), (0, -1), (1, 1), (-1, 1), (1, -1), (-1, -1)], dtype=float
)
#: Distances (points) from the marker centre to the near edge of the label.
_DISTANCES = (5.0, 11.0, 20.0, 32.0)
_W_LABEL, _W_POINT, _W_OUTSIDE, _W_FAR = 8.0, 1.0, 20.0, 0.02


def _overlap(box: np.ndarray, others: np.ndarray) -> float:
    """Total area of intersection of one box (x0, y0, x1, y1) with many."""
    if others.size == 0:
        return 0.0
    w = np.minimum(box[2], others[:, 2]) - np.maximum(box[0], others[:, 0])
    h = np.minimum(box[3], others[:, 3]) - np.maximum(box[1], others[:, 1])
    return float(np.sum(np.clip(w, 0, None) * np.clip(h, 0, None)))


def _overlaps(boxes: np.ndarray, others: np.ndarray) -> np.ndarray:
    """Total intersection area of each of `boxes` ``[k, 4]`` with all of `others` ``[o, 4]``."""
    if others.size == 0:
        return np.zeros(len(boxes))
    w = np.minimum(boxes[:, None, 2], others[None, :, 2]) - np.maximum(
        boxes[:, None, 0], others[None, :, 0]
    )
    h = np.minimum(boxes[:, None, 3], others[None, :, 3]) - np.maximum(
        boxes[:, None, 1], others[None, :, 1]
    )
    return np.sum(np.clip(w, 0, None) * np.clip(h, 0, None), axis=1)


def _near(obstacles: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """The obstacles that can touch any candidate box (a cheap bounding-box cull)."""
    if obstacles.size == 0:
        return obstacles
    lo = boxes[:, :2].min(axis=0)
    hi = boxes[:, 2:].max(axis=0)
    keep = (
        (obstacles[:, 2] > lo[0])
        & (obstacles[:, 0] < hi[0])
        & (obstacles[:, 3] > lo[1])
        & (obstacles[:, 1] < hi[1])
    )
    return obstacles[keep]


def _boxes(xy: np.ndarray, r: float) -> np.ndarray:
    xy = xy[np.all(np.isfinite(xy), axis=1)]
    return np.column_stack([xy[:, 0] - r, xy[:, 1] - r, xy[:, 0] + r, xy[:, 1] + r])


def _drawn_markers(ax: Axes) -> np.ndarray:
    """Display positions of every scatter marker in `ax`."""
    parts = [np.empty((0, 2))]
    for coll in ax.collections:
        offs = np.asarray(coll.get_offsets(), dtype=float).reshape(-1, 2)
        if offs.size:
            parts.append(coll.get_offset_transform().transform(offs))
    return np.vstack(parts)


def _drawn_lines(ax: Axes, step_px: float = 3.0) -> np.ndarray:
    """Display positions along every line in `ax`, one every `step_px` pixels."""
    parts = [np.empty((0, 2))]
    for line in ax.lines:
        xy = np.asarray(line.get_xydata(), dtype=float).reshape(-1, 2)
        if xy.shape[0] == 0 or line.get_linestyle() in ("None", "", " "):
            continue
        d = line.get_transform().transform(xy)
        d = d[np.all(np.isfinite(d), axis=1)]
        if d.shape[0] < 2:
            parts.append(d)
            continue
        seg = np.hypot(*np.diff(d, axis=0).T)
        arc = np.concatenate(([0.0], np.cumsum(seg)))
        s = np.arange(0.0, arc[-1] + step_px, step_px)
        parts.append(np.column_stack([np.interp(s, arc, d[:, 0]), np.interp(s, arc, d[:, 1])]))
    return np.vstack(parts)


def place_labels(
    ax: Axes,
    x: Sequence[float] | np.ndarray,
    y: Sequence[float] | np.ndarray,
    texts: Sequence[str],
    *,
    fontsize: float = 8.0,
    marker_pts: float = 5.0,
    colour: str = "#202020",
) -> None:
    """Annotate points ``(x, y)`` with `texts`, each on its least crowded side.

    Parameters
    ----------
    ax
        Axes with its final position, scales and limits already set: placement
        is computed in display space and would be wrong after a later change.
    x, y, texts
        Points to label and their labels (already escaped for matplotlib).
    fontsize, marker_pts
        Label font size and the half-size of a marker, both in points.

    Notes
    -----
    Obstacles are everything already drawn in `ax`: the markers of its
    scatter collections and its lines, sampled every few pixels, so a label
    sits next to a frontier rather than across it. Greedy, not optimal:
    labels go in order of how crowded their point is (most crowded first,
    while space is still free), and each takes the candidate box with the
    least weighted overlap. A label pushed to a far
    offset gets a thin leader line so it is still read with its point.
    """
    fig = ax.figure
    n = len(texts)
    if n == 0:
        return
    px_per_pt = fig.dpi / 72.0
    pts = ax.transData.transform(np.column_stack([x, y]).astype(float))
    ax_box = np.asarray(ax.bbox.extents)
    r = marker_pts * px_per_pt
    obstacles = np.vstack(
        [_boxes(_drawn_markers(ax), r), _boxes(_drawn_lines(ax), 1.5 * px_per_pt)]
    )
    renderer = fig.canvas.get_renderer()
    prop = FontProperties(size=fontsize)
    sizes = [renderer.get_text_width_height_descent(t, prop, ismath=False)[:2] for t in texts]
    finite = np.all(np.isfinite(pts), axis=1)
    d2 = np.sum((pts[:, None, :] - pts[None, :, :]) ** 2, axis=-1)
    crowd = np.sum(d2 < (40 * px_per_pt) ** 2, axis=1)
    order = np.argsort(-crowd, kind="stable")
    placed = np.empty((0, 4))
    # Every candidate offset at once: [distance, direction] -> unit offsets and ranks.
    dists = np.asarray(_DISTANCES) * px_per_pt
    rank_d = np.repeat(np.arange(len(_DISTANCES)), len(_DIRECTIONS))
    rank_u = np.tile(np.arange(len(_DIRECTIONS)), len(_DISTANCES))
    ux = _DIRECTIONS[rank_u, 0]
    uy = _DIRECTIONS[rank_u, 1]
    dd = dists[rank_d]
    far_penalty = _W_FAR * (rank_d * 400 + rank_u * 10) * px_per_pt**2
    for i in order:
        if not finite[i]:
            continue
        w, h = sizes[i]
        cx = pts[i, 0] + ux * (dd + w / 2)
        cy = pts[i, 1] + uy * (dd + h / 2)
        boxes = np.column_stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2])
        inside_w = np.clip(
            np.minimum(boxes[:, 2], ax_box[2]) - np.maximum(boxes[:, 0], ax_box[0]), 0, None
        )
        inside_h = np.clip(
            np.minimum(boxes[:, 3], ax_box[3]) - np.maximum(boxes[:, 1], ax_box[1]), 0, None
        )
        outside = w * h - inside_w * inside_h
        score = (
            _W_LABEL * _overlaps(boxes, placed)
            + _W_POINT * _overlaps(boxes, _near(obstacles, boxes))
            + _W_OUTSIDE * outside
            + far_penalty
        )
        # Prefer the nearest ring that has a free spot, as a person would place it.
        free = np.flatnonzero(score - far_penalty == 0.0)
        k = int(free[0]) if free.size else int(np.argmin(score))
        box = boxes[k]
        placed = np.vstack([placed, box])
        centre = np.array([cx[k], cy[k]])
        dist = _DISTANCES[rank_d[k]]
        off = (centre - pts[i]) / px_per_pt
        ax.annotate(
            texts[i],
            xy=(float(np.asarray(x)[i]), float(np.asarray(y)[i])),
            xytext=(float(off[0]), float(off[1])),
            textcoords="offset points",
            ha="center",
            va="center",
            fontsize=fontsize,
            color=colour,
            zorder=6,
            arrowprops=(
                {"arrowstyle": "-", "lw": 0.5, "color": "#808080", "shrinkA": 0, "shrinkB": 3}
                if dist > _DISTANCES[1]
                else None
            ),
            bbox={"boxstyle": "round,pad=0.1", "fc": "white", "ec": "none", "alpha": 0.7},
        )
