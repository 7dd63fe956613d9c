"""The composition root: settings, the database, both facades, the ASGI app and the CLI.

This is the only module that knows the store and the front ends together. ``create_app`` builds
the Starlette app; ``main`` is the ``identity-store`` console script (also ``python -m identity_app``).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from graphql_api import GraphQLSettings, Scope, graphql_routes
from identity_store import InvalidValue, NotFound, StoreUnavailable, Uniqueness
from identity_store.domain.credentials import Credential, CredentialKind, issue
from identity_store.domain.filters import Filter
from identity_store.domain.oauth import Federation, new_client
from identity_store.domain.resources import now
from identity_store.domain.schema import ResourceSchema
from identity_store.mongo import CommandListener, EmbeddedDatabase, MongoStore
from scim_facade import (
    AccessTokens,
    ClientAssertions,
    EntraTokens,
    KeySet,
    KeySets,
    ScimSettings,
    generate_signing_key,
    scim_mount,
    token_route,
)
from scim_facade.errors import ScimError
from scim_facade.filters import compile_filter

__all__ = ["Settings", "create_app", "main", "open_store"]

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
    trust_forwarded: bool = Field(
        default=False, description="Build SCIM locations from X-Forwarded-Proto/Host (behind a trusted proxy)."
    )
    graphiql: bool = Field(default=False, description="Serve the GraphiQL IDE at /graphql (development only).")
    graphql_allowed_origins: list[str] = Field(
        default_factory=list, description="Browser origins allowed to open /graphql WebSockets."
    )
    oauth_signing_key: str | None = Field(
        default=None,
        description="PEM private key (RSA or EC P-256), or the path of a PEM file, that signs OAuth access tokens.",
    )
    oauth_issuer: str = Field(default="urn:identity-store", description="The iss of issued access tokens.")
    oauth_audience: str = Field(default="urn:identity-store:scim", description="The aud of issued access tokens.")
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
    store = MongoStore(uri, settings.database, listeners=listeners)
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

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with open_store(settings, command_listeners) as store:
            app.state.store = store
            preparing = asyncio.create_task(_prepare(store))
            app.state.preparing = preparing
            await asyncio.wait({preparing}, timeout=10)
            try:
                yield
            finally:
                preparing.cancel()

    async def healthz(request: Request) -> JSONResponse:
        """The process is alive (no dependency is checked)."""
        return JSONResponse({"status": "ok"})

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
    entra_keys = KeySet(settings.entra_jwks_url, min_refetch_seconds=settings.entra_jwks_refetch_seconds)
    assertions = ClientAssertions(KeySets(min_refetch_seconds=settings.entra_jwks_refetch_seconds))
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
        scim_filter=_scim_filter,
    )
    app = Starlette(
        routes=[
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            scim_mount(lambda: app.state.store, scim),
            token_route(lambda: app.state.store, access_tokens, assertions),
            *graphql_routes(lambda: app.state.store, graphql),
        ],
        lifespan=lifespan,
    )
    return app


# --- command line ---------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="identity-store", description="The identity store service and its admin.")
    parser.add_argument("--data-dir", type=Path, help="embedded database folder (default: ./data)")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the HTTP service")
    serve.add_argument("--host", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to bind (default 8000)")
    serve.add_argument("--data-dir", type=Path, dest="serve_data_dir", metavar="DIR", help="embedded database folder")

    tenant = commands.add_parser("tenant", help="manage tenants").add_subparsers(dest="action", required=True)
    tenant.add_parser("create", help="create a tenant").add_argument("name")
    tenant.add_parser("list", help="list tenants")
    strict = tenant.add_parser(
        "strict-rfc",
        help="turn the tenant's strict RFC 7644 behaviour on or off (off: Entra ID's habits are accepted)",
    )
    strict.add_argument("name", help="tenant name")
    strict.add_argument("state", choices=["on", "off"])
    link = tenant.add_parser("entra-link", help="accept JWTs Entra ID issues for this Entra tenant")
    link.add_argument("name", help="tenant name")
    link.add_argument("--entra-tenant-id", required=True, type=_entra_tenant_id, help="the Entra tenant id (GUID)")
    tenant.add_parser("entra-unlink", help="stop accepting Entra-issued JWTs for the tenant").add_argument("name")

    token = commands.add_parser("token", help="manage SCIM bearer tokens").add_subparsers(dest="action", required=True)
    create = token.add_parser("create", help="issue a token (the secret is printed once)")
    create.add_argument("--tenant", required=True, help="tenant name")
    create.add_argument("--name", default="scim", help="a label for the token")
    create.add_argument("--expires-in-days", type=int, help="expire after this many days (default: never)")
    token.add_parser("list", help="list a tenant's tokens").add_argument("--tenant", required=True)
    token.add_parser("revoke", help="revoke a token by id").add_argument("id")
    apikey = commands.add_parser("apikey", help="manage GraphQL API keys").add_subparsers(dest="action", required=True)
    create_key = apikey.add_parser("create", help="create an API key and print its secret (shown only once)")
    create_key.add_argument("--tenant", required=True, help="the tenant's name")
    create_key.add_argument("--name", default="graphql", help="what the key is for")
    create_key.add_argument(
        "--scope", action="append", required=True, choices=[s.value for s in Scope], help="repeat for each scope"
    )
    oauth = commands.add_parser("oauth", help="manage OAuth clients and their secrets")
    oauth_kinds = oauth.add_subparsers(dest="kind", required=True)
    client = oauth_kinds.add_parser("client", help="OAuth clients").add_subparsers(dest="action", required=True)
    create_client = client.add_parser("create", help="create a client for a tenant")
    create_client.add_argument("--tenant", required=True, help="tenant name")
    create_client.add_argument("--name", default="entra", help="a label for the client")
    create_client.add_argument(
        "--token-lifetime-minutes", type=int, default=60, help="access-token lifetime, 60 to 360 (default 60)"
    )
    client.add_parser("list", help="list a tenant's clients").add_argument("--tenant", required=True)
    client.add_parser("disable", help="disable a client; its access tokens stop working").add_argument("id")
    federate = client.add_parser("federate", help="let the client authenticate with JWT assertions (RFC 7523)")
    federate.add_argument("id", help="client id")
    federate.add_argument("--issuer", required=True, help="the assertions' iss")
    federate.add_argument("--subject", required=True, help="the assertions' sub")
    federate.add_argument("--audience", required=True, help="the assertions' aud")
    federate.add_argument("--jwks-url", required=True, help="the issuer's key set")
    secret = oauth_kinds.add_parser("secret", help="client secrets").add_subparsers(dest="action", required=True)
    create_secret = secret.add_parser("create", help="issue a client secret (printed once)")
    create_secret.add_argument("--client", required=True, help="client id")
    create_secret.add_argument("--name", default="secret", help="a label for the secret")
    create_secret.add_argument(
        "--expires-in-days", "--expires-days", type=int, help="expire after this many days (default: never)"
    )
    secret.add_parser("list", help="list a client's secrets").add_argument("--client", required=True)
    secret.add_parser("revoke", help="revoke a client secret by id").add_argument("id")
    return parser


def _entra_tenant_id(text: str) -> str:
    try:
        return str(uuid.UUID(text))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a GUID: {text!r}") from None


def main(argv: Sequence[str] | None = None) -> int:
    arguments = _parser().parse_args(argv)
    overrides: dict[str, object] = {}
    data_dir = getattr(arguments, "serve_data_dir", None) or arguments.data_dir
    if data_dir is not None:
        overrides["data_dir"] = data_dir
    if getattr(arguments, "host", None):
        overrides["host"] = arguments.host
    if getattr(arguments, "port", None):
        overrides["port"] = arguments.port
    settings = Settings(**overrides)  # type: ignore[arg-type]
    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s")
    if arguments.command == "serve":
        import uvicorn

        uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level=settings.log_level)
        return 0
    return asyncio.run(_admin(settings, arguments))


async def _admin(settings: Settings, arguments: argparse.Namespace) -> int:
    async with open_store(settings) as store:
        await store.create_indexes()
        if arguments.command == "tenant" and arguments.action == "create":
            tenant = await store.tenants.create(arguments.name)
            print(f"{tenant.id}\t{tenant.name}")
        elif arguments.command == "tenant" and arguments.action == "list":
            for tenant in await store.tenants.list():
                print(f"{tenant.id}\t{tenant.name}\t{tenant.created.isoformat()}")
        elif arguments.command == "tenant" and arguments.action == "strict-rfc":
            tenant = await store.tenants.by_name(arguments.name)
            wanted = replace(tenant.settings, strict_rfc=arguments.state == "on")
            await store.tenants.update_settings(tenant.id, wanted)
            print(f"{tenant.id}\t{tenant.name}\tstrict-rfc {arguments.state}")
        elif arguments.command == "apikey" and arguments.action == "create":
            tenant = await store.tenants.by_name(arguments.tenant)
            issued = issue(
                tenant_id=tenant.id,
                kind=CredentialKind.API_KEY,
                name=arguments.name,
                scopes=frozenset(arguments.scope),
                created=now(),
            )
            await store.credentials.add(issued.credential)
            print(issued.secret)
        elif arguments.command == "tenant" and arguments.action in ("entra-link", "entra-unlink"):
            tenant = await store.tenants.by_name(arguments.name)
            linked = getattr(arguments, "entra_tenant_id", None)
            try:
                await store.tenants.update_settings(tenant.id, replace(tenant.settings, entra_tenant_id=linked))
            except Uniqueness as error:
                print(error.message, file=sys.stderr)
                return 1
            print(f"{tenant.id}\t{tenant.name}\tentra {linked or 'unlinked'}")
        elif arguments.command == "token":
            return await _token(store, arguments)
        elif arguments.command == "oauth":
            return await _oauth(store, arguments)
    return 0


def _state(credential: Credential) -> str:
    return "revoked" if credential.revoked_at else ("active" if credential.usable_at(now()) else "expired")


async def _oauth(store: MongoStore, arguments: argparse.Namespace) -> int:
    try:
        if arguments.kind == "client" and arguments.action == "create":
            tenant = await store.tenants.by_name(arguments.tenant)
            client = new_client(
                tenant_id=tenant.id,
                name=arguments.name,
                created=now(),
                token_lifetime=timedelta(minutes=arguments.token_lifetime_minutes),
            )
            await store.oauth_clients.add(client)
            print(f"{client.id}\t{client.name}\t{arguments.token_lifetime_minutes}")
        elif arguments.kind == "client" and arguments.action == "list":
            tenant = await store.tenants.by_name(arguments.tenant)
            for client in await store.oauth_clients.list(tenant.id):
                minutes = int(client.token_lifetime.total_seconds() // 60)
                state = "active" if client.enabled else "disabled"
                print(f"{client.id}\t{client.name}\t{minutes}\t{client.created.isoformat()}\t{state}")
        elif arguments.kind == "client" and arguments.action == "federate":
            federation = Federation(
                issuer=arguments.issuer,
                subject=arguments.subject,
                audience=arguments.audience,
                jwks_url=arguments.jwks_url,
            )
            client = await store.oauth_clients.federate(arguments.id, federation)
            print(f"{client.id}\tfederated\t{federation.issuer}\t{federation.subject}")
        elif arguments.kind == "client" and arguments.action == "disable":
            client = await store.oauth_clients.disable(arguments.id, now())
            print(f"{client.id}\tdisabled")
        elif arguments.action == "create":
            client = await store.oauth_clients.get(arguments.client)
            created = now()
            days = arguments.expires_in_days
            issued = issue(
                tenant_id=client.tenant_id,
                kind=CredentialKind.OAUTH_CLIENT_SECRET,
                name=arguments.name,
                scopes=frozenset({"scim"}),
                created=created,
                expires_at=created + timedelta(days=days) if days is not None else None,
                client_id=client.id,
            )
            await store.credentials.add(issued.credential)
            print(f"{issued.credential.id}\t{issued.secret}")
        elif arguments.action == "list":
            client = await store.oauth_clients.get(arguments.client)
            kind = CredentialKind.OAUTH_CLIENT_SECRET
            for credential in await store.credentials.list(client.tenant_id, kind=kind, client_id=client.id):
                expires = credential.expires_at.isoformat() if credential.expires_at else "never"
                print(
                    f"{credential.id}\t{credential.name}\t{credential.created.isoformat()}\t{expires}\t{_state(credential)}"
                )
        elif arguments.action == "revoke":
            credential = await store.credentials.get(arguments.id)
            if credential.kind is not CredentialKind.OAUTH_CLIENT_SECRET:
                raise NotFound(f"client secret {arguments.id} not found")
            credential = await store.credentials.revoke(arguments.id, now())
            print(f"{credential.id}\trevoked")
    except (NotFound, InvalidValue) as error:
        print(error.message, file=sys.stderr)
        return 1
    return 0


async def _token(store: MongoStore, arguments: argparse.Namespace) -> int:
    try:
        if arguments.action == "create":
            tenant = await store.tenants.by_name(arguments.tenant)
            created = now()
            days = arguments.expires_in_days
            issued = issue(
                tenant_id=tenant.id,
                kind=CredentialKind.SCIM_TOKEN,
                name=arguments.name,
                scopes=frozenset({"scim"}),
                created=created,
                expires_at=created + timedelta(days=days) if days is not None else None,
            )
            await store.credentials.add(issued.credential)
            print(f"{issued.credential.id}\t{issued.secret}")
        elif arguments.action == "list":
            tenant = await store.tenants.by_name(arguments.tenant)
            for credential in await store.credentials.list(tenant.id, kind=CredentialKind.SCIM_TOKEN):
                expires = credential.expires_at.isoformat() if credential.expires_at else "never"
                print(
                    f"{credential.id}\t{credential.name}\t{credential.created.isoformat()}\t{expires}\t{_state(credential)}"
                )
        elif arguments.action == "revoke":
            credential = await store.credentials.revoke(arguments.id, now())
            print(f"{credential.id}\trevoked")
    except NotFound as error:
        print(error.message, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
