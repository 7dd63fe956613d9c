"""The write path under faults and races: one retry policy, one deadline, no write against itself."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import pytest

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
    StoreTimeout,
    StoreUnavailable,
    Tenant,
)
from identity_store.domain.patch import PatchOp, PatchOperation, PatchPath
from identity_store.mongo import MongoStore
from identity_store.mongo.retries import RetryPolicy
from tests.proxy import lossy_proxy


def add_role(value: str) -> PatchOperation:
    return PatchOperation(op=PatchOp.ADD, path=PatchPath(attribute=("roles",)), value=[{"value": value}])


@pytest.fixture
async def second_process(store: MongoStore, database_uri: str, database_name: str) -> AsyncIterator[MongoStore]:
    """A second store on the same database, with its own connections and write queue: what another
    instance of the service would be."""
    other = MongoStore(database_uri, database_name, numbering=store.numbering)
    yield other
    await other.close()


async def test_unconditional_writers_in_two_processes_all_succeed_and_none_is_lost(
    store: MongoStore, second_process: MongoStore, tenant: Tenant, context: RequestContext
) -> None:
    """Sixteen PATCHes without If-Match on one user, through two processes: every one answers with
    the user (none is a conflict the client did not ask for) and every change is kept."""
    buses = [CommandBus(store), CommandBus(second_process)]
    user = await buses[0].dispatch(context, CreateUser(attributes={"userName": "contended"}))
    results = await asyncio.gather(
        *(
            buses[i % 2].dispatch(context, PatchUser(user_id=user.id, operations=(add_role(f"r{i}"),)))
            for i in range(16)
        ),
        return_exceptions=True,
    )
    assert [r for r in results if isinstance(r, BaseException)] == []
    stored = await store.tenant(tenant.id).users.get(user.id)
    roles = stored.attributes.get("roles")
    assert isinstance(roles, list)
    assert sorted(str(r["value"]) for r in roles if isinstance(r, dict)) == sorted(f"r{i}" for i in range(16))
    assert stored.version == 17
    events = await store.tenant(tenant.id).events.read(limit=100)
    assert [e.sequence for e in events] == list(range(1, 18))


async def test_a_member_deleted_while_being_added_never_leaves_a_dangling_membership(
    store: MongoStore, second_process: MongoStore, tenant: Tenant, context: RequestContext
) -> None:
    """The member's existence is checked in the transaction that writes the membership, so a delete
    racing the add either comes first (the add is refused) or after (it removes the membership)."""
    adder, deleter = CommandBus(store), CommandBus(second_process)
    group = await adder.dispatch(context, CreateGroup(attributes={"displayName": "racing"}))
    for round_ in range(12):
        user = await adder.dispatch(context, CreateUser(attributes={"userName": f"doomed{round_}"}))
        added, deleted = await asyncio.gather(
            adder.dispatch(context, AddMembers(group_id=group.id, member_ids=(user.id,))),
            deleter.dispatch(context, DeleteUser(user_id=user.id)),
            return_exceptions=True,
        )
        assert deleted is None
        assert not isinstance(added, BaseException) or isinstance(added, InvalidValue | NotFound)
    memberships = [m async for m in store.database["memberships"].find({"tenant": tenant.id})]
    assert memberships == []
    stored = await store.tenant(tenant.id).groups.get(group.id)
    counted = await store.database["groups"].find_one({"_id": group.id}, {"memberCount": 1})
    assert counted is not None
    assert counted["memberCount"] == 0
    assert stored.id == group.id


async def test_a_create_whose_commit_answer_was_lost_answers_with_the_user_it_made(
    database_uri: str, database_name: str, store: MongoStore, tenant: Tenant, context: RequestContext
) -> None:
    """The database commits, the answer never arrives (twice, so the driver's own retry of the
    commit fails too): the write finds its own events and succeeds, instead of being re-run into
    a uniqueness error against itself, and the change exists exactly once."""
    port = urlsplit(database_uri).port
    assert port is not None
    async with lossy_proxy(port) as proxy:
        behind = MongoStore(proxy.uri, database_name)
        try:
            await behind.ping()
            proxy.lose_answers("commitTransaction", times=2)
            user = await CommandBus(behind).dispatch(context, CreateUser(attributes={"userName": "once"}))
        finally:
            await behind.close()
    # The driver's own retry of the commit is cut too, or, when the server is not selectable again
    # within the selection timeout after the first cut, never sent: either way the outcome is unknown.
    assert proxy.cut >= 1
    assert user.attributes["userName"] == "once"
    users = [u async for u in store.database["users"].find({"tenant": tenant.id})]
    assert [u["_id"] for u in users] == [user.id]
    events = await store.tenant(tenant.id).events.read(limit=10)
    assert [(e.sequence, e.event.type.value, e.event.aggregate_id) for e in events] == [(1, "UserCreated", user.id)]


async def test_a_member_change_whose_commit_answer_was_lost_is_applied_once(
    database_uri: str, database_name: str, store: MongoStore, tenant: Tenant, context: RequestContext
) -> None:
    """The same for a write that is not a create: the group's version and member count move once."""
    bus = CommandBus(store)
    group = await bus.dispatch(context, CreateGroup(attributes={"displayName": "g"}))
    user = await bus.dispatch(context, CreateUser(attributes={"userName": "m"}))
    port = urlsplit(database_uri).port
    assert port is not None
    async with lossy_proxy(port) as proxy:
        behind = MongoStore(proxy.uri, database_name)
        try:
            await behind.ping()
            proxy.lose_answers("commitTransaction", times=2)
            changed = await CommandBus(behind).dispatch(context, AddMembers(group_id=group.id, member_ids=(user.id,)))
        finally:
            await behind.close()
    assert changed.version == 2
    stored = await store.database["groups"].find_one({"_id": group.id}, {"v": 1, "memberCount": 1})
    assert stored is not None
    assert (stored["v"], stored["memberCount"]) == (2, 1)
    events = await store.tenant(tenant.id).events.read(after=2, limit=10)
    assert [e.event.type.value for e in events] == ["MembersAdded"]


async def test_a_write_that_cannot_get_its_turn_in_time_is_a_timeout_not_a_conflict(
    database_uri: str, database_name: str, tenant: Tenant, context: RequestContext
) -> None:
    """A write waits for the tenant's queue only within its deadline; past it the answer is
    StoreTimeout (a 503 to the client), and nothing was written."""
    hurried = MongoStore(database_uri, database_name, retry=RetryPolicy(deadline_seconds=0.2))
    try:
        async with hurried.writing(tenant.id, 1.0):  # another write holds the tenant's turn
            with pytest.raises(StoreTimeout):
                await CommandBus(hurried).dispatch(context, CreateUser(attributes={"userName": "late"}))
        assert await hurried.database["users"].count_documents({"tenant": tenant.id}) == 0
    finally:
        await hurried.close()


async def test_an_unreachable_database_fails_a_write_as_unavailable(
    database_name: str, context: RequestContext
) -> None:
    """Nothing listens: the write is StoreUnavailable after the unreachable bound, not after retries."""
    from tests.servers import free_port

    nowhere = MongoStore(
        f"mongodb://127.0.0.1:{free_port()}/?directConnection=true", database_name, unreachable_seconds=0.3
    )
    try:
        with pytest.raises(StoreUnavailable):
            await CommandBus(nowhere).dispatch(context, CreateUser(attributes={"userName": "nobody"}))
    finally:
        await nowhere.close()
