"""A cap on the requests one process works on at once, answered in each front end's own error form.

Past ``limit`` requests in flight a new one is answered ``503`` with ``Retry-After`` at once,
instead of queueing behind the others until every client times out: a SCIM Error under
``/scim/v2``, a GraphQL error under ``/graphql``, plain JSON elsewhere. The health probes are
never refused, so an orchestrator does not restart a process for being busy.
"""

from __future__ import annotations

import json
import logging

from starlette.types import ASGIApp, Receive, Scope, Send

from scim_facade import PREFIX as SCIM_PREFIX
from scim_facade.errors import error_response

__all__ = ["ConcurrencyLimit"]

log = logging.getLogger("identity_service")

# A busy process is exactly when its probes and its metrics must still answer.
_PROBES = frozenset({"/healthz", "/readyz", "/metrics"})
_RETRY_AFTER = "1"


class ConcurrencyLimit:
    def __init__(self, app: ASGIApp, *, limit: int) -> None:
        self._app = app
        self._limit = limit
        self._in_flight = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in _PROBES:
            await self._app(scope, receive, send)
            return
        if self._in_flight >= self._limit:
            log.warning("refused a request: %d are in flight", self._in_flight)
            await _busy(scope, receive, send)
            return
        self._in_flight += 1
        try:
            await self._app(scope, receive, send)
        finally:
            self._in_flight -= 1


async def _busy(scope: Scope, receive: Receive, send: Send) -> None:
    path: str = scope["path"]
    detail = "the service is busy; retry later"
    if path == SCIM_PREFIX or path.startswith(SCIM_PREFIX + "/"):
        await error_response(503, detail, headers={"Retry-After": _RETRY_AFTER})(scope, receive, send)
        return
    body: dict[str, object] = (
        {"errors": [{"message": detail, "extensions": {"code": "SERVICE_UNAVAILABLE"}}]}
        if path == "/graphql"
        else {"status": "busy", "detail": detail}
    )
    encoded = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 503,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(encoded)).encode()),
                (b"retry-after", _RETRY_AFTER.encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": encoded})
