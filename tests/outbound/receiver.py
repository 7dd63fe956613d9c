"""A webhook receiver on loopback: records every delivery, answers 2xx or (when down) 503."""

from __future__ import annotations

import asyncio
import json
import threading
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

__all__ = ["Delivery", "Receiver"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Delivery:
    path: str
    headers: dict[str, str]
    body: bytes
    #: The status the receiver answered.
    status: int

    @property
    def webhook_id(self) -> str:
        return self.headers["webhook-id"]

    @property
    def message(self) -> Any:
        return json.loads(self.body)


@dataclass(slots=True)
class Receiver:
    """Records deliveries (from the server's thread) per path; ``down`` makes it answer 503."""

    down: bool = False
    #: Paths answered 503 whatever ``down`` says.
    failing: set[str] = field(default_factory=set)
    #: While set and not yet opened, each request is held (the sender waits for its answer).
    gate: threading.Event | None = None
    #: Requests held at the gate so far.
    held: int = 0
    received: list[Delivery] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def app(self) -> Starlette:
        async def hook(request: Request) -> Response:
            body = await request.body()
            if self.gate is not None and not self.gate.is_set():
                with self._lock:
                    self.held += 1
                await asyncio.to_thread(self.gate.wait, 30)
            status = 503 if self.down or request.url.path in self.failing else 204
            with self._lock:
                self.received.append(
                    Delivery(path=request.url.path, headers=dict(request.headers), body=body, status=status)
                )
            return Response(status_code=status)

        return Starlette(routes=[Route("/{name}", hook, methods=["POST"])])

    def accepted(self, path: str = "/hook") -> list[Delivery]:
        with self._lock:
            return [d for d in self.received if d.path == path and d.status < 300]

    def all(self, path: str = "/hook") -> list[Delivery]:
        with self._lock:
            return [d for d in self.received if d.path == path]
