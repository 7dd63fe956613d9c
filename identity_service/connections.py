"""Slow and greedy clients, bounded at the connection: header and body deadlines, a connection cap.

uvicorn's own keep-alive timer is cancelled by any byte received, and a new connection has no
timer at all until its first response, so a client trickling one byte a second ("slowloris")
holds a connection, and its memory, forever. :func:`bounded_protocol` makes uvicorn's h11
protocol close a connection whose request head is not complete within ``header_seconds`` of the
connection opening (or of the previous response), and answer ``408`` to one whose body is not
complete within ``body_seconds`` of its head. Beyond ``max_connections`` open connections a new
one is answered ``503`` and closed at once, so the process never holds more sockets than it
chose to.
"""

from __future__ import annotations

import asyncio
import json

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

__all__ = ["bounded_protocol"]


def _raw_response(status: int, reason: str, message: str, retry_after: int | None = None) -> bytes:
    body = json.dumps({"status": str(status), "detail": message}).encode()
    headers = [
        f"HTTP/1.1 {status} {reason}",
        "content-type: application/json",
        f"content-length: {len(body)}",
        "connection: close",
    ]
    if retry_after is not None:
        headers.append(f"retry-after: {retry_after}")
    return ("\r\n".join(headers) + "\r\n\r\n").encode() + body


_TOO_MANY = _raw_response(503, "Service Unavailable", "too many connections; retry later", retry_after=1)
_BODY_TIMEOUT = _raw_response(408, "Request Timeout", "the request body did not arrive in time")


class _BoundedH11Protocol(H11Protocol):
    header_seconds: float = 10.0
    body_seconds: float = 30.0
    max_connections: int = 1000

    _deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if len(self.connections) > self.max_connections:
            self.logger.warning("refused a connection: %d are open", len(self.connections) - 1)
            transport.write(_TOO_MANY)
            transport.close()
            return
        self._arm(self.header_seconds, self._head_late)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        waiting_for_head = self.conn.their_state is h11.IDLE
        super().data_received(data)
        if waiting_for_head and self.conn.their_state is h11.SEND_BODY:
            self._arm(self.body_seconds, self._body_late)
        elif self.conn.their_state is not h11.IDLE and self.conn.their_state is not h11.SEND_BODY:
            self._disarm()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._arm(self.header_seconds, self._head_late)  # the next request's head, if any

    def _arm(self, seconds: float, callback: object) -> None:
        self._disarm()
        assert callable(callback)
        self._deadline = self.loop.call_later(seconds, callback)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _head_late(self) -> None:
        self._deadline = None
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            self.transport.close()

    def _body_late(self) -> None:
        self._deadline = None
        if self.conn.their_state is not h11.SEND_BODY or self.transport.is_closing():
            return
        cycle = self.cycle
        if cycle is not None and not cycle.response_started:
            # The app's own answer, if it comes, is dropped: the client is gone as far as it knows.
            cycle.response_started = True
            cycle.disconnected = True
            self.transport.write(_BODY_TIMEOUT)
        self.transport.close()


def bounded_protocol(*, header_seconds: float, body_seconds: float, max_connections: int) -> type[H11Protocol]:
    """uvicorn's h11 protocol with these bounds (pass it as ``uvicorn.Config(http=...)``)."""
    return type(
        "BoundedH11Protocol",
        (_BoundedH11Protocol,),
        {"header_seconds": header_seconds, "body_seconds": body_seconds, "max_connections": max_connections},
    )
