"""Where the store lives: ``MONGODB_URI``, or the embedded SecantusDB started, supervised and stopped here."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass

from identity_service.settings import Settings
from identity_store.mongo import CommandListener, EmbeddedDatabase, MongoStore
from identity_store.mongo.numbering import Numbering
from identity_store.mongo.supervisor import Supervisor

__all__ = ["Database", "connect_store", "numbering_of", "open_database", "open_store"]

log = logging.getLogger("identity_store.app")


@dataclass(frozen=True, slots=True, kw_only=True)
class Database:
    """Where the store connects, and the supervisor of the embedded database when it runs one."""

    uri: str
    supervisor: Supervisor | None = None


@asynccontextmanager
async def open_database(settings: Settings, *, attach: bool = False) -> AsyncIterator[Database]:
    """MONGODB_URI, or the embedded database: started, kept running, and stopped afterwards.

    The embedded database is supervised (restarted when it dies, see
    :mod:`identity_store.mongo.supervisor`) when this process started it; a server another
    process runs for the same folder (the service's, seen from the CLI) is that process's to keep.
    On the way out the supervisor stops first, so stopping the database is never taken for a death.
    """
    if settings.mongodb_uri is not None:
        log.info("database: MongoDB from MONGODB_URI, database %r", settings.database)
        yield Database(uri=settings.mongodb_uri)
        return
    embedded = EmbeddedDatabase(settings.data_dir.resolve(), attach=attach)
    uri = await embedded.start()
    log.info("database: embedded SecantusDB at %s (data in %s)", uri, settings.data_dir)
    supervisor = Supervisor(database=embedded) if embedded.owned else None
    try:
        if supervisor is not None:
            supervisor.start()
        yield Database(uri=uri, supervisor=supervisor)
    finally:
        if supervisor is not None:
            await supervisor.stop()
        await embedded.stop()


@asynccontextmanager
async def open_store(settings: Settings, listeners: Sequence[CommandListener] = ()) -> AsyncIterator[MongoStore]:
    """The store on MONGODB_URI, or on the embedded database (see :func:`open_database`), for a
    command: it uses the server the service runs for the folder when there is one."""
    async with open_database(settings, attach=True) as database:
        store = connect_store(settings, database.uri, listeners)
        try:
            yield store
        finally:
            await store.close()


def connect_store(settings: Settings, uri: str, listeners: Sequence[CommandListener] = ()) -> MongoStore:
    """The store on ``uri`` with the settings' database name and deadlines (closed by the caller)."""
    return MongoStore(
        uri,
        settings.database,
        unreachable_seconds=settings.database_unreachable_seconds,
        operation_timeout_seconds=settings.database_timeout_seconds,
        listeners=listeners,
        numbering=numbering_of(settings),
    )


def numbering_of(settings: Settings) -> Numbering:
    """How the settings say events are numbered. ``auto``: by a sequencer when several workers
    write to MongoDB, which runs their transactions side by side; in the transaction otherwise.
    The embedded database runs one command at a time and its updates cost more than its inserts,
    so there a round costs what the writes it numbers cost: two workers made 255 creates/s
    numbering in their transactions, 124 with rounds (benchmarks/RESULTS.md)."""
    if settings.event_numbering == "auto":
        several = settings.workers > 1 and settings.mongodb_uri is not None
        return Numbering.SEQUENCER if several else Numbering.IN_TRANSACTION
    return Numbering(settings.event_numbering)
