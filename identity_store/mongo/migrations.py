"""Ordered, idempotent migrations of the stored data, run at start-up by one instance at a time.

    schema:  {_id: "version", version, steps: [{number, description, at}]}
             {_id: "lock", owner, expires}     the lease of the instance migrating now

Each :class:`Step` is a small function with a number and a one-line description. At start-up
(:func:`migrate`, after the indexes exist) an instance takes the lease
(:mod:`identity_store.mongo.leases`), runs the steps above the recorded version in order,
recording each one as done, and gives the lease back. Another instance starting at the same
time waits for the lease behind the readiness gate (``on_wait``), then finds the steps done.
A holder that dies leaves its lease to expire; a holder still working renews it.

Every step must be backward compatible: the previous release's processes keep serving while
the new ones migrate (README "Backup, restore and upgrades"), and a step may run again after a
holder died midway, so each one is idempotent.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from identity_store.mongo.documents import MEMBER_COUNT
from identity_store.mongo.leases import MongoLease
from identity_store.mongo.positions import recount_all
from identity_store.mongo.scope import TENANT, TenantScope

__all__ = ["LEASE_SECONDS", "STEPS", "Step", "migrate", "schema_version"]

Document = dict[str, Any]

#: How long a lease lasts unless renewed; the holder renews it every third of that.
LEASE_SECONDS = 30.0
#: How often an instance waiting for the lease looks again.
WAIT_SECONDS = 0.5


@dataclass(frozen=True, slots=True, kw_only=True)
class Step:
    """One migration: run once per database, in number order, and safe to run again."""

    number: int
    description: str
    run: Callable[[AsyncDatabase[Document]], Awaitable[None]]


async def _drop_the_manager_index(database: AsyncDatabase[Document]) -> None:
    # The (tenant, manager, _id) index serves every query the older (tenant, manager) one did.
    existing = {index["name"] async for index in await database["users"].list_indexes()}
    if "manager" in existing:
        await database["users"].drop_index("manager")


async def _count_members(database: AsyncDatabase[Document]) -> None:
    """Give each group written before groups kept their member count the count of its memberships.

    Member changes move the count with ``$inc``, which on a missing field would start from zero.
    The condition on the missing field makes a second run (or a second instance) harmless.
    """
    groups = database["groups"]
    memberships = database["memberships"]
    async for group in groups.find({MEMBER_COUNT: {"$exists": False}}, {"_id": 1, TENANT: 1}):
        scope = TenantScope(group[TENANT])
        count = await memberships.count_documents(scope.filter({"group": group["_id"]}))
        await groups.update_one(
            scope.filter({"_id": group["_id"], MEMBER_COUNT: {"$exists": False}}), {"$set": {MEMBER_COUNT: count}}
        )


#: Every migration, in the order they run. Append only: a number once released never changes.
STEPS: tuple[Step, ...] = (
    Step(
        number=1,
        description="drop the users index 'manager' that 'manager_reports' serves",
        run=_drop_the_manager_index,
    ),
    Step(number=2, description="count the members of groups written before groups kept the count", run=_count_members),
    Step(
        number=3,
        description="give users and groups a creation position, and count them per tenant",
        run=recount_all,
    ),
)


async def schema_version(database: AsyncDatabase[Document]) -> int:
    """The number of the last step recorded as done (0 on a database no migration has run on)."""
    document = await database["schema"].find_one({"_id": "version"})
    return int(document["version"]) if document else 0


async def migrate(
    database: AsyncDatabase[Document],
    *,
    steps: tuple[Step, ...] = STEPS,
    on_wait: Callable[[str], None] | None = None,
    lease_seconds: float = LEASE_SECONDS,
) -> list[int]:
    """Run the steps not yet recorded, under the lease; the numbers of those this call ran."""
    if await schema_version(database) >= max((s.number for s in steps), default=0):
        return []  # the common start-up: nothing to do, no lease taken
    owner = uuid.uuid4().hex
    lease = _lease(database)
    while not await lease.take(owner, lease_seconds):
        if on_wait is not None:
            on_wait("waiting for another instance to finish the migrations")
        await asyncio.sleep(WAIT_SECONDS)
    ran: list[int] = []
    try:
        with lease.renewing(owner, lease_seconds):
            done = await schema_version(database)
            for step in sorted(steps, key=lambda s: s.number):
                if step.number <= done:
                    continue
                await step.run(database)
                await database["schema"].update_one(
                    {"_id": "version"},
                    {
                        "$max": {"version": step.number},
                        "$push": {
                            "steps": {"number": step.number, "description": step.description, "at": datetime.now(UTC)}
                        },
                    },
                    upsert=True,
                )
                ran.append(step.number)
    finally:
        await lease.give_back(owner)
    return ran


def _lease(database: AsyncDatabase[Document]) -> MongoLease:
    return MongoLease(database["schema"], "lock")
