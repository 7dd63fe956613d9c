"""``identity-store schema ...``: a tenant's extension schemas (custom attributes, RFC 7643 §7).

Adding and removing are commands on the bus (``AddSchemaExtension``, ``RemoveSchemaExtension``),
recorded in the tenant's event log as the command line's. The schema file is a RFC 7643 §7
schema resource; the resource type it extends is read from its URN (``...:User``, ``...:Group``)
unless ``--extends`` names it.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from identity_service.cli.context import Admin, as_tenant, run_admin
from identity_service.cli.failures import CliError
from identity_service.cli.output import json_option, show, show_rows
from identity_store.commands import AddSchemaExtension, RemoveSchemaExtension
from identity_store.domain.extensions import SchemaExtension, schema_document
from identity_store.domain.values import JSON

__all__ = ["schema"]


def _record(extension: SchemaExtension) -> dict[str, JSON]:
    return {
        **schema_document(extension),
        "extends": extension.extends.value,
        "indexed": list(extension.indexed),
    }


def _row(extension: SchemaExtension) -> list[JSON]:
    return [
        extension.urn,
        extension.extends.value,
        extension.name,
        ",".join(a.name for a in extension.attributes),
        ",".join(extension.indexed) or "-",
    ]


def _read(path: Path) -> JSON:
    """The schema file's JSON; one line saying what is wrong with it otherwise."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise CliError(f"{path}: not UTF-8 text") from None
    try:
        document: JSON = json.loads(text)
    except json.JSONDecodeError as error:
        raise CliError(f"{path}: not JSON ({error.msg} at line {error.lineno}, column {error.colno})") from None
    except RecursionError:
        raise CliError(f"{path}: nested too deeply to be a schema") from None
    return document


@click.group()
def schema() -> None:
    """Manage a tenant's extension schemas: the custom attributes its users and groups carry."""


@schema.command("add")
@click.option("--tenant", "tenant_name", required=True)
@click.option(
    "--file",
    "path",
    required=True,
    type=click.Path(path_type=Path, dir_okay=False),
    help="a RFC 7643 §7 schema resource (JSON)",
)
@click.option(
    "--extends",
    type=click.Choice(["User", "Group"], case_sensitive=False),
    help="the resource type it extends (default: the URN's last segment)",
)
@click.option("--index", "indexed", multiple=True, metavar="ATTR", help="keep a filter index for ATTR (repeatable)")
@json_option
def add(tenant_name: str, path: Path, extends: str | None, indexed: tuple[str, ...], as_json: bool) -> None:
    """Register the schema in FILE for the tenant; its attributes are accepted from then on."""
    document = _read(path)

    async def work(admin: Admin) -> None:
        found = await admin.store.tenants.by_name(tenant_name)
        added = await admin.bus.dispatch(
            as_tenant(found.id), AddSchemaExtension(document=document, extends=extends, indexed=indexed)
        )
        show(as_json, _record(added), _row(added))

    run_admin(work)


@schema.command("list")
@click.option("--tenant", "tenant_name", required=True)
@json_option
def list_(tenant_name: str, as_json: bool) -> None:
    """List the tenant's extension schemas: URN, resource type, name, attributes, indexed ones."""

    async def work(admin: Admin) -> None:
        found = await admin.store.tenants.by_name(tenant_name)
        extensions = await admin.store.tenant(found.id).schema_extensions.all()
        show_rows(as_json, ((_record(e), _row(e)) for e in extensions))

    run_admin(work)


@schema.command("remove")
@click.option("--tenant", "tenant_name", required=True)
@click.argument("urn")
@json_option
def remove(tenant_name: str, urn: str, as_json: bool) -> None:
    """Remove the schema URN: its attributes are no longer accepted or returned (values stay stored)."""

    async def work(admin: Admin) -> None:
        found = await admin.store.tenants.by_name(tenant_name)
        removed = await admin.bus.dispatch(as_tenant(found.id), RemoveSchemaExtension(urn=urn))
        show(as_json, _record(removed), _row(removed))

    run_admin(work)
