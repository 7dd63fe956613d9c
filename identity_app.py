"""The composition root: settings, the database, both facades and the ASGI app.

This is the only module (with its command line, :mod:`identity_cli`) that knows the store and
the front ends together. ``create_app`` builds the Starlette app; ``main`` is the
``identity-store`` console script (also ``python -m identity_app``).
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from graphql_api import GraphQLSettings, graphql_routes
from graphql_api.cost import DEFAULT_MAX_NODES
from identity_service.concurrency import ConcurrencyLimit
from identity_service.http_server import ServerLimits
from identity_service.loop_lag import LoopLag
from identity_store import InvalidValue, StoreUnavailable
from identity_store.bootstrap import BusOf
from identity_store.domain.filters import Filter
from identity_store.domain.schema import ResourceSchema
from identity_store.handlers.fan_outs import resume as resume_fan_outs
from identity_store.mongo import CommandListener, EmbeddedDatabase, MongoStore
from identity_store.mongo.supervisor import Supervisor
from scim_facade import (
    PREFIX,
    TOKEN_PATH,
    AccessTokens,
    ClientAssertions,
    EntraTokens,
    KeySet,
    KeySets,
    ScimSettings,
    TokenThrottle,
    TokenThrottleSettings,
    generate_signing_key,
    scim_mount,
    token_route,
)
from scim_facade.errors import ScimError, error_response
from scim_facade.filters import compile_filter

__all__ = [
    "SIGNING_KEY_FILE",
    "Database",
    "Readiness",
    "Settings",
    "create_app",
    "main",
    "open_database",
    "open_store",
    "server_limits",
    "signing_key",
]

log = logging.getLogger("identity_store.app")


class Settings(BaseSettings):
    """Configuration from the environment (``IDENTITY_*``, and ``MONGODB_URI``)."""

    model_config = SettingsConfigDict(env_prefix="IDENTITY_", extra="ignore")

    mongodb_uri: str | None = Field(
        default=None,
        validation_alias="MONGODB_URI",
        description="MongoDB to use; when unset, the embedded SecantusDB is started.",
    )
    database: str = "identity"
    database_unreachable_seconds: float = Field(
        default=0.5, gt=0, description="How long a request waits for a database it cannot reach before a 503."
    )
    database_timeout_seconds: float = Field(
        default=10.0, gt=0, description="How long one database command, and one write with its retries, may take."
    )
    data_dir: Path = Field(default=Path("data"), description="Where the embedded database keeps its data.")
    host: str = "127.0.0.1"
    port: int = 8000
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    scim_max_results: int = Field(default=200, description="Largest SCIM page (RFC 7644 §3.4.2.4 count).")
    scim_max_payload_size: int = Field(default=1_048_576, description="Largest SCIM request body, in bytes.")
    scim_token_cache_seconds: float = Field(
        default=30.0, description="How long a verified SCIM token is trusted without a lookup (revocation delay)."
    )
    scim_cursor_secret: str | None = Field(
        default=None, description="Key signing RFC 9865 cursors; set it so cursors survive restarts and replicas."
    )
    scim_cursor_timeout_seconds: int = 600
    scim_rate_limit_per_second: float = Field(
        default=100.0, description="SCIM requests a second each tenant may make on average (0: no limit)."
    )
    scim_rate_limit_burst: int = Field(default=200, description="SCIM requests a tenant may make at once.")
    max_concurrent_requests: int = Field(
        default=256, ge=1, description="Requests one process works on at once; beyond, 503 with Retry-After."
    )
    max_connections: int = Field(default=1000, ge=1, description="Open connections one process accepts.")
    header_timeout_seconds: float = Field(
        default=10.0, gt=0, description="How long a client may take to send a request's line and headers."
    )
    body_timeout_seconds: float = Field(default=30.0, gt=0, description="How long a client may take to send a body.")
    trust_forwarded: bool = Field(
        default=False, description="Build SCIM locations from X-Forwarded-Proto/Host (behind a trusted proxy)."
    )
    graphiql: bool = Field(default=False, description="Serve the GraphiQL IDE at /graphql (development only).")
    graphql_allowed_origins: list[str] = Field(
        default_factory=list, description="Browser origins allowed to open /graphql WebSockets."
    )
    graphql_api_key_cache_seconds: float = Field(
        default=30.0, description="How long a verified API key is trusted without a lookup (revocation delay)."
    )
    graphql_max_nodes: int = Field(
        default=DEFAULT_MAX_NODES,
        gt=0,
        description="The most nodes one GraphQL operation may return, priced from its page sizes before it runs.",
    )
    oauth_signing_key: str | None = Field(
        default=None,
        description="PEM private key (RSA or EC P-256), or the path of a PEM file, that signs OAuth access tokens.",
    )
    oauth_issuer: str = Field(default="urn:identity-store", description="The iss of issued access tokens.")
    oauth_audience: str = Field(default="urn:identity-store:scim", description="The aud of issued access tokens.")
    oauth_rate_limit_per_client_per_second: float = Field(
        default=1.0, description="Token requests a second each OAuth client id may make on average (0: no limit)."
    )
    oauth_rate_limit_per_client_burst: int = Field(
        default=20, description="Token requests a client id may make at once."
    )
    oauth_rate_limit_per_address_per_second: float = Field(
        default=10.0, description="Token requests a second each source address may make on average (0: no limit)."
    )
    oauth_rate_limit_per_address_burst: int = Field(
        default=100, description="Token requests a source address may make at once."
    )
    oauth_failure_cost: float = Field(
        default=5.0, description="How many requests' worth of both buckets a failed client authentication takes."
    )
    oauth_jwks_timeout_seconds: float = Field(
        default=5.0, description="Deadline for a whole key-set fetch (Entra's or a federated client's issuer's)."
    )
    entra_jwks_url: str = Field(
        default="https://login.microsoftonline.com/common/discovery/keys",
        description="Where the keys of Entra-issued tokens are fetched.",
    )
    entra_jwks_refetch_seconds: float = Field(
        default=60.0, description="Least time between key-set fetches caused by an unknown key id."
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class Database:
    """Where the store connects, and the supervisor of the embedded database when it runs one."""

    uri: str
    supervisor: Supervisor | None = None


@asynccontextmanager
async def open_database(settings: Settings) -> AsyncIterator[Database]:
    """MONGODB_URI, or the embedded database: started, kept running, and stopped afterwards.

    The embedded database is supervised (restarted when it dies, see
    :mod:`identity_store.mongo.supervisor`) when this process started it; a server another
    process runs for the same folder (the service's, seen from the CLI) is that process's to keep.
    On the way out the supervisor stops first, so stopping the database is never taken for a death.
    """
    if settings.mongodb_uri is not None:
        log.info("database: MongoDB from MONGODB_URI, database %r", settings.database)
        yield Database(uri=settings.mongodb_uri)
        return
    embedded = EmbeddedDatabase(settings.data_dir.resolve())
    uri = await embedded.start()
    log.info("database: embedded SecantusDB at %s (data in %s)", uri, settings.data_dir)
    supervisor = Supervisor(database=embedded) if embedded.owned else None
    try:
        if supervisor is not None:
            supervisor.start()
        yield Database(uri=uri, supervisor=supervisor)
    finally:
        if supervisor is not None:
            await supervisor.stop()
        await embedded.stop()


@asynccontextmanager
async def open_store(settings: Settings, listeners: Sequence[CommandListener] = ()) -> AsyncIterator[MongoStore]:
    """The store on MONGODB_URI, or on the embedded database (see :func:`open_database`)."""
    async with open_database(settings) as database:
        store = _store(settings, database.uri, listeners)
        try:
            yield store
        finally:
            await store.close()


def _store(settings: Settings, uri: str, listeners: Sequence[CommandListener]) -> MongoStore:
    return MongoStore(
        uri,
        settings.database,
        unreachable_seconds=settings.database_unreachable_seconds,
        operation_timeout_seconds=settings.database_timeout_seconds,
        listeners=listeners,
    )


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
        """Until the preparation succeeded or failed (not while the database is unreachable)."""
        if self._settled is not None:
            await self._settled.wait()

    def waiting(self, detail: str) -> None:
        self.status, self.detail = "starting", detail

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


async def _prepare(store: MongoStore, readiness: Readiness) -> None:
    """Create the indexes and run the start-up migrations, retrying until they are in place."""
    delay = 0.5
    reported: str | None = None
    while True:
        try:
            await store.create_indexes()
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
    ``/readyz`` always pass: they report on this state.
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
_ALWAYS_SERVED = frozenset({"/healthz", "/readyz"})
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


def _scim_filter(text: str, schema: ResourceSchema) -> Filter:
    """SCIM's filter translator, for GraphQL's ``scimFilter``: a refused filter (SCIM's 400
    ``invalidFilter``) becomes the domain's InvalidValue, which the GraphQL API renders itself."""
    try:
        return compile_filter(text, schema)
    except ScimError as error:
        raise InvalidValue(error.detail, attribute="scimFilter") from None


SIGNING_KEY_FILE = "oauth-signing-key.pem"


def signing_key(settings: Settings) -> bytes | None:
    """The PEM key that signs OAuth access tokens.

    ``IDENTITY_OAUTH_SIGNING_KEY`` (PEM text or a file path) when set. Otherwise, on the embedded
    database, a key generated once and kept beside the data (mode 0600). With ``MONGODB_URI`` and
    no key, ``None``: instances sharing a database must share the key, and no safe one can be
    invented here, so the token endpoint stays off until one is configured.
    """
    configured = settings.oauth_signing_key
    if configured:
        if configured.lstrip().startswith("-----BEGIN"):
            return configured.encode()
        return Path(configured).read_bytes()
    if settings.mongodb_uri is not None:
        log.warning("IDENTITY_OAUTH_SIGNING_KEY is not set: the OAuth token endpoint is off")
        return None
    path = settings.data_dir.resolve() / SIGNING_KEY_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_bytes()
    with os.fdopen(descriptor, "wb") as file:
        file.write(generate_signing_key())
    log.info("generated the OAuth signing key %s", path)
    return path.read_bytes()


def create_app(settings: Settings | None = None, *, command_listeners: Sequence[CommandListener] = ()) -> Starlette:
    """The service as an ASGI app. ``command_listeners`` watch its database commands (benchmarks)."""
    settings = settings or Settings()
    loop_lag = LoopLag()
    # One command bus per store, shared by both front ends (the store opens in the lifespan).
    bus_of = BusOf()

    readiness = Readiness()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        watching = asyncio.create_task(loop_lag.watch())
        async with open_database(settings) as database:
            store = _store(settings, database.uri, command_listeners)
            app.state.store = store
            app.state.database = database
            readiness.begin()
            preparing = asyncio.create_task(_prepare(store, readiness))
            # The gate keeps requests out until the indexes exist, so this wait is only so that
            # a normal start opens its port ready; a slow or unreachable database does not hold it.
            settled = asyncio.create_task(readiness.settled())
            await asyncio.wait({preparing, settled}, timeout=10, return_when=asyncio.FIRST_COMPLETED)
            settled.cancel()
            try:
                yield
            finally:
                preparing.cancel()
                watching.cancel()
                await store.close()

    async def healthz(request: Request) -> JSONResponse:
        """The process is alive (no dependency is checked), and how long its event loop was held."""
        return JSONResponse({"status": "ok", "eventLoopLag": loop_lag.report()})

    async def readyz(request: Request) -> JSONResponse:
        """Ready when the indexes and migrations are in place and the database answers; else why not."""
        if not readiness.ready:
            return JSONResponse(
                {"status": readiness.status, "detail": readiness.detail}, status_code=503, headers=_RETRY_AFTER
            )
        database: Database = request.app.state.database
        if database.supervisor is not None and not database.supervisor.serving:
            return JSONResponse(
                {"status": "unavailable", "detail": "the embedded database is being restarted"},
                status_code=503,
                headers=_RETRY_AFTER,
            )
        store: MongoStore = request.app.state.store
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

    key = signing_key(settings)
    access_tokens = AccessTokens(key, issuer=settings.oauth_issuer, audience=settings.oauth_audience) if key else None
    entra_keys = KeySet(
        settings.entra_jwks_url,
        min_refetch_seconds=settings.entra_jwks_refetch_seconds,
        timeout_seconds=settings.oauth_jwks_timeout_seconds,
    )
    assertions = ClientAssertions(
        KeySets(
            min_refetch_seconds=settings.entra_jwks_refetch_seconds, timeout_seconds=settings.oauth_jwks_timeout_seconds
        )
    )
    token_throttle = TokenThrottle(
        TokenThrottleSettings(
            per_client_per_second=settings.oauth_rate_limit_per_client_per_second,
            per_client_burst=settings.oauth_rate_limit_per_client_burst,
            per_address_per_second=settings.oauth_rate_limit_per_address_per_second,
            per_address_burst=settings.oauth_rate_limit_per_address_burst,
            failure_cost=settings.oauth_failure_cost,
            trust_forwarded=settings.trust_forwarded,
        )
    )
    scim = ScimSettings(
        max_results=settings.scim_max_results,
        max_payload_size=settings.scim_max_payload_size,
        token_cache_seconds=settings.scim_token_cache_seconds,
        trust_forwarded=settings.trust_forwarded,
        cursor_timeout_seconds=settings.scim_cursor_timeout_seconds,
        rate_limit_per_second=settings.scim_rate_limit_per_second,
        rate_limit_burst=settings.scim_rate_limit_burst,
        cursor_key=settings.scim_cursor_secret.encode() if settings.scim_cursor_secret else None,
        access_tokens=access_tokens,
        entra_tokens=EntraTokens(entra_keys),
    )
    graphql = GraphQLSettings(
        graphiql=settings.graphiql,
        allowed_origins=tuple(settings.graphql_allowed_origins),
        api_key_cache_seconds=settings.graphql_api_key_cache_seconds,
        max_query_nodes=settings.graphql_max_nodes,
        scim_filter=_scim_filter,
    )
    app = Starlette(
        routes=[
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            scim_mount(lambda: app.state.store, lambda: bus_of(app.state.store), scim),
            token_route(lambda: app.state.store, access_tokens, assertions, throttle=token_throttle),
            *graphql_routes(lambda: app.state.store, graphql, lambda: bus_of(app.state.store)),
        ],
        middleware=[
            Middleware(ConcurrencyLimit, limit=settings.max_concurrent_requests),
            Middleware(ReadinessGate, readiness=readiness),
        ],
        lifespan=lifespan,
    )
    return app


def server_limits(settings: Settings) -> ServerLimits:
    """The connection bounds ``serve`` runs uvicorn with."""
    return ServerLimits(
        header_seconds=settings.header_timeout_seconds,
        body_seconds=settings.body_timeout_seconds,
        max_connections=settings.max_connections,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """The ``identity-store`` console script (also ``python -m identity_app``); see :mod:`identity_cli`."""
    # Imported here: the command line builds on this module, so it cannot be imported at its top.
    from identity_cli import run

    return run(argv)


if __name__ == "__main__":
    sys.exit(main())
