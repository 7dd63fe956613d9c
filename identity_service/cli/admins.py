"""``identity-store admin ...``: the tenant admins' credentials for the admin console (README "Admin console").

They are issued only here, at the machine: the console itself manages a tenant's other
credentials, never its admins', so a stolen console session cannot mint itself a lasting one.
"""

from __future__ import annotations

import click

from admin_console import CONSOLE_SCOPE
from identity_service.cli.credentials import expiry_option, run_issue, run_list, run_revoke
from identity_service.cli.output import json_option
from identity_store.domain.credentials import CredentialKind

__all__ = ["admin"]


@click.group()
def admin() -> None:
    """Manage tenant admins' console credentials."""


@admin.command("create")
@click.option("--tenant", "tenant_name", required=True, help="the tenant's name")
@click.option("--name", required=True, help="who the admin is (shown in the console and its event log)")
@expiry_option("--expires-in-days")
@json_option
def create(tenant_name: str, name: str, expires_in_days: int | None, as_json: bool) -> None:
    """Create a console admin credential; prints <id> and <secret> (the secret is shown only once)."""
    run_issue(
        tenant_name,
        kind=CredentialKind.CONSOLE_ADMIN,
        name=name,
        scopes={CONSOLE_SCOPE},
        expires_in_days=expires_in_days,
        as_json=as_json,
    )


@admin.command("list")
@click.option("--tenant", "tenant_name", required=True, help="the tenant's name")
@json_option
def list_(tenant_name: str, as_json: bool) -> None:
    """List a tenant's console admins: id, name, created, expires, state."""
    run_list(tenant_name, CredentialKind.CONSOLE_ADMIN, as_json=as_json)


@admin.command("revoke")
@click.argument("credential_id", metavar="ID")
@json_option
def revoke_(credential_id: str, as_json: bool) -> None:
    """Revoke a console admin credential by id; its sessions end at their next request."""
    run_revoke(credential_id, CredentialKind.CONSOLE_ADMIN, as_json=as_json)
