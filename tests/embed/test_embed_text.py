"""Tests of prompt text preparation: final-turn extraction from few-shot prompts."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from routerbench.embed import TEXT_VARIANTS, final_turn, prepare_texts
from routerbench.errors import ConfigError, DataError

REAL = Path(__file__).resolve().parents[2] / ".." / "shared" / "realdata"

ARC_5SHOT = (
    "Which gas do plants take in?\nA) oxygen\nB) carbon dioxide\n"
    'Print only a single choice  from "A" or "B" without explanation.\nAnswer:\nB\n\n'
    "What melts ice fastest?\nA) salt\nB) sand\n"
    'Print only a single choice  from "A" or "B" without explanation.\nAnswer:\nA\n\n'
    "Which planet is largest?\nA) Mars\nB) Jupiter\n"
    'Print only a single choice  from "A" or "B" without explanation.\nAnswer:'
)

WINO_5SHOT = (
    "Please answer with the letter of the correct answer.\n\n"
    "Tom lent Bob money because _ was rich.\nA) Tom\nB) Bob\nPrint only A or B. Answer:\nA\n\n"
    "Please answer with the letter of the correct answer.\n\n"
    "The cup broke the plate because the _ was hard.\nA) cup\nB) plate\nPrint only A or B. "
    "Answer:\nA\n\n"
    "Sarah beat Maria so _ got the trophy.\nA) Maria\nB) Sarah\nPrint only A or B. Answer:"
)

GSM_QA = (
    "Q: Ann has 2 apples and buys 3. How many now?\nA: 2 + 3 = 5. The answer is 5.\n\n"
    "Q: A box holds 4 pens. How many pens in 3 boxes?\nA: 3 * 4 = 12. The answer is 12.\n\n"
    "Q: Joe runs 5 km a day. How far in a week?\nA:"
)

MMLU_INLINE = (
    "The following are multiple choice questions (with answers) about astronomy.\n\n"
    "What is the Sun?\nA. a star\nB. a planet\nAnswer: A\n\n"
    "What orbits Earth?\nA. Mars\nB. the Moon\nAnswer: B\n\n"
    "Read the passage.\n\nPassage: Stars form in nebulae.\n\nWhere do stars form?\n"
    "A. nebulae\nB. comets\nAnswer:"
)


def test_arc_style_keeps_only_the_last_question() -> None:
    assert final_turn(ARC_5SHOT) == (
        "Which planet is largest?\nA) Mars\nB) Jupiter\n"
        'Print only a single choice  from "A" or "B" without explanation.\nAnswer:'
    )


def test_winogrande_style_drops_repeated_instruction_blocks() -> None:
    assert final_turn(WINO_5SHOT) == (
        "Sarah beat Maria so _ got the trophy.\nA) Maria\nB) Sarah\nPrint only A or B. Answer:"
    )


def test_qa_style_with_line_start_a_marker() -> None:
    assert final_turn(GSM_QA) == "Q: Joe runs 5 km a day. How far in a week?\nA:"


def test_multi_paragraph_question_stays_whole() -> None:
    assert final_turn(MMLU_INLINE) == (
        "Read the passage.\n\nPassage: Stars form in nebulae.\n\nWhere do stars form?\n"
        "A. nebulae\nB. comets\nAnswer:"
    )


@pytest.mark.parametrize(
    "text",
    [
        "Write a python function to identify non-prime numbers.",
        "Compose a travel blog post.\n\nThen rewrite it as a haiku.",  # joined chat turns
        "Options:\nA) Ian\nB) Dennis\n\nWhich one?",  # option lines are not answers
        "Q: What is 2+2?\nA: 4",  # ends in an answered block: nothing would be left
        "",
    ],
)
def test_prompts_without_a_pending_question_are_unchanged(text: str) -> None:
    assert final_turn(text) == text


def test_prepare_texts_variants_and_errors() -> None:
    texts = [ARC_5SHOT, "plain"]
    assert prepare_texts(texts, "full") == texts
    assert prepare_texts(texts, "final-turn") == [final_turn(ARC_5SHOT), "plain"]
    assert set(TEXT_VARIANTS) == {"full", "final-turn"}
    with pytest.raises(ConfigError, match="'question'"):
        prepare_texts(texts, "question")
    with pytest.raises(DataError, match="row 1"):
        prepare_texts(["ok", 3.0], "full")
    with pytest.raises(DataError, match="one string"):
        prepare_texts("a single prompt", "full")


words = st.text(alphabet="abcdefghij ", min_size=1, max_size=30).filter(lambda s: s.strip())


@given(
    shots=st.lists(st.tuples(words, st.sampled_from("ABCD")), min_size=1, max_size=6),
    question=words,
)
def test_final_turn_recovers_the_question_of_generated_prompts(shots, question) -> None:
    blocks = [f"{q.strip()}?\nA) x\nB) y\nAnswer:\n{a}" for q, a in shots]
    last = f"{question.strip()}?\nA) x\nB) y\nAnswer:"
    assert final_turn("\n\n".join([*blocks, last])) == last


@pytest.fixture(scope="module")
def real_bench():
    path = REAL / "routerbench-subset-routerdc"
    if not path.exists():
        pytest.skip("shared real data not present")
    import routerbench

    return routerbench.load(str(path))


def test_real_five_shot_prompts_reduce_to_one_question(real_bench) -> None:
    prompts = real_bench.prompts
    for dataset in ("arc-challenge", "winogrande"):
        texts = prompts.loc[prompts["dataset"] == dataset, "prompt"].tolist()
        finals = prepare_texts(texts, "final-turn")
        for full, final in zip(texts, finals, strict=True):
            assert full.endswith(final)
            assert final.rstrip().endswith("Answer:")
            assert final.count("Answer:") == 1  # no exemplar left
    mbpp = prompts.loc[prompts["dataset"] == "mbpp", "prompt"].tolist()
    assert prepare_texts(mbpp, "final-turn") == mbpp  # 0-shot: untouched
