"""Run routerbench's speed and memory benchmarks and print one line per figure.

Usage: ``python benchmarks/run.py [GROUP ...]`` where each GROUP is a module
``benchmarks/bench_<GROUP>.py`` defining ``run(emit)``; with no GROUP, all run.
Each figure prints as ``name: value unit (target: ...)``, and a figure that
misses its target is marked ``MISSED`` so a reader sees it at a glance.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent

Emit = Callable[..., None]


def _groups() -> dict[str, Path]:
    return {p.stem.removeprefix("bench_"): p for p in sorted(HERE.glob("bench_*.py"))}


def _load(path: Path):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[path.stem] = module
    spec.loader.exec_module(module)
    return module


def make_emit(lines: list[str]) -> Emit:
    """An `emit(name, value, unit, target, ok=None)` that prints and records a figure."""

    def emit(name: str, value: float, unit: str, target: str, ok: bool | None = None) -> None:
        mark = "" if ok is None or ok else "  MISSED"
        line = f"{name}: {value:.4g} {unit} (target: {target}){mark}"
        print(line, flush=True)
        lines.append(line)

    return emit


def main(argv: list[str] | None = None) -> int:
    groups = _groups()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "groups", nargs="*", help=f"groups to run (default all): {', '.join(groups)}"
    )
    args = parser.parse_args(argv)
    chosen = args.groups or list(groups)
    unknown = [g for g in chosen if g not in groups]
    if unknown:
        parser.error(f"unknown group(s) {unknown}; known: {', '.join(groups)}")
    sys.path.insert(0, str(HERE))
    lines: list[str] = []
    emit = make_emit(lines)
    for name in chosen:
        t0 = time.perf_counter()
        print(f"# group {name}", flush=True)
        _load(groups[name]).run(emit)
        print(f"# group {name} took {time.perf_counter() - t0:.1f} s", flush=True)
    return 1 if any(line.endswith("MISSED") for line in lines) else 0


if __name__ == "__main__":
    raise SystemExit(main())
