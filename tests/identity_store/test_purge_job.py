"""The purge job (identity_store/purge_job.py) on the real database, its time given, never waited for.

Only the instance holding the ``purge`` lease purges; the lease of one that stopped expires and
another takes it; each tenant keeps its deleted objects for its own retention or the default.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from identity_store import CommandBus, CreateUser, DeleteUser, RequestContext
from identity_store.commands import SetDeletedRetention
from identity_store.domain.resources import now
from identity_store.domain.tenants import Tenant
from identity_store.events import Actor
from identity_store.mongo import MongoStore
from identity_store.mongo.leases import MongoLease
from identity_store.purge_job import PurgeJob


def job(store: MongoStore, bus: CommandBus, owner: str) -> PurgeJob:
    return PurgeJob(
        store=store,
        bus=bus,
        lease=MongoLease(store.database["leases"], "purge"),
        retention=timedelta(days=30),
        owner=owner,
        lease_seconds=60,
    )


async def deleted_user(bus: CommandBus, context: RequestContext, name: str) -> str:
    user = await bus.dispatch(context, CreateUser(attributes={"userName": name}))
    await bus.dispatch(context, DeleteUser(user_id=user.id))
    return user.id


async def deleted_ids(store: MongoStore, tenant_id: str) -> set[str]:
    return set(await store.database["deleted_users"].distinct("_id", {"tenant": tenant_id}))


async def test_the_job_purges_what_is_past_the_retention_and_keeps_the_rest(
    store: MongoStore, bus: CommandBus, context: RequestContext
) -> None:
    user_id = await deleted_user(bus, context, "ada")

    early = await job(store, bus, "a").run_once(now=now() + timedelta(days=29))
    assert early is not None
    assert early[context.tenant_id].users == 0
    assert await deleted_ids(store, context.tenant_id) == {user_id}

    late = await job(store, bus, "a").run_once(now=now() + timedelta(days=31))
    assert late is not None
    assert late[context.tenant_id].users == 1
    assert await deleted_ids(store, context.tenant_id) == set()


async def test_two_instances_never_purge_at_once(store: MongoStore, bus: CommandBus, context: RequestContext) -> None:
    """Two job runners in the same round: one holds the lease and purges, the other does nothing."""
    await deleted_user(bus, context, "ada")
    later = now() + timedelta(days=31)

    first, second = await asyncio.gather(
        job(store, bus, "one").run_once(now=later), job(store, bus, "two").run_once(now=later)
    )

    assert sorted([first is None, second is None]) == [False, True]
    done = first or second
    assert done is not None
    assert done[context.tenant_id].users == 1
    lease = await store.database["leases"].find_one({"_id": "purge"})
    assert lease is not None
    assert lease["owner"] in {"one", "two"}


async def test_a_stopped_instances_lease_is_taken_once_it_expires(
    store: MongoStore, bus: CommandBus, context: RequestContext
) -> None:
    await deleted_user(bus, context, "ada")
    expired = now() - timedelta(seconds=1)
    await store.database["leases"].insert_one({"_id": "purge", "owner": "gone", "expires": expired})

    assert await job(store, bus, "next").run_once(now=now() + timedelta(days=31)) is not None
    assert await deleted_ids(store, context.tenant_id) == set()


async def test_a_live_lease_of_another_instance_stops_the_round(
    store: MongoStore, bus: CommandBus, context: RequestContext
) -> None:
    user_id = await deleted_user(bus, context, "ada")
    await store.database["leases"].insert_one(
        {"_id": "purge", "owner": "other", "expires": now() + timedelta(minutes=5)}
    )

    assert await job(store, bus, "mine").run_once(now=now() + timedelta(days=31)) is None
    assert await deleted_ids(store, context.tenant_id) == {user_id}


async def test_a_tenants_own_retention_overrides_the_default(
    store: MongoStore, bus: CommandBus, context: RequestContext, tenant: Tenant
) -> None:
    """Retention 0: purged at the next round; another tenant keeps the default 30 days."""
    other = await store.tenants.create("other")
    other_context = RequestContext(tenant_id=other.id, actor=Actor(credential_id=None, kind="test"))
    await bus.dispatch(context, SetDeletedRetention(days=0))
    mine = await deleted_user(bus, context, "ada")
    theirs = await deleted_user(bus, other_context, "ada")

    await job(store, bus, "a").run_once(now=now() + timedelta(seconds=1))

    assert await deleted_ids(store, tenant.id) == set()
    assert await deleted_ids(store, other.id) == {theirs}
    assert mine != theirs
