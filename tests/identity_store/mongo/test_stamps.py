"""Events are numbered after their transaction, in commit order, once, without gaps, whatever fails.

A write appends its events pending; a stamping round numbers them (identity_store.mongo.stamps).
Each test below is one line of that module's failure analysis: a process that dies between its
commit and the round, a round that dies midway, two processes, and the order of dependent writes.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest
from pymongo.errors import AutoReconnect

from identity_store import (
    AddMembers,
    CommandBus,
    CreateGroup,
    CreateUser,
    DeleteUser,
    InvalidValue,
    NotFound,
    PatchUser,
    RequestContext,
    Tenant,
)
from identity_store.domain.patch import PatchOp, PatchOperation, PatchPath
from identity_store.events import EventType
from identity_store.mongo import CommandCounter, MongoStore
from identity_store.mongo.numbering import Numbering
from identity_store.mongo.positions import POS, SEQUENCES, TOMBSTONES
from identity_store.mongo.stamps import PENDING_KEYS, Clock, Stamper, stamp_round
from tests.identity_store.mongo.test_transactions import (
    test_a_member_deleted_while_being_added_never_leaves_a_dangling_membership as dangling_membership_race,
)

Document = dict[str, Any]
#: Every store of these tests, the suite's own included, has its events numbered by stamping rounds.
pytestmark = pytest.mark.numbering(Numbering.SEQUENCER.value)


class _DiesAfterCommit(Stamper):
    """What a process that stops right after its commit leaves behind: its events, un-numbered.
    (The write itself is answered, as any committed write whose round failed.)"""

    async def settle(self, tenant_id: str, event_id: str | None = None) -> bool:
        raise AutoReconnect("the process stopped before numbering")


@pytest.fixture
async def other_process(database_uri: str, database_name: str) -> AsyncIterator[MongoStore]:
    """A second instance of the service on the same database."""
    other = MongoStore(database_uri, database_name, numbering=Numbering.SEQUENCER)
    yield other
    await other.close()


def _dying(store: MongoStore) -> MongoStore:
    store.stamper = _DiesAfterCommit(store.client, store.database, bucket_size=store.bucket_size, retry=store.retry)
    return store


async def _pending(store: MongoStore, tenant: Tenant) -> list[Document]:
    return [d async for d in store.database["events"].find({"tenant": tenant.id, "seq": PENDING_KEYS})]


async def _numbers(store: MongoStore, tenant: Tenant) -> list[tuple[int, str]]:
    events = await store.tenant(tenant.id).events.read(limit=1000)
    return [(e.sequence, e.event.type.value) for e in events]


async def _counter(store: MongoStore, tenant: Tenant) -> Document:
    return await store.database[SEQUENCES].find_one({"_id": tenant.id}) or {}


async def test_an_answered_write_is_numbered_and_its_creation_placed(
    bus: CommandBus, context: RequestContext, store: MongoStore, tenant: Tenant
) -> None:
    user = await bus.dispatch(context, CreateUser(attributes={"userName": "ada"}))
    assert await _pending(store, tenant) == []
    assert await _numbers(store, tenant) == [(1, EventType.USER_CREATED.value)]
    document = await store.database["users"].find_one({"tenant": tenant.id, "_id": user.id})
    assert document is not None
    assert document[POS] == 0
    counter = await _counter(store, tenant)
    assert (counter["seq"], counter["users"]["next"], counter["users"]["live"]) == (1, 1, 1)


async def test_a_process_that_dies_between_commit_and_round_leaves_events_the_sweep_numbers(
    context: RequestContext, store: MongoStore, other_process: MongoStore, tenant: Tenant
) -> None:
    user = await CommandBus(_dying(other_process)).dispatch(context, CreateUser(attributes={"userName": "ada"}))
    # Committed (durable, readable by id), but not in the feed nor counted yet.
    assert (await store.tenant(tenant.id).users.get(user.id)).user_name == "ada"
    assert len(await _pending(store, tenant)) == 1
    assert await _numbers(store, tenant) == []

    assert await store.number_pending() == 1
    assert await _pending(store, tenant) == []
    assert await _numbers(store, tenant) == [(1, EventType.USER_CREATED.value)]
    counter = await _counter(store, tenant)
    assert (counter["users"]["next"], counter["users"]["live"]) == (1, 1)
    assert await store.number_pending() == 0  # nothing left: the sweep costs one empty read


async def test_the_tenants_next_write_numbers_what_a_dead_process_left_first(
    bus: CommandBus, context: RequestContext, store: MongoStore, other_process: MongoStore, tenant: Tenant
) -> None:
    left = await CommandBus(_dying(other_process)).dispatch(context, CreateUser(attributes={"userName": "left"}))
    after = await bus.dispatch(context, CreateUser(attributes={"userName": "after"}))
    events = await store.tenant(tenant.id).events.read(limit=10)
    assert [(e.sequence, e.event.aggregate_id) for e in events] == [(1, left.id), (2, after.id)]
    positions = {d["_id"]: d[POS] async for d in store.database["users"].find({"tenant": tenant.id})}
    assert positions == {left.id: 0, after.id: 1}


async def test_a_round_that_dies_midway_numbers_nothing_and_the_next_numbers_all(
    context: RequestContext, store: MongoStore, other_process: MongoStore, tenant: Tenant
) -> None:
    dying = CommandBus(_dying(other_process))
    for name in ("a", "b", "c"):
        await dying.dispatch(context, CreateUser(attributes={"userName": name}))
    async with store.client.start_session() as session:
        await session.start_transaction()
        done = await stamp_round(store.database, session, tenant.id, bucket_size=store.bucket_size)
        assert done.numbered == 3
        await session.abort_transaction()  # the round's process dies before its commit
    assert len(await _pending(store, tenant)) == 3
    assert (await _counter(store, tenant)).get("seq", 0) == 0

    await store.stamper.settle(tenant.id)
    assert [n for n, _ in await _numbers(store, tenant)] == [1, 2, 3]
    positions = sorted([d[POS] async for d in store.database["users"].find({"tenant": tenant.id})])
    assert positions == [0, 1, 2]


async def test_rounds_of_two_processes_racing_number_each_event_once(
    context: RequestContext, store: MongoStore, other_process: MongoStore, database_uri: str, database_name: str
) -> None:
    tenant_id = context.tenant_id
    writer = MongoStore(database_uri, database_name)
    try:
        dying = CommandBus(_dying(writer))
        created = [await dying.dispatch(context, CreateUser(attributes={"userName": f"u{i}"})) for i in range(30)]
    finally:
        await writer.close()
    await asyncio.gather(*(s.stamper.settle(tenant_id) for s in (store, other_process, store, other_process)))
    events = await store.tenant(tenant_id).events.read(limit=100)
    assert [e.sequence for e in events] == list(range(1, 31))
    assert [e.event.aggregate_id for e in events] == [u.id for u in created]  # in commit order
    positions = sorted([d[POS] async for d in store.database["users"].find({"tenant": tenant_id})])
    assert positions == list(range(30))
    counter = await store.database[SEQUENCES].find_one({"_id": tenant_id}) or {}
    assert (counter["seq"], counter["users"]["next"], counter["users"]["live"]) == (30, 30, 30)


async def test_writers_of_one_tenant_in_two_processes_get_a_gapless_feed_and_dense_positions(
    bus: CommandBus, context: RequestContext, store: MongoStore, other_process: MongoStore, tenant: Tenant
) -> None:
    buses = [bus, CommandBus(other_process)]
    users = await asyncio.gather(
        *(buses[i % 2].dispatch(context, CreateUser(attributes={"userName": f"w{i}"})) for i in range(24))
    )
    events = await store.tenant(tenant.id).events.read(limit=100)
    assert [e.sequence for e in events] == list(range(1, 25))
    assert sorted(e.event.aggregate_id for e in events) == sorted(u.id for u in users)
    positions = sorted([d[POS] async for d in store.database["users"].find({"tenant": tenant.id})])
    assert positions == list(range(24))
    assert await _pending(store, tenant) == []


async def test_a_change_that_read_another_is_numbered_after_it_even_from_another_process(
    context: RequestContext, store: MongoStore, other_process: MongoStore, tenant: Tenant
) -> None:
    """The member is created by a process that dies before numbering; another adds it to a group
    (reading it): when both are numbered, the creation comes first."""
    group = await CommandBus(store).dispatch(context, CreateGroup(attributes={"displayName": "g"}))
    user = await CommandBus(_dying(other_process)).dispatch(context, CreateUser(attributes={"userName": "m"}))
    await CommandBus(store).dispatch(context, AddMembers(group_id=group.id, member_ids=(user.id,)))
    types = [t for _, t in await _numbers(store, tenant)]
    assert types == [EventType.GROUP_CREATED.value, EventType.USER_CREATED.value, EventType.MEMBERS_ADDED.value]


async def test_created_and_deleted_before_numbering_counts_a_hole_at_its_position(
    context: RequestContext, store: MongoStore, other_process: MongoStore, tenant: Tenant
) -> None:
    dying = CommandBus(_dying(other_process))
    kept = await dying.dispatch(context, CreateUser(attributes={"userName": "kept"}))
    gone = await dying.dispatch(context, CreateUser(attributes={"userName": "gone"}))
    await dying.dispatch(context, DeleteUser(user_id=gone.id))
    await store.number_pending()
    counter = await _counter(store, tenant)
    assert (counter["users"]["next"], counter["users"]["live"], counter["users"]["gone"]) == (2, 1, {"0": 1})
    deleted = await store.database["deleted_users"].find_one({"tenant": tenant.id, "_id": gone.id})
    assert deleted is not None
    assert deleted[POS] == 1
    tombstones = [d async for d in store.database[TOMBSTONES].find({"tenant": tenant.id})]
    assert [(t[POS], t["seq"]) for t in tombstones] == [(1, 3)]
    live = [d["_id"] async for d in store.database["users"].find({"tenant": tenant.id})]
    assert live == [kept.id]


async def test_a_create_costs_its_own_three_commands_and_a_round_shared_by_what_it_numbers(
    bus: CommandBus, context: RequestContext, database_commands: CommandCounter
) -> None:
    await bus.dispatch(context, CreateUser(attributes={"userName": "warm"}))
    with database_commands.counting() as alone:
        await bus.dispatch(context, CreateUser(attributes={"userName": "alone"}))
    # Its transaction: the user, its event, the commit. The round: the pending events read, the
    # sequence taken, their numbers set, the creation's position set, the commit. (The other find
    # is the bus reading the tenant's extension schemas, which the service keeps with the token.)
    assert dict(alone) == {"insert": 2, "commitTransaction": 2, "find": 2, "findAndModify": 1, "update": 2}
    with database_commands.counting() as together:
        await asyncio.gather(*(bus.dispatch(context, CreateUser(attributes={"userName": f"t{i}"})) for i in range(9)))
    rounds = together["findAndModify"]
    assert rounds < 9
    assert together["commitTransaction"] - rounds < 9  # the writes that queued committed together


class _ClockAMinuteBehind(Clock):
    def read(self) -> int:
        return super().read() - 60 * 10**9


async def test_the_sweep_says_when_it_numbers_what_a_stopped_process_left(
    context: RequestContext,
    store: MongoStore,
    other_process: MongoStore,
    tenant: Tenant,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Events pending for longer than a live writer's round takes were left by a process that
    stopped: the operator is told, once, with the tenant and how long they waited."""
    stopped = _dying(other_process)
    stopped.clock = _ClockAMinuteBehind()
    await CommandBus(stopped).dispatch(context, CreateUser(attributes={"userName": "left"}))
    with caplog.at_level(logging.WARNING, logger="identity_store.mongo"):
        assert await store.number_pending() == 1
        assert await store.number_pending() == 0
    (said,) = [r for r in caplog.records if "stopped process left pending" in r.getMessage()]
    assert tenant.id in said.getMessage()
    assert said.pending_seconds >= 60  # type: ignore[attr-defined]  # the record's extra field


async def test_events_pending_a_moment_are_numbered_without_a_word(
    context: RequestContext, store: MongoStore, other_process: MongoStore, caplog: pytest.LogCaptureFixture
) -> None:
    await CommandBus(_dying(other_process)).dispatch(context, CreateUser(attributes={"userName": "fresh"}))
    with caplog.at_level(logging.WARNING, logger="identity_store.mongo"):
        assert await store.number_pending() == 1
    assert not [r for r in caplog.records if "stopped process" in r.getMessage()]


async def test_a_member_deleted_while_being_added_leaves_no_dangling_membership_without_a_shared_document(
    store: MongoStore, other_process: MongoStore, tenant: Tenant, context: RequestContext
) -> None:
    """The writes share no document here: the add holds the member it checks (held_ids)."""
    await dangling_membership_race(store, other_process, tenant, context)


async def test_a_manager_deleted_while_being_set_is_never_left_named(
    store: MongoStore, other_process: MongoStore, tenant: Tenant, context: RequestContext
) -> None:
    setter, deleter = CommandBus(store), CommandBus(other_process)
    report = await setter.dispatch(context, CreateUser(attributes={"userName": "report"}))
    for round_ in range(8):
        boss = await setter.dispatch(context, CreateUser(attributes={"userName": f"boss{round_}"}))
        manager = PatchOperation(
            op=PatchOp.REPLACE, path=PatchPath(attribute=("enterprise", "manager")), value={"value": boss.id}
        )
        patched, deleted = await asyncio.gather(
            setter.dispatch(context, PatchUser(user_id=report.id, operations=(manager,))),
            deleter.dispatch(context, DeleteUser(user_id=boss.id)),
            return_exceptions=True,
        )
        assert deleted is None
        assert not isinstance(patched, BaseException) or isinstance(patched, InvalidValue | NotFound)
        assert (await store.tenant(tenant.id).users.get(report.id)).manager_id is None
