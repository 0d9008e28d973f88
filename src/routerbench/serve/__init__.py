"""The HTTP router: a trained router behind an OpenAI-compatible endpoint.

Per request it ranks the conversation, forwards it to the best upstream model,
falls back on failures and shows every decision (headers, metrics, a JSON log).
Needs the ``serve`` extra (FastAPI, uvicorn, aiohttp, prometheus_client).
"""

from __future__ import annotations

from routerbench.serve.settings import ServeSettings

__all__ = ["RouterHandle", "ServeSettings", "create_app", "load_app"]


def __getattr__(name: str):  # the app pulls in FastAPI; import it only when asked
    if name in ("RouterHandle", "create_app", "load_app"):
        from routerbench.serve import app

        return getattr(app, name)
    raise AttributeError(name)
