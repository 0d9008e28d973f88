"""Config validation (errors name the key path), grid expansion and the shipped configs."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from routerbench.cli import app
from routerbench.errors import ConfigError
from routerbench.experiment.config import default_config_text, load_config, parse_config
from routerbench.experiment.plan import expand_grid, make_plan, protocol_labels, router_systems
from tests.experiment.conftest import SPY, two_dataset_bench

REPO = Path(__file__).resolve().parents[2]


def error_of(data: object) -> str:
    with pytest.raises(ConfigError) as info:
        parse_config(data, source="cfg.yaml")
    msg = str(info.value)
    assert "\n" not in msg
    return msg


@pytest.mark.parametrize(
    ("data", "where", "what"),
    [
        ({"routers": [{"name": "a"}, {"name": "b"}, {"name": "c", "grid": {"k": []}}]},
         "routers[2].grid", "empty"),
        ({"routers": [{"name": "a", "grid": {"k": 5}}]}, "routers[0].grid.k", "list"),
        ({"routers": [{"name": "a", "gird": {}}]}, "routers[0].gird", "unknown key"),
        ({"bootstrap": {"n_boot": -1}}, "bootstrap.n_boot", "greater than or equal to 0"),
        ({"bootstrap": {"alpha": 1.5}}, "bootstrap.alpha", "less than 1"),
        ({"protocols": [{"name": "kfold", "k": 1}]}, "protocols[0].k", "greater than or equal"),
        ({"protocols": [{"name": "paper", "k": 3}]}, "protocols[0]", "'k' does not apply"),
        ({"protocols": [{"name": "random"}]}, "protocols[0].name", "'paper'"),
        ({"protocols": []}, "protocols", "at least 1"),
        ({"aiq": {"window": [2.0, 1.0]}}, "aiq.window", "lo < hi"),
        ({"aiq": {"window": "widest"}}, "aiq.window", "models"),
        ({"missing": "ignore"}, "missing", "drop-prompts"),
        ({"n_jobs": 0}, "n_jobs", "greater than or equal to 1"),
        ({"seeds": [1, 1]}, "seeds", "distinct"),
        ({"datasets": []}, "datasets", "at least one"),
        ({"executor": "dask"}, "executor", "'local' or 'ray'"),
        ({"routers": [{"name": "a", "params": {"k": 1}, "grid": {"k": [1]}}]},
         "routers[0]", "both params and grid"),
        ({"embedding": {"text": "last"}}, "embedding.text", "final-turn"),
        ({"output": "x"}, "output", "expected one of"),
    ],
)  # fmt: skip
def test_errors_name_the_key_path(data: dict, where: str, what: str) -> None:
    msg = error_of(data)
    assert msg.startswith(f"cfg.yaml: {where}:"), msg
    assert what in msg, msg


def test_unknown_top_level_key_lists_the_known_ones() -> None:
    msg = error_of({"routres": []})
    assert "routres: unknown key" in msg and "routers" in msg and "protocols" in msg


def test_non_mapping_and_bad_yaml(tmp_path: Path) -> None:
    assert "mapping" in error_of([1, 2])
    bad = tmp_path / "bad.yaml"
    bad.write_text("routers:\n  - name: knn\n   grid: {k: [1]}\n")
    with pytest.raises(ConfigError, match=r"bad\.yaml: line \d+"):
        load_config(bad)
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "missing.yaml")


def test_defaults_and_kfold_seed() -> None:
    cfg = parse_config({})
    assert [p.name for p in cfg.protocols] == ["paper"]
    assert cfg.protocols[0].seed == 42 and cfg.protocols[0].fraction == 0.7
    assert cfg.aiq.window == "models" and cfg.bootstrap.n_boot == 1000
    kf = parse_config({"protocols": [{"name": "kfold", "k": 3}]}).protocols[0]
    assert kf.seed == 0 and kf.k == 3
    assert protocol_labels(parse_config(
        {"protocols": [{"name": "paper"}, {"name": "paper", "train_on": "all"}, {"name": "kfold"}]}
    ).protocols) == ["paper", "paper(train_on=all)", "kfold"]  # fmt: skip


def test_grid_expansion_order_and_labels() -> None:
    combos = expand_grid({"k": [5, 10], "metric": ["cosine", "l2"]})
    assert combos == [
        {"k": 5, "metric": "cosine"},
        {"k": 5, "metric": "l2"},
        {"k": 10, "metric": "cosine"},
        {"k": 10, "metric": "l2"},
    ]
    assert expand_grid({}) == [{}]
    cfg = parse_config(
        {
            "routers": [
                {
                    "name": SPY,
                    "label": "spy",
                    "grid": {"shares": [[0.0, 1.0], [0.5]], "bias": [0.1]},
                },
                {"name": SPY, "label": "plain"},
            ]
        }
    )
    systems = router_systems(cfg)
    assert [s.label for s in systems] == ["spy(shares=[0.0,1.0])", "spy(shares=[0.5])", "plain"]
    assert systems[0].params == {"shares": [0.0, 1.0], "bias": 0.1}
    assert systems[0].seeded and systems[0].seed_param == "seed"


@given(
    st.dictionaries(
        st.text("abcdefgh", min_size=1, max_size=3),
        st.lists(st.integers(), min_size=1, max_size=3),
        max_size=3,
    )
)
def test_grid_is_the_cartesian_product(grid: dict[str, list[int]]) -> None:
    combos = expand_grid(grid)
    expected = 1
    for values in grid.values():
        expected *= len(values)
    assert len(combos) == expected
    for combo in combos:
        assert list(combo) == list(grid)
        assert all(combo[k] in grid[k] for k in grid)
    if all(len(set(v)) == len(v) for v in grid.values()):
        assert len({tuple(c.items()) for c in combos}) == len(combos)


def test_router_params_are_checked_against_the_router() -> None:
    cfg = parse_config(
        {"routers": [{"name": "x", "params": {}}, {"name": SPY, "grid": {"k": [1]}}]}
    )
    with pytest.raises(ConfigError, match=r"^routers\[0\]\.name: "):
        router_systems(cfg)
    cfg = parse_config({"routers": [{"name": SPY, "grid": {"k": [1]}}]})
    with pytest.raises(ConfigError, match=r"routers\[0\]\.grid\.k: .*no parameter 'k'.*shares"):
        router_systems(cfg)
    cfg = parse_config({"routers": [{"name": SPY}, {"name": SPY}]})
    with pytest.raises(ConfigError, match=r"routers\[1\]\.label"):
        router_systems(cfg)


def test_seeds_expand_only_for_seeded_routers() -> None:
    bench = two_dataset_bench(n=60)
    cfg = parse_config(
        {"routers": [{"name": SPY}, {"name": SPY, "label": "fixed", "params": {"seed": 3}}],
         "seeds": [0, 1, 2]}
    )  # fmt: skip
    plan = make_plan(bench, cfg)
    per_unit = len(bench.datasets)
    spy = [r for r in plan.runs if r.system.label == SPY]
    fixed = [r for r in plan.runs if r.system.label == "fixed"]
    assert len(spy) == 3 * per_unit and len(fixed) == per_unit
    assert sorted({r.seed for r in spy}) == [0, 1, 2]
    assert len({r.run_id for r in plan.runs}) == len(plan.runs)
    # baselines: every model, Oracle and Zero, once per unit
    base = [r for r in plan.runs if r.system.kind not in ("router", "control")]
    assert len(base) == per_unit * (bench.n_models + 2)


def test_shipped_default_config_matches_the_repo_copy() -> None:
    assert (REPO / "configs" / "default.yaml").read_text(encoding="utf-8") == default_config_text()
    cfg, text = load_config(None)
    assert text == default_config_text()
    assert cfg.data == "default"


@pytest.mark.parametrize("name", ["default.yaml", "paper.yaml"])
def test_shipped_configs_validate_against_the_registry(name: str) -> None:
    cfg, _ = load_config(REPO / "configs" / name)
    systems = router_systems(cfg)
    assert systems, "a shipped config should evaluate at least one router"


def test_paper_config_has_the_papers_grid() -> None:
    cfg, _ = load_config(REPO / "configs" / "paper.yaml")
    assert {p.name for p in cfg.protocols} == {"paper", "leave-out"}
    labels = [s.label for s in router_systems(cfg)]
    assert sum(lbl.startswith("knn") for lbl in labels) == 3
    assert sum(lbl.startswith("mlp") for lbl in labels) == 2
    assert any(lbl.startswith("svr") for lbl in labels)
    assert any(lbl.startswith("cascade") for lbl in labels)


def test_cli_config_error_exits_2_with_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "exp.yaml"
    bad.write_text("routers:\n  - name: knn\n    grid: {k: 5}\n")
    result = CliRunner().invoke(app, ["run", "--config", str(bad), "--quiet"])
    assert result.exit_code == 2
    # rich may wrap the one-line message at the terminal width; unwrap before checking
    text = " ".join(ln.strip() for ln in result.output.splitlines())
    assert text.startswith("error: ") and text.count("error:") == 1, result.output
    assert "routers[0].grid.k" in text.replace(" ", ""), result.output


def test_plugins_with_required_parameters_are_validated() -> None:
    needy = "tests.experiment.conftest:NeedyRouter"
    cfg = parse_config({"routers": [{"name": needy, "grid": {"level": [0.5, 1.0]}}]})
    systems = router_systems(cfg)
    assert [s.params for s in systems] == [{"level": 0.5}, {"level": 1.0}]
    assert systems[0].accepted == {"level", "seed"} and systems[0].seeded
    cfg = parse_config({"routers": [{"name": needy, "grid": {"level": [1.0, -1.0]}}]})
    with pytest.raises(ConfigError, match=r"^routers\[0\]\.grid\.level: .*level must be >= 0"):
        router_systems(cfg)
    cfg = parse_config({"routers": [{"name": "tests.experiment.conftest:Nowhere"}]})
    with pytest.raises(ConfigError, match=r"^routers\[0\]\.name: .*no attribute"):
        router_systems(cfg)


def test_a_changed_default_changes_the_run_ids(monkeypatch) -> None:
    """Run ids hash every constructor parameter, defaults included: results of old code are
    never reused after a default changes (judged-cv's candidates, say), only when nothing did."""
    from tests.experiment.conftest import SpyRouter

    bench = two_dataset_bench(n=60)
    cfg = parse_config({"routers": [{"name": SPY}], "seeds": [0]})
    before = {r.run_id for r in make_plan(bench, cfg).runs if r.system.kind == "router"}
    again = {r.run_id for r in make_plan(bench, cfg).runs if r.system.kind == "router"}
    assert before == again  # nothing changed: the same ids, so finished runs are reused
    defaults = list(SpyRouter.__init__.__defaults__)
    defaults[1] = 0.25  # `bias`, not named in the config
    monkeypatch.setattr(SpyRouter.__init__, "__defaults__", tuple(defaults))
    after = make_plan(bench, cfg).runs
    assert {r.run_id for r in after if r.system.kind == "router"}.isdisjoint(before)
    assert '"bias":0.25' in next(r.system.effective for r in after if r.system.kind == "router")
    # baselines do not depend on a router's defaults
    base = {r.run_id for r in make_plan(bench, cfg).runs if r.system.kind == "model"}
    assert base and base == {r.run_id for r in after if r.system.kind == "model"}
