"""Converters for RouteLLM and RouterArena data: real-data counts, independent recomputation,
hand-worked fixtures and error paths."""

from __future__ import annotations

import csv
import glob
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import routerbench
from routerbench import Benchmark
from routerbench.data.convert import (
    ROUTELLM_PRICES,
    TokenPrice,
    convert_auto,
    convert_file,
    convert_routellm,
    convert_routerarena,
    detect_source,
    estimate_tokens,
    load_price_table,
)
from routerbench.data.convert._common import parse_correct
from routerbench.data.convert.routellm import _answers
from routerbench.errors import DataError

GPT4 = "gpt-4-1106-preview"
MIXTRAL = "mistralai/Mixtral-8x7B-Instruct-v0.1"
SHARED = Path(__file__).resolve().parents[2] / ".." / "shared" / "realdata"


@pytest.fixture(scope="module")
def realdata() -> Path:
    if not (SHARED / "routellm").is_dir() or not (SHARED / "routerarena").is_dir():
        pytest.skip("../shared/realdata is not available")
    return SHARED.resolve()


@pytest.fixture(scope="module")
def routellm_df(realdata: Path) -> pd.DataFrame:
    return convert_routellm(realdata / "routellm")


@pytest.fixture(scope="module")
def arena_df(realdata: Path) -> pd.DataFrame:
    return convert_routerarena(realdata / "routerarena")


def per_model(df: pd.DataFrame, dataset: str, col: str, how: str = "sum") -> dict[str, float]:
    return df[df["dataset"] == dataset].groupby("model")[col].agg(how).to_dict()


# ------------------------------------------------------------------ RouteLLM, real
def test_routellm_counts_match_source(routellm_df):
    bench = Benchmark.from_long(routellm_df)
    assert set(bench.models) == {GPT4, MIXTRAL}
    assert not bench.missing.any()
    n = bench.prompts["dataset"].value_counts().to_dict()
    assert n == {"mmlu": 14_042, "gsm8k": 1_319, "mtbench": 80}
    assert bench.prompts.loc[bench.prompts["dataset"] == "mmlu", "task"].nunique() == 57
    correct = per_model(routellm_df, "gsm8k", "quality")
    assert correct == {GPT4: 1130.0, MIXTRAL: 842.0}
    assert (routellm_df["cost"] > 0).all() and np.isfinite(routellm_df["cost"]).all()
    assert (routellm_df["cost_source"] == "simulated").all()
    assert any("SIMULATED" in note for note in routellm_df.attrs["notes"])


def test_routellm_mmlu_accuracy_recomputed_with_csv(realdata, routellm_df):
    hits = {GPT4: 0, MIXTRAL: 0}
    rows = 0
    for path in sorted(glob.glob(str(realdata / "routellm" / "mmlu" / "mmlu_*.csv"))):
        with open(path, newline="", encoding="utf-8") as fh:
            for rec in csv.DictReader(fh):
                rows += 1
                for m in hits:
                    hits[m] += rec[m] == "True"
    assert rows == 14_042
    got = per_model(routellm_df, "mmlu", "quality")
    assert got == {m: float(h) for m, h in hits.items()}


def test_routellm_gsm8k_cost_recomputed_by_hand(realdata, routellm_df):
    """cost = ceil(len(prompt)/4)·in + ceil(len(response)/4)·out per million, from the raw CSV."""
    expected = {GPT4: 0.0, MIXTRAL: 0.0}
    with open(
        realdata / "routellm" / "gsm8k" / "gsm8k_responses.csv", newline="", encoding="utf-8"
    ) as fh:
        for rec in csv.DictReader(fh):
            tin = math.ceil(len(rec["prompt"]) / 4)
            for m in expected:
                tout = math.ceil(len(rec[m + "_response"]) / 4)
                p = ROUTELLM_PRICES[m]
                expected[m] += (tin * p.input_per_m + tout * p.output_per_m) / 1e6
    got = per_model(routellm_df, "gsm8k", "cost")
    for m in expected:
        assert got[m] == pytest.approx(expected[m], rel=1e-12)
    assert got[GPT4] > 50 * got[MIXTRAL]  # the price gap RouteLLM's routing rests on


def test_routellm_mtbench_quality_recomputed_with_json(realdata, routellm_df):
    scores: dict[tuple[int, str], list[float]] = {}
    with open(realdata / "routellm" / "mt_bench" / "judgements.jsonl", encoding="utf-8") as fh:
        for line in fh:
            rec = json.loads(line)
            scores.setdefault((rec["question_id"], rec["model"]), []).append(rec["score"])
    mt = routellm_df[routellm_df["dataset"] == "mtbench"]
    assert len(mt) == 160 and mt["sample_id"].nunique() == 80
    got = {
        (int(s.split("-")[1]), m): q
        for s, m, q in mt[["sample_id", "model", "quality"]].itertuples(index=False)
    }
    assert got.keys() == scores.keys()
    for key, s in scores.items():
        assert got[key] == pytest.approx(sum(s) / len(s) / 10)
    assert mt["response"].notna().all()


def test_routellm_mtbench_per_turn(realdata):
    df = convert_routellm(realdata / "routellm", parts=["mt_bench"], mt_bench="per-turn")
    bench = Benchmark.from_long(df)
    assert bench.shape == (160, 2)
    assert set(df["turn"]) == {1, 2}
    # Turn 2 re-sends the conversation: its input is q1 + answer1 + q2, so by hand:
    with open(realdata / "routellm" / "mt_bench" / "question.jsonl", encoding="utf-8") as fh:
        q = {r["question_id"]: r["turns"] for r in map(json.loads, fh)}
    t1 = df[(df.sample_id == "mtbench-81.turn1") & (df.model == GPT4)].iloc[0]
    t2 = df[(df.sample_id == "mtbench-81.turn2") & (df.model == GPT4)].iloc[0]
    tok = lambda s: math.ceil(len(s) / 4)  # noqa: E731
    tin = tok(q[81][0]) + tok(t1.response) + tok(q[81][1])
    assert t2.cost == pytest.approx((tin * 10 + tok(t2.response) * 30) / 1e6)
    assert t1.cost == pytest.approx((tok(q[81][0]) * 10 + tok(t1.response) * 30) / 1e6)
    # The mean layout's cost is the two turns together.
    mean = convert_routellm(realdata / "routellm", parts=["mt_bench"])
    row = mean[(mean.sample_id == "mtbench-81") & (mean.model == GPT4)].iloc[0]
    assert row.cost == pytest.approx(t1.cost + t2.cost)


def test_routellm_parquet_roundtrip_through_load(routellm_df, realdata, tmp_path):
    out = tmp_path / "routellm.parquet"
    bench = convert_file(realdata / "routellm", out, "routellm")
    loaded = routerbench.load(out)
    assert loaded.shape == bench.shape == (15_441, 2)
    assert loaded.fingerprint() == Benchmark.from_long(routellm_df).fingerprint()
    assert (loaded.prompts["cost_source"] == "simulated").all()


# --------------------------------------------------------------- RouterArena, real
def test_routerarena_counts_and_real_costs(realdata, arena_df):
    bench = Benchmark.from_long(arena_df)
    assert bench.shape == (809, 2) and not bench.missing.any()
    assert set(bench.models) == {"claude-3-haiku-20240307", "gemini-2.0-flash-001"}
    assert (arena_df["cost"] > 0).all() and (arena_df["cost_source"] == "measured").all()
    # Independent: the raw inference_cost, and tokens x cost.json prices, per model.
    prices = load_price_table(realdata / "routerarena" / "cost.json")
    for path in sorted((realdata / "routerarena").glob("*.jsonl")):
        with open(path, encoding="utf-8") as fh:
            recs = [json.loads(line) for line in fh]
        model = recs[0]["llm_selected"]
        raw_cost = sum(r["evaluation_result"]["inference_cost"] for r in recs)
        tok_cost = sum(
            prices[model].cost(r["token_usage"]["input_tokens"], r["token_usage"]["output_tokens"])
            for r in recs
        )
        raw_q = sum(min(max(r["evaluation_result"]["score"], 0.0), 1.0) for r in recs) / len(recs)
        sub = arena_df[arena_df["model"] == model]
        assert sub["cost"].sum() == pytest.approx(raw_cost, rel=1e-12)
        assert sub["cost"].sum() == pytest.approx(float(tok_cost), rel=1e-9)
        assert sub["quality"].mean() == pytest.approx(raw_q, rel=1e-12)
    ds = arena_df.set_index("sample_id")["dataset"]
    assert ds["MMLUPro_law_1007"].iloc[0] == "MMLUPro_law"
    assert ds["MMLUPro_computer science_9239"].iloc[0] == "MMLUPro_computer science"


def test_routerarena_out_of_range_policy(realdata, arena_df):
    assert any("clipped 1 quality" in n for n in arena_df.attrs["notes"])
    assert arena_df["quality"].between(0, 1).all()
    pattern = (
        r"haiku-20240307\.jsonl, column 'evaluation_result\.score', row line \d+: score -0\.033"
    )
    with pytest.raises(DataError, match=pattern):
        convert_routerarena(realdata / "routerarena", out_of_range="error")


def test_routerarena_roundtrip_through_load(realdata, arena_df, tmp_path):
    out = tmp_path / "arena.parquet"
    convert_file(realdata / "routerarena", out)
    loaded = routerbench.load(out)
    assert loaded.fingerprint() == Benchmark.from_long(arena_df).fingerprint()
    assert loaded.responses is not None


def test_detect_source_on_real_folders(realdata, tmp_path):
    assert detect_source(realdata / "routellm") == "routellm"
    assert detect_source(realdata / "routellm" / "gsm8k") == "routellm"
    assert detect_source(realdata / "routerarena") == "routerarena"
    assert detect_source(realdata / "routerarena" / "gemini-2.0-flash-001.jsonl") == "routerarena"
    gsm = convert_auto(realdata / "routellm" / "gsm8k")
    assert set(gsm["dataset"]) == {"gsm8k"} and len(gsm) == 2 * 1319


# ------------------------------------------------------------ hand-made fixtures
def write_routellm(root: Path, *, mmlu_rows=None, judgements=None) -> Path:
    """A tiny RouteLLM folder whose costs can be worked out by hand."""
    (root / "mmlu").mkdir(parents=True)
    rows = mmlu_rows or [["abcd", "True", "False"], ["abcdefgh", "False", "True"]]
    with open(root / "mmlu" / "mmlu_anatomy.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["prompt", MIXTRAL, GPT4])
        w.writerows(rows)
    (root / "gsm8k").mkdir()
    with open(root / "gsm8k" / "gsm8k_responses.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["prompt", MIXTRAL, GPT4, f"{MIXTRAL}_response", f"{GPT4}_response"])
        w.writerow(["abcd", "False", "True", "x" * 12, "y" * 8])
    (root / "mt_bench").mkdir()
    (root / "mt_bench" / "question.jsonl").write_text(
        json.dumps({"question_id": 1, "category": "math", "turns": ["abcd", "efgh"]}) + "\n"
    )
    judge1 = "[The Start of Assistant's Answer]\n{a}\n[The End of Assistant's Answer]"
    conv = (
        "<|The Start of Assistant A's Conversation with User|>\n\n### User:\nabcd\n\n"
        "### Assistant A:\n{a}\n\n### User:\nefgh\n\n### Assistant A:\n{b}\n\n"
        "<|The End of Assistant A's Conversation with User|>"
    )
    recs = judgements or [
        {
            "question_id": 1,
            "model": m,
            "turn": 1,
            "score": s1,
            "user_prompt": judge1.format(a="a" * 8),
        }
        for m, s1 in ((GPT4, 10), (MIXTRAL, 6))
    ] + [
        {
            "question_id": 1,
            "model": m,
            "turn": 2,
            "score": s2,
            "user_prompt": conv.format(a="a" * 8, b="b" * 4),
        }
        for m, s2 in ((GPT4, 9), (MIXTRAL, 3))
    ]
    (root / "mt_bench" / "judgements.jsonl").write_text(
        "\n".join(json.dumps(r) for r in recs) + "\n"
    )
    return root


def test_routellm_fixture_hand_worked(tmp_path):
    df = convert_routellm(write_routellm(tmp_path / "rl"))
    cell = {
        (s, m): (q, c)
        for s, m, q, c in df[["sample_id", "model", "quality", "cost"]].itertuples(index=False)
    }
    # MMLU "abcd": 1 input token, 1 output token.
    assert cell[("mmlu-anatomy.0", GPT4)] == (0.0, pytest.approx((1 * 10 + 1 * 30) / 1e6))
    assert cell[("mmlu-anatomy.1", MIXTRAL)] == (0.0, pytest.approx((2 + 1) * 0.24 / 1e6))
    # GSM8K: 1 input token; responses of 8 and 12 chars = 2 and 3 tokens.
    assert cell[("gsm8k.0", GPT4)] == (1.0, pytest.approx((10 + 2 * 30) / 1e6))
    assert cell[("gsm8k.0", MIXTRAL)] == (0.0, pytest.approx((1 + 3) * 0.24 / 1e6))
    # MT-Bench: turn 1 = 1 in + 2 out; turn 2 = (1 + 2 + 1) in + 1 out; quality = mean / 10.
    q, c = cell[("mtbench-1", GPT4)]
    assert q == pytest.approx(0.95) and c == pytest.approx((1 * 10 + 2 * 30 + 4 * 10 + 30) / 1e6)
    assert cell[("mtbench-1", MIXTRAL)][0] == pytest.approx(0.45)
    task = df.loc[df.sample_id == "mtbench-1", "task"].iloc[0]
    assert task == "mtbench-math"


def test_routellm_custom_prices_and_fallback_tokens(tmp_path):
    root = write_routellm(tmp_path / "rl")
    prices = {GPT4: TokenPrice(1.0, 2.0), MIXTRAL: TokenPrice(0.5, 0.5)}
    df = convert_routellm(root, parts=["mmlu"], prices=prices)
    row = df[(df.sample_id == "mmlu-anatomy.1") & (df.model == GPT4)].iloc[0]
    assert row.cost == pytest.approx((2 * 1.0 + 1 * 2.0) / 1e6)
    with pytest.raises(DataError, match=r"no token price for model .*Mixtral"):
        convert_routellm(root, prices={GPT4: TokenPrice(1.0, 2.0)})


def test_routellm_missing_prompt_column(tmp_path):
    root = write_routellm(tmp_path / "rl")
    (root / "mmlu" / "mmlu_bad.csv").write_text(f"question,{GPT4}\nabc,True\n")
    with pytest.raises(DataError, match=r"mmlu_bad\.csv, column 'prompt': required column missing"):
        convert_routellm(root)


def test_routellm_bad_correctness_names_row(tmp_path):
    root = write_routellm(tmp_path / "rl", mmlu_rows=[["a", "True", "True"], ["b", "maybe", "1"]])
    with pytest.raises(DataError) as err:
        convert_routellm(root, parts=["mmlu"])
    msg = str(err.value)
    assert "mmlu_anatomy.csv" in msg and MIXTRAL in msg and "row 2" in msg and "'maybe'" in msg


@pytest.mark.parametrize(
    ("change", "pattern"),
    [
        ({"score": 11}, r"column 'score', row line 1: expected a judge score in \[1, 10\], got 11"),
        ({"score": -1}, r"FastChat writes -1"),
        ({"score": "ten"}, r"column 'score', row line 1: expected a finite number, got 'ten'"),
        ({"question_id": 7}, r"question_id 7 is not in question.jsonl"),
        ({"turn": 3}, r"expected turn 1 or 2, got 3"),
    ],
)
def test_routellm_bad_judgement(tmp_path, change, pattern):
    recs = [{"question_id": 1, "model": GPT4, "turn": 1, "score": 8, "user_prompt": ""}]
    recs[0].update(change)
    root = write_routellm(tmp_path / "rl", judgements=recs)
    with pytest.raises(DataError, match=pattern) as err:
        convert_routellm(root, parts=["mt_bench"], mt_bench="per-turn")
    assert "judgements.jsonl" in str(err.value)


def test_routellm_incomplete_turns_need_per_turn(tmp_path):
    recs = [{"question_id": 1, "model": GPT4, "turn": 1, "score": 8, "user_prompt": ""}]
    root = write_routellm(tmp_path / "rl", judgements=recs)
    with pytest.raises(DataError, match="per-turn"):
        convert_routellm(root, parts=["mt_bench"])
    df = convert_routellm(root, parts=["mt_bench"], mt_bench="per-turn")
    # No answer text found: the paper's mean output length stands in.
    assert df.cost.iloc[0] == pytest.approx((1 * 10 + 264 * 30) / 1e6)


def test_routellm_duplicate_judgement(tmp_path):
    rec = {"question_id": 1, "model": GPT4, "turn": 1, "score": 8}
    root = write_routellm(tmp_path / "rl", judgements=[rec, rec])
    with pytest.raises(DataError, match=r"judged twice \(also line 1\).*|line 2.*judged twice"):
        convert_routellm(root, parts=["mt_bench"], mt_bench="per-turn")


def arena_record(gid="AIME_1", score=1.0, cost=0.001, **extra) -> dict:
    rec = {
        "global_index": gid,
        "question": "q?",
        "llm_selected": "m1",
        "generated_answer": "a",
        "token_usage": {"input_tokens": 3, "output_tokens": 4},
        "evaluation_result": {"score": score, "inference_cost": cost, "ground_truth": "7"},
    }
    rec.update(extra)
    return rec


def write_arena(folder: Path, recs: list[dict], name: str = "m1.jsonl") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text("\n".join(json.dumps(r) for r in recs) + "\n")
    return folder


def test_routerarena_fixture_values(tmp_path):
    folder = write_arena(tmp_path / "ra", [arena_record(), arena_record("MMLUPro_law_17", 0.0)])
    write_arena(folder, [arena_record(llm_selected=None, cost=0.5)], name="m2.jsonl")
    df = convert_routerarena(folder)
    assert list(df.model) == ["m1", "m1", "m2"]  # m2 from the file name
    assert list(df.dataset) == ["AIME", "MMLUPro_law", "AIME"]
    assert list(df.cost) == [0.001, 0.001, 0.5] and list(df.label) == ["7", "7", "7"]
    bench = Benchmark.from_long(df)
    assert bench.shape == (2, 2) and int(bench.missing.sum()) == 1  # m2 lacks MMLUPro_law_17


def test_routerarena_missing_score_field(tmp_path):
    rec = arena_record()
    del rec["evaluation_result"]["score"]
    folder = write_arena(tmp_path / "ra", [arena_record("AIME_0"), rec])
    pattern = r"m1\.jsonl, column 'evaluation_result\.score', row line 2: field is missing"
    with pytest.raises(DataError, match=pattern):
        convert_routerarena(folder)


@pytest.mark.parametrize(
    ("rec", "pattern"),
    [
        (arena_record(score="1"), r"evaluation_result\.score.*expected a finite number, got '1'"),
        (arena_record(score=None), r"evaluation_result\.score.*got None"),
        (arena_record(score=1.5), r"score 1\.5 of model 'm1' is outside \[0, 1\]"),
        (arena_record(cost=-0.1), r"inference_cost.*expected a cost >= 0"),
        (arena_record(gid="AIME"), r"global_index.*expected '<dataset>_<n>'"),
        (arena_record(question=""), r"column 'question'.*non-empty text"),
    ],
)
def test_routerarena_bad_values(tmp_path, rec, pattern):
    folder = write_arena(tmp_path / "ra", [rec])
    with pytest.raises(DataError, match=pattern):
        convert_routerarena(folder, out_of_range="error")


def test_routerarena_bad_json_and_duplicates(tmp_path):
    folder = tmp_path / "ra"
    folder.mkdir()
    (folder / "m1.jsonl").write_text(json.dumps(arena_record()) + "\n{not json\n")
    with pytest.raises(DataError, match=r"m1\.jsonl, row line 2: invalid JSON"):
        convert_routerarena(folder)
    write_arena(folder, [arena_record(), arena_record()])
    with pytest.raises(DataError, match=r"'AIME_1' appears twice \(also line 1\)"):
        convert_routerarena(folder)


def test_detect_source_refuses_unknown(tmp_path):
    (tmp_path / "x.jsonl").write_text('{"a": 1}\n')
    with pytest.raises(DataError, match="cannot tell which source"):
        detect_source(tmp_path)
    with pytest.raises(DataError, match="no such file"):
        convert_auto(tmp_path / "absent")


def test_convert_file_writes_nothing_on_error(tmp_path):
    folder = write_arena(tmp_path / "ra", [arena_record(score="bad")])
    out = tmp_path / "out.parquet"
    with pytest.raises(DataError):
        convert_file(folder, out)
    assert not out.exists() and not list(tmp_path.glob(".out.parquet.*"))
    with pytest.raises(DataError, match="output must end in"):
        convert_file(folder, tmp_path / "out.xlsx")


@pytest.mark.parametrize("suffix", [".csv", ".jsonl", ".parquet"])
def test_convert_file_formats_load_back(tmp_path, suffix):
    root = write_routellm(tmp_path / "rl")
    out = tmp_path / f"rl{suffix}"
    bench = convert_file(root, out, "routellm")
    loaded = routerbench.load(out)
    assert loaded.shape == bench.shape == (4, 2)
    np.testing.assert_allclose(loaded.cost, bench.cost, rtol=1e-12)
    # pandas' JSON reader (precise_float=False) is off in the last digits; the file is exact.
    np.testing.assert_allclose(loaded.quality, bench.quality, rtol=1e-14)
    if suffix == ".jsonl":
        with open(out, encoding="utf-8") as fh:
            written = [json.loads(line) for line in fh]
        by_cell = {(r["sample_id"], r["model"]): r["quality"] for r in written}
        row = list(bench.sample_ids).index("mtbench-1")
        assert by_cell[("mtbench-1", MIXTRAL)] == bench.quality[row, bench.model_index(MIXTRAL)]
    else:
        np.testing.assert_array_equal(loaded.quality, bench.quality)


# -------------------------------------------------------------- property tests
_safe_text = (
    st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\r"), max_size=40)
    .map(str.strip)
    .filter(lambda s: "###" not in s and "[" not in s)
)


@given(a=_safe_text.filter(bool), b=_safe_text.filter(bool))
@settings(max_examples=60, deadline=None)
def test_answers_recovered_from_judge_prompts(a, b):
    single = (
        f"[Question]\nq\n\n[The Start of Assistant's Answer]\n{a}\n[The End of Assistant's Answer]"
    )
    conv = (
        "<|The Start of Assistant A's Conversation with User|>\n\n### User:\nq1\n\n"
        f"### Assistant A:\n{a}\n\n### User:\nq2\n\n### Assistant A:\n{b}\n\n"
        "<|The End of Assistant A's Conversation with User|>"
    )
    assert _answers(single, 1) == [a]
    assert [s.strip() for s in _answers(conv, 2)] == [a, b]


@given(st.lists(st.booleans(), min_size=1, max_size=30), st.sampled_from(["bool", "int"]))
def test_parse_correct_roundtrip(values, style):
    cells = [str(v) if style == "bool" else str(int(v)) for v in values]
    out = parse_correct(pd.Series(cells), source=Path("x.csv"), column="m")
    assert out.tolist() == [float(v) for v in values]


@given(st.lists(st.text(max_size=50), max_size=20), st.floats(0.5, 8.0))
def test_estimate_tokens_is_ceil_of_length(texts, cpt):
    got = estimate_tokens(texts, cpt)
    assert got.tolist() == [float(math.ceil(len(t) / cpt)) for t in texts]
