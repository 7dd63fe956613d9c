"""Concurrent writers on the real database: nobody's change is lost, uniqueness holds under races."""

from __future__ import annotations

import asyncio

import pytest

from identity_store import (
    AddMembers,
    CommandBus,
    CreateGroup,
    CreateUser,
    PatchUser,
    RequestContext,
    Uniqueness,
    VersionConflict,
)
from identity_store.domain.patch import PatchOp, PatchOperation, PatchPath
from identity_store.mongo import CommandCounter, MongoStore


def replace(attribute: str, value: str) -> PatchOperation:
    return PatchOperation(op=PatchOp.REPLACE, path=PatchPath(attribute=(attribute,)), value=value)


async def test_racing_creates_differing_only_in_case_make_one_user(
    bus: CommandBus, context: RequestContext, store: MongoStore
) -> None:
    """16 concurrent CreateUser for "jdoe" in 16 letter cases: one user, 15 Uniqueness errors."""
    names = [
        f"{'J' if i & 1 else 'j'}{'D' if i & 2 else 'd'}{'O' if i & 4 else 'o'}{'E' if i & 8 else 'e'}"
        for i in range(16)
    ]
    assert len(set(names)) == 16
    results = await asyncio.gather(
        *(bus.dispatch(context, CreateUser(attributes={"userName": name})) for name in names), return_exceptions=True
    )
    created = [r for r in results if not isinstance(r, BaseException)]
    refused = [r for r in results if isinstance(r, Uniqueness)]
    assert len(created) == 1
    assert len(refused) == 15
    assert await store.database["users"].count_documents({"tenant": context.tenant_id}) == 1


async def test_two_writers_with_the_same_version_one_wins_the_other_conflicts(
    bus: CommandBus, context: RequestContext, store: MongoStore
) -> None:
    """Optimistic concurrency: both read version 1; exactly one write lands, the other is refused."""
    user = await bus.dispatch(context, CreateUser(attributes={"userName": "race", "title": "start"}))
    results = await asyncio.gather(
        bus.dispatch(context, PatchUser(user_id=user.id, operations=(replace("title", "first"),), expected_version=1)),
        bus.dispatch(context, PatchUser(user_id=user.id, operations=(replace("title", "second"),), expected_version=1)),
        return_exceptions=True,
    )
    winners = [r for r in results if not isinstance(r, BaseException)]
    losers = [r for r in results if isinstance(r, VersionConflict)]
    assert len(winners) == 1
    assert len(losers) == 1
    stored = await store.tenant(context.tenant_id).users.get(user.id)
    assert stored.version == 2
    assert stored.attributes["title"] == winners[0].attributes["title"]


async def test_concurrent_writers_without_a_version_lose_nothing(
    bus: CommandBus, context: RequestContext, store: MongoStore
) -> None:
    """Without expected_version the handler re-applies on the newer state: every change survives."""
    user = await bus.dispatch(context, CreateUser(attributes={"userName": "many"}))
    attributes = [
        "title",
        "nickName",
        "displayName",
        "locale",
        "timezone",
        "userType",
        "preferredLanguage",
        "profileUrl",
    ]
    await asyncio.gather(
        *(bus.dispatch(context, PatchUser(user_id=user.id, operations=(replace(a, f"v-{a}"),))) for a in attributes)
    )
    stored = await store.tenant(context.tenant_id).users.get(user.id)
    for attribute in attributes:
        assert stored.attributes[attribute] == f"v-{attribute}"
    assert stored.version == 1 + len(attributes)
    events = await store.tenant(context.tenant_id).events.read()
    assert [e.sequence for e in events] == list(range(1, len(attributes) + 2))


async def test_concurrent_add_members_keep_every_member(
    bus: CommandBus, context: RequestContext, store: MongoStore
) -> None:
    """8 concurrent AddMembers on one group: every member is present and every addition recorded."""
    users = [await bus.dispatch(context, CreateUser(attributes={"userName": f"member{i}"})) for i in range(8)]
    group = await bus.dispatch(context, CreateGroup(attributes={"displayName": "Crowd"}))
    await asyncio.gather(*(bus.dispatch(context, AddMembers(group_id=group.id, member_ids=(u.id,))) for u in users))
    tenant = store.tenant(context.tenant_id)
    members = await tenant.memberships.members(group.id)
    assert sorted(m.member_id for m in members) == sorted(u.id for u in users)
    assert (await tenant.groups.get(group.id)).version == 1 + len(users)


@pytest.mark.parametrize("writers", [4])
async def test_event_sequence_is_gapless_under_concurrency(
    bus: CommandBus, context: RequestContext, store: MongoStore, writers: int
) -> None:
    """The event cursor is per tenant, strictly increasing by one, in commit order."""
    await asyncio.gather(
        *(bus.dispatch(context, CreateUser(attributes={"userName": f"seq{i}"})) for i in range(writers * 3))
    )
    events = await store.tenant(context.tenant_id).events.read(limit=1000)
    assert [e.sequence for e in events] == list(range(1, writers * 3 + 1))


async def test_one_process_queues_a_tenants_writes_instead_of_retrying_them(
    bus: CommandBus, context: RequestContext, store: MongoStore, database_commands: CommandCounter
) -> None:
    """Every transaction takes the tenant's event sequence, so two at once would conflict and
    retry; within one store they wait their turn, and those that queued behind one commit
    together: fewer commits than writes, none aborts, every change made."""
    users = [await bus.dispatch(context, CreateUser(attributes={"userName": f"queued{i}"})) for i in range(8)]
    with database_commands.counting() as counted:
        await asyncio.gather(
            *(bus.dispatch(context, PatchUser(user_id=u.id, operations=(replace("title", "T"),))) for u in users)
        )
    assert 1 <= counted["commitTransaction"] < len(users)
    assert counted["abortTransaction"] == 0
    tenant = store.tenant(context.tenant_id)
    assert [(await tenant.users.get(u.id)).attributes["title"] for u in users] == ["T"] * len(users)


async def test_writers_in_two_processes_still_lose_nothing(
    bus: CommandBus, context: RequestContext, store: MongoStore, database_uri: str, database_name: str
) -> None:
    """Two stores (as two service processes) do not share the queue; the event sequence still
    orders their transactions: every change survives and the sequence has no gap."""
    other = MongoStore(database_uri, database_name)
    try:
        user = await bus.dispatch(context, CreateUser(attributes={"userName": "shared"}))
        buses = [bus, CommandBus(other)]
        attributes = ["title", "nickName", "displayName", "locale", "timezone", "userType"]
        await asyncio.gather(
            *(
                buses[i % 2].dispatch(context, PatchUser(user_id=user.id, operations=(replace(a, f"v-{a}"),)))
                for i, a in enumerate(attributes)
            )
        )
    finally:
        await other.close()
    stored = await store.tenant(context.tenant_id).users.get(user.id)
    assert all(stored.attributes[a] == f"v-{a}" for a in attributes)
    assert stored.version == 1 + len(attributes)
    events = await store.tenant(context.tenant_id).events.read()
    assert [e.sequence for e in events] == list(range(1, len(attributes) + 2))
