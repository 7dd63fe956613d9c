"""What a command prints: tab-separated lines for a person, or with ``--json`` one JSON object or
array for a script; and the records both are made from (a secret appears only where it is issued)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any, TypeVar

import click

from identity_store.domain.credentials import Credential
from identity_store.domain.oauth import OAuthClient
from identity_store.domain.resources import now
from identity_store.domain.tenants import Tenant
from identity_store.domain.values import JSON

__all__ = [
    "client_record",
    "credential_record",
    "credential_state",
    "json_option",
    "show",
    "show_rows",
    "tenant_record",
    "when",
]

F = TypeVar("F", bound=Callable[..., Any])


def json_option(command: F) -> F:
    """``--json``: print one JSON value on stdout instead of tab-separated lines."""
    return click.option("--json", "as_json", is_flag=True, help="print one JSON value, for scripts")(command)


def show(as_json: bool, record: dict[str, JSON], fields: Sequence[JSON]) -> None:
    """One result: ``record`` as JSON, or ``fields`` as one tab-separated line."""
    click.echo(json.dumps(record) if as_json else _line(fields))


def show_rows(as_json: bool, rows: Iterable[tuple[dict[str, JSON], Sequence[JSON]]]) -> None:
    """A listing: a JSON array of the records, or a line of fields for each."""
    listed = list(rows)
    if as_json:
        click.echo(json.dumps([record for record, _ in listed]))
        return
    for _, fields in listed:
        click.echo(_line(fields))


def _line(fields: Sequence[JSON]) -> str:
    return "\t".join("" if field is None else str(field) for field in fields)


def when(at: datetime | None) -> str | None:
    return at.isoformat() if at is not None else None


def tenant_record(tenant: Tenant) -> dict[str, JSON]:
    return {
        "id": tenant.id,
        "name": tenant.name,
        "created": when(tenant.created),
        "strictRfc": tenant.settings.strict_rfc,
        "entraTenantId": tenant.settings.entra_tenant_id,
        "deletedRetentionDays": tenant.settings.deleted_retention_days,
    }


def credential_state(credential: Credential) -> str:
    if credential.revoked_at is not None:
        return "revoked"
    return "active" if credential.usable_at(now()) else "expired"


def credential_record(credential: Credential) -> dict[str, JSON]:
    """A credential as listed: never its secret nor the secret's digest."""
    record: dict[str, JSON] = {
        "id": credential.id,
        "kind": credential.kind.value,
        "name": credential.name,
        "scopes": list[JSON](sorted(credential.scopes)),
        "created": when(credential.created),
        "expires": when(credential.expires_at),
        "revoked": when(credential.revoked_at),
        "state": credential_state(credential),
    }
    if credential.client_id is not None:
        record["client"] = credential.client_id
    return record


def client_record(client: OAuthClient) -> dict[str, JSON]:
    federation = client.federation
    return {
        "id": client.id,
        "name": client.name,
        "tokenLifetimeMinutes": int(client.token_lifetime.total_seconds() // 60),
        "created": when(client.created),
        "state": "active" if client.enabled else "disabled",
        "federation": None
        if federation is None
        else {
            "issuer": federation.issuer,
            "subject": federation.subject,
            "audience": federation.audience,
            "jwksUrl": federation.jwks_url,
        },
    }
