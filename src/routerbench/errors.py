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
