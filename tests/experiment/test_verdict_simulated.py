"""A system that simulates from the test outcomes never gets the verdict "beats Zero"."""

from __future__ import annotations

from routerbench.experiment.evaluate import reads_test_outcomes, verdict_of
from routerbench.verdicts import BEATS_ZERO, SIMULATED_ABOVE_ZERO


def test_tagged_families_are_recognised_from_the_registry():
    assert reads_test_outcomes("cascade")
    assert not reads_test_outcomes("knn")
    assert not reads_test_outcomes("judged-cascade")  # reads responses it paid for, not quality
    assert not reads_test_outcomes("pkg.mod:NotRegistered")


def test_a_simulated_system_clearing_every_bar_is_labelled_simulated():
    args = ("router", 0.05, 0.01, 0.02, 0.0)
    assert verdict_of(*args) == BEATS_ZERO
    assert verdict_of(*args, reads_test_outcomes=True) == SIMULATED_ABOVE_ZERO
    # Below the bars the reason is the same for both.
    weak = ("router", 0.01, -0.01, 0.02, 0.0)
    assert verdict_of(*weak, reads_test_outcomes=True) == verdict_of(*weak) == "within noise"
