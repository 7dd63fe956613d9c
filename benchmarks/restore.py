"""Undoing a mass deprovisioning: the cost of restoring N deleted users.

Seeds a tenant with N Entra-shaped users straight into the database (every tenth one managing
the next nine), each in the tenant-wide group ``Everyone`` and in one of N/500 department
groups; deletes every user through the command bus as one SCIM credential would (each deletion
moves the user aside and keeps its two memberships and its reports' manager references); then
runs the mass restore (:func:`identity_store.mass_restore.restore_deleted`, what ``identity-store
restore --since --credential`` runs), a dry run first. Prints wall time, database commands in
all, per user and by name, and checks (not a timing) that every user, membership and manager
reference came back. It asserts nothing about time: run it by hand.

    .venv/bin/python benchmarks/restore.py [--users 10000]
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections import Counter
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Generic, TypeVar

import harness

from identity_store import CommandBus, DeleteUser, RequestContext
from identity_store.bootstrap import bootstrap
from identity_store.domain.resources import now
from identity_store.events import Actor
from identity_store.mass_restore import restore_deleted
from identity_store.mongo import CommandCounter, MongoStore
from identity_store.mongo.documents import MEMBER_COUNT

T = TypeVar("T")
#: Users per department group.
DEPARTMENT = 500


def main(users: int) -> None:
    with harness.database() as db:
        asyncio.run(measure(db, users))


async def measure(db: harness.Database, users: int) -> None:
    counter = CommandCounter()
    store = MongoStore(db.uri, db.name, unreachable_seconds=10, operation_timeout_seconds=600, listeners=[counter])
    try:
        await store.create_indexes()
        tenant = await harness.seed_tenant(store, "bench")
        ids = await harness.bulk_users(
            store, tenant.id, range(users), "bench.example", manager_of=lambda p: None if p % 10 == 0 else p - p % 10
        )
        names = ["Everyone", *(f"Department {d}" for d in range((users + DEPARTMENT - 1) // DEPARTMENT))]
        everyone, *departments = await harness.bulk_groups(store, tenant.id, names)
        await harness.bulk_memberships(store, tenant.id, everyone, ids)
        for d, group in enumerate(departments):
            await harness.bulk_memberships(store, tenant.id, group, ids[d * DEPARTMENT : (d + 1) * DEPARTMENT])
        bus = bootstrap(store)
        entra = RequestContext(tenant_id=tenant.id, actor=Actor(credential_id="entra", kind="scim"))
        since = now()

        deleting = await _timed(counter, _delete_all(bus, entra, ids))
        operator = RequestContext(tenant_id=tenant.id, actor=Actor(credential_id=None, kind="cli"))
        dry = await _timed(
            counter, restore_deleted(store, bus, operator, since=since, deleted_by="entra", dry_run=True)
        )
        restoring = await _timed(counter, restore_deleted(store, bus, operator, since=since, deleted_by="entra"))
        report = restoring.result

        # Sanity, not timing: everything came back.
        tenant_store = store.tenant(tenant.id)
        assert report.users == users, report
        assert not report.problems, report
        assert await store.database["users"].count_documents({"tenant": tenant.id}) == users
        assert await store.database["memberships"].count_documents({"tenant": tenant.id}) == 2 * users
        count = await store.database["groups"].find_one({"_id": everyone}, {MEMBER_COUNT: 1})
        assert count is not None
        assert count[MEMBER_COUNT] == users
        managed = await store.database["users"].count_documents(
            {"tenant": tenant.id, "search.enterprise.manager.value": {"$exists": True}}
        )
        assert managed == users - (users + 9) // 10, managed
        assert await store.database["deleted_memberships"].count_documents({"tenant": tenant.id}) == 0
        assert await tenant_store.fan_outs.pending() == []
    finally:
        await store.close()

    rows = []
    for label, phase in (("delete (bus, one by one)", deleting), ("dry run", dry), ("restore --since", restoring)):
        rows.append(
            [
                label,
                f"{phase.seconds:.1f}",
                f"{1000 * phase.seconds / users:.2f}",
                f"{phase.commands.total():,}",
                f"{phase.commands.total() / users:.1f}",
            ]
        )
    harness.print_table(
        f"Restore of {users:,} deleted users, each in 2 groups, 9 of 10 managed ({db.label}, {harness.machine()})",
        ["phase", "seconds", "ms/user", "commands", "commands/user"],
        rows,
    )
    by_name = ", ".join(f"{name} {n / users:.1f}" for name, n in restoring.commands.most_common())
    print(f"restore commands per user by name: {by_name}")
    harness.write_results(
        "restore",
        {
            "users": users,
            "phases": {
                label: {"seconds": p.seconds, "commands": dict(p.commands)}
                for label, p in (("delete", deleting), ("dry_run", dry), ("restore", restoring))
            },
        },
    )


async def _delete_all(bus: CommandBus, context: RequestContext, ids: list[str]) -> None:
    for user_id in ids:
        await bus.dispatch(context, DeleteUser(user_id=user_id))


@dataclass(frozen=True, slots=True)
class _Phase(Generic[T]):
    seconds: float
    commands: Counter[str]
    result: T


async def _timed(counter: CommandCounter, work: Awaitable[T]) -> _Phase[T]:
    with counter.counting() as commands:
        started = time.perf_counter()
        result = await work
        seconds = time.perf_counter() - started
        counted = Counter(commands)
    return _Phase(seconds, counted, result)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=10_000)
    main(parser.parse_args().users)
