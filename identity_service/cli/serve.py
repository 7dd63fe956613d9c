"""``identity-store serve``: the HTTP service under uvicorn, refusing a bad start in one line.

What would otherwise fail inside the server (a port out of range, a signing key that cannot be
read or used, a data folder that is a file) is checked before uvicorn starts. With ``--workers``
above 1 the service runs as that many processes on one socket (:mod:`identity_service.workers`).
"""

from __future__ import annotations

from pathlib import Path

import click

from identity_service.cli.context import load_settings
from identity_service.cli.failures import CliError
from identity_service.cli.logs import log_for_service
from identity_service.settings import server_limits

__all__ = ["serve"]

_PORTS = click.IntRange(0, 65535)


@click.command()
@click.option("--host", help="address to bind (default 127.0.0.1, IDENTITY_HOST)")
@click.option("--port", type=_PORTS, help="port to bind (default 8000, IDENTITY_PORT)")
@click.option("--data-dir", type=click.Path(path_type=Path), metavar="DIR", help="embedded database folder")
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    metavar="N",
    help="service processes on the one port (default 1, IDENTITY_WORKERS)",
)
def serve(host: str | None, port: int | None, data_dir: Path | None, workers: int | None) -> None:
    """Run the HTTP service (SCIM, GraphQL, the token endpoint)."""
    from identity_service.app import create_app
    from identity_service.http_server import run, server_config
    from identity_service.workers import WorkersFailedToStart, run_workers

    settings = load_settings(host=host or None, port=port, data_dir=data_dir, workers=workers)
    if not 0 <= settings.port <= 65535:
        raise CliError(f"bad setting: IDENTITY_PORT: {settings.port} is not a port (0 to 65535)")
    log_for_service(settings.log_level)
    # Built here with several workers too, and then only as the check: a bad key is refused in one
    # line before any worker starts, and the key generated beside the data exists before they read it.
    try:
        app = create_app(settings)
    except OSError as error:  # the configured key file, or the generated one beside the data
        raise CliError(f"the OAuth signing key: cannot read {error.filename}: {error.strerror}") from error
    except ValueError as error:  # the key is read but is no usable PEM private key
        raise CliError(f"the OAuth signing key (IDENTITY_OAUTH_SIGNING_KEY): {error}") from error
    if settings.workers > 1:
        try:
            run_workers(settings)
        except WorkersFailedToStart:
            raise CliError("a worker failed to start, so the service stopped; its log lines say why") from None
        return
    config = server_config(
        app, host=settings.host, port=settings.port, log_level=settings.log_level, limits=server_limits(settings)
    )
    run(config)
