"""Run ids hash the code a router runs: a fix re-runs its runs; a comment or docstring does not."""

from __future__ import annotations

import importlib
import sys
import textwrap
from pathlib import Path

import pytest

from routerbench.experiment import code_version
from routerbench.experiment.code_version import code_fingerprint, module_closure
from routerbench.experiment.config import parse_config
from routerbench.experiment.plan import make_plan
from tests.experiment.conftest import two_dataset_bench

ROUTER = '''
"""A plug-in router: one model for every prompt, which model set in a helper module."""

from routerbench.decision import Decision
from routerbench.routers.base import Router


class PlugRouter(Router):
    name = "plug"

    def __init__(self, spare: int = 0) -> None:
        self.spare = spare

    def fit(self, train):
        self.models_ = train.models
        return self

    def route(self, test):
        from plugpkg.helper import which  # imported inside a function: still followed

        return Decision([which()] * test.n_prompts, label=self.name)
'''

HELPER = '''
"""Which model the plug-in picks."""

def which() -> int:
    return 0  # the cheapest
'''


@pytest.fixture
def plugin(tmp_path: Path, monkeypatch):
    """A plug-in package on sys.path; yields a function that rewrites its helper module."""
    pkg = tmp_path / "plugpkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "router.py").write_text(textwrap.dedent(ROUTER))
    (pkg / "helper.py").write_text(textwrap.dedent(HELPER))
    monkeypatch.syspath_prepend(str(tmp_path))

    def rewrite(text: str) -> type:
        (pkg / "helper.py").write_text(textwrap.dedent(text))
        code_version._parsed.cache_clear()
        code_fingerprint.cache_clear()
        return importlib.import_module("plugpkg.router").PlugRouter

    yield rewrite
    for name in [m for m in sys.modules if m == "plugpkg" or m.startswith("plugpkg.")]:
        del sys.modules[name]
    code_version._parsed.cache_clear()
    code_fingerprint.cache_clear()
    code_version._top_location.cache_clear()


def test_a_code_change_changes_the_fingerprint_and_comments_do_not(plugin):
    cls = plugin(HELPER)
    before = code_fingerprint(cls)
    assert len(before) == 20
    closure = module_closure((cls.__module__,))
    assert {"plugpkg.router", "plugpkg.helper", "routerbench.decision"} <= set(closure)
    reworded = HELPER.replace("Which model", "The model").replace("# the cheapest", "# first")
    assert code_fingerprint(plugin(reworded + "\n\n# a trailing comment\n")) == before
    assert code_fingerprint(plugin(HELPER.replace("return 0", "return 1"))) != before


def test_run_ids_change_with_the_code_and_baselines_stay(plugin):
    bench = two_dataset_bench(n=60)
    cfg = parse_config({"routers": [{"name": "plugpkg.router:PlugRouter"}], "seeds": [0]})

    def ids(kind: str) -> set[str]:
        return {r.run_id for r in make_plan(bench, cfg).runs if r.system.kind == kind}

    plugin(HELPER)
    first, first_models = ids("router"), ids("model")
    assert first and ids("router") == first  # unchanged code: the same ids, runs reused
    plugin(HELPER.replace("# the cheapest", "# reworded, same code"))
    assert ids("router") == first
    plugin(HELPER.replace("return 0", "return 1"))
    assert ids("router").isdisjoint(first)
    assert ids("model") == first_models  # the baselines' results do not depend on it


def test_the_judged_routers_fingerprint_covers_their_judges_and_candidates():
    """Imports inside functions and classes the registry builds by name are followed."""
    closure = module_closure(("routerbench.routers.judged_cv",))
    assert {
        "routerbench.routers.judged_cascade",
        "routerbench.routers.judges.verifier",  # imported inside a method
        "routerbench.routers.hybrid",  # a candidate, built through the registry by name
        "routerbench.frontier.crossfit",
    } <= set(closure)
    assert not any(name.startswith(("numpy", "sklearn")) for name in closure)
