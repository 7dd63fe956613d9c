"""Who numbers a write's events follows IDENTITY_EVENT_NUMBERING, ``auto`` follows the server, and
what a stopped process left pending is numbered by the next service and before an export."""

from __future__ import annotations

import asyncio
import json

import pytest
from pymongo.errors import AutoReconnect

from identity_service.app import create_app
from identity_service.cli import run
from identity_service.database import numbering_of
from identity_service.settings import Settings
from identity_store import CommandBus, CreateUser, RequestContext, Tenant
from identity_store.mongo import MongoStore
from identity_store.mongo.numbering import Numbering
from identity_store.mongo.stamps import Stamper
from tests.servers import serve_in_thread

MONGODB = "mongodb://db.example:27017/?replicaSet=rs0"


@pytest.mark.parametrize(
    ("uri", "workers", "expected"),
    [
        (None, 1, Numbering.IN_TRANSACTION),
        # The embedded database runs one command at a time: rounds would only add work.
        (None, 4, Numbering.IN_TRANSACTION),
        (MONGODB, 1, Numbering.IN_TRANSACTION),
        # Several processes on a server that runs their transactions side by side.
        (MONGODB, 2, Numbering.SEQUENCER),
    ],
)
def test_auto_numbers_by_a_sequencer_only_for_several_workers_on_mongodb(
    uri: str | None, workers: int, expected: Numbering
) -> None:
    assert numbering_of(Settings(mongodb_uri=uri, workers=workers, event_numbering="auto")) is expected


@pytest.mark.parametrize("chosen", ["transaction", "sequencer"])
def test_a_chosen_numbering_is_kept_whatever_the_deployment(chosen: str) -> None:
    for uri, workers in ((None, 1), (MONGODB, 3)):
        settings = Settings(mongodb_uri=uri, workers=workers, event_numbering=chosen)
        assert numbering_of(settings) is Numbering(chosen)


def test_an_unknown_numbering_is_refused_by_the_settings() -> None:
    with pytest.raises(ValueError, match="event_numbering"):
        Settings(event_numbering="lamport")


@pytest.mark.numbering("sequencer")
async def test_a_starting_service_numbers_what_a_stopped_one_left_pending(
    store: MongoStore, context: RequestContext, tenant: Tenant, database_uri: str, database_name: str
) -> None:
    """A process that stopped between its commit and its round leaves its events pending; the
    next service to start on the database numbers them (its sweep), with no write of the tenant."""
    store.stamper = _Stopped(store.client, store.database, bucket_size=store.bucket_size, retry=store.retry)
    user = await CommandBus(store).dispatch(context, CreateUser(attributes={"userName": "left"}))
    assert await store.tenant(tenant.id).events.read() == []

    settings = Settings(mongodb_uri=database_uri, database=database_name, event_numbering="sequencer")
    with serve_in_thread(create_app(settings)):
        for _ in range(100):
            events = await store.tenant(tenant.id).events.read()
            if events:
                break
            await asyncio.sleep(0.1)
    assert [(e.sequence, e.event.aggregate_id) for e in events] == [(1, user.id)]


@pytest.mark.numbering("sequencer")
async def test_an_export_holds_the_events_a_stopped_process_left_pending(
    store: MongoStore,
    context: RequestContext,
    tenant: Tenant,
    database_uri: str,
    database_name: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    store.stamper = _Stopped(store.client, store.database, bucket_size=store.bucket_size, retry=store.retry)
    await CommandBus(store).dispatch(context, CreateUser(attributes={"userName": "left"}))
    monkeypatch.setenv("MONGODB_URI", database_uri)
    monkeypatch.setenv("IDENTITY_DATABASE", database_name)
    monkeypatch.setenv("IDENTITY_LOG_LEVEL", "warning")
    capsys.readouterr()
    assert await asyncio.to_thread(run, ["export", "--tenant", "acme"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["document"]["seq"] for line in lines if line.get("kind") == "events"] == [1]


class _Stopped(Stamper):
    """The rounds of a process that stops right after its commits."""

    async def settle(self, tenant_id: str, event_id: str | None = None) -> bool:
        raise AutoReconnect("stopped")
