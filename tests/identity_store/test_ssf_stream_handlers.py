"""Shared Signals stream commands against the real database: each change of a stream is made in
the unit of work and leaves its event in the tenant's log, never the receiver's authorization header."""

from __future__ import annotations

import json

import pytest

from identity_store import CommandBus, EventType, InvalidValue, NotFound, RequestContext, Tenant
from identity_store.commands import (
    AddSsfSubject,
    CreateSsfStream,
    CreateUser,
    DeleteSsfStream,
    RemoveSsfSubject,
    SetSsfStreamStatus,
    SsfDelivery,
    UpdateSsfStream,
)
from identity_store.domain.values import JSON
from identity_store.events import AggregateType, RecordedEvent
from identity_store.mongo import MongoStore
from identity_store.mongo.ssf_streams import MongoSsfStreams
from identity_store.ssf_streams import POLL, PUSH, SsfStream

SECRET_HEADER = "Bearer receiver-secret-7d1f"
PUSHED = SsfDelivery(method=PUSH, endpoint_url="https://receiver.example/events", authorization_header=SECRET_HEADER)


async def create(bus: CommandBus, context: RequestContext, delivery: SsfDelivery = PUSHED) -> SsfStream:
    command = CreateSsfStream(audience="urn:receiver", delivery=delivery, events_requested=("urn:e1",))
    return await bus.dispatch(context, command)


async def stream_events(store: MongoStore, tenant: Tenant) -> list[RecordedEvent]:
    events = await store.tenant(tenant.id).events.read(limit=1000)
    return [e for e in events if e.event.aggregate_type is AggregateType.SSF_STREAM]


async def test_creating_a_stream_records_its_configuration_but_not_the_authorization_header(
    bus: CommandBus, context: RequestContext, store: MongoStore, tenant: Tenant
) -> None:
    stream = await create(bus, context)
    (recorded,) = await stream_events(store, tenant)
    assert recorded.event.type is EventType.SSF_STREAM_CREATED
    assert recorded.event.aggregate_id == stream.stream_id
    assert recorded.actor.credential_id == "test-credential"
    changes = {c.field: c.after for c in recorded.event.changes}
    assert changes["endpointUrl"] == "https://receiver.example/events"
    assert changes["eventsRequested"] == ["urn:e1"]
    assert changes["authorizationHeader"] is None  # said to be set, never shown
    assert SECRET_HEADER not in json.dumps([(c.field, c.before, c.after) for c in recorded.event.changes])


async def test_a_new_stream_starts_at_the_end_of_the_log(
    bus: CommandBus, context: RequestContext, store: MongoStore, tenant: Tenant
) -> None:
    await bus.dispatch(context, CreateUser(attributes={"userName": "before@example.com"}))
    before = await store.tenant(tenant.id).events.last_sequence()
    stream = await create(bus, context)
    assert stream.cursor == before
    kept = await MongoSsfStreams(store.database).get(tenant.id, stream.stream_id)
    assert kept is not None
    assert kept.cursor == before


async def test_an_update_records_only_what_changed_and_a_new_header_only_as_changed(
    bus: CommandBus, context: RequestContext, store: MongoStore, tenant: Tenant
) -> None:
    stream = await create(bus, context)
    other = SsfDelivery(method=PUSH, endpoint_url=PUSHED.endpoint_url, authorization_header="Bearer rotated-9a")
    await bus.dispatch(context, UpdateSsfStream(stream_id=stream.stream_id, delivery=other, description="HR"))
    updated = (await stream_events(store, tenant))[-1]
    assert updated.event.type is EventType.SSF_STREAM_UPDATED
    assert {c.field for c in updated.event.changes} == {"description", "authorizationHeader"}
    assert "rotated-9a" not in json.dumps([(c.before, c.after) for c in updated.event.changes])


async def test_an_update_that_changes_nothing_records_nothing(
    bus: CommandBus, context: RequestContext, store: MongoStore, tenant: Tenant
) -> None:
    stream = await create(bus, context)
    await bus.dispatch(context, UpdateSsfStream(stream_id=stream.stream_id, events_requested=("urn:e1",)))
    assert [e.event.type for e in await stream_events(store, tenant)] == [EventType.SSF_STREAM_CREATED]


async def test_disabling_a_stream_records_the_status_and_reason_and_drops_what_was_held(
    bus: CommandBus, context: RequestContext, store: MongoStore, tenant: Tenant
) -> None:
    """SSF 1.0 §8.1.2: a disabled stream holds nothing: its cursor passes the whole log."""
    stream = await create(bus, context)
    await bus.dispatch(context, CreateUser(attributes={"userName": "held@example.com"}))
    disabled = await bus.dispatch(
        context, SetSsfStreamStatus(stream_id=stream.stream_id, status="disabled", reason="offboarded")
    )
    assert (disabled.status, disabled.reason) == ("disabled", "offboarded")
    changed = (await stream_events(store, tenant))[-1]
    assert changed.event.type is EventType.SSF_STREAM_STATUS_CHANGED
    assert {c.field: (c.before, c.after) for c in changed.event.changes} == {
        "status": ("enabled", "disabled"),
        "reason": (None, "offboarded"),
    }
    assert disabled.cursor == changed.sequence - 1


async def test_an_unknown_status_is_refused_and_changes_nothing(
    bus: CommandBus, context: RequestContext, store: MongoStore, tenant: Tenant
) -> None:
    stream = await create(bus, context)
    with pytest.raises(InvalidValue):
        await bus.dispatch(context, SetSsfStreamStatus(stream_id=stream.stream_id, status="asleep"))
    assert len(await stream_events(store, tenant)) == 1


async def test_subjects_added_and_removed_are_recorded(
    bus: CommandBus, context: RequestContext, store: MongoStore, tenant: Tenant
) -> None:
    stream = await create(bus, context, SsfDelivery(method=POLL))
    subject: JSON = {"format": "iss_sub", "iss": "urn:t", "sub": "u1"}
    added = await bus.dispatch(context, AddSsfSubject(stream_id=stream.stream_id, user_id="u1", subject=subject))
    assert added.subjects == (subject,)
    removed = await bus.dispatch(context, RemoveSsfSubject(stream_id=stream.stream_id, user_id="u1"))
    assert removed.subjects == ()
    assert [e.event.type for e in await stream_events(store, tenant)][1:] == [
        EventType.SSF_STREAM_SUBJECT_ADDED,
        EventType.SSF_STREAM_SUBJECT_REMOVED,
    ]


async def test_a_stream_of_another_tenant_is_not_found_and_left_alone(
    bus: CommandBus, context: RequestContext, store: MongoStore, tenant: Tenant
) -> None:
    stream = await create(bus, context)
    other = await store.tenants.create("contoso")
    theirs = RequestContext(tenant_id=other.id, actor=context.actor)
    with pytest.raises(NotFound):
        await bus.dispatch(theirs, DeleteSsfStream(stream_id=stream.stream_id))
    assert await MongoSsfStreams(store.database).get(tenant.id, stream.stream_id) is not None
    assert await store.tenant(other.id).events.read(limit=10) == []


async def test_deleting_a_stream_removes_it_and_records_it(
    bus: CommandBus, context: RequestContext, store: MongoStore, tenant: Tenant
) -> None:
    stream = await create(bus, context)
    await bus.dispatch(context, DeleteSsfStream(stream_id=stream.stream_id))
    assert await MongoSsfStreams(store.database).get(tenant.id, stream.stream_id) is None
    assert (await stream_events(store, tenant))[-1].event.type is EventType.SSF_STREAM_DELETED
