"""Free-text agreement: cosine similarity of hashed word counts, a function of the pair alone."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.feature_extraction.text import CountVectorizer

from routerbench.data.benchmark import Benchmark, ResponseStore
from routerbench.routers.judges.evidence import response_evidence
from routerbench.routers.judges.similarity import text_agreement

TEXTS = np.array(
    [
        ["The capital of Australia is Canberra.", "Canberra is the capital of Australia",
         "It is Sydney, the largest city.", ""],
        ["Paris", "paris", "Lyon", "I'm sorry, I cannot help with that."],
    ],
    dtype=object,
)  # fmt: skip


def _cosine(a: str, b: str) -> float:
    """Independently: exact word and word-pair counts (no hashing), cosine."""
    counts = CountVectorizer(ngram_range=(1, 2)).fit([a, b]).transform([a, b]).toarray()
    x, y = counts.astype(float)
    return float(x @ y / np.sqrt((x @ x) * (y @ y)))


def test_pairs_score_their_word_overlap_and_missing_answers_score_zero():
    valid = np.array([[True, True, True, False], [True, True, True, False]])
    agree = text_agreement(TEXTS, valid)
    assert agree.shape == (2, 4, 4)
    assert np.allclose(agree, agree.transpose(0, 2, 1))
    assert np.array_equal(np.diagonal(agree, axis1=1, axis2=2), valid.astype(float))
    for i in range(2):
        for j in range(3):
            for k in range(3):
                if j != k:
                    want = _cosine(TEXTS[i, j], TEXTS[i, k])
                    assert abs(agree[i, j, k] - want) < 1e-9, (i, j, k)
    assert agree[0, 0, 1] > 0.5 > agree[0, 0, 2]  # same words reordered vs another answer
    assert agree[1, 0, 1] == 1.0 and agree[1, 0, 2] == 0.0  # case folded; another city
    assert (agree[:, 3, :3] == 0).all()  # not valid: agrees with nothing


def test_a_pair_s_agreement_depends_on_the_pair_s_responses_alone():
    valid = np.ones((2, 4), dtype=bool)
    base = text_agreement(TEXTS, valid)
    garbled = TEXTS.copy()
    garbled[:, 2] = ["completely different words here", "zzz"]
    again = text_agreement(garbled, valid)
    keep = [0, 1, 3]
    assert np.array_equal(base[np.ix_([0, 1], keep, keep)], again[np.ix_([0, 1], keep, keep)])


def test_free_text_evidence_reads_similarity_and_refusals_agree_with_nothing():
    prompts = pd.DataFrame(
        {"sample_id": ["a", "b"], "task": "mtbench", "prompt": ["Capital?", "City?"]}
    )
    store = ResponseStore(lambda: TEXTS.copy())
    bench = Benchmark(prompts, ("m0", "m1", "m2", "m3"), np.ones((2, 4)), np.ones((2, 4)),
                      responses=store)  # fmt: skip
    ev = response_evidence(bench, code_runner=None)
    assert set(ev.kind) == {"text"}
    assert 0.5 < ev.agree[0, 0, 1] < 1.0  # not the same key, yet mostly the same words
    assert ev.refusal[1, 3] and (ev.agree[1, 3] == 0).all()
