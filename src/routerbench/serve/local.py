"""Run an ASGI app with uvicorn on 127.0.0.1 in a background thread, and always stop it.

Tests, the load benchmark and the demo start real servers this way: the socket is
bound before the thread starts (so the port is known and free), and leaving the
``with`` block shuts the server down and joins its thread.
"""

from __future__ import annotations

import socket
import threading
import time
from types import TracebackType
from typing import Any

import uvicorn

__all__ = ["LocalServer"]


class LocalServer:
    """``with LocalServer(app) as srv: srv.url`` — a real HTTP server for the block's duration.

    Parameters
    ----------
    app
        Any ASGI application.
    host
        Loopback address to bind (port chosen by the OS unless `port` is given).
    start_timeout_s
        Longest wait for the server to accept connections.
    uvicorn_options
        Extra `uvicorn.Config` options.
    """

    def __init__(
        self,
        app: Any,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        start_timeout_s: float = 15.0,
        **uvicorn_options: Any,
    ) -> None:
        self.app = app
        self.host = host
        self.start_timeout_s = start_timeout_s
        options = {"log_level": "warning", "access_log": False, "timeout_graceful_shutdown": 1}
        options.update(uvicorn_options)
        self._config = uvicorn.Config(app, host=host, port=port, **options)
        self._server = uvicorn.Server(self._config)
        self._sock: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._requested_port = port
        self.port = port

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> LocalServer:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self._requested_port))
        self._sock = sock
        self.port = sock.getsockname()[1]
        self._thread = threading.Thread(
            target=self._server.run,
            kwargs={"sockets": [sock]},
            daemon=True,
            name=f"uvicorn-{self.port}",
        )
        self._thread.start()
        deadline = time.monotonic() + self.start_timeout_s
        while not self._server.started:
            if not self._thread.is_alive():
                self.stop()
                raise RuntimeError(f"server on {self.url} exited during start-up")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(
                    f"server on {self.url} did not start in {self.start_timeout_s} s"
                )
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
            if self._thread.is_alive():  # a stuck request: stop waiting for it
                self._server.force_exit = True
                self._thread.join(timeout=5)
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def __enter__(self) -> LocalServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
