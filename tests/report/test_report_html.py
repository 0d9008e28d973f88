"""Tests of `write_report`: the files it writes and the self-contained, escaped HTML page.

One small run (two datasets, models, Oracle, Zero, knn sweeps, a cascade) is rendered once.
"""

from __future__ import annotations

import base64
import json
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from routerbench.data.benchmark import Benchmark
from routerbench.errors import ConfigError, DataError
from routerbench.frontier import oracle_choice, realised
from routerbench.report import ORACLE, oracle_selection, table1, write_report

EVIL = "<script>alert('x')</script>"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def small_bench() -> Benchmark:
    rng = np.random.default_rng(0)
    n, m = 120, 4
    q = (rng.random((n, m)) < np.linspace(0.35, 0.85, m)).astype(float)
    c = rng.uniform(0.5, 1.5, (n, m)) * np.geomspace(1e-4, 1e-2, m)
    prompts = pd.DataFrame(
        {
            "sample_id": [f"s{i}" for i in range(n)],
            "task": ["mmlu" if i % 2 else "gsm8k" for i in range(n)],
            "prompt": ["p"] * n,
        }
    )
    return Benchmark(prompts, ("tiny-7b-chat", "mid-13b", "big-70b", "gpt-x"), q, c)


def results_of(bench: Benchmark) -> pd.DataFrame:
    """Model, Oracle and router points computed from the benchmark, like the runner's table."""
    rows = []
    rng = np.random.default_rng(1)
    for ds in bench.datasets:
        sub = bench.subset(datasets=ds)
        Q, C = sub.quality, sub.cost

        def add(family, system, kind, setting, choice, Q=Q, C=C, ds=ds):
            q, c = realised(Q, C, choice)
            rows.append(
                {
                    "run_id": f"{ds}-{system}-{len(rows)}",
                    "protocol": "paper",
                    "fold": 0,
                    "dataset": ds,
                    "family": family,
                    "system": system,
                    "kind": kind,
                    "setting": json.dumps(setting),
                    "params": "{}",
                    "seed": 0,
                    "n": len(q),
                    "quality": q.mean(),
                    "cost": c.sum(),
                    "cost_mean": c.mean(),
                    "model_share": "{}",
                }
            )

        n = len(Q)
        for j, mname in enumerate(sub.models):
            add("model", mname, "model", {}, np.full(n, j))
        add("oracle", ORACLE, "oracle", {}, oracle_choice(Q, C))
        for system, noise in (("knn(k=5)", 0.4), (EVIL, 0.6)):
            pred = Q + rng.normal(0, noise, Q.shape)
            for w in np.geomspace(1e-3, 1e2, 8):
                add("knn", system, "router", {"willingness_to_pay": w}, np.argmax(pred * w - C, 1))
        for eps in (0.0, 0.2):
            for b in (1e-4, 1e-3, 1e-2):
                ok = np.flatnonzero(C.mean(0) <= b)
                top = ok[-1] if ok.size else 0
                add("cascade", "cascade", "router", {"budget": b, "epsilon": eps}, np.full(n, top))
    return pd.DataFrame(rows)


def aiq_of(results: pd.DataFrame) -> pd.DataFrame:
    sys = results.drop_duplicates(["dataset", "system"])[["dataset", "system", "family", "kind"]]
    zero = sys.drop_duplicates("dataset").assign(system="Zero", family="zero", kind="zero")
    out = pd.concat([sys, zero], ignore_index=True)
    rng = np.random.default_rng(2)
    a = rng.uniform(0.3, 0.9, len(out))
    return out.assign(
        protocol="paper",
        aiq=a,
        ci_low=a - 0.03,
        ci_high=a + 0.03,
        window_lo=0.01,
        window_hi=1.0,
        n_points=8,
        apgr=np.nan,
    )


class PageParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str, str | None]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs += [(tag, k, v) for k, v in attrs]

    def handle_data(self, data):
        self.text.append(data)


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> tuple[Path, dict]:
    bench = small_bench()
    results = results_of(bench)
    kw = {
        "results": results,
        "aiq": aiq_of(results),
        "table1": table1(bench),
        "oracle_share": oracle_selection(bench),
        "config_text": f"routers: [knn]\nnote: </pre>{EVIL}",
        "fingerprint": bench.fingerprint(),
        "version": "9.9.9",
        "runtime_s": 75.0,
        "synthetic": True,
    }
    out = tmp_path_factory.mktemp("run")
    page = write_report(out, **kw)
    return page, kw


def parse(page: Path) -> PageParser:
    p = PageParser()
    p.feed(page.read_text(encoding="utf-8"))
    p.close()
    return p


def test_files_written(report):
    page, kw = report
    out = page.parent
    assert page.name == "index.html"
    plots = sorted(p.name for p in (out / "plots").iterdir())
    stems = {Path(p).stem for p in plots}
    assert {"oracle-selection", "models-grid", "cascade_paper"} <= stems
    assert {"plane_paper_mmlu", "plane_paper_gsm8k"} <= stems
    for stem in stems:
        png = (out / "plots" / f"{stem}.png").read_bytes()
        assert png.startswith(PNG_MAGIC) and len(png) > 10_000
        assert ET.parse(out / "plots" / f"{stem}.svg").getroot().tag.endswith("svg")
    assert not [p for p in out.rglob("*.tmp")]
    pd.testing.assert_frame_equal(pd.read_csv(out / "table1.csv"), kw["table1"])
    got = pd.read_csv(out / "aiq.csv")
    np.testing.assert_allclose(got["aiq"], kw["aiq"]["aiq"])


def test_page_inlines_every_plot_and_makes_no_requests(report):
    page, _ = report
    p = parse(page)
    srcs = [v for tag, k, v in p.attrs if tag == "img" and k == "src"]
    pngs = sorted((page.parent / "plots").glob("*.png"))
    assert len(srcs) == len(pngs)
    inlined = {base64.b64decode(s.split(",", 1)[1]) for s in srcs}
    assert all(s.startswith("data:image/png;base64,") for s in srcs)
    assert inlined == {f.read_bytes() for f in pngs}  # each image is exactly a written plot
    for tag, key, val in p.attrs:
        if key in ("src", "href", "action", "data"):
            assert not (val or "").lower().startswith(("http:", "https:", "//")), (tag, key, val)
    assert "script" not in p.tags and "link" not in p.tags and "iframe" not in p.tags
    html = page.read_text(encoding="utf-8")
    assert "@import" not in html and "url(" not in html


def test_page_escapes_names_and_config(report):
    page, _ = report
    html = page.read_text(encoding="utf-8")
    assert EVIL not in html
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in html
    text = "".join(parse(page).text)
    assert EVIL in text  # shown to the reader as text, in the AIQ table and the config
    assert f"note: </pre>{EVIL}" in text


def test_page_content(report):
    page, kw = report
    html = page.read_text(encoding="utf-8")
    text = "".join(parse(page).text)
    assert "SYNTHETIC data" in text
    assert kw["fingerprint"] in text and "9.9.9" in text and "1 min 15 s" in text
    for section in ("Table 1", "AIQ per dataset", "Cost-quality planes", "Oracle model selection"):
        assert section in text
    # Table 1, then per dataset the AIQ table and the folded single-model table.
    assert html.count("<table") == 1 + 2 * 3  # + the folded other-metrics table
    assert html.count("<details>") == 2 * 2  # single models, other metrics
    assert "best knn(k=5)" in text or f"best {EVIL}" in text or "best cascade" in text


def test_real_data_page_has_no_banner(tmp_path):
    bench = small_bench()
    results = results_of(bench)
    page = write_report(
        tmp_path,
        results=results[results["dataset"] == "mmlu"],
        aiq=None,
        table1=None,
        oracle_share=None,
        config_text="",
        fingerprint="f",
        version="v",
        runtime_s=1.0,
        synthetic=False,
        formats=("png",),
    )
    text = "".join(parse(page).text)
    assert "SYNTHETIC" not in text
    assert not list(tmp_path.glob("*.csv"))
    assert not list((tmp_path / "plots").glob("*.svg"))


def test_bad_results_are_one_line_data_errors(tmp_path):
    results = results_of(small_bench())
    kw = dict(
        aiq=None,
        table1=None,
        oracle_share=None,
        config_text="",
        fingerprint="f",
        version="v",
        runtime_s=0.0,
        synthetic=False,
    )
    with pytest.raises(DataError, match="column 'setting'"):
        write_report(tmp_path, results=results.drop(columns="setting"), **kw)
    bad = results.copy()
    bad.loc[3, "cost"] = np.nan
    with pytest.raises(
        DataError, match=r"column 'cost', row 3: expected a finite cost >= 0 dollars, got nan"
    ):
        write_report(tmp_path, results=bad, **kw)
    with pytest.raises(ConfigError, match="formats: unknown image format 'gif'"):
        write_report(tmp_path, results=results, formats=("svg", "gif"), **kw)
    assert not (tmp_path / "index.html").exists()
