"""The embedded synthetic default: generation time, memory, size and calibration error."""

from __future__ import annotations

import math

from _util import timed, traced_peak
from routerbench.data.synthetic import calibration_report, make_default


def run(emit) -> None:
    bench, cold = timed(lambda: make_default(0), repeat=1)
    _, warm = timed(lambda: make_default(0), repeat=3)
    emit("default.generate_cold", cold, "s", "< 2 s", ok=cold < 2.0)
    emit("default.generate_warm", warm, "s", "< 2 s", ok=warm < 2.0)
    _, peak = traced_peak(lambda: make_default(0))
    emit("default.generate_peak_heap", peak, "MiB", "< 200 MiB", ok=peak < 200)

    arrays = (bench.quality.nbytes + bench.cost.nbytes) / 2**20
    text = bench.prompts["prompt"].str.len().sum() / 2**20
    emit(
        "default.n_prompts",
        bench.n_prompts,
        "prompts",
        "34,778 (paper counts)",
        ok=bench.n_prompts == 34_778,
    )
    emit("default.arrays_size", arrays, "MiB", "< 10 MiB", ok=arrays < 10)
    emit("default.prompt_text_size", text, "MiB", "< 20 MiB", ok=text < 20)

    report = calibration_report(bench)
    q_err = float(report["quality_rel_err"].max())
    c_err = float(report["cost_rel_err"].max())
    worst_q = report.loc[report["quality_rel_err"].idxmax(), ["dataset", "model"]].tolist()
    emit(
        "default.max_rel_err_quality",
        100 * q_err,
        "%",
        "< 5% per (dataset, model)",
        ok=q_err < 0.05,
    )
    print(f"    worst quality cell: {worst_q[0]} / {worst_q[1]}", flush=True)
    emit("default.max_rel_err_cost", 100 * c_err, "%", "< 5% per (dataset, model)", ok=c_err < 0.05)
    factors = [f for fs in bench.meta["cost_rescale"].values() for f in fs]
    worst = max(abs(math.log(f)) for f in factors)
    emit(
        "default.max_cost_rescale",
        100 * (math.exp(worst) - 1),
        "%",
        "< 25% (token model close to Table 1)",
        ok=worst < math.log(1.25),
    )

    small, t_small = timed(lambda: make_default(0, scale=0.1), repeat=3)
    emit("default.generate_scale_0.1", t_small, "s", "< 0.5 s", ok=t_small < 0.5)
    q_small = float(calibration_report(small)["quality_rel_err"].max())
    emit("default.max_rel_err_quality_scale_0.1", 100 * q_small, "%", "< 5%", ok=q_small < 0.05)
