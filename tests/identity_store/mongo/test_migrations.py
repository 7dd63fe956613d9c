"""Start-up migrations: numbered, idempotent steps run once per database under a lease, each
recorded as done; documents an earlier version wrote are read and written correctly afterwards."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pymongo import ASCENDING, IndexModel
from pymongo.asynchronous.database import AsyncDatabase

from identity_store import AddMembers, CommandBus, CreateGroup, CreateUser, RequestContext, Tenant
from identity_store.commands import DeactivateUser
from identity_store.mongo import MongoStore
from identity_store.mongo.migrations import STEPS, Step, migrate, schema_version
from identity_store.queries import IndexPage, Query, Sort

Document = dict[str, Any]


async def _rewind(store: MongoStore) -> None:
    """Make the database look as if no migration had run on it (an earlier version's database)."""
    await store.database["schema"].delete_many({})


async def test_a_fresh_database_records_every_step_once(store: MongoStore) -> None:
    """After start-up the schema version is the last step's number, and each step is recorded once."""
    await store.create_indexes()  # a second start-up finds nothing to do
    version = await store.database["schema"].find_one({"_id": "version"})
    assert version is not None
    assert version["version"] == STEPS[-1].number == await schema_version(store.database)
    assert [s["number"] for s in version["steps"]] == [s.number for s in STEPS]
    assert all(s["description"] for s in version["steps"])
    assert await store.database["schema"].find_one({"_id": "lock"}) is None  # the lease was given back


async def test_a_group_written_without_a_member_count_gets_its_count_and_then_moves_with_it(
    store: MongoStore, bus: CommandBus, context: RequestContext, tenant: Tenant
) -> None:
    """A group as an earlier version wrote it (no ``memberCount``) is counted, then kept counted."""
    users = [await bus.dispatch(context, CreateUser(attributes={"userName": f"u{i}"})) for i in range(3)]
    group = await bus.dispatch(context, CreateGroup(attributes={"displayName": "Old"}, member_ids=(users[0].id,)))
    await store.database["groups"].update_one({"_id": group.id}, {"$unset": {"memberCount": ""}})
    await _rewind(store)

    await store.create_indexes()
    assert (await store.database["groups"].find_one({"_id": group.id}) or {})["memberCount"] == 1
    await bus.dispatch(context, AddMembers(group_id=group.id, member_ids=(users[1].id, users[2].id)))
    document = await store.database["groups"].find_one({"_id": group.id})
    assert document is not None
    assert document["memberCount"] == 3
    assert document["v"] == group.meta.version + 1


async def test_a_user_as_an_earlier_version_wrote_it_is_read_and_written(
    store: MongoStore, bus: CommandBus, context: RequestContext, tenant: Tenant
) -> None:
    """A user document with no password field, in a database with the superseded manager index,
    reads back whole and takes a write; the superseded index is gone."""
    created = datetime(2020, 1, 2, 3, 4, 5, tzinfo=UTC)
    await store.database["users"].insert_one(
        {
            "_id": "old-user",
            "tenant": tenant.id,
            "v": 4,
            "created": created,
            "modified": created,
            "attrs": {"userName": "old@acme.example", "active": True},
            "search": {"userName": "old@acme.example"},
        }
    )
    await store.database["users"].create_indexes(
        [IndexModel([("tenant", ASCENDING), ("search.enterprise.manager.value", ASCENDING)], name="manager")]
    )
    await _rewind(store)

    await store.create_indexes()
    names = {index["name"] async for index in await store.database["users"].list_indexes()}
    assert "manager" not in names
    user = await store.tenant(tenant.id).users.get("old-user")
    assert (user.attributes["userName"], user.meta.version, user.meta.created) == ("old@acme.example", 4, created)
    changed = await bus.dispatch(context, DeactivateUser(user_id="old-user"))
    assert (changed.attributes["active"], changed.meta.version) == (False, 5)


async def test_users_written_before_positions_get_them_in_creation_order_and_are_counted(
    store: MongoStore, bus: CommandBus, context: RequestContext, tenant: Tenant
) -> None:
    """Users an earlier version wrote (no ``pos``, no tenant counts) are given positions in
    ``created`` order and counted; a user created afterwards comes after them, in a list whose
    total is the count."""
    base = datetime(2020, 1, 1, tzinfo=UTC)
    for number, user_id in enumerate(["c-third", "a-first", "b-second"]):
        created = base + timedelta(days={"a-first": 0, "b-second": 1, "c-third": 2}[user_id])
        await store.database["users"].insert_one(
            {
                "_id": user_id,
                "tenant": tenant.id,
                "v": 1,
                "created": created,
                "modified": created,
                "attrs": {"userName": f"old{number}"},
                "search": {"userName": f"old{number}"},
            }
        )
    await store.database["event_sequences"].update_one({"_id": tenant.id}, {"$unset": {"users": "", "groups": ""}})
    await _rewind(store)

    await store.create_indexes()
    positions = {d["_id"]: d["pos"] async for d in store.database["users"].find({"tenant": tenant.id})}
    assert positions == {"a-first": 0, "b-second": 1, "c-third": 2}
    new = await bus.dispatch(context, CreateUser(attributes={"userName": "new"}))
    page = await store.tenant(tenant.id).users.find(Query(sort=Sort(creation=True), page=IndexPage(count=10)))
    assert [u.id for u in page.items] == ["a-first", "b-second", "c-third", new.id]
    assert page.total == 4


def _counting_steps(database: AsyncDatabase[Document]) -> tuple[Step, ...]:
    async def count(number: int) -> None:
        await asyncio.sleep(0.05)  # long enough for the other instance to meet the lease
        await database["step_runs"].update_one({"_id": number}, {"$inc": {"runs": 1}}, upsert=True)

    return tuple(
        Step(number=n, description=f"step {n}", run=lambda _, n=n: count(n))  # type: ignore[misc]
        for n in (101, 102, 103)
    )


async def test_two_instances_starting_at_once_run_each_step_once(store: MongoStore, database_uri: str) -> None:
    """Of two instances migrating together, one holds the lease; the other waits and finds the steps done."""
    other = MongoStore(database_uri, store.database.name)
    try:
        steps = _counting_steps(store.database)
        waits: list[str] = []
        ran = await asyncio.gather(
            migrate(store.database, steps=steps, on_wait=waits.append),
            migrate(other.database, steps=steps, on_wait=waits.append),
        )
    finally:
        await other.close()
    runs = {d["_id"]: d["runs"] async for d in store.database["step_runs"].find()}
    assert runs == {101: 1, 102: 1, 103: 1}
    assert sorted(ran[0] + ran[1]) == [101, 102, 103]
    assert [] in ran  # one instance ran them all, the other none
    assert waits
    assert all("another instance" in w for w in waits)


async def test_a_lease_left_by_a_stopped_instance_is_taken_once_it_expires(store: MongoStore) -> None:
    """An instance that died holding the lease does not block start-up for ever."""
    expired = datetime.now(UTC) - timedelta(seconds=1)
    await store.database["schema"].insert_one({"_id": "lock", "owner": "gone", "expires": expired})
    ran = await migrate(store.database, steps=_counting_steps(store.database))
    assert ran == [101, 102, 103]


async def test_a_step_that_fails_is_not_recorded_and_runs_again(store: MongoStore) -> None:
    """A failed step leaves the version at the step before it and the lease free, so the next
    start-up (the readiness retry) runs it again."""
    attempts: list[int] = []

    async def failing(_: AsyncDatabase[Document]) -> None:
        attempts.append(1)
        if len(attempts) == 1:
            raise RuntimeError("disk on fire")

    steps = (*STEPS, Step(number=STEPS[-1].number + 1, description="fails once", run=failing))
    before = await schema_version(store.database)
    with pytest.raises(RuntimeError, match="disk on fire"):
        await migrate(store.database, steps=steps)
    assert await schema_version(store.database) == before
    assert await store.database["schema"].find_one({"_id": "lock"}) is None
    assert await migrate(store.database, steps=steps) == [steps[-1].number]
    assert len(attempts) == 2
