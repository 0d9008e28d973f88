"""Judges: real scoring functions g(prompt, response, other responses) -> [0, 1] for cascades.

Answer extraction per task kind, refusal detection, agreement between the
models already called (for code: behaviour in the sandbox), and a verifier
P(correct | response features, agreement) learned on train only.
"""

from routerbench.routers.judges.code import SANDBOX_PRICE, CodeEvidence, read_solution
from routerbench.routers.judges.evidence import ResponseEvidence, response_evidence
from routerbench.routers.judges.extract import (
    answer_keys,
    choice_letters,
    code_block,
    final_numbers,
    kind_of,
)
from routerbench.routers.judges.refusal import is_refusal
from routerbench.routers.judges.verifier import WindowVerifier, judge_error_rates

__all__ = [
    "SANDBOX_PRICE",
    "CodeEvidence",
    "ResponseEvidence",
    "WindowVerifier",
    "answer_keys",
    "choice_letters",
    "code_block",
    "final_numbers",
    "is_refusal",
    "judge_error_rates",
    "kind_of",
    "read_solution",
    "response_evidence",
]
