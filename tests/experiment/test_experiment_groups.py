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


def test_datasets_too_small_to_train_on_are_refused_at_plan_time_with_the_fix() -> None:
    """RouterArena's groups hold 1 to 46 prompts: a 70/30 split leaves some 0 or 1 to train on."""
    bench = _arena_like(n_groups=4, per=2)  # 2 prompts per group: 1 to train on, 1 to test
    cfg = parse_config({"routers": [{"name": "logreg"}], "seeds": [0]})
    with pytest.raises(ConfigError) as info:
        make_plan(prepare_benchmark(cfg, bench), cfg)
    msg = str(info.value)
    assert "5 dataset(s) leave fewer than 2 prompts" in msg and "\n" not in msg
    assert msg.count("(1 to train on, 1 to test)") == 3 and "and 2 more" in msg
    assert "'arena-00' (1 to train on" in msg and "groups" in msg
    # merged into one dataset, the same groups plan
    grouped = parse_config(
        {"routers": [{"name": "logreg"}], "seeds": [0], "groups": {"arena": ["arena-*"]}}
    )
    bench5 = _arena_like(n_groups=4, per=5)  # gsm8k's 5 prompts: 3 to train on
    assert make_plan(prepare_benchmark(grouped, bench5), grouped).runs
