"""The `routerbench` command line: one command, one sub-command per job.

Errors the user can fix (bad files, bad options) print one line and exit 2;
anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from routerbench.cli_support import (
    OneLineErrors,
    console,
    err_console,
    sigterm_as_interrupt,
    user_errors,
)
from routerbench.data.benchmark import MISSING_POLICIES, Benchmark
from routerbench.errors import ConfigError, RouterBenchError

app = typer.Typer(
    name="routerbench",
    cls=OneLineErrors,
    help="Benchmark and evaluate LLM routers on the cost–quality plane.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
MissingOpt = Annotated[
    str,
    typer.Option(
        "--missing",
        help=f"Policy for unmeasured cells: {' | '.join(MISSING_POLICIES)}.",
    ),
]
TrustOpt = Annotated[
    bool,
    typer.Option("--trust-pickle", help="Load pickles with pandas' unrestricted unpickler."),
]


def _check_missing(policy: str) -> None:
    if policy not in MISSING_POLICIES:
        raise typer.BadParameter(
            f"{policy!r} is not one of {', '.join(MISSING_POLICIES)}", param_hint="--missing"
        )


def load_with_status(path: str, missing: str = "error", trust_pickle: bool = False) -> Benchmark:
    """Load a benchmark, showing a spinner while large files are read."""
    from routerbench.data.readers import load

    _check_missing(missing)
    with err_console.status(f"Loading {path} …"):
        return load(path, missing=missing, trust_pickle=trust_pickle)  # type: ignore[arg-type]


def render_summary(summary: dict[str, Any]) -> None:
    """Print a benchmark summary as rich tables."""
    tag = "  [bold yellow](SYNTHETIC data)[/]" if summary["synthetic"] else ""
    console.print(f"[bold]{summary['source']}[/]{tag}")
    console.print(
        f"{summary['n_prompts']:,} prompts × {summary['n_models']} models · "
        f"{summary['n_datasets']} datasets · {summary['n_tasks']} tasks · "
        f"NaN cells {summary['nan_cells']:,} · duplicates merged {summary['duplicates_merged']} · "
        f"prompts outside the paper's datasets {summary['prompts_outside_paper']:,} · "
        f"fingerprint {summary['fingerprint']}"
    )
    for note in summary["notes"]:
        console.print(f"[dim]note: {note}[/]")
    datasets = summary["datasets"]
    table = Table(title="Mean quality and total cost per model and dataset", show_lines=True)
    table.add_column("model", style="bold", no_wrap=True)
    for ds in datasets:
        n = summary["per_dataset"][ds]["n_prompts"]
        flag = "" if summary["per_dataset"][ds]["in_paper"] else "*"
        table.add_column(f"{ds}{flag}\nn={n:,}", justify="right")
    for model in summary["models"]:
        cells = []
        for ds in datasets:
            cell = summary["per_dataset"][ds]["models"][model]
            q, c = cell["quality"], cell["total_cost"]
            cells.append("–" if q is None else f"{q:.3f}\n${c:,.2f}")
        table.add_row(model.rsplit("/", 1)[-1], *cells)
    console.print(table)
    if any(not summary["per_dataset"][d]["in_paper"] for d in datasets):
        console.print("[dim]* outside the paper's seven datasets[/]")


@app.command()
@user_errors
def info(
    path: Annotated[str, typer.Argument(help="A data file or folder, or 'default'.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
    missing: MissingOpt = "keep",
    trust_pickle: TrustOpt = False,
) -> None:
    """Summarise a benchmark: sizes, missing cells, per-model quality and cost per dataset."""
    from routerbench.data.summary import summarize

    bench = load_with_status(path, missing, trust_pickle)
    summary = summarize(bench)
    if as_json:
        sys.stdout.write(json.dumps(summary, indent=2) + "\n")
    else:
        render_summary(summary)


#: What `convert` can write, by suffix.
OUTPUT_SUFFIXES = (".parquet", ".csv", ".jsonl")


def _check_dest(dest: Path) -> None:
    """Refuse an output path `convert` cannot write, before any input is read."""
    allowed = ", ".join(OUTPUT_SUFFIXES)
    if dest.is_dir():
        raise ConfigError(f"{dest}: is a folder; give an output file ending in {allowed}")
    if dest.suffix.lower() not in OUTPUT_SUFFIXES:
        got = f"got {dest.suffix!r}" if dest.suffix else "it has no suffix"
        raise ConfigError(f"{dest}: the output file must end in {allowed} ({got})")


@app.command()
@user_errors
def convert(
    src: Annotated[str, typer.Argument(help="Input file or folder (any supported layout).")],
    dest: Annotated[Path, typer.Argument(help="Output file ending in .parquet, .csv or .jsonl.")],
    source: Annotated[
        str,
        typer.Option(
            "--from",
            help="Input kind: 'routerbench' (our readers: wide/long files), "
            "'routellm', 'routerarena' (third-party folders), or 'auto'.",
        ),
    ] = "auto",
    missing: MissingOpt = "keep",
    trust_pickle: TrustOpt = False,
    responses: Annotated[
        bool, typer.Option("--responses/--no-responses", help="Keep response texts.")
    ] = True,
    mt_bench: Annotated[
        str, typer.Option("--mt-bench", help="RouteLLM MT-Bench: 'mean' of turns or 'per-turn'.")
    ] = "mean",
    out_of_range: Annotated[
        str, typer.Option("--out-of-range", help="RouterArena scores outside [0, 1]: clip|error.")
    ] = "clip",
) -> None:
    """Convert any supported input into our long format (written atomically)."""
    from routerbench.data.convert import SOURCES, convert_file, detect_source
    from routerbench.data.writers import write_long

    _check_dest(dest)
    kinds = ("auto", "routerbench", *SOURCES)
    if source not in kinds:
        raise typer.BadParameter(
            f"{source!r} is not one of {', '.join(kinds)}", param_hint="--from"
        )
    kind = source
    if kind == "auto":
        try:
            kind = detect_source(src)
        except RouterBenchError:
            kind = "routerbench"
    if kind == "routerbench":
        bench = load_with_status(src, missing, trust_pickle)
        with err_console.status(f"Writing {dest} …"):
            write_long(bench, dest, responses=responses)
    else:
        opts = {"mt_bench": mt_bench} if kind == "routellm" else {"out_of_range": out_of_range}
        with err_console.status(f"Converting {src} ({kind}) …"):
            bench = convert_file(src, dest, kind, **opts)
    for note in bench.notes:
        console.print(f"[dim]note: {note}[/]")
    console.print(f"wrote {bench.n_prompts:,} prompts × {bench.n_models} models to {dest}")


@app.command()
@user_errors
def download(
    dest: Annotated[
        Path | None,
        typer.Option("--dest", help="Folder for the files (default: $ROUTERBENCH_CACHE/hub)."),
    ] = None,
    files: Annotated[
        list[str] | None,
        typer.Option("--files", help="File(s) of withmartian/routerbench to fetch (repeatable)."),
    ] = None,
    revision: Annotated[str, typer.Option("--revision", help="Branch, tag or commit.")] = "main",
    endpoint: Annotated[
        str | None, typer.Option("--endpoint", help="Hub endpoint (default: huggingface.co).")
    ] = None,
    token: Annotated[str | None, typer.Option("--token", help="Hugging Face token.")] = None,
    force: Annotated[bool, typer.Option("--force", help="Download even if cached.")] = False,
    no_check_known: Annotated[
        bool, typer.Option("--no-check-known", help="Skip the published-hash table.")
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress bars.")] = False,
) -> None:
    """Fetch the published RouterBench files from the Hugging Face Hub, verified by hash."""
    from routerbench.data.download import download_routerbench

    kwargs: dict[str, Any] = {}
    if files:
        kwargs["files"] = tuple(files)
    paths = download_routerbench(
        dest,
        revision=revision,
        endpoint=endpoint,
        token=token,
        check_known=not no_check_known,
        force=force,
        progress=not quiet,
        **kwargs,
    )
    for p in paths:
        console.print(str(p))


@app.command()
@user_errors
def run(
    config: Annotated[
        Path | None,
        typer.Option("--config", help="Experiment YAML (default: the shipped default.yaml)."),
    ] = None,
    data: Annotated[
        str | None, typer.Option("--data", help="Data file or folder, or 'default'.")
    ] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Output folder.")] = None,
    executor: Annotated[
        str | None, typer.Option("--executor", help="Where runs execute: local | ray.")
    ] = None,
    address: Annotated[
        str | None, typer.Option("--address", help="Ray cluster address (with --executor ray).")
    ] = None,
    n_jobs: Annotated[
        int | None, typer.Option("--n-jobs", min=1, help="Parallel worker processes.")
    ] = None,
    missing: Annotated[
        str | None,
        typer.Option(
            "--missing", help=f"Policy for unmeasured cells: {' | '.join(MISSING_POLICIES)}."
        ),
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress bars (CI logs).")] = False,
) -> None:
    """Run an experiment: every configured router, plus each model, Oracle and Zero, per dataset.

    Writes results.parquet, aiq.csv, table1.csv and an HTML report to the output
    folder; a re-run reuses every finished run.
    """
    from routerbench.experiment import load_config, run_experiment
    from routerbench.experiment.config import parse_config

    cfg, text = load_config(config)
    overrides = {
        "data": data,
        "out": None if out is None else str(out),
        "executor": executor,
        "address": address,
        "n_jobs": n_jobs,
        "missing": missing,
    }
    if any(v is not None for v in overrides.values()):
        merged = cfg.model_dump(exclude_unset=True)
        merged.update({k: v for k, v in overrides.items() if v is not None})
        cfg = parse_config(merged, source="command line")
    with sigterm_as_interrupt():
        result = run_experiment(
            cfg,
            config_text=text,
            quiet=quiet,
            console=err_console,
            echo=lambda line: err_console.print(
                line, highlight=False, markup=False, soft_wrap=True
            ),
        )
    tag = "  (SYNTHETIC data)" if result.synthetic else ""
    console.print(f"[bold]AIQ summary[/]{tag}", highlight=False)
    try:
        from routerbench.report import summary_lines

        lines = summary_lines(result.aiq)
    except ImportError:  # pragma: no cover - the report package ships with routerbench
        lines = [
            f"{r.protocol}/{r.dataset}/{r.system}: AIQ {r.aiq:.4g}" for r in result.aiq.itertuples()
        ]
    for line in lines:
        console.print(line, highlight=False, markup=False)
    where = result.out_dir
    report = f", {result.report}" if result.report is not None else ""
    console.print(
        f"wrote {where / 'results.parquet'}, {where / 'aiq.csv'}, {where / 'table1.csv'}{report} "
        f"in {result.seconds:.1f} s",
        highlight=False,
        markup=False,
    )


@app.command()
@user_errors
def compare(
    results_a: Annotated[str, typer.Argument(help="Output folder (or results.parquet) A.")],
    results_b: Annotated[str, typer.Argument(help="Output folder (or results.parquet) B.")],
    n_boot: Annotated[
        int | None, typer.Option("--n-boot", min=1, help="Bootstrap replicates (default: A's).")
    ] = None,
    seed: Annotated[
        int | None, typer.Option("--seed", help="Bootstrap seed (default: A's).")
    ] = None,
    alpha: Annotated[
        float | None, typer.Option("--alpha", help="1 - CI coverage (default: A's).")
    ] = None,
    csv: Annotated[Path | None, typer.Option("--csv", help="Also write the table here.")] = None,
) -> None:
    """AIQ(A) − AIQ(B) per (dataset, system), with a paired bootstrap over the shared prompts."""
    from routerbench.experiment.compare import compare_runs
    from routerbench.experiment.evaluate import write_csv

    if alpha is not None and not 0.0 < alpha < 1.0:
        raise ConfigError(f"--alpha: expected a number strictly between 0 and 1, got {alpha:g}")
    if csv is not None and csv.is_dir():
        raise ConfigError(f"--csv {csv}: is a folder; give a file path ending in .csv")
    table = compare_runs(results_a, results_b, n_boot=n_boot, seed=seed, alpha=alpha)
    if csv is not None:
        write_csv(table, csv)
    level = float(table.attrs.get("alpha", 0.05))
    view = Table(title=f"AIQ A − B (A = {results_a}, B = {results_b})")
    multi = table["protocol"].nunique() > 1
    for col in (["protocol"] if multi else []) + ["dataset", "system"]:
        view.add_column(col)
    for col in ("AIQ A", "AIQ B", "A − B", "CI", "p"):
        view.add_column(col, justify="right")
    view.add_column("")

    def num(x: float) -> str:
        return "–" if x != x else f"{x:.4g}"

    for r in table.itertuples(index=False):
        if r.n_runs == 0:
            cells = ["–", "–", "–", r.note, "", ""]
        else:
            sig = "*" if r.p_value < level else ""
            ci = f"[{num(r.ci_low)}, {num(r.ci_high)}]"
            cells = [num(r.aiq_a), num(r.aiq_b), f"{r.diff:+.4g}", ci, num(r.p_value), sig]
        head = ([r.protocol] if multi else []) + [r.dataset, r.system]
        view.add_row(*head, *cells)
    console.print(view)
    console.print(f"* p < {level:g} (two-sided paired bootstrap over the shared test prompts)")


from routerbench.collect.cli import collect as _collect  # noqa: E402
from routerbench.routers.cli import train as _train  # noqa: E402
from routerbench.serve.cli import serve as _serve  # noqa: E402

app.command("train")(user_errors(_train))
app.command("collect")(_collect)
app.command("serve")(_serve)


def main() -> None:  # pragma: no cover - console entry point
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
