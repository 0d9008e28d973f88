"""What every `routerbench` sub-command shares: the consoles and the one-line error mapping.

A leaf module (it imports no sub-command), so sub-commands defined in their own
packages (`train`, `collect`, `serve`) can use `user_errors` without an import circle.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from functools import wraps
from typing import Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from typer.core import TyperGroup

from routerbench.errors import RouterBenchError, Terminated
from routerbench.io import explain_os_error

__all__ = [
    "OneLineErrors",
    "console",
    "err_console",
    "fail",
    "sigterm_as_interrupt",
    "user_errors",
]


def _base(cls: type, name: str) -> type[Exception]:
    """Click's exception class `name` as this Typer uses it (newer Typers vendor click)."""
    return next(c for c in cls.__mro__ if c.__name__ == name)


_UsageError = _base(typer.BadParameter, "UsageError")
_ClickException = _base(typer.BadParameter, "ClickException")


class OneLineErrors(TyperGroup):
    """The command group, with usage errors (bad option values, missing arguments) as one line.

    Click would print a usage block and a boxed message; a user (and a log line)
    gets ``error: Invalid value for '--alpha': ... (see 'routerbench compare --help')``
    and exit code 2 instead, like every other error routerbench reports.
    """

    def main(  # type: ignore[override]
        self,
        args: Any = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        try:
            rv = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except _UsageError as exc:
            if type(exc).__name__ == "NoArgsIsHelpError":
                exc.show()  # type: ignore[attr-defined]  # no arguments: help is the answer
            else:
                ctx = getattr(exc, "ctx", None)
                hint = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
                fail(f"{exc.format_message()}{hint}")  # type: ignore[attr-defined]
            sys.exit(2)
        except _ClickException as exc:
            code = int(getattr(exc, "exit_code", 1))
            fail(exc.format_message(), code)  # type: ignore[attr-defined]
            sys.exit(code)
        except typer.Abort:
            fail("interrupted", 130)
            sys.exit(130)
        sys.exit(rv if isinstance(rv, int) else 0)


# Piped output (logs, CI, CliRunner) gets a wide console so tables never truncate names.
console = Console(width=None if Console().is_terminal else 160)
err_console = Console(stderr=True)

F = TypeVar("F", bound=Callable[..., Any])


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print ``error: MESSAGE`` as one line on stderr; return the `typer.Exit` to raise."""
    line = " ".join(str(message).split())  # one line, whatever the message held
    err_console.print(f"[bold red]error:[/] {escape(line)}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


def user_errors(fn: F) -> F:
    """Turn every error a user can cause into one line on stderr and exit code 2.

    Caught: routerbench's own errors (`RouterBenchError`, unknown names included),
    file-system errors (`OSError`: permission, read-only, full disk, not a
    folder, ...; the line names the path and what to do) and Ctrl-C (exit 130;
    SIGTERM inside `sigterm_as_interrupt`, 143).
    Anything else is a bug and keeps its traceback.
    """

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except RouterBenchError as exc:
            raise fail(str(exc), getattr(exc, "exit_code", 2)) from None
        except OSError as exc:
            raise fail(explain_os_error(exc)) from None
        except KeyboardInterrupt as exc:  # Ctrl-C (130) or SIGTERM (143)
            raise fail("interrupted", 143 if isinstance(exc, Terminated) else 130) from None

    return wrapper  # type: ignore[return-value]


@contextlib.contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """Deliver SIGTERM as `Terminated` (a KeyboardInterrupt) while a long command runs.

    The default SIGTERM action ends the process at once: no "what was saved"
    line, workers left to their watchdogs. As an interrupt it unwinds like
    Ctrl-C: workers are stopped, temp files removed, one line printed, exit 143.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        raise Terminated()

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
