"""``identity-store apikey ...``: the GraphQL API keys internal services present (README "GraphQL")."""

from __future__ import annotations

import click

from graphql_api import Scope
from identity_service.cli.credentials import expiry_option, run_issue, run_list, run_revoke
from identity_service.cli.output import json_option
from identity_store.domain.credentials import CredentialKind
from ssf_transmitter import SSF_MANAGE_SCOPE

__all__ = ["apikey"]


@click.group()
def apikey() -> None:
    """Manage GraphQL API keys."""


@apikey.command("create")
@click.option("--tenant", "tenant_name", required=True, help="the tenant's name")
@click.option("--name", default="graphql", show_default=True, help="what the key is for")
@click.option(
    "--scope",
    "scopes",
    multiple=True,
    required=True,
    # ssf:manage: a Shared Signals receiver's key (manages its tenant's streams and polls them).
    type=click.Choice([*(s.value for s in Scope), SSF_MANAGE_SCOPE]),
    help="repeat for each scope",
)
@expiry_option("--expires-in-days")
@json_option
def create(tenant_name: str, name: str, scopes: tuple[str, ...], expires_in_days: int | None, as_json: bool) -> None:
    """Create an API key; prints <id> and <secret> (the secret is shown only once)."""
    run_issue(
        tenant_name,
        kind=CredentialKind.API_KEY,
        name=name,
        scopes=scopes,
        expires_in_days=expires_in_days,
        as_json=as_json,
    )


@apikey.command("list")
@click.option("--tenant", "tenant_name", required=True, help="the tenant's name")
@json_option
def list_(tenant_name: str, as_json: bool) -> None:
    """List a tenant's API keys: id, name, scopes, created, expires, state."""
    run_list(tenant_name, CredentialKind.API_KEY, as_json=as_json, with_scopes=True)


@apikey.command("revoke")
@click.argument("credential_id", metavar="ID")
@json_option
def revoke_(credential_id: str, as_json: bool) -> None:
    """Revoke an API key by id (a SCIM token or client secret is refused)."""
    run_revoke(credential_id, CredentialKind.API_KEY, as_json=as_json)
