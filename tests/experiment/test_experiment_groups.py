"""Protocol labels and dataset groups from the config."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from routerbench.data.benchmark import Benchmark
from routerbench.errors import ConfigError
from routerbench.experiment import parse_config
from routerbench.experiment.groups import regroup
from routerbench.experiment.plan import make_plan, protocol_labels
from routerbench.experiment.runner import prepare_benchmark


def _arena_like(n_groups: int = 6, per: int = 5) -> Benchmark:
    tasks = [f"arena-{g:02d}" for g in range(n_groups) for _ in range(per)] + ["gsm8k"] * per
    n = len(tasks)
    rng = np.random.default_rng(0)
    prompts = pd.DataFrame(
        {"sample_id": [f"s{i}" for i in range(n)], "task": tasks, "prompt": ["p"] * n}
    )
    return Benchmark(prompts, ("a", "b"), rng.random((n, 2)), rng.uniform(0.1, 1, (n, 2)))


def test_labels_name_the_protocols_and_must_differ() -> None:
    cfg = parse_config(
        {"protocols": [{"name": "paper", "label": "in-domain"}, {"name": "leave-out"}]}
    )
    assert protocol_labels(cfg.protocols) == ["in-domain", "leave-out"]
    with pytest.raises(ConfigError, match="used twice"):
        parse_config(
            {"protocols": [{"name": "paper", "label": "x"}, {"name": "kfold", "label": "x"}]}
        )
    # Two unlabelled protocols of one name are told apart by what sets them apart.
    cfg = parse_config({"protocols": [{"name": "kfold", "k": 3}, {"name": "kfold", "k": 4}]})
    assert protocol_labels(cfg.protocols) == ["kfold(k=3, seed=0)", "kfold(k=4, seed=0)"]


def test_a_label_reaches_every_run_of_the_plan() -> None:
    bench = _arena_like()
    cfg = parse_config({"protocols": [{"name": "kfold", "k": 2, "label": "2-fold"}]})
    plan = make_plan(prepare_benchmark(cfg, bench), cfg)
    assert {r.unit.protocol for r in plan.runs} == {"2-fold"}


def test_groups_merge_tiny_groups_into_one_dataset() -> None:
    bench = _arena_like()
    assert len(bench.datasets) == 7
    merged = regroup(bench, {"routerarena": ["arena-*"]})
    assert set(merged.datasets) == {"routerarena", "gsm8k"}
    counts = merged.prompts["dataset"].value_counts()
    assert counts["routerarena"] == 30 and counts["gsm8k"] == 5
    # Tasks are untouched and nothing else changes.
    assert list(merged.prompts["task"]) == list(bench.prompts["task"])
    assert merged.fingerprint() == bench.fingerprint()


def test_groups_apply_in_the_runner_before_dataset_selection() -> None:
    cfg = parse_config({"groups": {"arena": ["arena-0*"]}, "datasets": ["arena"]})
    bench = prepare_benchmark(cfg, _arena_like())
    assert bench.datasets == ["arena"] and bench.n_prompts == 30


def test_first_group_wins_and_a_pattern_matching_nothing_is_an_error() -> None:
    bench = _arena_like()
    out = regroup(bench, {"first": ["arena-00", "arena-01"], "second": ["arena-*"]})
    counts = out.prompts["dataset"].value_counts()
    assert counts["first"] == 10 and counts["second"] == 20
    with pytest.raises(ConfigError, match=r"groups\.typo: pattern 'arnea-\*' matches no"):
        regroup(bench, {"typo": ["arnea-*"]})
    with pytest.raises(ConfigError, match="groups"):
        parse_config({"groups": {"empty": []}})
