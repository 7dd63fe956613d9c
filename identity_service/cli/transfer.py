"""``identity-store export`` and ``import``: a tenant to and from a JSON-lines file (README
"Backup, restore and upgrades"); the format is :mod:`identity_store.mongo.transfer`'s."""

from __future__ import annotations

import sys

import click

from identity_service.cli.context import Admin, run_admin
from identity_store.mongo.transfer import export_tenant, import_tenant

__all__ = ["export", "import_"]


def _summary(counts: dict[str, int]) -> str:
    return ", ".join(f"{count} {collection.replace('_', ' ')}" for collection, count in counts.items())


@click.command("export")
@click.option("--tenant", "tenant_name", required=True, help="the tenant's name")
@click.option(
    "--with-credentials",
    is_flag=True,
    help="also the OAuth clients and the credentials (their digests; secrets are never stored)",
)
def export(tenant_name: str, with_credentials: bool) -> None:
    """Write the tenant to stdout, one JSON object per line (> tenant.jsonl)."""

    async def work(admin: Admin) -> None:
        # Events a stopped process left pending are numbered first: the export holds the log whole.
        await admin.store.number_pending()
        exported = await export_tenant(
            admin.store.database, tenant_name, sys.stdout.write, with_credentials=with_credentials
        )
        sys.stdout.flush()
        click.echo(f"exported {tenant_name}: {_summary(exported.counts)}", err=True)

    run_admin(work, bulk=True)


@click.command("import")
@click.option("--tenant", "tenant_name", required=True, help="the tenant's name (new, or one with no resources)")
def import_(tenant_name: str) -> None:
    """Read a tenant export from stdin (< tenant.jsonl) into a new or empty tenant."""

    async def work(admin: Admin) -> None:
        imported = await import_tenant(admin.store.database, tenant_name, sys.stdin)
        click.echo(f"imported {tenant_name}\t{imported.tenant_id}\t{_summary(imported.counts)}")

    run_admin(work, bulk=True)
