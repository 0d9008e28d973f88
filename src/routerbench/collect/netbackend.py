"""A plain-asyncio network backend for httpcore, used by the collect client on http:// URLs.

httpx hands HTTP to httpcore and h11; httpcore reaches the socket through a pluggable
*network backend* (its documented extension point). The default one goes through anyio,
which per call costs cancel scopes, checkpoints, sniffio look-ups and, each time the pool
checks an idle connection, a fresh ``extra_attributes`` dict and a ``select`` on the
socket. Against a fast local server that was most of the collecting process's CPU. This
backend is one ``asyncio.Protocol`` per connection: reads wait on a future the protocol
completes, timeouts are one timer handle, and "is the idle connection readable" is a look
at the buffer. HTTP parsing, pooling and keep-alive stay httpcore's and h11's. TLS is not
handled here: https endpoints keep httpx's default transport.
"""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import httpcore

__all__ = ["AsyncioBackend"]

_READ_HIGH_WATER = 1 << 18  # pause the socket when this much is unread
_WRITE_COALESCE = 1 << 16  # hold back writes up to this size until the next read


def _expire(fut: asyncio.Future) -> None:
    if not fut.done():
        fut.set_exception(TimeoutError())


async def _wait(fut: asyncio.Future, timeout: float | None) -> None:
    """Await `fut`, raising TimeoutError after `timeout` seconds (one timer, no task)."""
    if timeout is None:
        await fut
        return
    handle = asyncio.get_running_loop().call_later(timeout, _expire, fut)
    try:
        await fut
    finally:
        handle.cancel()


class _Protocol(asyncio.Protocol):
    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.eof = False
        self.exc: BaseException | None = None
        self.reader: asyncio.Future | None = None
        self.drainer: asyncio.Future | None = None
        self.write_paused = False
        self.read_paused = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if len(self.buffer) > _READ_HIGH_WATER and not self.read_paused and self.transport:
            self.read_paused = True
            self.transport.pause_reading()
        self._wake_reader()

    def eof_received(self) -> bool:
        self.eof = True
        self._wake_reader()
        return False  # let the transport close itself

    def connection_lost(self, exc: Exception | None) -> None:
        self.eof = True
        self.exc = exc
        self._wake_reader()
        self._wake_drainer()

    def pause_writing(self) -> None:
        self.write_paused = True

    def resume_writing(self) -> None:
        self.write_paused = False
        self._wake_drainer()

    def _wake_reader(self) -> None:
        fut = self.reader
        if fut is not None and not fut.done():
            fut.set_result(None)

    def _wake_drainer(self) -> None:
        fut = self.drainer
        if fut is not None and not fut.done():
            fut.set_result(None)


class _Stream(httpcore.AsyncNetworkStream):
    def __init__(self, transport: asyncio.Transport, protocol: _Protocol) -> None:
        self._transport = transport
        self._p = protocol
        self._loop = asyncio.get_running_loop()
        self._pending: list[bytes] = []
        self._pending_size = 0

    def _flush(self) -> None:
        if self._pending:
            data = b"".join(self._pending)
            self._pending.clear()
            self._pending_size = 0
            self._transport.write(data)

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        p = self._p
        # h11 writes a request's head and body separately; sending them as one segment
        # when the reply is awaited halves the send syscalls per call.
        self._flush()
        if not p.buffer and not p.eof:
            p.reader = self._loop.create_future()
            try:
                await _wait(p.reader, timeout)
            except TimeoutError:
                raise httpcore.ReadTimeout(f"no data within {timeout} s") from None
            finally:
                p.reader = None
        if p.buffer:
            data = bytes(p.buffer[:max_bytes])
            del p.buffer[:max_bytes]
            if p.read_paused and len(p.buffer) <= _READ_HIGH_WATER // 4:
                p.read_paused = False
                self._transport.resume_reading()
            return data
        if p.exc is not None:
            raise httpcore.ReadError(str(p.exc) or type(p.exc).__name__)
        return b""

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        p = self._p
        if not buffer:
            return
        if self._transport.is_closing() or p.exc is not None:
            raise httpcore.WriteError("connection closed")
        self._pending.append(buffer)
        self._pending_size += len(buffer)
        if self._pending_size < _WRITE_COALESCE:
            return
        self._flush()
        while p.write_paused and p.exc is None:
            p.drainer = self._loop.create_future()
            try:
                await _wait(p.drainer, timeout)
            except TimeoutError:
                raise httpcore.WriteTimeout(f"could not send within {timeout} s") from None
            finally:
                p.drainer = None
        if p.exc is not None:
            raise httpcore.WriteError(str(p.exc) or type(p.exc).__name__)

    async def aclose(self) -> None:
        self._pending.clear()
        self._transport.close()

    async def start_tls(
        self, ssl_context: Any, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("this backend serves plain http only")

    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable":  # an idle keep-alive connection the server has closed
            return self._p.eof or bool(self._p.buffer)
        if info == "socket":
            return self._transport.get_extra_info("socket")
        if info == "client_addr":
            return self._transport.get_extra_info("sockname")
        if info == "server_addr":
            return self._transport.get_extra_info("peername")
        return None


class AsyncioBackend(httpcore.AsyncNetworkBackend):
    """httpcore network backend on asyncio transports (plain TCP only)."""

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> httpcore.AsyncNetworkStream:
        loop = asyncio.get_running_loop()
        local = None if local_address is None else (local_address, 0)
        try:
            transport, protocol = await asyncio.wait_for(
                loop.create_connection(_Protocol, host, port, local_addr=local), timeout
            )
        except (asyncio.TimeoutError, TimeoutError):
            raise httpcore.ConnectTimeout(f"no connection within {timeout} s") from None
        except OSError as exc:
            raise httpcore.ConnectError(str(exc)) from None
        sock = transport.get_extra_info("socket")
        if sock is not None:
            for option in socket_options or ():
                sock.setsockopt(*option)
            if sock.family in (socket.AF_INET, socket.AF_INET6):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return _Stream(transport, protocol)

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Any = None
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("this backend serves TCP only")

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
