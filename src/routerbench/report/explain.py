"""Plain-words explanations of every number on the report page, kept next to nothing else.

A reader who has not read the paper must be able to tell what each column says and what not.
"""

from __future__ import annotations

from html import escape

#: (term, explanation) in the order a reader meets them on the page.
TERMS: tuple[tuple[str, str], ...] = (
    (
        "AIQ",
        "Average Improvement in Quality: a system's frontier (its non-decreasing convex hull "
        "of cost-quality points, i.e. the best quality it reaches, mixing settings at random, "
        "for each budget) averaged over a range of total costs. Higher is better; 1 would be "
        "always right at any budget in the range.",
    ),
    (
        "window",
        "The range of total costs the average is taken over: from the cheapest to the dearest "
        "single model on that test set. Every system of a test set shares it, so AIQs in one "
        "table are comparable; below a system's cheapest point its frontier mixes with "
        "answering nothing (quality 0), above its dearest it stays flat.",
    ),
    (
        "Zero router",
        "Mixes single models at random without looking at the prompt (the hull of the "
        "models' points). A router that cannot beat it has learned nothing about prompts.",
    ),
    (
        "Oracle (single point)",
        "The best model per prompt in hindsight, the cheapest on ties: one point, at one "
        "cost. Its AIQ is that point's frontier, so at budgets below its cost it mixes with "
        "answering nothing. Where the best answers are expensive (graded scores such as "
        "MT-Bench, where some dear model is a little better on most prompts) the point sits "
        "at the dear end and its AIQ can be below Zero's: a negative Δ for the Oracle means "
        "'expensive', not 'worse', and is why it is not the upper bound.",
    ),
    (
        "Oracle frontier",
        "The upper bound: the whole path of the Oracle as its willingness to pay grows, each "
        "prompt sent to the model with the best quality minus cost/λ on the true outcomes, "
        "and its hull. No router that picks one model per prompt can do better at any budget.",
    ),
    (
        "Δ vs Zero [paired CI]",
        "AIQ minus the Zero router's on the same test prompts; the interval comes from "
        "resampling the prompts once for both (paired), so shared difficulty cancels. It is "
        "in sample: a system with hundreds of settings keeps those that were lucky here.",
    ),
    (
        "cross-fitted Δ [CI]",
        "The honest gain: split the test prompts in random halves; on one half pick the "
        "settings that form the frontier of the system's settings together with the single "
        "models, and of the single models alone (Zero), then score both picks on the other "
        "half; average over many halvings, both ways. Zero is cross-fitted the same way, so "
        "a system that only offers what the models offer scores exactly 0. The interval "
        "resamples prompts (one halving per resample, so it is slightly conservative).",
    ),
    (
        "controls",
        "Two routers that know nothing useful: the prior control (each model's train mean "
        "quality per dataset plus seeded random noise, run with many seeds) and the length "
        "control (the same base rates plus a cost estimate from prompt length). Their "
        "cross-fitted gains show what the evaluation hands out for free.",
    ),
    (
        "verdict",
        "'beats Zero' only when the cross-fitted Δ's interval lies above 0 AND the gain "
        "exceeds the largest gain over all prior-control seeds AND the length control's. "
        "Otherwise it says which test failed ('within noise', 'not above prior control', "
        "'not above length control'). Taking the maximum over many control seeds guards "
        "against picking the luckiest of many configurations.",
    ),
    (
        "gap closed",
        "Cross-fitted Δ divided by (Oracle frontier AIQ − Zero AIQ): the share of the room "
        "between blind mixing and perfect routing that the system captures out of sample.",
    ),
    (
        "cascade ε=…",
        "The paper's cascade calls models cheap to dear until a judge accepts an answer. Its "
        "judge is simulated from the true scores, wrong with probability ε, so it reads the "
        "test outcomes; each ε is its own system (one curve per ε, as the paper's Figure 5). "
        "ε = 0 is a perfect free judge, close to the Oracle.",
    ),
    (
        "other metrics",
        "own cross-fitted AIQ: the system's settings alone chosen on one half and scored on "
        "the other; points: settings swept; APGR: RouteLLM's average performance gap "
        "recovered (two-model routers only); arena score: RouterArena's combined accuracy "
        "and cost score; gap at Oracle: quality short of the Oracle at the Oracle's cost; "
        "perf. gain: best quality minus the best model's; cost save: the share of the best "
        "model's cost saved at its quality; Pareto dist.: how far the points lie below the "
        "frontier of all other systems.",
    ),
)


def explain_html() -> str:
    """The page's glossary: every term and column, one plain-words paragraph each."""
    items = "".join(f"<dt>{escape(t)}</dt><dd>{escape(d)}</dd>" for t, d in TERMS)
    return f'<div class="explain"><dl>{items}</dl></div>'
