"""The ``identity-store`` command group: its version, the data folder, and the command groups."""

from __future__ import annotations

from pathlib import Path

import click

from identity_service.cli.activity import activity
from identity_service.cli.admins import admin
from identity_service.cli.apikeys import apikey
from identity_service.cli.context import Options
from identity_service.cli.oauth import oauth
from identity_service.cli.restores import purge, restore
from identity_service.cli.schemas import schema
from identity_service.cli.serve import serve
from identity_service.cli.tenants import tenant
from identity_service.cli.tokens import token
from identity_service.cli.transfer import export, import_
from identity_service.cli.webhooks import webhook
from identity_service.version import __version__

__all__ = ["root"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="identity-store", message="%(prog)s %(version)s")
@click.option(
    "--data-dir",
    type=click.Path(path_type=Path),
    metavar="DIR",
    help="embedded database folder (default ./data, IDENTITY_DATA_DIR)",
)
@click.pass_context
def root(context: click.Context, data_dir: Path | None) -> None:
    """The identity store service and its admin."""
    context.obj = Options(data_dir=data_dir)


for group in (serve, tenant, token, apikey, oauth, admin, export, import_, webhook, schema, activity, restore, purge):
    root.add_command(group)
