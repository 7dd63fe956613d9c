"""``identity-store tenant ...``: create and list tenants, and change their settings."""

from __future__ import annotations

import uuid

import click

from identity_service.cli.context import Admin, as_tenant, run_admin
from identity_service.cli.output import json_option, show, show_rows, tenant_record, when
from identity_store.commands import CreateTenant, LinkEntraTenant, SetDeletedRetention, SetStrictRfc, UnlinkEntraTenant
from identity_store.domain.resources import new_id

__all__ = ["tenant"]


def _named(context: click.Context, parameter: click.Parameter, value: str) -> str:
    """A tenant name with something in it, refused before the database is opened."""
    if not value.strip():
        raise click.BadParameter("a tenant needs a name (not empty, not only spaces)")
    return value


def _guid(context: click.Context, parameter: click.Parameter, value: str) -> str:
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise click.BadParameter(f"not a GUID: {value!r}") from None


@click.group()
def tenant() -> None:
    """Manage tenants."""


@tenant.command("create")
@click.argument("name", callback=_named)
@json_option
def create(name: str, as_json: bool) -> None:
    """Create a tenant (names are unique, regardless of case)."""

    async def work(admin: Admin) -> None:
        created = await admin.bus.dispatch(as_tenant(new_id()), CreateTenant(name=name))
        show(as_json, tenant_record(created), [created.id, created.name])

    run_admin(work)


@tenant.command("list")
@json_option
def list_(as_json: bool) -> None:
    """List tenants: id, name, created."""

    async def work(admin: Admin) -> None:
        tenants = await admin.store.tenants.list()
        show_rows(as_json, ((tenant_record(t), [t.id, t.name, when(t.created)]) for t in tenants))

    run_admin(work)


@tenant.command("strict-rfc")
@click.argument("name")
@click.argument("state", type=click.Choice(["on", "off"]))
@json_option
def strict_rfc(name: str, state: str, as_json: bool) -> None:
    """Turn the tenant's strict RFC 7644 behaviour on or off (off: Entra ID's habits are accepted)."""

    async def work(admin: Admin) -> None:
        found = await admin.store.tenants.by_name(name)
        changed = await admin.bus.dispatch(as_tenant(found.id), SetStrictRfc(strict_rfc=state == "on"))
        show(as_json, tenant_record(changed), [changed.id, changed.name, f"strict-rfc {state}"])

    run_admin(work)


@tenant.command("deleted-retention")
@click.argument("name")
@click.argument("days", type=click.IntRange(0, 3650), required=False)
@json_option
def deleted_retention(name: str, days: int | None, as_json: bool) -> None:
    """How many days the tenant's deleted users and groups stay restorable (no DAYS: the service's default)."""

    async def work(admin: Admin) -> None:
        found = await admin.store.tenants.by_name(name)
        changed = await admin.bus.dispatch(as_tenant(found.id), SetDeletedRetention(days=days))
        said = "default" if days is None else f"{days} days"
        show(as_json, tenant_record(changed), [changed.id, changed.name, f"deleted-retention {said}"])

    run_admin(work)


@tenant.command("entra-link")
@click.argument("name")
@click.option("--entra-tenant-id", required=True, callback=_guid, help="the Entra tenant id (GUID)")
@json_option
def entra_link(name: str, entra_tenant_id: str, as_json: bool) -> None:
    """Accept the JWTs Entra ID issues for this Entra tenant."""

    async def work(admin: Admin) -> None:
        found = await admin.store.tenants.by_name(name)
        changed = await admin.bus.dispatch(as_tenant(found.id), LinkEntraTenant(entra_tenant_id=entra_tenant_id))
        show(as_json, tenant_record(changed), [changed.id, changed.name, f"entra {entra_tenant_id}"])

    run_admin(work)


@tenant.command("entra-unlink")
@click.argument("name")
@json_option
def entra_unlink(name: str, as_json: bool) -> None:
    """Stop accepting Entra-issued JWTs for the tenant."""

    async def work(admin: Admin) -> None:
        found = await admin.store.tenants.by_name(name)
        changed = await admin.bus.dispatch(as_tenant(found.id), UnlinkEntraTenant())
        show(as_json, tenant_record(changed), [changed.id, changed.name, "entra unlinked"])

    run_admin(work)
