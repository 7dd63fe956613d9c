"""Shared fixtures: one real SecantusDB for the run, a fresh database per test, a tenant, a bus.

The database server is started by the suite itself (the same launcher the service uses for its
embedded default) on a free loopback port, and stopped when the run ends; under pytest-xdist
(``dev.py test`` runs one worker per core) each worker starts its own, in its own temporary
folder. Every test gets its own database name, so tests never see each other's data.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pymongo
import pymongo.errors
import pytest

from identity_store import Actor, CommandBus, RequestContext, Tenant
from identity_store.mongo import CommandCounter, EmbeddedDatabase, MongoStore
from identity_store.mongo.numbering import Numbering


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Slow tests first: spread over the workers from the start, they end while the short ones
    still fill the gaps, instead of one of them keeping a worker busy after the rest are done."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


@pytest.fixture(scope="session")
async def database_uri(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[str]:
    # The suite's own scratch database need not survive a crash: without the flush at commit
    # its writes are several times faster. The durability tests start their own, flushing.
    server = EmbeddedDatabase(tmp_path_factory.mktemp("secantus"), sync_on_commit=False)
    uri = await server.start()
    yield uri
    await server.stop(flush=False)


@pytest.fixture
def database_name() -> str:
    return f"test_{uuid.uuid4().hex[:12]}"


@pytest.fixture
def database_commands() -> CommandCounter:
    """Counts the database commands the store sends (see ``CommandCounter.counting``)."""
    return CommandCounter()


_SUITE_NUMBERING = (
    Numbering.SEQUENCER if os.environ.get("IDENTITY_EVENT_NUMBERING") == "sequencer" else Numbering.IN_TRANSACTION
)


@pytest.fixture
async def store(
    database_uri: str, database_name: str, database_commands: CommandCounter, request: pytest.FixtureRequest
) -> AsyncIterator[MongoStore]:
    # A slow test writes and reads tens of thousands of documents; on a busy machine's disk one of
    # its commands can take longer than the service's 10 s, which is the product's deadline to
    # test, not the disk's. Such tests get a patient store; every other test the service's own.
    patient = request.node.get_closest_marker("slow") is not None
    # A test marked ``numbering("sequencer")`` runs with its events numbered by stamping rounds;
    # IDENTITY_EVENT_NUMBERING=sequencer runs the whole suite so (the app's stores read it too).
    numbering = request.node.get_closest_marker("numbering")
    store = MongoStore(
        database_uri,
        database_name,
        listeners=[database_commands],
        operation_timeout_seconds=120 if patient else 10,
        numbering=Numbering(numbering.args[0]) if numbering is not None else _SUITE_NUMBERING,
    )
    try:
        await store.create_indexes()
        yield store
        # A slow test's tens of thousands of documents take the server ten seconds to drop; its
        # database is left instead, and goes with the server's folder when the run ends.
        if not patient:
            await _drop(store, database_name)
    finally:
        await store.close()


async def _drop(store: MongoStore, name: str) -> None:
    """Drop a test's database; once more when the busy test server dropped the connection (the
    driver cancels what was in flight when a heartbeat times out under load)."""
    for attempt in range(3):
        try:
            with pymongo.timeout(300):  # dropping a large test data set takes longer than a request may
                await store.client.drop_database(name)
            return
        except pymongo.errors.AutoReconnect:
            if attempt == 2:
                raise


@pytest.fixture
async def tenant(store: MongoStore) -> Tenant:
    return await store.tenants.create("acme")


@pytest.fixture
def bus(store: MongoStore) -> CommandBus:
    return CommandBus(store)


@pytest.fixture
def context(tenant: Tenant) -> RequestContext:
    return RequestContext(
        tenant_id=tenant.id, actor=Actor(credential_id="test-credential", kind="test"), correlation_id="req-1"
    )


@pytest.fixture
def project_root() -> Path:
    return Path(__file__).resolve().parent.parent
