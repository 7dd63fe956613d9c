"""The lookups provisioning depends on are served by indexes, never by a collection scan.

The work-email match (``emails[type eq "work" and value eq ...]``) runs as an ``$elemMatch``,
which MongoDB serves from the multikey index on ``search.emails.value``; SecantusDB's planner
only uses an index when the query's fields are exactly an index prefix, so that one is left to
the benchmark against real MongoDB rather than asserted here.
"""

from __future__ import annotations

from typing import Any

import pytest

from identity_store import CommandBus, CreateGroup, CreateUser, RequestContext
from identity_store.domain.filters import Compare, Operator, resolve_filter
from identity_store.domain.schema import GROUP_SCHEMA, USER_SCHEMA
from identity_store.mongo import MongoStore
from identity_store.mongo.filters import to_query


def stages(plan: Any) -> list[str]:
    """Every stage name in a winning plan, outermost first."""
    found: list[str] = []
    while isinstance(plan, dict):
        if "stage" in plan:
            found.append(plan["stage"])
        plan = plan.get("inputStage") or plan.get("queryPlan")
    return found


async def winning_stages(store: MongoStore, collection: str, query: dict[str, Any]) -> list[str]:
    explained = await store.database.command(
        {"explain": {"find": collection, "filter": query}, "verbosity": "queryPlanner"}
    )
    return stages(explained["queryPlanner"]["winningPlan"])


@pytest.fixture
async def populated(bus: CommandBus, context: RequestContext) -> None:
    for i in range(20):
        await bus.dispatch(
            context,
            CreateUser(
                attributes={
                    "userName": f"u{i}",
                    "externalId": f"x{i}",
                    "emails": [{"value": f"u{i}@w.example", "type": "work"}],
                }
            ),
        )
    await bus.dispatch(context, CreateGroup(attributes={"displayName": "Everyone"}))


@pytest.mark.usefixtures("populated")
@pytest.mark.parametrize(
    ("collection", "schema", "node"),
    [
        ("users", USER_SCHEMA, Compare(path=("userName",), op=Operator.EQ, value="U7")),
        ("users", USER_SCHEMA, Compare(path=("externalId",), op=Operator.EQ, value="x7")),
        ("users", USER_SCHEMA, Compare(path=("emails", "value"), op=Operator.EQ, value="U7@W.example")),
        ("groups", GROUP_SCHEMA, Compare(path=("displayName",), op=Operator.EQ, value="everyone")),
    ],
    ids=["userName", "externalId", "email", "group displayName"],
)
async def test_provisioning_lookups_use_an_index(
    store: MongoStore, context: RequestContext, collection: str, schema: Any, node: Any
) -> None:
    query = {"tenant": context.tenant_id, **to_query(schema, resolve_filter(schema, node))}
    plan = await winning_stages(store, collection, query)
    assert "IXSCAN" in plan, plan
    assert "COLLSCAN" not in plan, plan


async def test_a_managers_reports_are_read_from_the_manager_index(store: MongoStore, context: RequestContext) -> None:
    """directReports pages walk (tenant, manager, _id): no scan of the tenant's users."""
    query = {"tenant": context.tenant_id, "search.enterprise.manager.value": "some-id"}
    plan = await winning_stages(store, "users", query)
    assert "IXSCAN" in plan, plan
    assert "COLLSCAN" not in plan, plan


async def test_the_superseded_manager_index_is_dropped(store: MongoStore) -> None:
    """An index an earlier version created and a wider one now serves does not linger."""
    await store.database["users"].create_index([("tenant", 1), ("search.enterprise.manager.value", 1)], name="manager")
    await store.create_indexes()
    names = {index["name"] async for index in await store.database["users"].list_indexes()}
    assert "manager" not in names
    assert "manager_reports" in names


async def test_a_groups_user_members_are_read_from_an_index(store: MongoStore, context: RequestContext) -> None:
    """users(filter: {memberOf}) walks (tenant, group, type, member): the group's user members in order."""
    query = {"tenant": context.tenant_id, "group": "some-id", "type": "User", "member": {"$gt": "m"}}
    plan = await winning_stages(store, "memberships", query)
    assert "IXSCAN" in plan, plan
    assert "COLLSCAN" not in plan, plan


@pytest.mark.parametrize("key", ["aggregate.id", "members"])
async def test_the_events_about_one_object_are_read_from_an_index(
    store: MongoStore, context: RequestContext, key: str
) -> None:
    """identityEvents(userId:) finds the events of one subject or member without walking the log."""
    plan = await winning_stages(store, "events", {"tenant": context.tenant_id, key: "some-id"})
    assert "IXSCAN" in plan, plan
    assert "COLLSCAN" not in plan, plan


@pytest.mark.parametrize("key", ["group", "member"])
async def test_membership_lookups_use_an_index(store: MongoStore, context: RequestContext, key: str) -> None:
    plan = await winning_stages(store, "memberships", {"tenant": context.tenant_id, key: "some-id"})
    assert "IXSCAN" in plan, plan
