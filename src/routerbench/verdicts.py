"""The words of a verdict on "does this system beat the Zero router?", shared by every reader.

`experiment.evaluate.verdict_of` decides; aiq.csv, the report, `compare` and the docs
read these strings, so they live in a leaf module that all of them can import.
"""

from __future__ import annotations

#: The only verdict that says a router beats Zero (see `experiment.evaluate.verdict_of`).
BEATS_ZERO = "beats Zero"
#: The verdict of a system that clears every bar but simulates from the test outcomes
#: (tag ``reads_test_outcomes``: the paper's simulated-judge cascade, rerank): it shows what
#: such a judge would be worth, not a router one can deploy, so it never says "beats Zero".
SIMULATED_ABOVE_ZERO = "above Zero, simulated (reads test outcomes)"
#: The verdict of a reference that clears every bar but reads the responses of models it did
#: not call and pay for (tag ``reads_uncalled_responses``: `routers.all_responses`): what the
#: stored responses could tell a judge given all of them free, not a router one can deploy.
REFERENCE_ABOVE_ZERO = "above Zero, reference (reads responses it did not pay for)"
#: Verdicts that clear every statistical bar.
ABOVE_ZERO = (BEATS_ZERO, SIMULATED_ABOVE_ZERO, REFERENCE_ABOVE_ZERO)
