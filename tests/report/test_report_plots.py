"""Tests of the report's figures: what each draws, readable labels, styles, atomic saving.

Figures are inspected as matplotlib objects (lines, scales, label boxes) and as files.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from matplotlib.text import Annotation, Text

from routerbench.data.datasets import PAPER_MODELS
from routerbench.frontier import ndch
from routerbench.report import (
    StyleMap,
    cascade_figure,
    model_grid_figure,
    oracle_heatmap_figure,
    plane_figure,
    save_figure,
    short_model_name,
)
from routerbench.report.frames import average_points, check_results, path_groups
from routerbench.report.palette import MODEL_COLOUR, ORACLE_COLOUR, ZERO_COLOUR
from routerbench.report.plots import mpl_text

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def points_frame(seed: int = 0, crowded: bool = False) -> pd.DataFrame:
    """One dataset: 11 paper models, the Oracle, two knn systems and a cascade over 3 ε.

    `crowded` puts eight models in a tight cluster, as cheap open models often are.
    """
    rng = np.random.default_rng(seed)
    rows = []

    def add(family, system, kind, setting, q, c):
        rows.append(
            {
                "protocol": "paper",
                "dataset": "mmlu",
                "family": family,
                "system": system,
                "kind": kind,
                "setting": json.dumps(setting),
                "quality": float(q),
                "cost": float(c),
            }
        )

    mq = rng.uniform(0.4, 0.85, len(PAPER_MODELS))
    mc = np.geomspace(0.3, 120, len(PAPER_MODELS)) * rng.uniform(0.7, 1.4, len(PAPER_MODELS))
    if crowded:
        mq[:8] = 0.6 + rng.uniform(-0.02, 0.02, 8)
        mc[:8] = 2.0 * rng.uniform(0.8, 1.25, 8)
    for m, q, c in zip(PAPER_MODELS, mq, mc):
        add("model", m, "model", {}, q, c)
    add("oracle", "Oracle", "oracle", {}, 0.97, 2.0)
    for k in (5, 40):
        for w in np.linspace(0, 1, 12):
            add(
                "knn",
                f"knn(k={k})",
                "router",
                {"willingness_to_pay": w},
                0.45 + 0.4 * w,
                0.4 * 300**w,
            )
    for eps in (0.0, 0.1, 0.3):
        for b in (0.5, 2.0, 8.0):
            add(
                "cascade",
                "cascade",
                "router",
                {"budget": b, "epsilon": eps},
                0.9 - eps - 0.1 / b,
                b,
            )
    return average_points(check_results(pd.DataFrame(rows)))


def styles_of(pts: pd.DataFrame) -> StyleMap:
    return StyleMap(zip(pts["kind"], pts["family"], pts["system"]))


def test_plane_draws_family_hulls_zero_and_labels():
    pts = points_frame()
    fig = plane_figure(pts, styles_of(pts), title="mmlu")
    ax = fig.axes[0]
    assert ax.get_xscale() == "log"
    labels = [t.get_text() for t in ax.texts if isinstance(t, Annotation)]
    assert sorted(labels) == sorted([*(short_model_name(m) for m in PAPER_MODELS), "Oracle"])
    # Family NDCH: the solid line in the knn colour tops out at the knn points' best quality
    # and never dips below the Zero curve's own construction, evaluated independently.
    knn = pts[pts["family"] == "knn"]
    colour = styles_of(pts).family_colour("knn")
    solid = [ln for ln in ax.lines if ln.get_color() == colour and ln.get_linestyle() == "-"]
    assert len(solid) == 1
    x, y = solid[0].get_data()
    curve = ndch(knn["cost"].to_numpy(), knn["quality"].to_numpy())
    np.testing.assert_allclose(y, curve(x), atol=1e-12)
    assert y.max() == pytest.approx(knn["quality"].max())
    # Zero router: one dashed black line = NDCH of the 11 model points.
    zero = [ln for ln in ax.lines if ln.get_color() == ZERO_COLOUR]
    assert len(zero) == 1
    models = pts[pts["kind"] == "model"]
    zx, zy = zero[0].get_data()
    np.testing.assert_allclose(zy, ndch(models["cost"], models["quality"])(zx), atol=1e-12)
    # Dotted sweep paths: one per knn system, one per cascade ε.
    dotted = [ln for ln in ax.lines if ln.get_linestyle() == ":"]
    assert len(dotted) == 2 + 3


def test_plane_linear_axis_option():
    pts = points_frame()
    fig = plane_figure(pts, styles_of(pts), title="t", log_cost=False)
    assert fig.axes[0].get_xscale() == "linear"


def test_model_labels_do_not_overlap_each_other():
    # Eight models within ±2 quality points and ±25% cost: labels side by side would collide.
    pts = points_frame(seed=1, crowded=True)
    fig = plane_figure(pts, styles_of(pts), title="t")
    renderer = fig.canvas.get_renderer()
    fig.draw(renderer)
    # Text.get_window_extent: the label itself, without an Annotation's leader line.
    boxes = [Text.get_window_extent(t, renderer) for t in fig.axes[0].texts]
    overlaps = [(i, j) for i in range(len(boxes)) for j in range(i) if boxes[i].overlaps(boxes[j])]
    assert overlaps == []


def test_labels_and_titles_are_literal_text():
    assert mpl_text("$5 model") == r"\$5 model"
    assert mpl_text("_hidden").startswith(" ")  # legend would drop a label starting with "_"


def test_path_groups_order_by_knob_and_split_by_epsilon():
    rows = pd.DataFrame(
        {
            "setting": [
                json.dumps({"budget": 2, "epsilon": 0.1}),
                json.dumps({"budget": 1, "epsilon": 0.1}),
                json.dumps({"budget": 1, "epsilon": 0.0}),
                json.dumps({"budget": 3, "epsilon": 0.0}),
            ],
            "cost": [5.0, 9.0, 1.0, 2.0],
        }
    )
    groups = [g.tolist() for g in path_groups(rows)]
    assert groups == [[1, 0], [2, 3]]  # by budget, not by cost


def test_average_points_means_folds():
    rows = pd.DataFrame(
        {
            "protocol": "kfold",
            "fold": [0, 1, 0],
            "dataset": "d",
            "family": "knn",
            "system": "knn",
            "kind": "router",
            "setting": ["{}", "{}", '{"w": 1}'],
            "quality": [0.2, 0.4, 0.9],
            "cost": [1.0, 3.0, 5.0],
        }
    )
    out = average_points(check_results(rows))
    assert out[["quality", "cost"]].to_numpy().tolist() == [[pytest.approx(0.3), 2.0], [0.9, 5.0]]


def test_style_map_is_stable_and_reserves_colours():
    triples = [
        ("model", "model", "gpt-4"),
        ("oracle", "oracle", "Oracle"),
        ("zero", "zero", "Zero"),
        ("router", "knn", "knn(k=5)"),
        ("router", "knn", "knn(k=40)"),
        ("router", "mlp", "mlp"),
    ]
    a, b = StyleMap(triples), StyleMap(triples)
    assert all(a[s] == b[s] for _, _, s in triples)
    assert a["knn(k=5)"].colour == a["knn(k=40)"].colour
    assert a["knn(k=5)"].marker != a["knn(k=40)"].marker
    assert a["mlp"].colour != a["knn(k=5)"].colour
    router_colours = {a[s].colour for k, _, s in triples if k == "router"}
    assert not router_colours & {MODEL_COLOUR, ORACLE_COLOUR, ZERO_COLOUR}


def test_short_model_names():
    assert short_model_name("gpt-4-1106-preview") == "GPT-4"
    assert short_model_name("org/some-model-13b-chat") == "some-model-13b"
    assert short_model_name("acme/llama-3-8b-instruct-2024-05-01") == "llama-3-8b"
    assert len(short_model_name("x" * 50)) <= 18


def test_grid_heatmap_and_cascade_figures():
    pts = points_frame()
    grid_pts = pd.concat([pts.assign(dataset="a"), pts.assign(dataset="b")])
    grid_pts = grid_pts[grid_pts["kind"].isin(["model", "oracle"])]
    grid = model_grid_figure(grid_pts, title="grid")
    assert len([ax for ax in grid.axes if ax.get_visible()]) == 2
    share = pd.DataFrame(np.full((2, 3), 1 / 3), index=["a", "b"], columns=["m0", "m1", "m2"])
    heat = oracle_heatmap_figure(share, title="heat")
    assert heat.axes[0].images[0].get_array().shape == (2, 3)
    cas = cascade_figure(pts, title="cascade")
    assert cas is not None
    solid = [ln for ln in cas.axes[0].lines if ln.get_color() != ZERO_COLOUR]
    assert len(solid) == 3  # one NDCH per ε
    assert cascade_figure(pts[pts["family"] != "cascade"], title="none") is None


def test_saved_files_are_valid_png_and_svg(tmp_path: Path):
    pts = points_frame()
    files = save_figure(plane_figure(pts, styles_of(pts), title="t"), tmp_path / "plane")
    png = files["png"].read_bytes()
    assert png.startswith(PNG_MAGIC) and len(png) > 20_000
    root = ET.parse(files["svg"]).getroot()
    assert root.tag.endswith("svg")
    assert files["svg"].stat().st_size > 20_000
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plane.png", "plane.svg"]


def test_same_input_gives_identical_files(tmp_path: Path):
    # No dates, versions or random ids in the files: a rerun is byte-identical.
    pts = points_frame()
    a = save_figure(plane_figure(pts, styles_of(pts), title="t"), tmp_path / "a")
    b = save_figure(plane_figure(pts, styles_of(pts), title="t"), tmp_path / "b")
    for fmt in ("png", "svg"):
        assert a[fmt].read_bytes() == b[fmt].read_bytes()


def test_failing_save_leaves_no_partial_file(tmp_path: Path, monkeypatch):
    pts = points_frame()
    fig = plane_figure(pts, styles_of(pts), title="t")
    (tmp_path / "old.png").write_bytes(b"previous")

    def broken(self, fname, **kwargs):
        Path(fname).write_bytes(PNG_MAGIC + b"half an image")
        raise RuntimeError("disk full")

    monkeypatch.setattr(Figure, "savefig", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        save_figure(fig, tmp_path / "new")
    with pytest.raises(RuntimeError, match="disk full"):
        save_figure(fig, tmp_path / "old")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["old.png"]  # no temp, no new.png
    assert (tmp_path / "old.png").read_bytes() == b"previous"
