"""The lookups provisioning depends on are served by indexes, never by a collection scan.

The work-email match (``emails[type eq "work" and value eq ...]``) runs as an ``$elemMatch``,
which MongoDB serves from the multikey index on ``search.emails.value``; SecantusDB's planner
only uses an index when the query's fields are exactly an index prefix. The repository therefore
matches the equality the ``$elemMatch`` implies first (a leading ``$match``), which either
planner serves from the index, and the whole condition after it.
"""

from __future__ import annotations

from typing import Any

import pytest

from identity_store import CommandBus, CreateGroup, CreateUser, RequestContext
from identity_store.domain.filters import And, Compare, ElementMatch, Operator, Or, resolve_filter
from identity_store.domain.schema import GROUP_SCHEMA, USER_SCHEMA
from identity_store.mongo import MongoStore
from identity_store.mongo.filters import hidden_equalities, to_query
from identity_store.queries import Query


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
        # A batch of names (federation's entity references) is one $in on the same index.
        ("users", USER_SCHEMA, Or(tuple(Compare(path=("userName",), op=Operator.EQ, value=f"u{i}") for i in range(5)))),
        (
            "groups",
            GROUP_SCHEMA,
            Or(tuple(Compare(path=("displayName",), op=Operator.EQ, value=n) for n in ("a", "b"))),
        ),
    ],
    ids=["userName", "externalId", "email", "group displayName", "userNames", "group displayNames"],
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
    await store.database["schema"].delete_many({})  # as in a database no migration has run on yet
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


WORK_EMAIL = ElementMatch(
    path=("emails",),
    filter=And(
        (
            Compare(path=("type",), op=Operator.EQ, value="work"),
            Compare(path=("value",), op=Operator.EQ, value="U7@W.example"),
        )
    ),
)


@pytest.mark.usefixtures("populated")
async def test_the_work_email_match_uses_the_email_index(store: MongoStore, context: RequestContext) -> None:
    """Entra's work-email match, run as the repository runs it (its implied equality matched first)."""
    condition = {"tenant": context.tenant_id, **to_query(USER_SCHEMA, resolve_filter(USER_SCHEMA, WORK_EMAIL))}
    pipeline = [
        {"$match": {"tenant": context.tenant_id, **hidden_equalities(condition)}},
        {"$match": condition},
    ]
    explained = await store.database.command(
        {"explain": {"aggregate": "users", "pipeline": pipeline, "cursor": {}}, "verbosity": "queryPlanner"}
    )
    planner = explained.get("queryPlanner") or explained["stages"][0]["$cursor"]["queryPlanner"]
    plan = stages(planner["winningPlan"])
    assert "IXSCAN" in plan, plan
    assert "COLLSCAN" not in plan, plan


async def test_the_work_email_match_finds_only_work_emails(
    bus: CommandBus, context: RequestContext, store: MongoStore
) -> None:
    """Matching the implied equality first changes no result: a home email with that value does not match."""
    work = await bus.dispatch(
        context,
        CreateUser(attributes={"userName": "work", "emails": [{"value": "u7@w.example", "type": "work"}]}),
    )
    await bus.dispatch(
        context,
        CreateUser(attributes={"userName": "home", "emails": [{"value": "u7@w.example", "type": "home"}]}),
    )
    found = await store.tenant(context.tenant_id).users.find_views(
        Query(filter=resolve_filter(USER_SCHEMA, WORK_EMAIL)), groups=False
    )
    assert [v.user.id for v in found.items] == [work.id]
    assert found.total == 1


@pytest.mark.usefixtures("populated")
@pytest.mark.parametrize("collection", ["users", "groups"])
async def test_a_conditional_write_finds_its_document_by_index(
    store: MongoStore, context: RequestContext, collection: str
) -> None:
    """A write conditional on the version read (tenant, _id, v) is served by an index, not a scan."""
    document = await store.database[collection].find_one({"tenant": context.tenant_id})
    assert document is not None
    query = {"tenant": context.tenant_id, "_id": document["_id"], "v": document["v"]}
    plan = await winning_stages(store, collection, query)
    assert "IXSCAN" in plan, plan
    assert "COLLSCAN" not in plan, plan


@pytest.mark.parametrize("collection", ["events", "fan_outs"])
async def test_a_tenant_document_by_id_is_found_by_index(
    store: MongoStore, context: RequestContext, collection: str
) -> None:
    """A lost commit's event, or a fan-out's note, looked up by id within the tenant: no scan."""
    plan = await winning_stages(store, collection, {"tenant": context.tenant_id, "_id": "some-id"})
    assert "COLLSCAN" not in plan, plan
