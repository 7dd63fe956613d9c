"""DataLoaders: a page of users with managers, groups and member counts costs a constant number of queries.

These tests mount ``/graphql`` on the suite's ``store`` fixture, whose driver reports every
database command to a :class:`CommandCounter` (PyMongo command monitoring).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable

import httpx
import pytest

from identity_store import AddMembers, CommandBus, RequestContext, User
from identity_store.domain.resources import Meta, new_id, now
from identity_store.domain.schema import USER_SCHEMA
from identity_store.mongo import CommandCounter, MongoStore
from identity_store.mongo.documents import user_to_document
from tests.graphql_api.conftest import create_group, create_user

QUERY = """query($first: Int!) { users(first: $first) { nodes {
  userName
  manager { userName }
  groups { nodes { displayName memberCount } }
} } }"""


async def _add_users(
    bus: CommandBus, context: RequestContext, numbers: range, managers: list[str], groups: list[str]
) -> None:
    """Users named so they sort before their managers; each has a manager and is in two groups."""
    for i in numbers:
        user = await create_user(
            bus, context, f"user{i:03d}@example.com", enterprise={"manager": {"value": managers[i % len(managers)]}}
        )
        for group_id in (groups[i % len(groups)], groups[(i + 3) % len(groups)]):
            await bus.dispatch(context, AddMembers(group_id=group_id, member_ids=(user.id,)))


async def _cost(client: httpx.AsyncClient, key: str, database_commands: CommandCounter, first: int) -> Counter[str]:
    with database_commands.counting() as counted:
        response = await client.post(
            "/graphql", json={"query": QUERY, "variables": {"first": first}}, headers={"Authorization": f"Bearer {key}"}
        )
    body = response.json()
    assert "errors" not in body, body
    assert len(body["data"]["users"]["nodes"]) == first
    assert all(n["manager"] and len(n["groups"]["nodes"]) == 2 for n in body["data"]["users"]["nodes"])
    return Counter(counted)


async def test_a_hundred_users_cost_the_same_round_trips_as_ten(
    counted: httpx.AsyncClient,
    bus: CommandBus,
    context: RequestContext,
    make_key: Callable[..., Awaitable[str]],
    database_commands: CommandCounter,
) -> None:
    """No N+1: a page of 10 users and one of 100 (each with a manager, two groups and the groups'
    member counts) cost the same small number of database commands."""
    key = await make_key("users:read", "groups:read")
    managers = [(await create_user(bus, context, f"zz-manager{i}@example.com")).id for i in range(5)]
    groups = [(await create_group(bus, context, f"Group {i}")).id for i in range(10)]
    await _add_users(bus, context, range(10), managers, groups)
    await _cost(counted, key, database_commands, 10)  # the key is read once, then trusted for a while
    small = await _cost(counted, key, database_commands, 10)
    await _add_users(bus, context, range(10, 100), managers, groups)
    large = await _cost(counted, key, database_commands, 100)
    print(f"database commands: 10 users {dict(small)}, 100 users {dict(large)}")
    # One query each: users page, managers, memberships, groups, member counts (read from the
    # groups). A large result may take one more batch of the same cursor (getMore); that is
    # paging, not N+1.
    assert small == Counter({"find": 5})
    assert large - Counter({"getMore": 1}) == small


async def test_total_count_is_only_counted_when_selected(
    counted: httpx.AsyncClient,
    bus: CommandBus,
    context: RequestContext,
    make_key: Callable[..., Awaitable[str]],
    database_commands: CommandCounter,
) -> None:
    key = await make_key("users:read")
    await create_user(bus, context, "counted@example.com")
    with database_commands.counting() as without:
        await counted.post(
            "/graphql",
            json={"query": "{ users(first: 5) { nodes { id } } }"},
            headers={"Authorization": f"Bearer {key}"},
        )
    assert "aggregate" not in without
    assert "count" not in without
    with database_commands.counting() as with_total:
        await counted.post(
            "/graphql", json={"query": "{ users(first: 5) { totalCount } }"}, headers={"Authorization": f"Bearer {key}"}
        )
    assert with_total["aggregate"] + with_total["count"] == 1


REPORTS = """query($first: Int!) { users(first: $first, filter: {userNameStartsWith: "zz-"}) { nodes {
  userName
  directReports(first: 3) { nodes { userName manager { userName } } }
} } }"""


async def test_the_first_pages_of_many_users_reports_are_one_query(
    counted: httpx.AsyncClient,
    bus: CommandBus,
    context: RequestContext,
    make_key: Callable[..., Awaitable[str]],
    database_commands: CommandCounter,
) -> None:
    """directReports of every user of a page costs one aggregate (a $lookup per manager, each bounded
    by its page size), whether the page holds 5 managers or 50; the reports' manager is already loaded."""
    key = await make_key("users:read")
    managers = [(await create_user(bus, context, f"zz-manager{i:02d}@example.com")).id for i in range(50)]
    for i in range(150):
        await create_user(
            bus, context, f"report{i:03d}@example.com", enterprise={"manager": {"value": managers[i % 50]}}
        )
    await counted.post("/graphql", json={"query": "{ viewer { name } }"}, headers={"Authorization": f"Bearer {key}"})
    costs: list[Counter[str]] = []
    for first in (5, 50):
        with database_commands.counting() as cost:
            response = await counted.post(
                "/graphql",
                json={"query": REPORTS, "variables": {"first": first}},
                headers={"Authorization": f"Bearer {key}"},
            )
        body = response.json()
        assert "errors" not in body, body
        nodes = body["data"]["users"]["nodes"]
        assert len(nodes) == first
        assert all(len(n["directReports"]["nodes"]) == 3 for n in nodes)
        assert all(r["manager"]["userName"] == n["userName"] for n in nodes for r in n["directReports"]["nodes"])
        costs.append(Counter(cost))
    print(f"database commands: reports of 5 managers {dict(costs[0])}, of 50 managers {dict(costs[1])}")
    # The users page, and one aggregate for every manager's first page of reports (the key was
    # verified by the first request and is trusted for a while).
    assert costs[0] == Counter({"find": 1, "aggregate": 1})
    assert costs[1] - Counter({"getMore": 1}) == costs[0]


GROUP_COUNTS = """{ groups(first: 10) { nodes { displayName memberCount } } }"""


@pytest.mark.slow
async def test_member_counts_cost_one_find_whatever_the_group_size(
    counted: httpx.AsyncClient,
    bus: CommandBus,
    context: RequestContext,
    store: MongoStore,
    make_key: Callable[..., Awaitable[str]],
    database_commands: CommandCounter,
) -> None:
    """memberCount is kept on the group: the counts of a page of groups are one find, the same
    for groups of 3 members as for a group of 2,000, and never an aggregate over memberships."""
    key = await make_key("groups:read")
    at = now()
    users = [
        User(id=new_id(), tenant_id=context.tenant_id, attributes={"userName": f"bulk{i:04d}"}, meta=Meta.first(at))
        for i in range(2_000)
    ]
    await store.database["users"].insert_many([user_to_document(u, USER_SCHEMA) for u in users])
    ids = tuple(u.id for u in users)
    small = await create_group(bus, context, "Small", ids[:3])

    async def cost() -> tuple[Counter[str], dict[str, int]]:
        with database_commands.counting() as counted_commands:
            response = await counted.post(
                "/graphql", json={"query": GROUP_COUNTS}, headers={"Authorization": f"Bearer {key}"}
            )
        body = response.json()
        assert "errors" not in body, body
        counts = {n["displayName"]: n["memberCount"] for n in body["data"]["groups"]["nodes"]}
        return Counter(counted_commands), counts

    await cost()  # the key is read on its first use, then trusted for a while
    small_cost, counts = await cost()
    assert counts == {"Small": 3}
    large = await create_group(bus, context, "Large", ids[:1_000])
    await bus.dispatch(context, AddMembers(group_id=large.id, member_ids=ids[500:]))
    await bus.dispatch(context, AddMembers(group_id=small.id, member_ids=(large.id,)))
    large_cost, counts = await cost()
    assert counts == {"Large": 2_000, "Small": 4}
    print(f"database commands: groups of 3 members {dict(small_cost)}, with one of 2,000 {dict(large_cost)}")
    # The page of groups, and one find of the counts.
    assert small_cost == Counter({"find": 2})
    assert large_cost == small_cost
