"""Readiness: nothing is served before the indexes and start-up migrations exist, and ``/readyz`` says why.

:func:`prepare` creates the indexes (retrying through an outage and after a failure);
:class:`ReadinessGate` answers 503 in each front end's own form until it succeeded;
:func:`readiness_report` is ``/readyz``: ready only when prepared and the database answers a ping.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Literal

from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from identity_service.database import Database
from identity_store import StoreUnavailable
from identity_store.handlers.fan_outs import resume as resume_fan_outs
from identity_store.mongo import MongoStore
from scim_facade import PREFIX, TOKEN_PATH
from scim_facade.errors import error_response

__all__ = [
    "FAILED_PREPARATION_RETRY_SECONDS",
    "READINESS_PING_SECONDS",
    "Readiness",
    "ReadinessGate",
    "prepare",
    "readiness_report",
]

log = logging.getLogger("identity_store.app")


class Readiness:
    """Whether the start-up work the store needs before any request (indexes, migrations) is done.

    The unique indexes are what make a second user with the same userName a 409 rather than a
    duplicate, so nothing may be written before they exist. The lifespan begins the
    preparation; until it is :attr:`ready` the gate (:class:`ReadinessGate`) refuses requests. An
    app whose lifespan never runs (embedded in a test that hands it a prepared store) has nothing
    to wait for and is not gated.
    """

    def __init__(self) -> None:
        self._managed = False
        self._settled: asyncio.Event | None = None
        self.ready = False
        self.status: Literal["starting", "failed", "ready"] = "starting"
        self.detail = "creating the indexes and running the start-up migrations"

    @property
    def open(self) -> bool:
        """Whether requests may be served."""
        return self.ready or not self._managed

    def begin(self) -> None:
        self._managed = True
        self._settled = asyncio.Event()  # made here, in the loop that serves

    async def settled(self) -> None:
        """Until the preparation has something to report: it succeeded, it failed, or it waits
        (for an unreachable database, or for another instance's migrations)."""
        if self._settled is not None:
            await self._settled.wait()

    def waiting(self, detail: str) -> None:
        self.status, self.detail = "starting", detail
        if self._settled is not None:
            self._settled.set()

    def failed(self, detail: str) -> None:
        self.status, self.detail = "failed", detail
        if self._settled is not None:
            self._settled.set()

    def succeeded(self) -> None:
        self.ready, self.status, self.detail = True, "ready", ""
        if self._settled is not None:
            self._settled.set()


#: Seconds between attempts to create indexes that failed for a reason other than an outage
#: (duplicate data under a unique index): fixing the data then needs no restart.
FAILED_PREPARATION_RETRY_SECONDS = 30.0


async def prepare(store: MongoStore, readiness: Readiness) -> None:
    """Create the indexes and run the start-up migrations, retrying until they are in place."""
    delay = 0.5
    reported: str | None = None
    while True:
        try:
            # Behind the gate: an instance waiting for another's migrations says so in /readyz.
            await store.create_indexes(on_wait=readiness.waiting)
        except StoreUnavailable:
            readiness.waiting("the database is not reachable yet")
            log.warning("database not reachable yet; retrying in %.1fs", delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10.0)
            continue
        # Any other failure (a unique index over duplicate data) must keep the gate shut, not end unseen.
        except Exception as error:
            message = f"index creation failed: {type(error).__name__}: {' '.join(str(error).split())}"[:500]
            readiness.failed(message)
            if message != reported:  # one line, once: the same failure is retried quietly
                log.error(
                    "%s; not serving until it succeeds (retrying every %.0fs)",
                    message,
                    FAILED_PREPARATION_RETRY_SECONDS,
                )
                reported = message
            await asyncio.sleep(FAILED_PREPARATION_RETRY_SECONDS)
            continue
        readiness.succeeded()
        if reported is not None:
            log.info("index creation succeeded; serving")
        # Fan-outs a stopped process left half done finish now; the tenant's next write would
        # finish them too, so a failure here is logged, not fatal.
        try:
            await resume_fan_outs(store)
        except StoreUnavailable:
            log.warning("unfinished fan-outs not resumed at start-up; the next write of each tenant will")
        return


class ReadinessGate:
    """ASGI middleware: until :class:`Readiness` is open, answer 503 in each front end's own form.

    SCIM gets an RFC 7644 §3.12 Error, GraphQL a GraphQL error with code ``SERVICE_UNAVAILABLE``,
    the token endpoint an OAuth error (RFC 6749 §5.2's shape, ``temporarily_unavailable``); a
    WebSocket is closed with 1013 (try again later, RFC 6455 §7.4.1 registry). ``/healthz`` and
    ``/readyz`` always pass: they report on this state; so does ``/metrics``, which shows it too.
    """

    def __init__(self, app: ASGIApp, readiness: Readiness) -> None:
        self.app = app
        self.readiness = readiness

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.readiness.open or scope["type"] not in ("http", "websocket") or scope["path"] in _ALWAYS_SERVED:
            await self.app(scope, receive, send)
            return
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1013})
            return
        await _not_ready(scope["path"], self.readiness.detail)(scope, receive, send)


#: How long /readyz waits for the database's answer to a ping.
READINESS_PING_SECONDS = 0.8
_ALWAYS_SERVED = frozenset({"/healthz", "/readyz", "/metrics"})
_RETRY_AFTER = {"Retry-After": "1"}


def _not_ready(path: str, detail: str) -> Response:
    message = f"the identity store is starting: {detail}"
    if path == PREFIX or path.startswith(f"{PREFIX}/"):
        return error_response(503, message, headers=_RETRY_AFTER)
    if path == "/graphql":
        body = {"errors": [{"message": message, "extensions": {"code": "SERVICE_UNAVAILABLE"}}]}
        return JSONResponse(body, status_code=503, headers=_RETRY_AFTER)
    if path == TOKEN_PATH:
        oauth_error = {"error": "temporarily_unavailable", "error_description": message}
        return JSONResponse(oauth_error, status_code=503, headers={**_RETRY_AFTER, "Cache-Control": "no-store"})
    return JSONResponse({"status": "starting", "detail": detail}, status_code=503, headers=_RETRY_AFTER)


async def readiness_report(readiness: Readiness, database: Database, store: MongoStore) -> JSONResponse:
    """``/readyz``: ready when the indexes and migrations are in place and the database answers; else why not."""
    if not readiness.ready:
        return JSONResponse(
            {"status": readiness.status, "detail": readiness.detail}, status_code=503, headers=_RETRY_AFTER
        )
    if database.supervisor is not None and not database.supervisor.serving:
        return JSONResponse(
            {"status": "unavailable", "detail": "the embedded database is being restarted"},
            status_code=503,
            headers=_RETRY_AFTER,
        )
    try:
        # A probe must answer within its own timeout (a second, commonly): a database that is
        # down is reported as such, not waited for until the driver gives up selecting it.
        async with asyncio.timeout(READINESS_PING_SECONDS):
            await store.ping()
    except TimeoutError:
        return JSONResponse(
            {"status": "unavailable", "detail": f"the database did not answer within {READINESS_PING_SECONDS}s"},
            status_code=503,
            headers=_RETRY_AFTER,
        )
    except StoreUnavailable as error:
        return JSONResponse(
            {"status": "unavailable", "detail": error.message},
            status_code=503,
            headers={"Retry-After": str(error.retry_after)},
        )
    return JSONResponse({"status": "ready"})
