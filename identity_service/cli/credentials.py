"""What SCIM tokens, API keys, client secrets and console admins share on the command line:
issuing one (its id and secret printed once), listing them, and revoking one of the right kind
through the bus; ``run_...``, each as a whole command for a kind issued in a tenant by name."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import timedelta
from typing import Any, TypeVar

import click

from identity_service.cli.context import Admin, as_tenant, run_admin
from identity_service.cli.output import credential_record, credential_state, show, show_rows, when
from identity_store import NotFound
from identity_store.commands import IssueCredential, RevokeCredential
from identity_store.domain.credentials import Credential, CredentialKind
from identity_store.domain.values import JSON

F = TypeVar("F", bound=Callable[..., Any])

__all__ = ["KIND_NAMES", "expiry_option", "issue", "list_credentials", "revoke", "run_issue", "run_list", "run_revoke"]

#: How a person calls each kind, in the command line's messages.
KIND_NAMES = {
    CredentialKind.SCIM_TOKEN: "SCIM token",
    CredentialKind.API_KEY: "API key",
    CredentialKind.OAUTH_CLIENT_SECRET: "client secret",
    CredentialKind.CONSOLE_ADMIN: "console admin credential",
}


def expiry_option(*names: str) -> Callable[[F], F]:
    """``--expires-in-days N``: a positive number of days (default: never)."""
    return click.option(
        *names, "expires_in_days", type=click.IntRange(min=1), help="expire after this many days (default: never)"
    )


async def issue(
    admin: Admin,
    *,
    tenant_id: str,
    kind: CredentialKind,
    name: str,
    scopes: Iterable[str],
    expires_in_days: int | None,
    as_json: bool,
    client_id: str | None = None,
) -> None:
    """Issue the credential; print ``<id>\\t<secret>``, the only time the secret is shown."""
    command = IssueCredential(
        kind=kind,
        name=name,
        scopes=frozenset(scopes),
        lifetime=timedelta(days=expires_in_days) if expires_in_days is not None else None,
        client_id=client_id,
    )
    issued = await admin.bus.dispatch(as_tenant(tenant_id), command)
    record = credential_record(issued.credential) | {"secret": issued.secret}
    show(as_json, record, [issued.credential.id, issued.secret])


def list_credentials(as_json: bool, credentials: Iterable[Credential], *, with_scopes: bool = False) -> None:
    """id, name, (scopes,) created, expires, state; JSON: every field but the secret."""

    def fields(credential: Credential) -> list[JSON]:
        scopes: list[JSON] = [",".join(sorted(credential.scopes))] if with_scopes else []
        expires = when(credential.expires_at) or "never"
        return [
            credential.id,
            credential.name,
            *scopes,
            when(credential.created),
            expires,
            credential_state(credential),
        ]

    show_rows(as_json, ((credential_record(c), fields(c)) for c in credentials))


async def revoke(admin: Admin, credential_id: str, kind: CredentialKind, *, as_json: bool) -> None:
    """Revoke the credential if it is of ``kind`` (another kind is not found, and stays as it is)."""
    try:
        credential = await admin.store.credentials.get(credential_id)
    except NotFound:
        raise NotFound(f"{KIND_NAMES[kind]} {credential_id} not found") from None
    revoked = await admin.bus.dispatch(
        as_tenant(credential.tenant_id), RevokeCredential(credential_id=credential.id, kind=kind)
    )
    show(as_json, credential_record(revoked), [revoked.id, "revoked"])


def run_issue(
    tenant_name: str,
    *,
    kind: CredentialKind,
    name: str,
    scopes: Iterable[str],
    expires_in_days: int | None,
    as_json: bool,
) -> None:
    """``create``: issue a credential of ``kind`` in the tenant named ``tenant_name``."""

    async def work(admin: Admin) -> None:
        tenant = await admin.store.tenants.by_name(tenant_name)
        await issue(
            admin,
            tenant_id=tenant.id,
            kind=kind,
            name=name,
            scopes=scopes,
            expires_in_days=expires_in_days,
            as_json=as_json,
        )

    run_admin(work)


def run_list(tenant_name: str, kind: CredentialKind, *, as_json: bool, with_scopes: bool = False) -> None:
    """``list``: the credentials of ``kind`` in the tenant named ``tenant_name``."""

    async def work(admin: Admin) -> None:
        tenant = await admin.store.tenants.by_name(tenant_name)
        credentials = await admin.store.credentials.list(tenant.id, kind=kind)
        list_credentials(as_json, credentials, with_scopes=with_scopes)

    run_admin(work)


def run_revoke(credential_id: str, kind: CredentialKind, *, as_json: bool) -> None:
    """``revoke``: the credential ``credential_id``, if it is of ``kind``."""

    async def work(admin: Admin) -> None:
        await revoke(admin, credential_id, kind, as_json=as_json)

    run_admin(work)
