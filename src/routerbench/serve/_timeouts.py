"""`timeout(seconds)`: asyncio's deadline context manager, on every supported Python.

On the hot path it replaces ``asyncio.wait_for``, which wraps each awaited coroutine in
a task of its own (Python 3.11) — a measurable cost per request and per relayed event.
"""

from __future__ import annotations

import sys

if sys.version_info >= (3, 11):
    from asyncio import timeout
else:  # pragma: no cover - aiohttp brings async-timeout on Python 3.10
    from async_timeout import timeout

__all__ = ["timeout"]
