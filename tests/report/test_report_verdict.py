"""The report of a real (small) experiment: verdict-first tables, glossary, per-ε cascade, data.

One experiment runs end to end through the CLI, with a router that peeks at the outcomes (it
must be called the winner), one that knows nothing (it must not), and a cascade over two ε.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from tests.experiment.conftest import SPY, two_dataset_bench
from typer.testing import CliRunner

from routerbench.cli import app
from routerbench.data.writers import write_long
from routerbench.experiment.evaluate import BEATS_ZERO, epsilon_label
from routerbench.report.frames import split_epsilon

CONFIG = f"""
data: default
protocols:
  - {{name: paper, label: in-domain}}
  - {{name: leave-out, label: out-of-domain}}
routers:
  - {{name: {SPY}, label: spy, params: {{shares: [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]}}}}
  - {{name: {SPY}, label: cheat, params: {{cheat: true, shares: [0.5]}}}}
  - name: cascade
    params: {{budgets: [0.001, 0.01, 1.0], error_rates: [0.0, 0.4]}}
bootstrap: {{n_boot: 60}}
verdict: {{control_seeds: 3, crossfit_boot: 40, crossfit_reps: 4}}
"""


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, Path]:
    tmp = tmp_path_factory.mktemp("verdict-report")
    data = tmp / "bench.parquet"
    write_long(two_dataset_bench(n=200), data)
    cfg = tmp / "exp.yaml"
    cfg.write_text(CONFIG, encoding="utf-8")
    out = tmp / "out"
    res = CliRunner().invoke(
        app, ["run", "--config", str(cfg), "--data", str(data), "--out", str(out), "--quiet"]
    )
    assert res.exit_code == 0, res.output
    return out, (out / "index.html").read_text(encoding="utf-8"), data


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_cascade_is_one_system_per_epsilon_in_aiq_csv_and_plots(page) -> None:
    out, html, _ = page
    aiq = pd.read_csv(out / "aiq.csv", keep_default_na=False, na_values=[""])
    systems = set(aiq["system"])
    assert {"cascade ε=0", "cascade ε=0.4"} <= systems and "cascade" not in systems
    # The per-ε row's AIQ is the hull of exactly that ε's points (hand computation).
    from routerbench.frontier import aiq as aiq_of
    from routerbench.frontier import ndch

    res = pd.read_parquet(out / "results.parquet")
    windows = pd.read_csv(out / "cache" / "windows.csv").set_index(["protocol", "dataset"])
    eps0 = res[(res["system"] == "cascade") & res["setting"].str.contains('"error_rate":0.4')]
    for (protocol, ds), grp in eps0.groupby(["protocol", "dataset"]):
        w = windows.loc[(protocol, ds)]
        want = aiq_of(ndch(grp["cost"], grp["quality"]), window=(w["window_lo"], w["window_hi"]))
        row = aiq[(aiq["protocol"] == protocol) & (aiq["dataset"] == ds)]
        got = row[row["system"] == "cascade ε=0.4"]["aiq"].iloc[0]
        assert got == pytest.approx(want, abs=1e-12)
    # The report's plot names agree with the table's.
    split = split_epsilon(res.assign(protocol=res["protocol"].astype(str)))
    assert set(split.loc[split["family"] == "cascade", "system"]) == {
        epsilon_label("cascade", 0.0),
        epsilon_label("cascade", 0.4),
    }
    assert "cascade ε=0.4" in _text(html)


def test_page_gives_the_verdict_and_explains_every_column(page) -> None:
    out, html, _ = page
    text = _text(html)
    for term in (
        "How to read this report", "AIQ", "window", "Oracle frontier", "cross-fitted Δ",
        "controls", "verdict", "gap closed", "MT-Bench", "other metrics",
    ):  # fmt: skip
        assert term in text, term
    aiq = pd.read_csv(out / "aiq.csv", keep_default_na=False)
    assert (aiq.loc[aiq["system"] == "cheat", "verdict"] == BEATS_ZERO).all()
    assert (aiq.loc[aiq["system"] == "spy", "verdict"] != BEATS_ZERO).all()
    # Every AIQ table of the page has the same seven columns, the verdict last.
    heads = re.findall(r"<thead><tr>(.*?)</tr></thead>", html)
    verdict_heads = [h for h in heads if "verdict" in h and "AIQ [95% CI]" in h]
    assert verdict_heads and all(h.count("<th") == 7 for h in verdict_heads)
    # cheat, in both protocols and both datasets: the AIQ tables and the headline.
    assert html.count(f">{BEATS_ZERO}<") >= 8
    assert "bar to clear: prior control max over 3 seeds" in text
    # The headline says which learned router is best out of sample and why it wins or not;
    # the simulated-judge cascade (it reads test outcomes) is kept apart.
    summary = _text(html[html.index('id="summary"') : html.index('id="explain"')])
    assert "best learned router" in summary and "prior control max" in summary
    assert "simulated-judge cascade above Zero at ε" in summary
    assert summary.count("(of 2 rates)") == 4  # 2 protocols x 2 datasets


def test_page_shows_the_data_used_and_the_effective_config(page) -> None:
    _, html, data = page
    text = _text(html)
    assert str(data) in text  # --data overrode the config's "data: default"
    effective = html[html.index("Effective configuration") :]
    assert f"data: {data}" in effective
    assert "control_seeds: 3" in effective


def test_in_domain_vs_out_of_domain_table(page) -> None:
    out, html, _ = page
    assert "In-domain vs out-of-domain" in html
    aiq = pd.read_csv(out / "aiq.csv").set_index(["protocol", "dataset", "system"])
    section = html[html.index('id="domain"') :]
    section = section[: section.index("</section>")]
    rows = re.findall(
        r"<tr><td class=\"l\">([^<]+)</td><td class=\"l\">([^<]+)</td>(.*?)</tr>", section
    )
    assert rows
    for ds, system, cells in rows:
        nums = [float(x) for x in re.findall(r"<td[^>]*>([+-]?[0-9.]+)</td>", cells)]
        a = aiq.loc[("in-domain", ds, system.replace("&amp;", "&")), "aiq"]
        b = aiq.loc[("out-of-domain", ds, system.replace("&amp;", "&")), "aiq"]
        assert nums[0] == pytest.approx(a, abs=5e-5) and nums[1] == pytest.approx(b, abs=5e-5)
        assert nums[2] == pytest.approx(b - a, abs=1e-4)


def test_crowded_plane_is_drawn_as_one_panel_per_family() -> None:
    from routerbench.report.palette import StyleMap
    from routerbench.report.plots import CROWDED, family_panels_figure

    rows = []
    rng = np.random.default_rng(0)
    for fam in ("knn", "mlp", "cascade"):
        for s in range(4):
            for k in range(5):
                rows.append(("router", fam, f"{fam}-{s}", f'{{"willingness_to_pay": {k}}}'))
    for m in range(3):
        rows.append(("model", "model", f"m{m}", "{}"))
    pts = pd.DataFrame(rows, columns=["kind", "family", "system", "setting"])
    pts["cost"] = rng.uniform(0.1, 10, len(pts))
    pts["quality"] = rng.uniform(0.2, 0.9, len(pts))
    assert pts.loc[pts["kind"] == "router", "system"].nunique() > CROWDED
    fig = family_panels_figure(
        pts, StyleMap(zip(pts["kind"], pts["family"], pts["system"])), title="t"
    )
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert sorted(ax.get_title(loc="left") for ax in visible) == ["cascade", "knn", "mlp"]
    for ax in visible:  # each panel's legend names exactly its family's systems (+ Zero)
        labels = [t.get_text() for t in ax.get_legend().get_texts()]
        fam = ax.get_title(loc="left")
        assert [x for x in labels if x != "Zero router"] == [f"{fam}-{s}" for s in range(4)]
