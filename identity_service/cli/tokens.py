"""``identity-store token ...``: the SCIM bearer tokens Entra ID presents (README "SCIM")."""

from __future__ import annotations

import click

from identity_service.cli.credentials import expiry_option, run_issue, run_list, run_revoke
from identity_service.cli.output import json_option
from identity_store.domain.credentials import CredentialKind

__all__ = ["token"]


@click.group()
def token() -> None:
    """Manage SCIM bearer tokens."""


@token.command("create")
@click.option("--tenant", "tenant_name", required=True, help="tenant name")
@click.option("--name", default="scim", show_default=True, help="a label for the token")
@expiry_option("--expires-in-days")
@json_option
def create(tenant_name: str, name: str, expires_in_days: int | None, as_json: bool) -> None:
    """Issue a token; prints <id> and <secret> (the secret is shown only once)."""
    run_issue(
        tenant_name,
        kind=CredentialKind.SCIM_TOKEN,
        name=name,
        scopes={"scim"},
        expires_in_days=expires_in_days,
        as_json=as_json,
    )


@token.command("list")
@click.option("--tenant", "tenant_name", required=True, help="tenant name")
@json_option
def list_(tenant_name: str, as_json: bool) -> None:
    """List a tenant's tokens: id, name, created, expires, state."""
    run_list(tenant_name, CredentialKind.SCIM_TOKEN, as_json=as_json)


@token.command("revoke")
@click.argument("credential_id", metavar="ID")
@json_option
def revoke_(credential_id: str, as_json: bool) -> None:
    """Revoke a SCIM token by id (an API key or client secret is refused)."""
    run_revoke(credential_id, CredentialKind.SCIM_TOKEN, as_json=as_json)
