"""Maintainer script: rebuild ``table1.csv`` and ``model_prices.csv`` from their sources.

Not imported by the package. It needs the offline copies of public data under
``/work/shared/realdata`` (RouterBench rows and RouteLLM evaluation files); the
package ships only the two small CSVs this writes, never the rows themselves.
Every number and every assumption is explained in ``README.md`` next to this file.

Run: ``python scripts/derive_table1.py [REALDATA_DIR]``
"""

from __future__ import annotations

import glob
import re
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from routerbench.data.datasets import PAPER_MODELS, PAPER_TOKEN_PRICES

HERE = Path(__file__).resolve().parents[1] / "src" / "routerbench" / "data" / "resources"
REALDATA = (
    Path(sys.argv[1])
    if len(sys.argv) > 1
    else Path(__file__).resolve().parents[2] / "shared" / "realdata"
)

MODELS = PAPER_MODELS
GPT4, GPT35, MIXTRAL = "gpt-4-1106-preview", "gpt-3.5-turbo-1106", "mistralai/mixtral-8x7b-chat"

# $ per 1M tokens (input, output): withmartian/routerbench routers/common.py TOKEN_COSTS
# (commit 30e0925ac07a45108b9ee82086040a5664ea83e6). That file writes them as
# X / 10_000_000 per token; the released per-row costs match X per 1_000_000 tokens.
PRICES = PAPER_TOKEN_PRICES

# Prompt counts of the RouterBench 5-shot release per dataset. arc/winogrande/mbpp are
# counted from the rows below; mmlu/hellaswag/gsm8k/mtbench as reported for the same
# release in nithilan45/EcoLogic stage11_13/s11_routerbench_5shot.json ("family_sizes").
N_PROMPTS = {
    "mmlu": 14042,
    "hellaswag": 10042,
    "gsm8k": 7450,
    "arc-challenge": 1470,
    "winogrande": 1267,
    "mbpp": 427,
    "mtbench": 80,
}

CHARS_PER_TOKEN = 4.1  # measured on the RouterBench rows (see README)
HELLASWAG_ITEM_CHARS = 700.0  # ASSUMPTION (no HellaSwag text offline): context + 4 endings

# HellaSwag anchors: GPT-4 Technical Report (arXiv 2303.08774) Table 2, 10-shot accuracy.
HELLASWAG_ANCHORS = {GPT4: 0.953, GPT35: 0.855}


def _logit(p: np.ndarray | float) -> np.ndarray | float:
    return np.log(p / (1.0 - p))


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def routerbench_rows() -> dict[str, pd.DataFrame]:
    """Genuine RouterBench rows (RouterDC copy), split rows merged on sample_id."""
    src = REALDATA / "routerbench-subset-routerdc"
    out = {}
    for stem, ds in (
        ("arc_challenge", "arc-challenge"),
        ("winograde", "winogrande"),
        ("mbpp", "mbpp"),
    ):
        df = pd.concat([pd.read_csv(src / f"{stem}_{s}.csv") for s in ("train", "test")])
        cols = list(MODELS) + [f"{m}|total_cost" for m in MODELS]
        agg = {c: "first" for c in cols}
        agg.update({"prompt": "first"})
        agg.update({f"{m}|model_response": "first" for m in MODELS})
        merged = df.groupby("sample_id").agg(agg)
        assert not merged[cols].isna().any().any(), ds
        assert len(merged) == N_PROMPTS[ds], (ds, len(merged))
        out[ds] = merged
    return out


def routellm_anchors() -> dict[str, dict[str, float]]:
    """gpt-4-1106-preview and Mixtral on MMLU, GSM8K (accuracy) and MT-Bench (judge/10)."""
    src = REALDATA / "routellm"
    mix = "mistralai/Mixtral-8x7B-Instruct-v0.1"
    mmlu = pd.concat([pd.read_csv(f) for f in sorted(glob.glob(str(src / "mmlu/*.csv")))])
    gsm = pd.read_csv(src / "gsm8k/gsm8k_responses.csv")
    judge = pd.read_json(src / "mt_bench/judgements.jsonl", lines=True)
    mt = judge.groupby("model")["score"].mean() / 10.0
    return {
        "mmlu": {GPT4: float(mmlu[GPT4].mean()), MIXTRAL: float(mmlu[mix].mean())},
        "gsm8k": {GPT4: float(gsm[GPT4].mean()), MIXTRAL: float(gsm[mix].mean())},
        "mtbench": {GPT4: float(mt[GPT4]), MIXTRAL: float(mt[mix])},
    }


def routellm_lengths() -> dict[str, float]:
    """Characters of real questions and answers used by the token model."""
    src = REALDATA / "routellm"
    mix = "mistralai/Mixtral-8x7B-Instruct-v0.1"
    mmlu = pd.concat([pd.read_csv(f) for f in sorted(glob.glob(str(src / "mmlu/*.csv")))])
    gsm = pd.read_csv(src / "gsm8k/gsm8k_responses.csv")
    q = pd.read_json(src / "mt_bench/question.jsonl", lines=True)
    judge = pd.read_json(src / "mt_bench/judgements.jsonl", lines=True)
    t2 = judge[judge["turn"] == 2]

    def answers(s: str) -> tuple[int, int]:
        seg = re.split(r"### (?:User|Assistant A):\n", s.split("<|The End of Assistant")[0])
        return len(seg[2].strip()), len(seg[4].strip())

    ans = pd.DataFrame(t2["user_prompt"].map(answers).tolist(), index=t2["model"].to_numpy())
    ans_mean = ans.groupby(level=0).mean().sum(axis=1)  # a1 + a2 chars per model
    return {
        "mmlu_question": float(mmlu["prompt"].str.len().mean()),
        "gsm8k_question": float(gsm["prompt"].str.len().mean()),
        "gsm8k_answer_gpt4": float(gsm[f"{GPT4}_response"].str.len().mean()),
        "gsm8k_answer_mixtral": float(gsm[f"{mix}_response"].str.len().mean()),
        "mtbench_turn1": float(q["turns"].str[0].str.len().mean()),
        "mtbench_turn2": float(q["turns"].str[1].str.len().mean()),
        "mtbench_answers_gpt4": float(ans_mean[GPT4]),
        "mtbench_answers_mixtral": float(ans_mean[mix]),
    }


def main() -> None:
    rows = routerbench_rows()
    anchors = routellm_anchors()
    lengths = routellm_lengths()
    records: list[dict[str, object]] = []

    # -- measured cells: the RouterBench release itself
    quality = pd.DataFrame(index=list(MODELS), columns=list(N_PROMPTS), dtype=float)
    cost = quality.copy()
    for ds, df in rows.items():
        quality[ds] = df[list(MODELS)].mean().to_numpy()
        cost[ds] = df[[f"{m}|total_cost" for m in MODELS]].sum().to_numpy()

    # -- model ability b_m: mean over the three measured datasets of the centred logit
    measured = list(rows)
    lg = _logit(quality[measured].astype(float))
    ability = (lg - lg.mean()).mean(axis=1)

    # -- imputed quality: logit q[d, m] = a_d + s_d * b_m, (a_d, s_d) through two anchors
    anchor_sets = {**anchors, "hellaswag": HELLASWAG_ANCHORS}
    fits = {}
    for ds, anc in anchor_sets.items():
        (m1, q1), (m2, q2) = anc.items()
        s = (_logit(q1) - _logit(q2)) / (ability[m1] - ability[m2])
        a = _logit(q1) - s * ability[m1]
        quality[ds] = _sigmoid(a + s * ability.to_numpy())
        for m, q in anc.items():  # anchors are reproduced exactly; keep the measured value
            quality.loc[m, ds] = q
        fits[ds] = (a, s)

    # -- token model for the datasets without released rows
    verb_chars = {
        m: rows["mbpp"][f"{m}|model_response"].astype(str).str.len().mean() for m in MODELS
    }
    verbosity = pd.Series(verb_chars)

    def scaled(chars_gpt4: float, chars_mix: float) -> pd.Series:
        base = np.exp(
            np.mean([np.log(chars_gpt4 / verbosity[GPT4]), np.log(chars_mix / verbosity[MIXTRAL])])
        )
        out = verbosity * base
        out[GPT4], out[MIXTRAL] = chars_gpt4, chars_mix
        return out / CHARS_PER_TOKEN

    five_shot = {  # 5 exemplars + the question, ~10 chars of answer each, ~60 chars header
        "mmlu": 6 * (lengths["mmlu_question"] + 10) + 60,
        "hellaswag": 6 * (HELLASWAG_ITEM_CHARS + 10) + 60,
        "gsm8k": 5
        * (
            lengths["gsm8k_question"]
            + 0.5 * (lengths["gsm8k_answer_gpt4"] + lengths["gsm8k_answer_mixtral"])
        )
        + lengths["gsm8k_question"]
        + 60,
    }
    in_tok = {ds: chars / CHARS_PER_TOKEN for ds, chars in five_shot.items()}
    out_tok = {
        "mmlu": pd.Series(1.0, index=list(MODELS)),
        "hellaswag": pd.Series(1.0, index=list(MODELS)),
        "gsm8k": scaled(lengths["gsm8k_answer_gpt4"], lengths["gsm8k_answer_mixtral"]),
    }
    mt_out = scaled(lengths["mtbench_answers_gpt4"], lengths["mtbench_answers_mixtral"])
    # two turns: turn 1 sends q1; turn 2 sends q1 + a1 + q2 (a1 ~ half the answer tokens)
    mt_in = (
        2 * lengths["mtbench_turn1"] + lengths["mtbench_turn2"]
    ) / CHARS_PER_TOKEN + 0.5 * mt_out
    p_in = pd.Series({m: PRICES[m][0] for m in MODELS})
    p_out = pd.Series({m: PRICES[m][1] for m in MODELS})
    for ds in ("mmlu", "hellaswag", "gsm8k"):
        cost[ds] = N_PROMPTS[ds] * (in_tok[ds] * p_in + out_tok[ds] * p_out) / 1e6
    cost["mtbench"] = N_PROMPTS["mtbench"] * (mt_in * p_in + mt_out * p_out) / 1e6

    for ds in N_PROMPTS:
        for m in MODELS:
            if ds in measured:
                q_src = c_src = "routerbench-release"
            else:
                c_src = "token-model"
                if m in anchor_sets[ds]:
                    q_src = "gpt4-tech-report" if ds == "hellaswag" else "routellm-eval"
                else:
                    q_src = "imputed-logit"
            records.append(
                {
                    "dataset": ds,
                    "model": m,
                    "quality": round(float(quality.loc[m, ds]), 4),
                    "total_cost": round(float(cost.loc[m, ds]), 4),
                    "n_prompts": N_PROMPTS[ds],
                    "quality_source": q_src,
                    "cost_source": c_src,
                }
            )
    table = pd.DataFrame.from_records(records)
    header = (
        "# RouterBench Table 1 calibration targets (quality = mean score, total_cost = $ over\n"
        "# n_prompts). SYNTHETIC-DEFAULT TARGETS, NOT A COPY OF THE PAPER'S TABLE: see README.md\n"
        "# for the source of every cell (quality_source / cost_source columns).\n"
    )
    (HERE / "table1.csv").write_text(header + table.to_csv(index=False, lineterminator="\n"))
    prices = pd.DataFrame(
        {
            "model": list(MODELS),
            "input_usd_per_mtok": [PRICES[m][0] for m in MODELS],
            "output_usd_per_mtok": [PRICES[m][1] for m in MODELS],
            "mbpp_response_chars": [round(float(verbosity[m]), 1) for m in MODELS],
        }
    )
    (HERE / "model_prices.csv").write_text(
        "# $ per 1M tokens as RouterBench priced its rows (withmartian/routerbench\n"
        "# routers/common.py TOKEN_COSTS); mbpp_response_chars = mean response length on the\n"
        "# released MBPP rows, used as each model's verbosity. See README.md.\n"
        + prices.to_csv(index=False, lineterminator="\n")
    )
    print(table.pivot(index="model", columns="dataset", values="quality").round(3))
    print(table.pivot(index="model", columns="dataset", values="total_cost").round(3))
    print({k: (round(a, 3), round(s, 3)) for k, (a, s) in fits.items()})
    print({k: round(v, 1) for k, v in lengths.items()}, {k: round(v) for k, v in in_tok.items()})
    print("mtbench in/out tokens", mt_in.round(0).to_dict(), mt_out.round(0).to_dict())


if __name__ == "__main__":
    main()
