"""Convert RouteLLM and RouterArena data to routerbench's long format and summarise them.

Run: python examples/convert_thirdparty.py [REALDATA_DIR] [OUT_DIR]
(defaults: ../shared/realdata next to the repository, and ./out/converted).
"""

from __future__ import annotations

import sys
from pathlib import Path

import routerbench
from routerbench.data.convert import convert_file, detect_source

REPO = Path(__file__).resolve().parents[1]


def summarise(bench: routerbench.Benchmark) -> None:
    """Mean quality and mean $ per call of each model, per dataset (first few datasets)."""
    print(f"  {bench!r}, cost: {', '.join(sorted(set(bench.prompts['cost_source'])))}")
    for ds in bench.datasets[:4]:
        sub = bench.subset(datasets=ds)
        cells = ", ".join(
            f"{m}: q={sub.quality[:, j].mean():.3f} c=${sub.cost[:, j].mean():.6f}"
            for j, m in enumerate(sub.models)
        )
        print(f"  {ds:<14} n={sub.n_prompts:<6} {cells}")


def main() -> None:
    realdata = Path(sys.argv[1]) if len(sys.argv) > 1 else REPO.parent / "shared" / "realdata"
    out_dir = Path(sys.argv[2]) if len(sys.argv) > 2 else REPO / "out" / "converted"
    for name in ("routellm", "routerarena"):
        src = realdata / name
        if not src.exists():
            print(f"skip {name}: {src} not found")
            continue
        out = out_dir / f"{name}.parquet"
        print(f"{name} (detected: {detect_source(src)}) -> {out}")
        converted = convert_file(src, out)  # validated, then written atomically
        for note in converted.notes:  # how cost was obtained (simulated or measured)
            print(f"  note: {note}")
        summarise(routerbench.load(out))  # the written file loads like any benchmark


if __name__ == "__main__":
    main()
