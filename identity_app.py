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
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from graphql_api import GraphQLSettings, graphql_routes
from graphql_api.cost import DEFAULT_MAX_NODES
from identity_service.concurrency import ConcurrencyLimit
from identity_service.http_server import ServerLimits
from identity_service.loop_lag import LoopLag
from identity_store import InvalidValue, StoreUnavailable
from identity_store.domain.filters import Filter
from identity_store.domain.schema import ResourceSchema
from identity_store.mongo import CommandListener, EmbeddedDatabase, MongoStore
from scim_facade import (
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
from scim_facade.errors import ScimError
from scim_facade.filters import compile_filter

__all__ = ["SIGNING_KEY_FILE", "Settings", "create_app", "main", "open_store", "server_limits", "signing_key"]

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
        default=1.0, gt=0, description="How long a request waits for a database it cannot reach before a 503."
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


@asynccontextmanager
async def open_store(settings: Settings, listeners: Sequence[CommandListener] = ()) -> AsyncIterator[MongoStore]:
    """The store on MONGODB_URI, or on the embedded database (started, and stopped afterwards)."""
    embedded: EmbeddedDatabase | None = None
    uri = settings.mongodb_uri
    if uri is None:
        embedded = EmbeddedDatabase(settings.data_dir.resolve())
        uri = await embedded.start()
        log.info("database: embedded SecantusDB at %s (data in %s)", uri, settings.data_dir)
    else:
        log.info("database: MongoDB from MONGODB_URI, database %r", settings.database)
    store = MongoStore(
        uri,
        settings.database,
        unreachable_seconds=settings.database_unreachable_seconds,
        operation_timeout_seconds=settings.database_timeout_seconds,
        listeners=listeners,
    )
    try:
        yield store
    finally:
        await store.close()
        if embedded is not None:
            await embedded.stop()


async def _prepare(store: MongoStore) -> None:
    """Create the indexes, retrying until the database answers (it may start after us)."""
    delay = 0.5
    while True:
        try:
            await store.create_indexes()
            return
        except StoreUnavailable:
            log.warning("database not reachable yet; retrying in %.1fs", delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10.0)


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

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        watching = asyncio.create_task(loop_lag.watch())
        async with open_store(settings, command_listeners) as store:
            app.state.store = store
            preparing = asyncio.create_task(_prepare(store))
            app.state.preparing = preparing
            await asyncio.wait({preparing}, timeout=10)
            try:
                yield
            finally:
                preparing.cancel()
                watching.cancel()

    async def healthz(request: Request) -> JSONResponse:
        """The process is alive (no dependency is checked), and how long its event loop was held."""
        return JSONResponse({"status": "ok", "eventLoopLag": loop_lag.report()})

    async def readyz(request: Request) -> JSONResponse:
        """The database answers and the indexes are in place."""
        store: MongoStore = request.app.state.store
        if not request.app.state.preparing.done():
            return JSONResponse({"status": "starting"}, status_code=503, headers={"Retry-After": "1"})
        try:
            await store.ping()
        except StoreUnavailable as error:
            return JSONResponse(
                {"status": "unavailable"}, status_code=503, headers={"Retry-After": str(error.retry_after)}
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
            scim_mount(lambda: app.state.store, scim),
            token_route(lambda: app.state.store, access_tokens, assertions, throttle=token_throttle),
            *graphql_routes(lambda: app.state.store, graphql),
        ],
        lifespan=lifespan,
        middleware=[Middleware(ConcurrencyLimit, limit=settings.max_concurrent_requests)],
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
