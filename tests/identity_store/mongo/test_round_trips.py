"""What operations cost in database commands (PyMongo command monitoring), whatever the data size."""

from __future__ import annotations

from collections import Counter

import pymongo
import pytest

from identity_store import AddMembers, CommandBus, CreateGroup, CreateUser, RemoveMembers, RequestContext
from identity_store.domain.resources import now
from identity_store.mongo import CommandCounter, MongoStore


async def group_of_size(bus: CommandBus, context: RequestContext, store: MongoStore, size: int) -> str:
    """A group with ``size`` members; the bulk of them written directly, as an import would."""
    group = await bus.dispatch(context, CreateGroup(attributes={"displayName": f"size-{size}"}))
    at = now()
    batch = [
        {
            "tenant": context.tenant_id,
            "group": group.id,
            "member": f"bulk-{i:06d}",
            "type": "User",
            "added": at,
            "by": None,
        }
        for i in range(size)
    ]
    # A thousand a command: late in a full run an insert of 10,000 took the test server minutes
    # (a dump found it in its write-conflict retry loop); alone, either size takes the same time.
    with pymongo.timeout(600):  # loading test data, not an operation under test
        for start in range(0, size, 1_000):
            await store.database["memberships"].insert_many(batch[start : start + 1_000], ordered=False)
    return group.id


async def member_change_costs(
    bus: CommandBus, context: RequestContext, store: MongoStore, database_commands: CommandCounter, size: int
) -> tuple[Counter[str], Counter[str]]:
    group_id = await group_of_size(bus, context, store, size)
    user = await bus.dispatch(context, CreateUser(attributes={"userName": f"newcomer-{size}"}))
    with database_commands.counting() as added:
        await bus.dispatch(context, AddMembers(group_id=group_id, member_ids=(user.id,)))
    add_cost = Counter(added)
    with database_commands.counting() as removed:
        await bus.dispatch(context, RemoveMembers(group_id=group_id, member_ids=(user.id,)))
    return add_cost, Counter(removed)


@pytest.mark.slow
@pytest.mark.numbering("transaction")  # the budget counts the sequence update; a round's costs: test_stamps.py
async def test_member_changes_cost_the_same_on_a_10_and_a_100000_member_group(
    bus: CommandBus, context: RequestContext, store: MongoStore, database_commands: CommandCounter
) -> None:
    """Adding or removing one member costs O(changed members): the command counts do not move."""
    small_add, small_remove = await member_change_costs(bus, context, store, database_commands, 10)
    large_add, large_remove = await member_change_costs(bus, context, store, database_commands, 100_000)
    assert small_add == large_add
    assert small_remove == large_remove
    # find member, bulk upsert, bump version, take sequence, append event, commit.
    assert sum(large_add.values()) <= 6, large_add
    assert sum(large_remove.values()) <= 6, large_remove
    print(f"AddMembers(1): {dict(large_add)}; RemoveMembers(1): {dict(large_remove)}")
