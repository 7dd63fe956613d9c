"""``identity-store oauth client|secret ...``: OAuth clients (RFC 6749 §2) and their secrets, for
Entra ID's OAuth 2.0 client-credentials mode (README "Authentication modes")."""

from __future__ import annotations

from datetime import timedelta

import click

from identity_service.cli.context import Admin, as_tenant, run_admin
from identity_service.cli.credentials import expiry_option, issue, list_credentials, run_revoke
from identity_service.cli.output import client_record, json_option, show, show_rows, when
from identity_store.commands import CreateOAuthClient, DisableOAuthClient, FederateOAuthClient
from identity_store.domain.credentials import CredentialKind
from identity_store.domain.oauth import Federation

__all__ = ["oauth"]


@click.group()
def oauth() -> None:
    """Manage OAuth clients and their secrets."""


@oauth.group()
def client() -> None:
    """OAuth clients."""


@client.command("create")
@click.option("--tenant", "tenant_name", required=True, help="tenant name")
@click.option("--name", default="entra", show_default=True, help="a label for the client")
@click.option(
    "--token-lifetime-minutes", type=int, default=60, show_default=True, help="access-token lifetime, 60 to 360"
)
@json_option
def create_client(tenant_name: str, name: str, token_lifetime_minutes: int, as_json: bool) -> None:
    """Create a client for a tenant; prints <client id>, name, minutes."""

    async def work(admin: Admin) -> None:
        tenant = await admin.store.tenants.by_name(tenant_name)
        command = CreateOAuthClient(name=name, token_lifetime=timedelta(minutes=token_lifetime_minutes))
        created = await admin.bus.dispatch(as_tenant(tenant.id), command)
        show(as_json, client_record(created), [created.id, created.name, token_lifetime_minutes])

    run_admin(work)


@client.command("list")
@click.option("--tenant", "tenant_name", required=True, help="tenant name")
@json_option
def list_clients(tenant_name: str, as_json: bool) -> None:
    """List a tenant's clients: id, name, minutes, created, state."""

    async def work(admin: Admin) -> None:
        tenant = await admin.store.tenants.by_name(tenant_name)
        rows = []
        for found in await admin.store.oauth_clients.list(tenant.id):
            record = client_record(found)
            rows.append(
                (record, [found.id, found.name, record["tokenLifetimeMinutes"], when(found.created), record["state"]])
            )
        show_rows(as_json, rows)

    run_admin(work)


@client.command("disable")
@click.argument("client_id", metavar="ID")
@json_option
def disable_client(client_id: str, as_json: bool) -> None:
    """Disable a client; its access tokens stop working."""

    async def work(admin: Admin) -> None:
        owner = await admin.store.oauth_clients.get(client_id)
        disabled = await admin.bus.dispatch(as_tenant(owner.tenant_id), DisableOAuthClient(client_id=owner.id))
        show(as_json, client_record(disabled), [disabled.id, "disabled"])

    run_admin(work)


@client.command("federate")
@click.argument("client_id", metavar="ID")
@click.option("--issuer", required=True, help="the assertions' iss")
@click.option("--subject", required=True, help="the assertions' sub")
@click.option("--audience", required=True, help="the assertions' aud")
@click.option("--jwks-url", required=True, help="the issuer's key set")
@json_option
def federate_client(client_id: str, issuer: str, subject: str, audience: str, jwks_url: str, as_json: bool) -> None:
    """Let the client authenticate with JWT assertions (RFC 7523)."""

    async def work(admin: Admin) -> None:
        federation = Federation(issuer=issuer, subject=subject, audience=audience, jwks_url=jwks_url)
        owner = await admin.store.oauth_clients.get(client_id)
        command = FederateOAuthClient(client_id=owner.id, federation=federation)
        federated = await admin.bus.dispatch(as_tenant(owner.tenant_id), command)
        show(as_json, client_record(federated), [federated.id, "federated", issuer, subject])

    run_admin(work)


@oauth.group()
def secret() -> None:
    """Client secrets."""


@secret.command("create")
@click.option("--client", "client_id", required=True, help="client id")
@click.option("--name", default="secret", show_default=True, help="a label for the secret")
@expiry_option("--expires-in-days", "--expires-days")
@json_option
def create_secret(client_id: str, name: str, expires_in_days: int | None, as_json: bool) -> None:
    """Issue a client secret; prints <secret id> and <secret> (the secret is shown only once)."""

    async def work(admin: Admin) -> None:
        owner = await admin.store.oauth_clients.get(client_id)
        await issue(
            admin,
            tenant_id=owner.tenant_id,
            kind=CredentialKind.OAUTH_CLIENT_SECRET,
            name=name,
            scopes={"scim"},
            expires_in_days=expires_in_days,
            as_json=as_json,
            client_id=owner.id,
        )

    run_admin(work)


@secret.command("list")
@click.option("--client", "client_id", required=True, help="client id")
@json_option
def list_secrets(client_id: str, as_json: bool) -> None:
    """List a client's secrets: id, name, created, expires, state."""

    async def work(admin: Admin) -> None:
        owner = await admin.store.oauth_clients.get(client_id)
        kind = CredentialKind.OAUTH_CLIENT_SECRET
        list_credentials(as_json, await admin.store.credentials.list(owner.tenant_id, kind=kind, client_id=owner.id))

    run_admin(work)


@secret.command("revoke")
@click.argument("credential_id", metavar="ID")
@json_option
def revoke_secret(credential_id: str, as_json: bool) -> None:
    """Revoke a client secret by id (a SCIM token or API key is refused)."""
    run_revoke(credential_id, CredentialKind.OAUTH_CLIENT_SECRET, as_json=as_json)
