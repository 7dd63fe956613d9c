"""One report per HTTP request, handed to whoever watches requests: the log line, the metrics,
the activity log.

:class:`RequestReports` is the outermost middleware. It gives the request its id (the client's
``X-Request-Id``, cut to 200 characters, or a new one), and for SCIM and GraphQL requests a
:class:`~identity_store.activity.RequestActivity` on the scope that the front end fills in
(tenant, credential, operation, resource, ``scimType``, ``detail``, attributes). When the answer
has been sent it builds one :class:`RequestReport` and gives it to each observer in turn. An
observer must be quick and must not fail the request: one that raises is logged and skipped.

Database commands are counted per request by :class:`RequestCommands`, a command listener that
adds to the counter of the request whose task sent the command (a context variable), so the
background workers' polls are never counted against a request.
"""

from __future__ import annotations

import contextvars
import logging
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from opentelemetry import trace
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from identity_store.activity import ACTIVITY_SCOPE_KEY, FrontEnd, RequestActivity
from identity_store.mongo import CommandListener
from identity_store.mongo.monitoring import CommandFailed, CommandStarted, CommandSucceeded

__all__ = ["REQUEST_ID_SCOPE_KEY", "RequestCommands", "RequestReport", "RequestReports", "front_end_of"]

log = logging.getLogger("identity_service")

#: Where the request's id is kept in the ASGI scope (the facades answer it as ``X-Request-Id``).
REQUEST_ID_SCOPE_KEY = "identity_service.request_id"

_MAX_REQUEST_ID = 200


@dataclass(slots=True)
class _Commands:
    count: int = 0


_current_commands: contextvars.ContextVar[_Commands | None] = contextvars.ContextVar("request_commands", default=None)


class RequestCommands(CommandListener):
    """Counts each request's database commands (see the module's docstring)."""

    def started(self, event: CommandStarted) -> None:
        counter = _current_commands.get()
        if counter is not None:
            counter.count += 1

    def succeeded(self, event: CommandSucceeded) -> None:
        return None

    def failed(self, event: CommandFailed) -> None:
        return None


@dataclass(frozen=True, slots=True, kw_only=True)
class RequestReport:
    """One answered HTTP request."""

    request_id: str
    method: str
    path: str
    status: int
    duration_seconds: float
    #: The client's address; behind a trusted proxy, the first ``X-Forwarded-For`` entry.
    client_address: str | None
    database_commands: int
    front_end: FrontEnd | None
    #: What the front end learnt (SCIM and GraphQL requests only).
    activity: RequestActivity | None
    #: The request's trace (32 hex digits) when tracing is on (identity_service.tracing).
    trace_id: str | None = None


Observer = Callable[[RequestReport], None]


def front_end_of(path: str) -> FrontEnd | None:
    if path == "/scim/v2" or path.startswith("/scim/v2/"):
        return FrontEnd.SCIM
    if path == "/graphql":
        return FrontEnd.GRAPHQL
    return None


class RequestReports:
    def __init__(self, app: ASGIApp, *, observers: Sequence[Observer], trust_forwarded: bool = False) -> None:
        self._app = app
        self._observers = tuple(observers)
        self._trust_forwarded = trust_forwarded

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = _request_id(scope)
        scope[REQUEST_ID_SCOPE_KEY] = request_id
        front_end = front_end_of(scope["path"])
        activity = RequestActivity(front_end=front_end, request_id=request_id) if front_end is not None else None
        if activity is not None:
            scope[ACTIVITY_SCOPE_KEY] = activity
        counter = _Commands()
        token = _current_commands.set(counter)
        status = 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self._app(scope, receive, sending)
        finally:
            _current_commands.reset(token)
            report = RequestReport(
                request_id=request_id,
                method=scope["method"],
                path=scope["path"],
                status=status,
                duration_seconds=time.perf_counter() - started,
                client_address=self._client_address(scope),
                database_commands=counter.count,
                front_end=front_end,
                activity=activity,
                trace_id=_trace_id(),
            )
            for observe in self._observers:
                try:
                    observe(report)
                except Exception:  # an observer's fault must never become the request's
                    log.exception("a request observer failed")

    def _client_address(self, scope: Scope) -> str | None:
        if self._trust_forwarded:
            forwarded = _header(scope, b"x-forwarded-for")
            if forwarded:
                first = forwarded.split(",")[0].strip()
                if first:
                    return first[:100]
        client: Any = scope.get("client")
        return str(client[0]) if client else None


def _trace_id() -> str | None:
    """The current span's trace id: the ASGI instrumentation's server span, which is current
    while the app runs; ``None`` when no trace is recorded."""
    context = trace.get_current_span().get_span_context()
    return trace.format_trace_id(context.trace_id) if context.is_valid else None


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return bytes(value).decode("latin-1")
    return None


def _request_id(scope: Scope) -> str:
    given = _header(scope, b"x-request-id")
    return given[:_MAX_REQUEST_ID] if given else uuid.uuid4().hex
