"""The ``identity-store`` command line: ``serve``, and the admin commands for tenants, SCIM tokens,
API keys, OAuth clients and their secrets.

Every admin change is a domain command sent through the same :class:`~identity_store.CommandBus`
as SCIM and GraphQL, so each one is checked by its handler and recorded in the tenant's event log
(as the command line, ``actor.kind`` ``cli``). Listing reads the store directly. This module
builds on :mod:`identity_service.app`; nothing in the package imports it.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import uuid
from collections.abc import Iterable, Sequence
from datetime import timedelta
from pathlib import Path

from graphql_api import Scope
from identity_service.app import create_app
from identity_service.database import open_store
from identity_service.settings import Settings, server_limits
from identity_store import CommandBus, DomainError, RequestContext
from identity_store.bootstrap import bootstrap
from identity_store.commands import (
    CreateOAuthClient,
    CreateTenant,
    DisableOAuthClient,
    FederateOAuthClient,
    IssueCredential,
    LinkEntraTenant,
    RevokeCredential,
    SetStrictRfc,
    UnlinkEntraTenant,
)
from identity_store.domain.credentials import Credential, CredentialKind
from identity_store.domain.oauth import Federation
from identity_store.domain.resources import new_id, now
from identity_store.events import Actor
from identity_store.mongo import MongoStore

__all__ = ["main", "run"]

#: Who the command line's changes are recorded as: the operator at the machine, no credential.
CLI_ACTOR = Actor(credential_id=None, kind="cli")


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
    """The ``identity-store`` console script (also ``python -m identity_service``)."""
    return run(argv)


def run(argv: Sequence[str] | None = None) -> int:
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

        from identity_service.http_server import server_config

        config = server_config(
            create_app(settings),
            host=settings.host,
            port=settings.port,
            log_level=settings.log_level,
            limits=server_limits(settings),
        )
        uvicorn.Server(config).run()
        return 0
    return asyncio.run(_admin(settings, arguments))


def _as(tenant_id: str) -> RequestContext:
    return RequestContext(tenant_id=tenant_id, actor=CLI_ACTOR)


async def _admin(settings: Settings, arguments: argparse.Namespace) -> int:
    async with open_store(settings) as store:
        await store.create_indexes()
        bus = bootstrap(store)
        try:
            if arguments.command == "tenant":
                await _tenant(store, bus, arguments)
            elif arguments.command == "apikey":
                tenant = await store.tenants.by_name(arguments.tenant)
                issue = IssueCredential(
                    kind=CredentialKind.API_KEY, name=arguments.name, scopes=frozenset(arguments.scope)
                )
                print((await bus.dispatch(_as(tenant.id), issue)).secret)
            elif arguments.command == "token":
                await _token(store, bus, arguments)
            elif arguments.command == "oauth":
                await _oauth(store, bus, arguments)
        except DomainError as error:  # an unknown name or id, a taken name, a value out of bounds
            print(error.message, file=sys.stderr)
            return 1
    return 0


async def _tenant(store: MongoStore, bus: CommandBus, arguments: argparse.Namespace) -> None:
    if arguments.action == "create":
        tenant = await bus.dispatch(_as(new_id()), CreateTenant(name=arguments.name))
        print(f"{tenant.id}\t{tenant.name}")
    elif arguments.action == "list":
        for tenant in await store.tenants.list():
            print(f"{tenant.id}\t{tenant.name}\t{tenant.created.isoformat()}")
    elif arguments.action == "strict-rfc":
        tenant = await store.tenants.by_name(arguments.name)
        await bus.dispatch(_as(tenant.id), SetStrictRfc(strict_rfc=arguments.state == "on"))
        print(f"{tenant.id}\t{tenant.name}\tstrict-rfc {arguments.state}")
    elif arguments.action == "entra-link":
        tenant = await store.tenants.by_name(arguments.name)
        await bus.dispatch(_as(tenant.id), LinkEntraTenant(entra_tenant_id=arguments.entra_tenant_id))
        print(f"{tenant.id}\t{tenant.name}\tentra {arguments.entra_tenant_id}")
    elif arguments.action == "entra-unlink":
        tenant = await store.tenants.by_name(arguments.name)
        await bus.dispatch(_as(tenant.id), UnlinkEntraTenant())
        print(f"{tenant.id}\t{tenant.name}\tentra unlinked")


def _state(credential: Credential) -> str:
    return "revoked" if credential.revoked_at else ("active" if credential.usable_at(now()) else "expired")


async def _issue_secret(
    bus: CommandBus,
    tenant_id: str,
    kind: CredentialKind,
    arguments: argparse.Namespace,
    *,
    client_id: str | None = None,
) -> None:
    """Issue a SCIM token or client secret (``--name``, ``--expires-in-days``); print its id and
    secret, the only time the secret is shown."""
    days = arguments.expires_in_days
    command = IssueCredential(
        kind=kind,
        name=arguments.name,
        scopes=frozenset({"scim"}),
        lifetime=timedelta(days=days) if days is not None else None,
        client_id=client_id,
    )
    issued = await bus.dispatch(_as(tenant_id), command)
    print(f"{issued.credential.id}\t{issued.secret}")


def _print_credentials(credentials: Iterable[Credential]) -> None:
    for credential in credentials:
        expires = credential.expires_at.isoformat() if credential.expires_at else "never"
        print(f"{credential.id}\t{credential.name}\t{credential.created.isoformat()}\t{expires}\t{_state(credential)}")


async def _oauth(store: MongoStore, bus: CommandBus, arguments: argparse.Namespace) -> None:
    if arguments.kind == "client" and arguments.action == "create":
        tenant = await store.tenants.by_name(arguments.tenant)
        lifetime = timedelta(minutes=arguments.token_lifetime_minutes)
        client = await bus.dispatch(_as(tenant.id), CreateOAuthClient(name=arguments.name, token_lifetime=lifetime))
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
        owner = await store.oauth_clients.get(arguments.id)
        client = await bus.dispatch(
            _as(owner.tenant_id), FederateOAuthClient(client_id=owner.id, federation=federation)
        )
        print(f"{client.id}\tfederated\t{federation.issuer}\t{federation.subject}")
    elif arguments.kind == "client" and arguments.action == "disable":
        owner = await store.oauth_clients.get(arguments.id)
        client = await bus.dispatch(_as(owner.tenant_id), DisableOAuthClient(client_id=owner.id))
        print(f"{client.id}\tdisabled")
    elif arguments.action == "create":
        client = await store.oauth_clients.get(arguments.client)
        kind = CredentialKind.OAUTH_CLIENT_SECRET
        await _issue_secret(bus, client.tenant_id, kind, arguments, client_id=client.id)
    elif arguments.action == "list":
        client = await store.oauth_clients.get(arguments.client)
        kind = CredentialKind.OAUTH_CLIENT_SECRET
        _print_credentials(await store.credentials.list(client.tenant_id, kind=kind, client_id=client.id))
    elif arguments.action == "revoke":
        credential = await store.credentials.get(arguments.id)
        revoke = RevokeCredential(credential_id=credential.id, kind=CredentialKind.OAUTH_CLIENT_SECRET)
        await bus.dispatch(_as(credential.tenant_id), revoke)
        print(f"{credential.id}\trevoked")


async def _token(store: MongoStore, bus: CommandBus, arguments: argparse.Namespace) -> None:
    if arguments.action == "create":
        tenant = await store.tenants.by_name(arguments.tenant)
        await _issue_secret(bus, tenant.id, CredentialKind.SCIM_TOKEN, arguments)
    elif arguments.action == "list":
        tenant = await store.tenants.by_name(arguments.tenant)
        _print_credentials(await store.credentials.list(tenant.id, kind=CredentialKind.SCIM_TOKEN))
    elif arguments.action == "revoke":
        credential = await store.credentials.get(arguments.id)
        await bus.dispatch(_as(credential.tenant_id), RevokeCredential(credential_id=credential.id))
        print(f"{credential.id}\trevoked")
