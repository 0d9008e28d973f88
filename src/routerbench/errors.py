"""Exception types of routerbench.

Every error a user can cause names *where* (file, column, row) and *what was
expected*, in one line, so the CLI can print it without a traceback.
"""

from __future__ import annotations

from typing import Any


class RouterBenchError(Exception):
    """Base class of every error routerbench raises on purpose."""


class DataError(RouterBenchError, ValueError):
    """Input data is malformed: the message names the file, column and an example row."""

    def __init__(
        self,
        message: str,
        *,
        source: str | None = None,
        column: str | None = None,
        row: Any = None,
    ) -> None:
        self.source = source
        self.column = column
        self.row = row
        parts = []
        if source:
            parts.append(str(source))
        if column is not None:
            parts.append(f"column {column!r}")
        if row is not None:
            parts.append(f"row {row}")
        where = ": ".join([", ".join(parts)]) if parts else ""
        self.detail = message
        super().__init__(f"{where}: {message}" if where else message)


class ConfigError(RouterBenchError, ValueError):
    """A configuration value is wrong; the message names the key and what was expected."""


class NotFittedError(RouterBenchError, RuntimeError):
    """A router was asked to route before `fit` was called."""


class UnknownNameError(RouterBenchError, KeyError):
    """A dataset, task or model name that the benchmark does not have.

    A `KeyError` too, so code that looks names up keeps working, but its own
    type: the CLI reports it in one line without mistaking every `KeyError`
    (a bug) for a user's typo.
    """

    def __str__(self) -> str:  # KeyError would quote the whole message
        return str(self.args[0]) if self.args else ""


class InterruptedRun(RouterBenchError):
    """A run stopped by Ctrl-C or SIGTERM; the message says how much was saved.

    ``exit_code`` follows the shell's convention (128 + signal number).
    """

    def __init__(self, message: str, *, exit_code: int = 130) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class LockedError(RouterBenchError):
    """Another process holds the lock of an output folder."""


class Terminated(KeyboardInterrupt):
    """SIGTERM, delivered as an interrupt so a run stops the way Ctrl-C stops it."""


class ContractError(RouterBenchError, TypeError):
    """A class breaks the parameter contract (e.g. a constructor taking ``*args``)."""


class ArtifactError(RouterBenchError, ValueError):
    """A router artifact cannot be written or read: the message names the file and why."""


class NotPredictiveError(RouterBenchError, TypeError):
    """The router has no per-prompt estimates (a baseline, the Oracle, a cascade): it cannot
    rank prompts from their text alone."""


class DownloadError(RouterBenchError, OSError):
    """The Hub could not be reached, refused the request, or offline mode forbids it."""


class MissingDependencyError(RouterBenchError, ImportError):
    """An optional dependency (an extra of routerbench) is not installed."""


class MissingExtraError(ConfigError, ImportError):
    """An optional dependency is not installed; the message says which extra to install."""
