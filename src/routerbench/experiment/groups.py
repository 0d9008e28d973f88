"""Regroup datasets from the config's ``groups`` mapping: many tiny task groups become one dataset.

A dataset is the unit every AIQ is computed on; 78 groups of ten prompts each give 78 noisy
numbers, one group of 780 gives one that means something.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from fnmatch import fnmatchcase

import numpy as np

from routerbench.data.benchmark import Benchmark
from routerbench.errors import ConfigError

__all__ = ["regroup"]


def regroup(bench: Benchmark, groups: Mapping[str, Sequence[str]]) -> Benchmark:
    """`bench` with the ``dataset`` of every prompt matching a group's patterns set to the group.

    Parameters
    ----------
    bench
        The loaded benchmark.
    groups
        ``{group: [pattern, ...]}``; a pattern (``fnmatch``, case-sensitive)
        matches a prompt's current dataset or its task. Groups are tried in
        the order written; a prompt matching none keeps its dataset.

    Raises
    ------
    ConfigError
        When a pattern matches no dataset and no task: a typo would otherwise
        silently leave the data ungrouped.
    """
    if not groups:
        return bench
    datasets = bench.prompts["dataset"].astype(str).to_numpy()
    tasks = bench.prompts["task"].astype(str).to_numpy()
    uniq_d, inv_d = np.unique(datasets, return_inverse=True)
    uniq_t, inv_t = np.unique(tasks, return_inverse=True)
    new = datasets.astype(object).copy()
    done = np.zeros(datasets.size, dtype=bool)
    for name, patterns in groups.items():
        hit = np.zeros(datasets.size, dtype=bool)
        for pat in patterns:
            md = np.array([fnmatchcase(d, pat) for d in uniq_d], dtype=bool)
            mt = np.array([fnmatchcase(t, pat) for t in uniq_t], dtype=bool)
            if not (md.any() or mt.any()):
                raise ConfigError(
                    f"groups.{name}: pattern {pat!r} matches no dataset or task of the data "
                    f"(datasets: {', '.join(uniq_d[:8])}{', ...' if uniq_d.size > 8 else ''})"
                )
            hit |= md[inv_d] | mt[inv_t]
        take = hit & ~done
        new[take] = name
        done |= take
    prompts = bench.prompts.assign(dataset=new.astype(str))
    return replace(bench, prompts=prompts)
