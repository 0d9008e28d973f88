"""The live progress display of `routerbench collect`: one line per model, on stderr."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.live import Live
from rich.table import Table

__all__ = ["LiveProgress"]


class LiveProgress:
    """Per model: cells done of total, calls/s, tokens, dollars, errors, waits on retry."""

    def __init__(self, console: Console | None = None) -> None:
        self.console = console or Console(stderr=True)
        self._live = Live(console=self.console, refresh_per_second=4, transient=False)

    def __enter__(self) -> LiveProgress:
        self._live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._live.__exit__(None, None, None)

    def update(self, runner: Any) -> None:
        table = Table(title="routerbench collect", title_justify="left", expand=False)
        for col in (
            "model",
            "done",
            "calls/s",
            "tokens in",
            "tokens out",
            "$",
            "errors",
            "retries",
            "waiting",
            "limit",
        ):
            table.add_column(col, justify="left" if col == "model" else "right")
        for ep in runner.cfg.models:
            t = runner.tallies[ep.name]
            client = runner.clients.get(ep.name)
            s = client.stats if client is not None else None
            done = t.done_before + t.scored
            table.add_row(
                ep.name,
                f"{done}/{t.total}",
                f"{s.calls_per_s():.1f}" if s else "-",
                f"{s.prompt_tokens:,}" if s else "0",
                f"{s.completion_tokens:,}" if s else "0",
                f"{t.dollars + t.judge_dollars:.6f}",
                str(t.failed),
                str(s.retries) if s else "0",
                str(s.waiting) if s else "0",
                f"{client.limit.limit}/{client.limit.max_limit}" if client else "-",
            )
        spent = runner.budget.spent
        cap = runner.opts.max_cost
        table.caption = f"spent ${spent:.6f}" + (f" of ${cap:g}" if cap is not None else "")
        self._live.update(table)
