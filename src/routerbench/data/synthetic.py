"""The embedded default benchmark: synthetic prompts x the paper's 11 models.

`load_default()` is what ``routerbench ... default`` runs on without downloading
anything. It is **synthetic** (generated text, generated outcomes; ``synthetic=True``,
every ``sample_id`` contains ``.synthetic.``) and **calibrated to the paper's Table 1**
(Hu et al. 2024, ``resources/paper_table1.csv``): for each of the seven paper datasets
and each of the 11 models, the mean quality is the paper's Perf and the total cost is the
paper's Cost scaled to the default's prompt count (below).

Choices
-------
Size
    RouterBench's release prompt counts (34,778 prompts: MMLU 14,042, HellaSwag 10,042,
    GSM8K 7,450, ARC 1,470, Winogrande 1,267, MBPP 427, MT-Bench 80). Generation is
    vectorised and takes about a second; nothing but code and two small CSVs ships.
    ``scale < 1`` shrinks datasets of more than 500 prompts (for tests); quality still
    matches and cost matches per prompt.
Cost scaling
    The paper's costs are sums over the 30% test part of each dataset (they match such
    sums on the released rows; the full sums are 3.3x larger), while the default holds
    every prompt. So the target total of a (dataset, model) cell is
    ``paper_cost * n / n_test`` with ``n_test = n - int(0.7 * n)``
    (`routerbench.data.paper.paper_test_size`): the paper's cost per test prompt times
    the default's prompts. The default's own paper-split test part then costs what the
    paper's does (up to sampling), and ``meta["paper_cost_scale"]`` holds ``n / n_test``
    per dataset.
Quality
    A latent score per (prompt, model): task/topic skill of the model, minus the
    prompt's difficulty (shared by all models, so correctness is correlated), a
    model-family factor (claude, gpt, llama-2 based, mistral, yi), model-specific
    effects of cue words in the prompt, and noise. Binary datasets mark the top ``k``
    scores correct, ``k = round(target * n)`` per (dataset, model), so the mean matches
    to rounding. MT-Bench is graded: two integer judge turns 1..10, mean / 10. The
    Oracle is not a target: it follows from the generated correlations, and Table 1
    shows it beside the paper's.
Text
    Prompts are composed from dataset templates, topic vocabularies (the MMLU subject,
    the MT-Bench category, a hidden topic elsewhere), difficulty-marker phrases sampled
    from the prompt's difficulty, and cue words whose effect differs per model: a
    TF-IDF model can learn which models succeed (held-out AUC ~0.7, as on the real
    RouterBench release), and the text carries no answer.
Cost
    Tokens x the published prices (``resources/model_prices.csv``): input tokens from
    the prompt length plus un-materialised exemplars up to the mean prompt length the
    paper's costs imply; one output token for a multiple-choice letter, and for MBPP,
    GSM8K and MT-Bench each model's mean output length implied by its paper cost once
    the input is paid, spread per prompt (longer for harder prompts). Each (dataset,
    model) column is then rescaled to its target total; the factors, close to 1, are
    kept in ``meta["cost_rescale"]``.
"""

from __future__ import annotations

import math
from dataclasses import replace
from functools import lru_cache
from importlib import resources
from typing import Any

import numpy as np
import pandas as pd

from routerbench.data.benchmark import Benchmark
from routerbench.data.datasets import PAPER_DATASETS, PAPER_MODELS
from routerbench.data.paper import (
    PAPER_TABLE1_FILE,
    RELEASE_PROMPTS,
    load_paper_table1,
    paper_test_size,
)
from routerbench.errors import DataError

__all__ = [
    "DEFAULT_SEED",
    "calibration_report",
    "load_default",
    "load_prices",
    "load_table1",
    "make_default",
]

DEFAULT_SEED = 0
PRICES_FILE = "model_prices.csv"
SMALL_DATASET = 500  # datasets this small keep their full size when scale < 1
CHARS_PER_TOKEN = 4.1  # measured on the released RouterBench rows (resources/README.md)

# Mean input tokens per prompt that the paper's costs imply (cost per test prompt / price,
# for models whose answer is one letter; resources/README.md): MMLU's are 0-shot
# questions, HellaSwag's and ARC's carry exemplars. The generated text is the question
# only; the rest stands for what the real prompt carries besides it.
_INPUT_TOKENS = {
    "mmlu": 96.0,
    "hellaswag": 805.0,
    "gsm8k": 278.0,
    "arc-challenge": 505.0,
    "winogrande": 352.0,
    "mbpp": 24.0,
    "mtbench": 0.0,  # two turns, computed from the text and the first answer
}
# Datasets with long answers, and the spread of output tokens (lognormal sigma) around
# each model's mean, which the paper's cost per prompt implies (see `make_default`).
_OUTPUT_SPREAD = {"gsm8k": 0.35, "mbpp": 0.40, "mtbench": 0.30}

_FAMILIES = {
    "WizardLM/WizardLM-13B-V1.2": "llama",
    "claude-instant-v1": "claude",
    "claude-v1": "claude",
    "claude-v2": "claude",
    "gpt-3.5-turbo-1106": "gpt",
    "gpt-4-1106-preview": "gpt",
    "meta/code-llama-instruct-34b-chat": "llama",
    "meta/llama-2-70b-chat": "llama",
    "mistralai/mistral-7b-chat": "mistral",
    "mistralai/mixtral-8x7b-chat": "mistral",
    "zero-one-ai/Yi-34B-Chat": "yi",
}

# Latent-score weights (in logit-like units). Tuned so a TF-IDF + logistic model reaches
# a held-out AUC of ~0.7 per model, as reported for the real release.
_W_DIFFICULTY = 1.5
_W_FAMILY = 0.55
_W_NOISE = 1.0
_SD_TOPIC_SKILL = 0.35
_SD_CUE_LOADING = 0.45
_MARKER_SLOPE = 0.5  # how sharply difficulty-marker phrases track the hidden difficulty


# ---------------------------------------------------------------- vocabularies
def _split_words(text: str) -> list[str]:
    return text.split()


# MMLU: (subject, test-set size used as weight, vocabulary)
_MMLU = (
    (
        "astronomy",
        152,
        "star planet orbit galaxy telescope supernova nebula redshift comet "
        "parallax luminosity eclipse asteroid pulsar exoplanet",
    ),
    (
        "anatomy",
        135,
        "artery nerve muscle vertebra ligament cartilage femur thorax tendon "
        "ventricle cranial pelvis lymph diaphragm",
    ),
    (
        "college_computer_science",
        100,
        "algorithm compiler recursion hash pointer complexity "
        "graph automaton cache register thread deadlock heap bytecode",
    ),
    (
        "elementary_mathematics",
        378,
        "fraction sum product digit perimeter area decimal "
        "remainder multiple factor angle triangle quotient estimate",
    ),
    (
        "professional_law",
        1534,
        "plaintiff defendant statute contract negligence tort "
        "jurisdiction easement testimony hearsay covenant appellate damages felony",
    ),
    (
        "high_school_us_history",
        204,
        "colonies constitution amendment reconstruction "
        "abolition frontier treaty tariff suffrage depression federalist union",
    ),
    (
        "philosophy",
        311,
        "virtue epistemology utilitarian kant ontology dualism skepticism "
        "categorical empiricism moral argument premise",
    ),
    (
        "clinical_knowledge",
        265,
        "patient dosage infection symptom diagnosis catheter "
        "wound fever pulse therapy clinical assessment",
    ),
    (
        "high_school_macroeconomics",
        390,
        "inflation unemployment gdp fiscal monetary "
        "recession interest reserve deficit aggregate output tariff",
    ),
    (
        "high_school_psychology",
        545,
        "memory conditioning perception cognition stimulus "
        "reinforcement development personality neuron emotion bias",
    ),
    (
        "moral_scenarios",
        895,
        "scenario promise borrowed neighbor honest stole helped lied "
        "friend wallet ordinary standards wrong",
    ),
    (
        "high_school_chemistry",
        203,
        "molecule electron bond reaction acid base mole "
        "isotope catalyst oxidation solution equilibrium",
    ),
    (
        "world_religions",
        171,
        "scripture temple ritual buddhism hinduism prophet pilgrimage "
        "karma sacrament monastery festival",
    ),
    (
        "marketing",
        234,
        "brand consumer segment advertising pricing retail promotion "
        "loyalty channel product survey",
    ),
)
_ARC_TOPICS = (
    "plants roots leaves photosynthesis sunlight seeds",
    "weather clouds rain temperature wind forecast",
    "magnets iron attract repel pole compass",
    "food chain predator prey energy consumer",
    "rocks minerals erosion sediment fossil layer",
    "circuit battery wire bulb current switch",
    "planets moon orbit gravity seasons tides",
    "heredity traits offspring genes inherited cells",
    "water ice vapor melting boiling freezing",
    "force motion friction speed push ramp",
)
_HELLASWAG_TOPICS = (
    "Making a sandwich|bread knife butter plate slices",
    "Cleaning windows|sponge glass bucket squeegee spray",
    "Playing the violin|bow strings notes tune melody",
    "Washing a dog|shampoo towel tub fur rinse",
    "Skiing|slope poles snow lift goggles",
    "Changing a tire|jack wrench bolts spare wheel",
    "Brushing teeth|toothbrush paste sink mirror floss",
    "Doing a handstand|mat balance arms legs gym",
    "Painting a fence|brush paint planks bucket ladder",
    "Making coffee|beans grinder filter mug kettle",
)
_WINO_TOPICS = (
    "cooking|oven recipe kitchen soup pan",
    "sports|match coach team practice ball",
    "school|exam homework teacher lesson grade",
    "work|office meeting deadline boss report",
    "travel|flight suitcase hotel map trip",
    "health|doctor medicine exercise diet clinic",
    "money|loan savings bill budget price",
    "pets|dog cat leash vet kennel",
)
_GSM_TOPICS = (
    "shopping|apples dollars store basket coupons",
    "baking|cookies trays batches flour dozen",
    "travel|miles hours train speed gallons",
    "savings|dollars week allowance bank jar",
    "garden|tomatoes rows plants seeds beds",
    "school|pencils notebooks students boxes class",
    "work|shifts hours wage overtime tasks",
    "sharing|marbles friends stickers cards packs",
)
_MBPP_TOPICS = (
    "strings|string characters vowels substring palindrome words",
    "lists|list elements duplicates sublist index pairs",
    "math|number prime divisors factorial digits sum",
    "dictionaries|dictionary keys values counts mapping items",
    "sorting|sort order ascending heap largest smallest",
    "regex|regex pattern match spaces digits split",
    "tuples|tuple tuples records nested zip fields",
    "bits|bits binary set toggle parity shift",
)
_MTBENCH = (
    (
        "writing",
        "Compose an engaging {g} about {t}, highlighting {x}.",
        "blog post|persuasive essay|short story|product description|letter",
        "travel culture startup festival city gardening ocean",
    ),
    (
        "roleplay",
        "Pretend to be {g} and answer: what would you say about {t} and {x}?",
        "a detective|a chef|a ship captain|a medieval knight|a sports coach",
        "teamwork courage mystery cooking discipline trust",
    ),
    (
        "reasoning",
        "If {g}, and {t} happens before {x}, what must be true?",
        "every runner passes one other|three friends share a table|the train leaves late",
        "ordering ranking positions siblings schedule puzzle",
    ),
    (
        "math",
        "Solve the {g} problem about {t}; show each step and check {x}.",
        "geometry|probability|algebra|number theory|combinatorics",
        "triangle dice polynomial remainder arrangements area",
    ),
    (
        "coding",
        "Write a {g} that handles {t}; explain the complexity of {x}.",
        "python function|c++ program|sql query|javascript snippet|bash script",
        "intervals parsing recursion caching strings graphs",
    ),
    (
        "extraction",
        "Extract the {g} from the following text about {t} and return {x}.",
        "names and dates|company earnings|product ratings|key entities|main claims",
        "reviews reports articles records tables json",
    ),
    (
        "stem",
        "Explain {g} in the context of {t}, with an example of {x}.",
        "superposition|natural selection|entropy|photosynthesis|machine learning",
        "physics biology chemistry energy data circuits",
    ),
    (
        "humanities",
        "Discuss {g} and its influence on {t}, considering {x}.",
        "the renaissance|game theory|stoicism|the printing press|minimalism",
        "society economics art education politics ethics",
    ),
)
_NAMES = _split_words(
    "Alice Bob Carlos Dana Emma Farid Grace Hiro Ines Jamal Kate Liam Mona Noah Olga "
    "Priya Quinn Rosa Sam Tara Umar Vera Wen Yusuf Zoe"
)
_CUES = _split_words(
    "percentage ratio units timeline probability diagram quotation statute chemical "
    "sequence estimate comparison definition recursion matrix calendar currency distance "
    "inference analogy translation summary table formula proof counterexample negation "
    "hypothesis graph ranking schedule average symmetry evidence dialogue sarcasm memory "
    "geometry contract"
)
_HARD = (
    "Which of the following is NOT true",
    "assuming all other factors stay constant",
    "after two successive changes",
    "approximately",
    "in the least likely case",
    "except for one special case",
    "counterintuitively",
    "given the conflicting evidence",
    "considering every exception",
    "under the stricter interpretation",
)
_EASY = ("Simply", "By definition", "In the most common case", "Directly", "Basically")

# Hand-set task skills (added to the random ones) for realism: code models code, etc.
_SKILL_BUMPS = {
    ("meta/code-llama-instruct-34b-chat", "mmlu-college_computer_science"): 0.7,
    ("meta/code-llama-instruct-34b-chat", "mmlu-elementary_mathematics"): 0.3,
    ("meta/code-llama-instruct-34b-chat", "mmlu-professional_law"): -0.4,
    ("meta/code-llama-instruct-34b-chat", "mtbench-coding"): 0.6,
    ("gpt-4-1106-preview", "mmlu-professional_law"): 0.4,
    ("gpt-4-1106-preview", "mtbench-math"): 0.5,
    ("claude-v1", "mmlu-philosophy"): 0.3,
    ("claude-v2", "mmlu-moral_scenarios"): 0.4,
    ("claude-v2", "mtbench-writing"): 0.4,
    ("mistralai/mistral-7b-chat", "mmlu-professional_law"): -0.4,
    ("zero-one-ai/Yi-34B-Chat", "mmlu-high_school_us_history"): 0.3,
    ("WizardLM/WizardLM-13B-V1.2", "mtbench-roleplay"): 0.3,
}


# ------------------------------------------------------------------ resources
def _read_resource(name: str) -> pd.DataFrame:
    path = resources.files("routerbench.data").joinpath("resources").joinpath(name)
    try:
        with path.open("r", encoding="utf-8") as fh:
            return pd.read_csv(fh, comment="#")
    except FileNotFoundError:
        raise DataError("calibration table is missing from the package", source=name) from None


@lru_cache(maxsize=1)
def _table1() -> pd.DataFrame:
    """Calibration targets from the paper's Table 1, costs scaled to the release sizes."""
    paper = load_paper_table1()
    t = paper[paper["model"].isin(PAPER_MODELS)].copy()
    t["n_prompts"] = t["dataset"].map(RELEASE_PROMPTS).astype(int)
    t["paper_total_cost"] = t["total_cost"].astype(float)
    t["cost_scale"] = t["n_prompts"] / t["n_prompts"].map(paper_test_size)
    t["total_cost"] = t["paper_total_cost"] * t["cost_scale"]
    cols = ["dataset", "model", "quality", "total_cost", "n_prompts", "paper_total_cost"]
    t = t[[*cols, "cost_scale"]].reset_index(drop=True)
    if len(t) != len(PAPER_DATASETS) * len(PAPER_MODELS):
        raise DataError("one row per (dataset, model) expected", source=PAPER_TABLE1_FILE)
    return t


@lru_cache(maxsize=1)
def _prices() -> pd.DataFrame:
    p = _read_resource(PRICES_FILE).set_index("model")
    if set(p.index) != set(PAPER_MODELS):
        raise DataError("must price the 11 paper models", source=PRICES_FILE)
    return p.loc[list(PAPER_MODELS)]


def load_table1() -> pd.DataFrame:
    """The calibration targets: one row per (dataset, model) of the paper.

    Columns ``dataset, model, quality, total_cost, n_prompts, paper_total_cost,
    cost_scale``: ``quality`` is the paper's, ``total_cost`` the dollars over
    ``n_prompts`` prompts, i.e. the paper's ``paper_total_cost`` (over its test part of
    ``n_prompts - int(0.7 * n_prompts)`` prompts) times ``cost_scale``. See the module
    docstring and ``routerbench/data/resources/README.md``.
    """
    return _table1().copy()


def load_prices() -> pd.DataFrame:
    """Dollars per 1M input/output tokens per model (index: model, paper order)."""
    return _prices().copy()


# ------------------------------------------------------------------ generation
def _sizes(table: pd.DataFrame, scale: float) -> dict[str, int]:
    full = table.groupby("dataset")["n_prompts"].first().astype(int).to_dict()
    if scale == 1.0:
        return {d: full[d] for d in PAPER_DATASETS}
    return {
        d: full[d] if full[d] <= SMALL_DATASET else max(SMALL_DATASET, round(full[d] * scale))
        for d in PAPER_DATASETS
    }


def _split_topic(spec: str) -> tuple[str, list[str]]:
    head, _, words = spec.partition("|")
    return head, (words or head).split()


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


class _Gen:
    """One dataset's prompts: topics, tasks, difficulty, cue words and text."""

    def __init__(self, rng: np.random.Generator, n: int) -> None:
        self.rng = rng
        self.n = n
        self.difficulty = rng.standard_normal(n)
        # k distinct markers / cues per prompt: the first k of a random permutation
        self.n_hard = rng.binomial(2, _sigmoid(_MARKER_SLOPE * self.difficulty - 0.8))
        self.hard = np.argsort(rng.random((n, len(_HARD))), axis=1)[:, :2]
        easy_p = _sigmoid(-_MARKER_SLOPE * self.difficulty - 0.8)
        self.easy = (rng.random(n) < easy_p) & (self.n_hard == 0)
        self.n_cues = np.minimum(rng.poisson(1.3, n), 3)
        self.cues = np.argsort(rng.random((n, len(_CUES))), axis=1)[:, :3]

    def cue_matrix(self) -> np.ndarray:
        """``[n, n_cue_words]`` 0/1: which cue words each prompt mentions."""
        onehot = np.zeros((self.n, len(_CUES)))
        for j in range(3):
            rows = np.flatnonzero(self.n_cues > j)
            onehot[rows, self.cues[rows, j]] = 1.0
        return onehot

    def words(self, vocab: list[str], k: int) -> np.ndarray:
        """``[n, k]`` words from `vocab`, distinct within a prompt while the vocabulary lasts."""
        arr = np.asarray(vocab, dtype=object)
        idx = np.argsort(self.rng.random((self.n, len(vocab))), axis=1)
        while idx.shape[1] < k:
            idx = np.hstack([idx, np.argsort(self.rng.random((self.n, len(vocab))), axis=1)])
        return arr[idx[:, :k]]

    def decorate(self, i: int, sentence: str) -> str:
        """Prefix/suffix the question with the prompt's difficulty markers and cues."""
        parts = []
        if self.easy[i]:
            parts.append(_EASY[i % len(_EASY)] + ",")
        parts.extend(_HARD[h] + "," for h in self.hard[i, : self.n_hard[i]])
        if parts and sentence.split(" ", 1)[0] not in _NAMES:
            sentence = sentence[0].lower() + sentence[1:]
        parts.append(sentence)
        k = self.n_cues[i]
        if k:
            parts.append(
                "(consider the " + " and the ".join(_CUES[c] for c in self.cues[i, :k]) + ")"
            )
        return " ".join(parts)


def _options(words: np.ndarray, i: int, k: int, letters: str = "ABCD") -> str:
    return "\n".join(f"{letters[j]}) {words[i, 2 * j]} {words[i, 2 * j + 1]}" for j in range(k))


def _gen_mmlu(g: _Gen) -> tuple[np.ndarray, list[str], list[str]]:
    weights = np.array([w for _, w, _ in _MMLU], dtype=float)
    topic = g.rng.choice(len(_MMLU), size=g.n, p=weights / weights.sum())
    vocabs = [v.split() for _, _, v in _MMLU]
    texts, tasks = [], []
    w = [g.words(v, 11) for v in vocabs]
    for i, t in enumerate(topic):
        subject = _MMLU[t][0]
        ww = w[t]
        q = g.decorate(
            i,
            f"Which statement about the {ww[i, 0]} and the {ww[i, 1]} best "
            f"explains the {ww[i, 2]}?",
        )
        texts.append(
            f"The following is a multiple choice question about "
            f"{subject.replace('_', ' ')}.\n\n{q}\n{_options(ww[:, 3:], i, 4)}\nAnswer:"
        )
        tasks.append(f"mmlu-{subject}")
    return topic, tasks, texts


def _gen_simple(
    g: _Gen, dataset: str, topics: tuple[str, ...]
) -> tuple[np.ndarray, list[str], list[str]]:
    topic = g.rng.integers(0, len(topics), g.n)
    parsed = [_split_topic(t) for t in topics]
    w = [g.words(v, 9) for _, v in parsed]
    names = g.words(_NAMES, 2)
    nums = g.rng.integers(2, 60, (g.n, 3))
    task = {"gsm8k": "grade-school-math"}.get(dataset, dataset)
    texts = []
    for i, t in enumerate(topic):
        head, _ = parsed[t]
        ww = w[t]
        a, b = names[i]
        if dataset == "arc-challenge":
            q = g.decorate(
                i,
                f"Which property of the {ww[i, 0]} explains why the {ww[i, 1]} "
                f"changes when the {ww[i, 2]} is removed?",
            )
            text = (
                f"Question: {q}\n{_options(ww[:, 1:], i, 4)}\nPrint only a single choice "
                f'from "A" or "B" or "C" or "D" without explanation.\nAnswer:'
            )
        elif dataset == "hellaswag":
            q = g.decorate(i, f"{a} picks up the {ww[i, 0]} and the {ww[i, 1]}. Then, {a}")
            text = f"{head}: {q}\n{_options(ww[:, 1:], i, 4)}\nAnswer:"
        elif dataset == "winogrande":
            q = g.decorate(
                i, f"{a} borrowed {b}'s {ww[i, 0]} for the {ww[i, 1]} because _ had no {ww[i, 2]}."
            )
            text = (
                f"Please answer with the letter of the correct answer.\n\n{q}\nA) {a}\n"
                f'B) {b}\nPrint only a single choice from "A" or "B" without explanation. '
                "Answer:"
            )
        elif dataset == "gsm8k":
            item, units = parsed[t][1][0], parsed[t][1][1:]
            steps = 1 + int(g.difficulty[i] > 0) + int(g.difficulty[i] > 1)
            body = [f"{a} has {nums[i, 0]} {item}."]
            body += [
                f"Every {units[(i + s) % len(units)]} brings {nums[i, 1 + s % 2]} more {item}."
                for s in range(steps)
            ]
            text = g.decorate(i, " ".join(body) + f" How many {item} does {a} have now?")
        else:  # mbpp
            text = g.decorate(
                i,
                f"Write a python function to find the {ww[i, 0]} of "
                f"{ww[i, 1]} in the given {ww[i, 2]}.",
            )
        texts.append(text)
    return topic, [task] * g.n, texts


def _gen_mtbench(g: _Gen) -> tuple[np.ndarray, list[str], list[str]]:
    per = math.ceil(g.n / len(_MTBENCH))
    topic = np.repeat(np.arange(len(_MTBENCH)), per)[: g.n]
    texts, tasks = [], []
    for i, t in enumerate(topic):
        cat, tmpl, gs, xs = _MTBENCH[t]
        gg, xx = gs.split("|"), xs.split()
        r = g.rng.integers(0, 1_000_000, 3)
        t_i, x_i = r[1] % len(xx), (r[1] + 1 + r[2] % (len(xx) - 1)) % len(xx)
        first = tmpl.format(g=gg[r[0] % len(gg)], t=xx[t_i], x=xx[x_i])
        texts.append(
            g.decorate(i, first) + "\n\n[turn 2] Now rewrite your answer for a "
            f"younger audience and focus on {xx[x_i]}."
        )
        tasks.append(f"mtbench-{cat}")
    return topic, tasks, texts


_DATASET_GEN = {
    "mmlu": _gen_mmlu,
    "hellaswag": lambda g: _gen_simple(g, "hellaswag", _HELLASWAG_TOPICS),
    "gsm8k": lambda g: _gen_simple(g, "gsm8k", _GSM_TOPICS),
    "arc-challenge": lambda g: _gen_simple(g, "arc-challenge", _ARC_TOPICS),
    "winogrande": lambda g: _gen_simple(g, "winogrande", _WINO_TOPICS),
    "mbpp": lambda g: _gen_simple(g, "mbpp", _MBPP_TOPICS),
    "mtbench": _gen_mtbench,
}


def _binary_top_k(z: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Per column, mark the ``round(target * n)`` largest scores 1.0, the rest 0.0."""
    n, m = z.shape
    k = np.clip(np.rint(target * n).astype(int), 0, n)
    ranks = np.empty_like(z, dtype=np.int64)
    order = np.argsort(-z, axis=0, kind="stable")
    np.put_along_axis(ranks, order, np.arange(n)[:, None].repeat(m, axis=1), axis=0)
    return (ranks < k[None, :]).astype(np.float64)


def _graded_turns(z: np.ndarray, target: float, rng: np.random.Generator) -> np.ndarray:
    """Two integer judge scores (1..10) per prompt whose mean / 10 equals ``target``."""
    n = z.shape[0]
    zt = (z[:, None] + 0.6 * rng.standard_normal((n, 2))).ravel()
    zt = (zt - zt.mean()) / (zt.std() + 1e-12)
    want = round(target * 10 * zt.size)  # total of all turn scores
    lo, hi = -20.0, 30.0
    for _ in range(60):  # bisection on the location so the rounded total is closest
        mid = 0.5 * (lo + hi)
        if np.clip(np.rint(mid + 2.2 * zt), 1, 10).sum() < want:
            lo = mid
        else:
            hi = mid
    cont = np.clip(hi + 2.2 * zt, 1, 10)
    s = np.clip(np.rint(cont), 1, 10)
    diff = int(want - s.sum())
    if diff:  # nudge the cells closest to their rounding boundary
        resid = cont - s
        order = np.argsort(-resid if diff > 0 else resid, kind="stable")
        movable = order[(s[order] < 10) if diff > 0 else (s[order] > 1)]
        s[movable[: abs(diff)]] += np.sign(diff)
    return s.reshape(n, 2)


def make_default(seed: int = DEFAULT_SEED, *, scale: float = 1.0) -> Benchmark:
    """Generate the synthetic default benchmark, deterministic from `seed`.

    Parameters
    ----------
    seed
        Seed of every random draw; the same seed gives identical arrays and text.
    scale
        In (0, 1]: shrinks the datasets of more than 500 prompts (to at least 500) for
        fast tests. ``1`` (the shipped default) keeps the paper's full prompt counts.

    Returns
    -------
    Benchmark
        7 datasets x the 11 paper models; ``synthetic=True``. Per (dataset, model) the
        mean quality equals the paper's Table 1 (to 1/n rounding) and the mean cost per
        prompt equals the paper's cost per test prompt (so at ``scale=1`` totals are the
        paper's times ``n / n_test``, see `load_table1`).
    """
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}")
    if not 0 < scale <= 1:
        raise ValueError(f"scale must be in (0, 1], got {scale!r}")
    table = _table1()
    prices = _prices()
    models = PAPER_MODELS
    m = len(models)
    sizes = _sizes(table, float(scale))
    target_q = table.pivot(index="dataset", columns="model", values="quality")[list(models)]
    target_c = table.pivot(index="dataset", columns="model", values="total_cost")[list(models)]
    full_n = table.groupby("dataset")["n_prompts"].first()

    root = np.random.SeedSequence([int(seed), 0x52_42])  # "RB"
    model_rng, *ds_seeds = root.spawn(1 + len(PAPER_DATASETS))
    mrng = np.random.default_rng(model_rng)
    cue_loading = _SD_CUE_LOADING * mrng.standard_normal((len(_CUES), m))
    fam_names = sorted(set(_FAMILIES.values()))
    fam_of = np.array([fam_names.index(_FAMILIES[x]) for x in models])
    p_in = prices["input_usd_per_mtok"].to_numpy(float)
    p_out = prices["output_usd_per_mtok"].to_numpy(float)

    frames, qs, cs = [], [], []
    rescale: dict[str, list[float]] = {}
    for ds, ss in zip(PAPER_DATASETS, ds_seeds):
        rng = np.random.default_rng(ss)
        n = sizes[ds]
        g = _Gen(rng, n)
        topic, tasks, texts = _DATASET_GEN[ds](g)
        n_topics = int(topic.max()) + 1
        skill = _SD_TOPIC_SKILL * rng.standard_normal((n_topics, m))
        task_of_topic = pd.Series(tasks).groupby(topic).first()
        for (model, task), bump in _SKILL_BUMPS.items():
            hit = np.flatnonzero(task_of_topic.to_numpy() == task)
            if hit.size:
                skill[task_of_topic.index[hit[0]], models.index(model)] += bump
        cue = g.cue_matrix() @ cue_loading
        family = rng.standard_normal((n, len(fam_names)))[:, fam_of]
        z = (
            skill[topic]
            + cue
            - _W_DIFFICULTY * g.difficulty[:, None]
            + _W_FAMILY * family
            + _W_NOISE * rng.standard_normal((n, m))
        )
        tq = target_q.loc[ds].to_numpy(float)
        if ds == "mtbench":
            q = np.column_stack(
                [_graded_turns(z[:, j], tq[j], rng).mean(axis=1) / 10.0 for j in range(m)]
            )
        else:
            q = _binary_top_k(z, tq)

        # ---- cost: tokens x prices, then rescaled to Table 1 per (dataset, model)
        text_tok = np.fromiter((len(t) for t in texts), float, n) / CHARS_PER_TOKEN
        shots = max(_INPUT_TOKENS[ds] - text_tok.mean(), 0.0)
        # Winogrande's exemplars are the same for every prompt (tight costs in the release)
        in_tok = text_tok + shots * rng.lognormal(0.0, 0.01 if ds == "winogrande" else 0.08, n)
        if ds in _OUTPUT_SPREAD:
            # per model, the mean output length that the paper's cost per prompt implies
            # once the input is paid for; spread per prompt, longer for harder prompts
            per_prompt = target_c.loc[ds].to_numpy(float) / float(full_n[ds]) * 1e6
            if ds == "mtbench":  # turn 2 resends turn 1 and half the answer tokens
                out_mean = (per_prompt - 2.0 * in_tok.mean() * p_in) / (0.5 * p_in + p_out)
            else:
                out_mean = (per_prompt - in_tok.mean() * p_in) / p_out
            noise = (
                rng.lognormal(0.0, _OUTPUT_SPREAD[ds], (n, m))
                * np.exp(0.15 * g.difficulty)[:, None]
            )
            out_tok = np.maximum(out_mean, 1.0)[None, :] * noise / noise.mean(axis=0)
        else:  # one letter, sometimes with a newline or a closing parenthesis
            out_tok = 1.0 + rng.binomial(1, 0.1, (n, m))
        if ds == "mtbench":  # turn 2 resends turn 1 and the first answer
            in_tok = (2.0 * in_tok)[:, None] + 0.5 * out_tok
        else:
            in_tok = np.repeat(in_tok[:, None], m, axis=1)
        raw = (in_tok * p_in + out_tok * p_out) / 1e6
        want = target_c.loc[ds].to_numpy(float) * n / float(full_n[ds])
        factor = want / raw.sum(axis=0)
        rescale[ds] = factor.round(4).tolist()
        c = raw * factor

        counter: dict[str, int] = {}
        ids = []
        for task in tasks:
            k = counter.get(task, 0)
            counter[task] = k + 1
            ids.append(f"{task}.synthetic.{k}")
        frames.append(
            pd.DataFrame({"sample_id": ids, "task": tasks, "dataset": ds, "prompt": texts})
        )
        qs.append(q)
        cs.append(c)

    prompts = pd.concat(frames, ignore_index=True)
    meta: dict[str, Any] = {
        "seed": int(seed),
        "scale": float(scale),
        "calibration": f"routerbench/data/resources/{PAPER_TABLE1_FILE}",
        "paper_cost_scale": {
            d: float(table.loc[table["dataset"] == d, "cost_scale"].iloc[0]) for d in PAPER_DATASETS
        },
        "cost_rescale": rescale,
    }
    notes = (
        "SYNTHETIC benchmark: generated prompts and outcomes, not real model outputs "
        f"(seed {int(seed)}, scale {float(scale):g}).",
        "Calibrated to the RouterBench paper's Table 1 (Hu et al. 2024): per dataset and "
        "model, mean quality is the paper's and total cost is the paper's cost (a sum over "
        "its 30% test part) times n / n_test for this benchmark's n prompts per dataset.",
    )
    return Benchmark(
        prompts=prompts,
        models=models,
        quality=np.vstack(qs),
        cost=np.vstack(cs),
        source=f"synthetic(seed={int(seed)}, scale={float(scale):g})",
        synthetic=True,
        notes=notes,
        meta=meta,
    )


@lru_cache(maxsize=1)
def load_default() -> Benchmark:
    """The shipped default benchmark (seed 0, full size), generated once per process."""
    return replace(make_default(DEFAULT_SEED, scale=1.0), source="default")


def calibration_report(bench: Benchmark | None = None) -> pd.DataFrame:
    """Per (dataset, model): target vs generated quality and cost, with relative errors.

    Cost is compared per prompt (``total_cost / n_prompts``), so scaled-down benchmarks
    are judged fairly; at full size it is the same as comparing totals.
    """
    bench = load_default() if bench is None else bench
    table = _table1().set_index(["dataset", "model"])
    ds = bench.prompts["dataset"].to_numpy()
    rows = []
    for d in bench.datasets:
        sel = ds == d
        q = np.nanmean(bench.quality[sel], axis=0)
        c = np.nansum(bench.cost[sel], axis=0)
        for j, model in enumerate(bench.models):
            if (d, model) not in table.index:
                continue
            t = table.loc[(d, model)]
            per_prompt_target = t["total_cost"] / t["n_prompts"]
            per_prompt = c[j] / sel.sum()
            rows.append(
                {
                    "dataset": d,
                    "model": model,
                    "n_prompts": int(sel.sum()),
                    "quality_target": float(t["quality"]),
                    "quality": float(q[j]),
                    "quality_rel_err": float(abs(q[j] - t["quality"]) / t["quality"]),
                    "cost_per_prompt_target": float(per_prompt_target),
                    "cost_per_prompt": float(per_prompt),
                    "cost_rel_err": float(abs(per_prompt - per_prompt_target) / per_prompt_target),
                }
            )
    return pd.DataFrame(rows)
