"""Maintainer script: rebuild ``model_prices.csv`` and compare our Table 1 with the paper's.

Not imported by the package. It reads a local copy of RouterBench's released rows (the
RouterDC copy of ARC-Challenge, Winogrande and MBPP; by default ``../shared/realdata``
next to the checkout) and writes only ``model_prices.csv``: the published token prices
and one aggregate per model (mean MBPP response length, its verbosity). The paper's
Table 1 ships as ``paper_table1.csv``, copied from the paper; nothing here changes it.
``src/routerbench/data/resources/README.md`` explains every number.

Run: ``python scripts/derive_table1.py [REALDATA_DIR]``
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

import routerbench
from routerbench.data.datasets import PAPER_MODELS, PAPER_TOKEN_PRICES
from routerbench.report.tables import paper_agreement, table1_report

HERE = Path(__file__).resolve().parents[1] / "src" / "routerbench" / "data" / "resources"
REALDATA = (
    Path(sys.argv[1])
    if len(sys.argv) > 1
    else Path(__file__).resolve().parents[2] / "shared" / "realdata"
)


def main() -> None:
    folder = REALDATA / "routerbench-subset-routerdc"
    raw = pd.concat([pd.read_csv(folder / f"mbpp_{part}.csv") for part in ("train", "test")])
    merged = raw.groupby("sample_id").first()  # MBPP has no split rows
    verbosity = {  # length of the stored response (its list literal), as the default uses
        m: float(merged[f"{m}|model_response"].astype(str).str.len().mean()) for m in PAPER_MODELS
    }
    prices = pd.DataFrame(
        {
            "model": list(PAPER_MODELS),
            "input_usd_per_mtok": [PAPER_TOKEN_PRICES[m][0] for m in PAPER_MODELS],
            "output_usd_per_mtok": [PAPER_TOKEN_PRICES[m][1] for m in PAPER_MODELS],
            "mbpp_response_chars": [round(verbosity[m], 1) for m in PAPER_MODELS],
        }
    )
    (HERE / "model_prices.csv").write_text(
        "# $ per 1M tokens as RouterBench priced its rows (withmartian/routerbench\n"
        "# routers/common.py TOKEN_COSTS); mbpp_response_chars = mean response length on the\n"
        "# released MBPP rows, used as each model's verbosity. See README.md.\n"
        + prices.to_csv(index=False, lineterminator="\n")
    )
    t1 = table1_report(routerbench.load(folder))
    pd.set_option("display.width", 200)
    cols = ["dataset", "model", "variant", "quality", "paper_quality", "total_cost"]
    print(t1[[*cols, "paper_total_cost", "cost_ratio"]].round(4).to_string(index=False))
    none = paper_agreement(t1)
    print("\nno variant reproduces the paper:")
    print(none[none["reproduced_by"] == ""].round(4).to_string(index=False))


if __name__ == "__main__":
    main()
