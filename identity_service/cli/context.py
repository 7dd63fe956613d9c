"""What every command shares: the settings (environment and options), and, for the admin
commands, the store and the command bus they act through, as the command line's actor."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path

import click

from identity_service.cli.failures import CliError
from identity_service.cli.logs import logging_for_admin
from identity_service.database import open_store
from identity_service.settings import Settings
from identity_service.webhook_policy import webhook_policy
from identity_store import CommandBus, RequestContext
from identity_store.bootstrap import bootstrap
from identity_store.events import Actor
from identity_store.mongo import MongoStore

__all__ = ["CLI_ACTOR", "Admin", "Options", "as_tenant", "load_settings", "run_admin"]

#: Who the command line's changes are recorded as: the operator at the machine, no credential.
CLI_ACTOR = Actor(credential_id=None, kind="cli")


@dataclass(frozen=True, slots=True, kw_only=True)
class Options:
    """The root group's options, kept on click's context for the commands below it."""

    data_dir: Path | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Admin:
    """The store (for reads) and the bus (for every change) of one admin command."""

    store: MongoStore
    bus: CommandBus


def as_tenant(tenant_id: str) -> RequestContext:
    """The context of a change the command line makes in ``tenant_id``."""
    return RequestContext(tenant_id=tenant_id, actor=CLI_ACTOR)


def load_settings(**overrides: object) -> Settings:
    """The environment's settings with the command line's overrides (``None``: not given).

    An invalid variable raises pydantic's ValidationError, which becomes one line naming it.
    """
    options = click.get_current_context().find_object(Options) or Options()
    given = {name: value for name, value in overrides.items() if value is not None}
    if "data_dir" not in given and options.data_dir is not None:
        given["data_dir"] = options.data_dir
    settings = Settings(**given)  # type: ignore[arg-type]  # pydantic checks the values
    if settings.mongodb_uri is None and settings.data_dir.exists() and not settings.data_dir.is_dir():
        raise CliError(f"the data folder {settings.data_dir} is a file, not a folder (IDENTITY_DATA_DIR, --data-dir)")
    return settings


#: For a command that reads or writes a whole tenant: the database may be busy for longer than
#: a request may wait, and an export is not a request (its driver connects, and so its heartbeats
#: wait, this long before the server counts as gone; each command may take the second figure).
_BULK_UNREACHABLE_SECONDS = 10.0
_BULK_COMMAND_SECONDS = 600.0


def run_admin(work: Callable[[Admin], Awaitable[None]], *, bulk: bool = False) -> None:
    """Open the store (the running service's embedded server, or MONGODB_URI), run ``work``
    with it and the bus, and close it; errors propagate to be rendered as one line. ``bulk``:
    the work reads or writes a whole tenant (export, import), so it gets patient deadlines."""
    settings = load_settings()
    if bulk:
        settings = settings.model_copy(
            update={
                "database_unreachable_seconds": max(settings.database_unreachable_seconds, _BULK_UNREACHABLE_SECONDS),
                "database_timeout_seconds": max(settings.database_timeout_seconds, _BULK_COMMAND_SECONDS),
            }
        )
    with logging_for_admin(settings.log_level):
        asyncio.run(_admin(settings, work))


async def _admin(settings: Settings, work: Callable[[Admin], Awaitable[None]]) -> None:
    async with AsyncExitStack() as stack:
        try:
            store = await stack.enter_async_context(open_store(settings))
        except Exception as error:
            if settings.mongodb_uri is None:
                raise
            # Nothing is sent before the first command: what fails here is the URI itself
            # (the driver's InvalidURI, a port out of range), which the driver says in one line.
            raise CliError(f"MONGODB_URI: {error}") from error
        await store.create_indexes()
        await work(Admin(store=store, bus=bootstrap(store, webhook_urls=webhook_policy(settings).rules)))
