"""Convert RouteLLM's evaluation data (MMLU, GSM8K, MT-Bench; two models) to our long format.

RouteLLM publishes correctness and judge scores but no dollars, so cost is simulated
from estimated token counts and the price table its paper used (see `pricing`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from routerbench.data.convert._common import (
    finish,
    get_field,
    iter_jsonl,
    number_field,
    parse_correct,
    read_csv_text,
    text_field,
)
from routerbench.data.convert.pricing import (
    CHARS_PER_TOKEN,
    ROUTELLM_MEAN_OUTPUT_TOKENS,
    ROUTELLM_PRICES,
    TokenPrice,
    estimate_tokens,
)
from routerbench.errors import DataError

PARTS: tuple[str, ...] = ("mmlu", "gsm8k", "mt_bench")
MTBenchMode = Literal["mean", "per-turn"]
#: RouteLLM generated MMLU answers with ``max_new_tokens=1`` (a single letter).
MMLU_OUTPUT_TOKENS = 1
_RESPONSE_SUFFIX = "_response"
_SINGLE = re.compile(
    r"\[The Start of Assistant's Answer\]\n(.*?)\n\[The End of Assistant's Answer\]", re.S
)
_CONVERSATION = re.compile(
    r"<\|The Start of Assistant A's Conversation with User\|>(.*?)"
    r"<\|The End of Assistant A's Conversation with User\|>",
    re.S,
)
_ROLE = re.compile(r"\n### (User|Assistant A):\n")


def locate_parts(root: Path) -> dict[str, Path]:
    """The RouteLLM parts found under `root` (or `root` itself being one part's folder)."""
    found: dict[str, Path] = {}
    for folder in (root, *(root / p for p in PARTS)):
        if not folder.is_dir():
            continue
        if any(folder.glob("mmlu_*.csv")):
            found.setdefault("mmlu", folder)
        if (folder / "gsm8k_responses.csv").is_file():
            found.setdefault("gsm8k", folder / "gsm8k_responses.csv")
        if (folder / "judgements.jsonl").is_file():
            found.setdefault("mt_bench", folder)
    return found


# --------------------------------------------------------------------- MMLU, GSM8K
def _model_columns(df: pd.DataFrame, path: Path) -> list[str]:
    models = [c for c in df.columns if c != "prompt" and not c.endswith(_RESPONSE_SUFFIX)]
    if not models:
        raise DataError("no model correctness columns besides 'prompt'", source=str(path))
    return models


def _wide_to_long(
    df: pd.DataFrame, path: Path, *, ids: np.ndarray, task: str, dataset: str, responses: bool
) -> pd.DataFrame:
    """One row per (prompt, model) from a RouteLLM response CSV (vectorised over rows)."""
    models = _model_columns(df, path)
    frames = []
    for m in models:  # two models: loop over columns, never over rows
        part = pd.DataFrame(
            {
                "sample_id": ids,
                "task": task,
                "dataset": dataset,
                "prompt": df["prompt"].to_numpy(),
                "model": m,
                "quality": parse_correct(df[m], source=path, column=m),
            }
        )
        if responses:
            col = m + _RESPONSE_SUFFIX
            part["response"] = df[col].to_numpy(dtype=object) if col in df.columns else None
        frames.append(part)
    return pd.concat(frames, ignore_index=True)


def _mmlu(folder: Path) -> pd.DataFrame:
    files = sorted(folder.glob("mmlu_*.csv"))
    frames = []
    for path in files:
        subject = path.stem.removeprefix("mmlu_")
        df = read_csv_text(path, ["prompt"])
        if len(df) == 0:
            raise DataError("the file has no rows", source=str(path))
        ids = np.array([f"mmlu-{subject}.{i}" for i in range(len(df))], dtype=object)
        frames.append(
            _wide_to_long(
                df, path, ids=ids, task=f"mmlu-{subject}", dataset="mmlu", responses=False
            )
        )
    out = pd.concat(frames, ignore_index=True)
    out["_out_tokens"] = float(MMLU_OUTPUT_TOKENS)
    return out


def _gsm8k(path: Path, chars_per_token: float, fallback_out: float) -> pd.DataFrame:
    df = read_csv_text(path, ["prompt"])
    if len(df) == 0:
        raise DataError("the file has no rows", source=str(path))
    ids = np.array([f"gsm8k.{i}" for i in range(len(df))], dtype=object)
    out = _wide_to_long(df, path, ids=ids, task="gsm8k", dataset="gsm8k", responses=True)
    resp = out["response"].where(out["response"].astype(str).str.strip() != "", None)
    out["response"] = resp
    tokens = estimate_tokens(resp, chars_per_token)
    out["_out_tokens"] = np.where(resp.isna(), fallback_out, tokens)
    return out


# ------------------------------------------------------------------------ MT-Bench
def _answers(user_prompt: str, turn: int) -> list[str]:
    """The assistant's answers quoted in a FastChat judge prompt ([] if not found).

    A turn-1 prompt quotes one answer between "[The Start of Assistant's Answer]"
    markers; a turn-2 prompt quotes the whole conversation with "### Assistant A:".
    """
    if turn == 1:
        m = _SINGLE.search(user_prompt)
        return [m.group(1)] if m else []
    m = _CONVERSATION.search(user_prompt)
    if not m:
        return []
    parts = _ROLE.split("\n" + m.group(1).strip("\n"))
    return [
        parts[i + 1].strip("\n") for i in range(1, len(parts) - 1, 2) if parts[i] == "Assistant A"
    ]


def _questions(path: Path) -> dict[int, tuple[str, list[str]]]:
    out: dict[int, tuple[str, list[str]]] = {}
    for lineno, rec in iter_jsonl(path):
        qid = int(number_field(rec, "question_id", source=path, lineno=lineno))
        turns = get_field(rec, "turns", source=path, lineno=lineno)
        if not isinstance(turns, list) or not turns or not all(isinstance(t, str) for t in turns):
            raise DataError(
                "expected a non-empty list of strings",
                source=str(path),
                column="turns",
                row=f"line {lineno}",
            )
        category = str(rec.get("category") or "general")
        out[qid] = (category, turns)
    if not out:
        raise DataError("no questions", source=str(path))
    return out


def _judgements(path: Path, questions: Mapping[int, Any]) -> pd.DataFrame:
    rows = []
    seen: dict[tuple[int, str, int], int] = {}
    for lineno, rec in iter_jsonl(path):
        qid = int(number_field(rec, "question_id", source=path, lineno=lineno))
        model = text_field(rec, "model", source=path, lineno=lineno)
        turn = get_field(rec, "turn", source=path, lineno=lineno)
        if turn not in (1, 2) or isinstance(turn, bool):
            raise DataError(
                f"expected turn 1 or 2, got {turn!r}",
                source=str(path),
                column="turn",
                row=f"line {lineno}",
            )
        score = number_field(rec, "score", source=path, lineno=lineno)
        if not 1 <= score <= 10:
            hint = ""
            if score == -1:
                hint = " (FastChat writes -1 when it cannot parse the judge's rating)"
            raise DataError(
                f"expected a judge score in [1, 10], got {score:g}{hint}",
                source=str(path),
                column="score",
                row=f"line {lineno}",
            )
        if qid not in questions:
            raise DataError(
                f"question_id {qid} is not in question.jsonl",
                source=str(path),
                column="question_id",
                row=f"line {lineno}",
            )
        key = (qid, model, int(turn))
        if key in seen:
            raise DataError(
                f"question {qid}, model {model!r}, turn {turn} judged twice "
                f"(also line {seen[key]})",
                source=str(path),
                row=f"line {lineno}",
            )
        seen[key] = lineno
        prompt = rec.get("user_prompt")
        answers = _answers(prompt, int(turn)) if isinstance(prompt, str) else []
        rows.append((qid, model, int(turn), score, answers, lineno))
    if not rows:
        raise DataError("no judgements", source=str(path))
    return pd.DataFrame(rows, columns=["qid", "model", "turn", "score", "answers", "line"])


def _mt_bench(
    folder: Path, mode: MTBenchMode, chars_per_token: float, fallback_out: float
) -> pd.DataFrame:
    qpath, jpath = folder / "question.jsonl", folder / "judgements.jsonl"
    if not qpath.is_file():
        raise DataError("question.jsonl is missing next to judgements.jsonl", source=str(folder))
    questions = _questions(qpath)
    judged = _judgements(jpath, questions)

    # Answer texts per (question, model): turn 1 from its own judge prompt, turn 2 from
    # the conversation quoted in the turn-2 prompt (which also repeats turn 1).
    answer: dict[tuple[int, str, int], str | None] = {}
    for qid, model, turn, _s, answers, _l in judged.itertuples(index=False):
        if turn == 1 and answers:
            answer.setdefault((qid, model, 1), answers[0])
        if turn == 2 and len(answers) >= 2:
            answer.setdefault((qid, model, 1), answers[0])
            answer[(qid, model, 2)] = answers[1]

    def tokens(s: str | None) -> float:
        return fallback_out if s is None else float(estimate_tokens([s], chars_per_token)[0])

    def user_tokens(s: str) -> float:
        return float(estimate_tokens([s], chars_per_token)[0])

    recs = []
    for qid, model, turn, score, _a, line in judged.itertuples(index=False):
        category, turns = questions[qid]
        if turn > len(turns):
            raise DataError(
                f"turn {turn} judged but question {qid} has {len(turns)} turn(s)",
                source=str(jpath),
                column="turn",
                row=f"line {line}",
            )
        a1, a_t = answer.get((qid, model, 1)), answer.get((qid, model, turn))
        # The whole conversation so far is sent again with each turn.
        history = 0.0 if turn == 1 else user_tokens(turns[0]) + tokens(a1)
        recs.append(
            {
                "qid": qid,
                "model": model,
                "turn": turn,
                "category": category,
                "question": turns[turn - 1],
                "score": score,
                "response": a_t,
                "_in_tokens": history + user_tokens(turns[turn - 1]),
                "_out_tokens": tokens(a_t),
            }
        )
    per_turn = pd.DataFrame(recs)
    per_turn["quality"] = per_turn["score"] / 10.0
    per_turn["task"] = "mtbench-" + per_turn["category"].astype(str)
    per_turn["dataset"] = "mtbench"
    if mode == "per-turn":
        per_turn["sample_id"] = (
            "mtbench-" + per_turn["qid"].astype(str) + ".turn" + per_turn["turn"].astype(str)
        )
        per_turn["prompt"] = per_turn["question"]
        return per_turn.drop(columns=["qid", "category", "question", "score"])

    counts = per_turn.groupby(["qid", "model"])["turn"].transform("size")
    expected = per_turn["qid"].map(lambda q: len(questions[q][1]))
    incomplete = counts != expected
    if incomplete.any():
        r = per_turn[incomplete].iloc[0]
        raise DataError(
            f"question {r.qid} has {int(expected[incomplete].iloc[0])} turns but model "
            f"{r.model!r} was judged on {int(counts[incomplete].iloc[0])}; "
            "use mt_bench='per-turn' to keep the judged turns only",
            source=str(jpath),
            column="turn",
        )
    per_turn = per_turn.sort_values(["qid", "model", "turn"], kind="stable")
    g = per_turn.groupby(["qid", "model"], sort=False)
    out = g.agg(
        quality=("quality", "mean"),
        task=("task", "first"),
        _in_tokens=("_in_tokens", "sum"),
        _out_tokens=("_out_tokens", "sum"),
    ).reset_index()
    out["response"] = (
        g["response"].agg(lambda s: None if s.isna().any() else "\n\n".join(s)).to_numpy()
    )
    out["prompt"] = out["qid"].map(lambda q: "\n\n".join(questions[q][1]))
    out["sample_id"] = "mtbench-" + out["qid"].astype(str)
    out["dataset"] = "mtbench"
    return out.drop(columns=["qid"])


# -------------------------------------------------------------------------- public
def convert_routellm(
    root: str | Path,
    *,
    parts: Iterable[str] | None = None,
    mt_bench: MTBenchMode = "mean",
    prices: Mapping[str, TokenPrice] | None = None,
    chars_per_token: float = CHARS_PER_TOKEN,
    fallback_output_tokens: float = ROUTELLM_MEAN_OUTPUT_TOKENS,
) -> pd.DataFrame:
    """RouteLLM's evaluation data as a long table with a simulated cost.

    Parameters
    ----------
    root
        A folder with ``mmlu/`` (``mmlu_<subject>.csv``), ``gsm8k/gsm8k_responses.csv``
        and/or ``mt_bench/`` (``judgements.jsonl`` + ``question.jsonl``), as in RouteLLM's
        ``routellm/evals``; or one of those folders.
    parts
        Which of ``mmlu``, ``gsm8k``, ``mt_bench`` to convert (default: all found).
    mt_bench
        ``mean``: one row per question and model, quality = mean judge score over the
        two turns / 10, cost = both turns; ``per-turn``: one row per turn (sample_id
        ``mtbench-<qid>.turn<t>``, prompt = that turn's user message, plus a ``turn``
        column), quality = score / 10.
    prices
        $ per million tokens per model; default `ROUTELLM_PRICES` (the paper's).
    chars_per_token
        Token estimate: ceil(characters / chars_per_token).
    fallback_output_tokens
        Output tokens of a call whose response text is not in the data (RouteLLM's
        paper's mean response length, 264).

    Returns
    -------
    pandas.DataFrame
        Columns sample_id, task, dataset, prompt, model, quality, cost, response,
        cost_source (``simulated``), [turn]. ``attrs["notes"]`` says how cost was made.

    Notes
    -----
    Cost is SIMULATED: input tokens are estimated from the stored prompt (RouteLLM did
    not store its few-shot prefix: 5-shot MMLU up to 1,536 tokens, 8-shot GSM8K, so
    their input cost is a lower bound); output tokens from the response text (GSM8K,
    MT-Bench answers quoted in the judge prompts), 1 for MMLU (RouteLLM generated a
    single token), else `fallback_output_tokens`. MT-Bench turn 2 pays again for the
    whole conversation so far.
    """
    root = Path(root)
    if not root.exists():
        raise DataError("no such folder", source=str(root))
    found = locate_parts(root)
    wanted = list(PARTS) if parts is None else list(parts)
    unknown = [p for p in wanted if p not in PARTS]
    if unknown:
        raise DataError(
            f"unknown RouteLLM part {unknown[0]!r}; expected one of {PARTS}", source=str(root)
        )
    if mt_bench not in ("mean", "per-turn"):
        raise DataError(
            f"mt_bench must be 'mean' or 'per-turn', got {mt_bench!r}", source=str(root)
        )
    if parts is not None:
        missing = [p for p in wanted if p not in found]
        if missing:
            raise DataError(f"RouteLLM part {missing[0]!r} not found", source=str(root))
    present = [p for p in wanted if p in found]
    if not present:
        raise DataError(
            "no RouteLLM data found: expected mmlu/mmlu_*.csv, "
            "gsm8k/gsm8k_responses.csv or mt_bench/judgements.jsonl",
            source=str(root),
        )
    table = dict(ROUTELLM_PRICES if prices is None else prices)

    frames = []
    for part in present:
        if part == "mmlu":
            df = _mmlu(found[part])
        elif part == "gsm8k":
            df = _gsm8k(found[part], chars_per_token, fallback_output_tokens)
        else:
            df = _mt_bench(found[part], mt_bench, chars_per_token, fallback_output_tokens)
        if "_in_tokens" not in df.columns:
            df["_in_tokens"] = estimate_tokens(df["prompt"], chars_per_token)
        frames.append(df)
    out = pd.concat(frames, ignore_index=True)
    if "response" in out.columns:
        out["response"] = out["response"].astype(object).where(out["response"].notna(), None)
    if "turn" in out.columns:
        out["turn"] = out["turn"].astype("Int64")

    models = pd.unique(out["model"])
    no_price = [m for m in models if m not in table]
    if no_price:
        raise DataError(
            f"no token price for model {no_price[0]!r}; pass prices={{model: TokenPrice(...)}}}}",
            source=str(root),
            column="model",
        )
    cost = np.empty(len(out))
    for m in models:  # a handful of models; each a vectorised slice
        sel = (out["model"] == m).to_numpy()
        cost[sel] = table[m].cost(
            out["_in_tokens"].to_numpy()[sel], out["_out_tokens"].to_numpy()[sel]
        )
    out["cost"] = cost
    out = out.drop(columns=["_in_tokens", "_out_tokens"])
    price_note = "; ".join(
        f"{m}: ${table[m].input_per_m:g} in / ${table[m].output_per_m:g} out per 1M tokens"
        for m in models
    )
    notes = [
        "cost is SIMULATED (RouteLLM publishes none): tokens ~ ceil(chars / "
        f"{chars_per_token:g}) x prices ({price_note})",
        f"output tokens: response text where present, {MMLU_OUTPUT_TOKENS} for MMLU "
        f"(max_new_tokens=1), else {fallback_output_tokens:g}; the unstored few-shot "
        "prefixes (MMLU 5-shot, GSM8K 8-shot) are not counted",
    ]
    if "mt_bench" in present:
        notes.append(f"MT-Bench quality = GPT-4 judge score / 10 ({mt_bench})")
    return finish(out, notes=notes, source="routellm", simulated=True)
