"""Writes that queue behind one another commit together, and each still gets the outcome it would alone."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

import pytest

from identity_store import (
    AddMembers,
    CommandBus,
    CreateGroup,
    CreateUser,
    InvalidValue,
    RequestContext,
)
from identity_store.events import Actor
from identity_store.mongo import CommandCounter, MongoStore
from identity_store.mongo.positions import POS
from identity_store.mongo.retries import RetryPolicy
from identity_store.ports import Transaction
from tests.proxy import lossy_proxy


@pytest.mark.numbering("transaction")  # each transaction numbers its events: one sequence update each
async def test_queued_creates_commit_in_fewer_transactions_with_gapless_events_and_dense_positions(
    bus: CommandBus, context: RequestContext, store: MongoStore, database_commands: CommandCounter
) -> None:
    with database_commands.counting() as counted:
        users = await asyncio.gather(
            *(bus.dispatch(context, CreateUser(attributes={"userName": f"queued{i}"})) for i in range(12))
        )
    # The first runs alone; the eleven that queued behind it share the next transaction, with one
    # sequence update and one insert of their events.
    assert counted["commitTransaction"] < 12
    assert counted["findAndModify"] == counted["commitTransaction"]
    assert counted["abortTransaction"] == 0
    events = await store.tenant(context.tenant_id).events.read(limit=100)
    assert [e.sequence for e in events] == list(range(1, 13))
    assert sorted(e.event.aggregate_id for e in events) == sorted(u.id for u in users)
    positions = [d[POS] async for d in store.database["users"].find({"tenant": context.tenant_id}, {POS: 1})]
    assert sorted(positions) == list(range(12))


async def test_a_refused_write_among_queued_ones_is_refused_alone_and_the_others_commit(
    bus: CommandBus, context: RequestContext, store: MongoStore
) -> None:
    """A duplicate name and a missing member make the shared transaction fail: every write then
    runs alone, in turn, and gets exactly the outcome it gets without company."""
    await bus.dispatch(context, CreateUser(attributes={"userName": "first"}))  # the others queue behind it
    group = await bus.dispatch(context, CreateGroup(attributes={"displayName": "Crowd"}))
    outcomes = await asyncio.gather(
        bus.dispatch(context, CreateUser(attributes={"userName": "a"})),
        bus.dispatch(context, CreateUser(attributes={"userName": "dup"})),
        bus.dispatch(context, AddMembers(group_id=group.id, member_ids=("no-such-user",))),
        bus.dispatch(context, CreateUser(attributes={"userName": "DUP"})),
        bus.dispatch(context, CreateUser(attributes={"userName": "b"})),
        return_exceptions=True,
    )
    assert not isinstance(outcomes[0], BaseException)
    assert isinstance(outcomes[2], InvalidValue)
    assert not isinstance(outcomes[4], BaseException)
    # Whichever of the two names came first is created, the other is refused.
    assert sorted(type(o).__name__ for o in (outcomes[1], outcomes[3])) == ["Uniqueness", "User"]
    assert await store.database["users"].count_documents({"tenant": context.tenant_id}) == 4  # first, a, b, one dup
    assert (await store.tenant(context.tenant_id).groups.get(group.id)).version == 1
    events = await store.tenant(context.tenant_id).events.read(limit=100)
    assert [e.sequence for e in events] == list(range(1, len(events) + 1))
    assert len(events) == 5  # first, Crowd, a, dup, b


async def test_each_write_committed_together_keeps_its_own_actor_and_correlation_id(
    bus: CommandBus, context: RequestContext, store: MongoStore
) -> None:
    contexts = [
        dataclasses.replace(
            context, actor=Actor(credential_id=f"credential-{i}", kind="test"), correlation_id=f"req-{i}"
        )
        for i in range(6)
    ]
    users = await asyncio.gather(
        *(bus.dispatch(c, CreateUser(attributes={"userName": f"by{i}"})) for i, c in enumerate(contexts))
    )
    events = {e.event.aggregate_id: e for e in await store.tenant(context.tenant_id).events.read(limit=100)}
    for i, user in enumerate(users):
        assert events[user.id].correlation_id == f"req-{i}"
        assert events[user.id].actor.credential_id == f"credential-{i}"


async def test_a_write_whose_wait_runs_out_inside_a_shared_transaction_gets_its_result(
    database_uri: str, database_name: str, store: MongoStore, context: RequestContext
) -> None:
    """Its wait for the turn ran out while the transaction it was taken into was still running:
    that transaction commits it, so the write answers its result, never a timeout for a change
    that was made."""
    hurried = MongoStore(database_uri, database_name, retry=RetryPolicy(deadline_seconds=0.4))
    actor = Actor(credential_id="test", kind="test")
    tenant = hurried.tenant(context.tenant_id)

    def slow(name: str, seconds: float) -> Callable[[Transaction], Awaitable[str]]:
        async def work(tx: Transaction) -> str:
            await asyncio.sleep(seconds)
            await tx.tenant.get()  # reads inside the transaction, as a handler does
            return name

        return work

    try:
        first = asyncio.create_task(tenant.transact(slow("first", 0.2), actor=actor, correlation_id="1"))
        await asyncio.sleep(0.05)  # the others queue behind it and are taken together next
        second = asyncio.create_task(tenant.transact(slow("second", 0.5), actor=actor, correlation_id="2"))
        third = asyncio.create_task(tenant.transact(slow("third", 0.0), actor=actor, correlation_id="3"))
        assert list(await asyncio.gather(first, second, third)) == ["first", "second", "third"]
    finally:
        await hurried.close()


async def test_writes_committed_together_whose_commit_answer_was_lost_answer_what_they_made_once(
    database_uri: str, database_name: str, store: MongoStore, context: RequestContext
) -> None:
    """The shared transaction commits and its answer never arrives (twice, so the driver's retry
    of the commit fails too): its events are found by its transaction id, and every write in it
    answers its own result; nothing is run again into a uniqueness error against itself."""
    port = urlsplit(database_uri).port
    assert port is not None
    async with lossy_proxy(port) as proxy:
        behind = MongoStore(proxy.uri, database_name)
        try:
            await behind.ping()
            bus = CommandBus(behind)
            async with behind.writing(context.tenant_id, 5.0):  # the writes queue behind a turn held here
                writes = [
                    asyncio.create_task(bus.dispatch(context, CreateUser(attributes={"userName": f"lost{i}"})))
                    for i in range(6)
                ]
                await asyncio.sleep(0.2)
                proxy.lose_answers("commitTransaction", times=2)
            users = await asyncio.gather(*writes)
        finally:
            await behind.close()
    assert proxy.cut >= 1  # the driver's retry of the commit is cut too, or never sent (see test_transactions)
    assert sorted(str(u.attributes["userName"]) for u in users) == [f"lost{i}" for i in range(6)]
    assert await store.database["users"].count_documents({"tenant": context.tenant_id}) == 6
    events = await store.tenant(context.tenant_id).events.read(limit=100)
    assert [e.sequence for e in events] == list(range(1, 7))
    assert sorted(e.event.aggregate_id for e in events) == sorted(u.id for u in users)
    # One transaction made them all: its events are named by its one transaction id.
    ids = [d["_id"] async for d in store.database["events"].find({"tenant": context.tenant_id}, {"_id": 1})]
    assert len({i.split(":")[0] for i in ids}) == 1


async def test_when_the_write_whose_turn_it_was_is_cancelled_the_writes_it_took_run_alone(
    bus: CommandBus, context: RequestContext, store: MongoStore
) -> None:
    """Its request went away while the shared transaction ran: the transaction is aborted, the
    cancelled write leaves nothing, and the writes it had taken commit on their own."""
    tenant = store.tenant(context.tenant_id)
    actor = Actor(credential_id="test", kind="test")
    started = asyncio.Event()

    async def slow(tx: Transaction) -> None:
        started.set()
        await asyncio.sleep(30)

    async with store.writing(context.tenant_id, 5.0):  # all three queue behind a turn held here
        leader = asyncio.create_task(tenant.transact(slow, actor=actor, correlation_id="gone"))
        await asyncio.sleep(0.05)
        followers = [
            asyncio.create_task(bus.dispatch(context, CreateUser(attributes={"userName": f"after{i}"})))
            for i in range(2)
        ]
        await asyncio.sleep(0.05)
    await asyncio.wait_for(started.wait(), timeout=10)
    leader.cancel()
    users = await asyncio.gather(*followers)
    with pytest.raises(asyncio.CancelledError):
        await leader
    assert sorted(str(u.attributes["userName"]) for u in users) == ["after0", "after1"]
    events = await tenant.events.read(limit=10)
    assert [e.correlation_id for e in events] == ["req-1", "req-1"]
    assert [e.sequence for e in events] == [1, 2]
