"""users(filter: {memberOf}): direct and transitive members, paged by walking the group's memberships."""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pymongo
import pytest

from identity_store import AddMembers, CommandBus, RequestContext
from identity_store.domain.resources import now
from identity_store.mongo import CommandCounter, MongoStore, member_walk
from tests.graphql_api.conftest import Call, create_group, create_user, gid

MEMBERS = """query($group: ID!, $membership: MembershipType!, $first: Int, $after: String, $last: Int,
                  $before: String, $active: Boolean, $order: UserOrder) {
  users(first: $first, after: $after, last: $last, before: $before, orderBy: $order,
        filter: {memberOf: $group, membership: $membership, active: $active}) {
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { id } }
  }
}"""


async def _nested(bus: CommandBus, context: RequestContext) -> tuple[str, list[str], list[str]]:
    """Outer holds a and c and the group Inner; Inner holds b and c. The direct and transitive
    members of Outer as global ids, each list in id order."""
    a, b, c = [await create_user(bus, context, f"{n}@example.com") for n in "abc"]
    await create_user(bus, context, "outsider@example.com")
    inner = await create_group(bus, context, "Inner", (b.id, c.id))
    outer = await create_group(bus, context, "Outer", (a.id, c.id, inner.id))
    direct = [gid("User", i) for i in sorted((a.id, c.id))]
    transitive = [gid("User", i) for i in sorted((a.id, b.id, c.id))]
    return gid("Group", outer.id), direct, transitive


async def _walk(gql: Call, variables: dict[str, Any], size: int, *, backwards: bool = False) -> list[list[str]]:
    pages: list[list[str]] = []
    cursor = None
    while True:
        paging = {"last": size, "before": cursor} if backwards else {"first": size, "after": cursor}
        body = await gql(MEMBERS, {**variables, **paging})
        assert "errors" not in body, body
        page = body["data"]["users"]
        pages.append([e["node"]["id"] for e in page["edges"]])
        more = page["pageInfo"]["hasPreviousPage" if backwards else "hasNextPage"]
        if not more:
            return pages
        cursor = page["pageInfo"]["startCursor" if backwards else "endCursor"]


async def test_direct_members_only_by_default(gql: Call, bus: CommandBus, context: RequestContext) -> None:
    """memberOf alone keeps the group's own user members, in id order; nested groups' members are left out."""
    group, direct, _ = await _nested(bus, context)
    assert await _walk(gql, {"group": group, "membership": "DIRECT"}, 10) == [direct]


async def test_transitive_members_come_once_each_in_id_order(
    gql: Call, bus: CommandBus, context: RequestContext
) -> None:
    """TRANSITIVE adds the members of nested groups; a user in two of them (c) appears once, on every page size."""
    group, _, transitive = await _nested(bus, context)
    for size in (1, 2, 10):
        pages = await _walk(gql, {"group": group, "membership": "TRANSITIVE"}, size)
        assert [u for p in pages for u in p] == transitive, size
        backwards = await _walk(gql, {"group": group, "membership": "TRANSITIVE"}, size, backwards=True)
        assert [u for p in reversed(backwards) for u in p] == transitive, size


async def test_member_of_combines_with_other_filters_and_counts(
    gql: Call, bus: CommandBus, context: RequestContext
) -> None:
    """Other conditions apply to the members; totalCount counts the members that meet them (once each)."""
    group, _, transitive = await _nested(bus, context)
    body = await gql(
        "query($g: ID!) { all: users(first: 1, filter: {memberOf: $g, membership: TRANSITIVE}) { totalCount } "
        "none: users(first: 5, filter: {memberOf: $g, active: false}) { totalCount nodes { id } } }",
        {"g": group},
    )
    assert body["data"] == {"all": {"totalCount": len(transitive)}, "none": {"totalCount": 0, "nodes": []}}


async def test_member_of_is_ordered_by_id_only(gql: Call, bus: CommandBus, context: RequestContext) -> None:
    """Ordering members by another field would sort the whole group first: it is refused, not scanned."""
    group, direct, _ = await _nested(bus, context)
    variables = {"group": group, "membership": "DIRECT", "first": 10}
    refused = await gql(MEMBERS, {**variables, "order": {"field": "USER_NAME", "direction": "ASC"}})
    assert refused["data"] is None
    assert refused["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert "ordered by id" in refused["errors"][0]["message"]
    descending = await gql(MEMBERS, {**variables, "order": {"field": "ID", "direction": "DESC"}})
    assert [e["node"]["id"] for e in descending["data"]["users"]["edges"]] == direct[::-1]


async def test_member_of_needs_a_group_id(gql: Call, bus: CommandBus, context: RequestContext) -> None:
    user = await create_user(bus, context, "not-a-group@example.com")
    body = await gql(MEMBERS, {"group": gid("User", user.id), "membership": "DIRECT", "first": 5})
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_a_rare_match_in_a_large_group_gives_a_short_page_that_resumes(
    gql: Call, bus: CommandBus, context: RequestContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The walk stops after a bounded number of memberships: the page may be short, but hasNextPage and
    endCursor continue exactly where it stopped, so nothing is skipped and nothing is read twice."""
    monkeypatch.setattr(member_walk, "MEMBER_BATCH", 2)
    monkeypatch.setattr(member_walk, "MEMBER_SCAN", 4)
    users = [await create_user(bus, context, f"m{i}@example.com", active=i % 5 != 0) for i in range(12)]
    group = await create_group(bus, context, "Big", tuple(u.id for u in users))
    inactive = [gid("User", u.id) for u in sorted(users, key=lambda u: u.id) if not u.active]
    pages = await _walk(gql, {"group": gid("Group", group.id), "membership": "DIRECT", "active": False}, 5)
    assert [u for p in pages for u in p] == inactive
    assert len(pages) > 1  # at most 4 memberships read per request


@pytest.mark.slow
async def test_a_page_of_members_costs_the_same_in_a_small_and_a_large_group(
    counted: httpx.AsyncClient,
    bus: CommandBus,
    context: RequestContext,
    make_key: Callable[..., Awaitable[str]],
    database_commands: CommandCounter,
) -> None:
    """The semi-join runs in the database on one batch of memberships: a page of 10 members of a
    group of 20 or of 600 is one aggregate (two with TRANSITIVE: the nested groups first)."""
    key = await make_key("users:read")
    members = [(await create_user(bus, context, f"p{i:03d}@example.com")).id for i in range(600)]
    small = await create_group(bus, context, "Small", tuple(members[:20]))
    large = await create_group(bus, context, "Large")
    for start in range(0, 600, 200):
        await bus.dispatch(context, AddMembers(group_id=large.id, member_ids=tuple(members[start : start + 200])))
    # The key is read on its first use, then trusted for a while: the pages below read no credential.
    await counted.post("/graphql", json={"query": "{ viewer { name } }"}, headers={"Authorization": f"Bearer {key}"})
    costs: dict[tuple[str, str], Counter[str]] = {}
    for name, group in (("small", small.id), ("large", large.id)):
        for membership in ("DIRECT", "TRANSITIVE"):
            with database_commands.counting() as cost:
                response = await counted.post(
                    "/graphql",
                    json={
                        "query": MEMBERS,
                        "variables": {"group": gid("Group", group), "membership": membership, "first": 10},
                    },
                    headers={"Authorization": f"Bearer {key}"},
                )
            assert len(response.json()["data"]["users"]["edges"]) == 10
            costs[name, membership] = Counter(cost)
    print(f"database commands for a page of 10 members: {costs}")
    assert costs["small", "DIRECT"] == costs["large", "DIRECT"] == Counter({"aggregate": 1})
    assert costs["small", "TRANSITIVE"] == costs["large", "TRANSITIVE"] == Counter({"aggregate": 2})


@pytest.mark.slow
async def test_a_group_of_more_than_ten_thousand_members_is_no_longer_refused(
    counted: httpx.AsyncClient,
    bus: CommandBus,
    context: RequestContext,
    store: MongoStore,
    make_key: Callable[..., Awaitable[str]],
    database_commands: CommandCounter,
) -> None:
    """memberOf used to load the group's member ids and refused groups over 10,000; a page of a
    20,000-member group now costs what a page of a small group costs."""
    key = await make_key("users:read")
    users = [(await create_user(bus, context, f"first{i}@example.com")).id for i in range(10)]
    group = await create_group(bus, context, "Everyone", tuple(users))
    at = now()
    # Bulk memberships whose ids sort after every generated id, written as an import would.
    bulk = [
        {
            "tenant": context.tenant_id,
            "group": group.id,
            "member": f"zz-{i:06d}",
            "type": "User",
            "added": at,
            "by": None,
        }
        for i in range(20_000)
    ]
    with pymongo.timeout(600):
        await store.database["memberships"].insert_many(bulk, ordered=False)
    with database_commands.counting() as cost:
        response = await counted.post(
            "/graphql",
            json={
                "query": MEMBERS,
                "variables": {"group": gid("Group", group.id), "membership": "DIRECT", "first": 9},
            },
            headers={"Authorization": f"Bearer {key}"},
        )
    body = response.json()
    assert "errors" not in body, body
    assert [e["node"]["id"] for e in body["data"]["users"]["edges"]] == [gid("User", u) for u in sorted(users)[:9]]
    assert Counter(cost) == Counter({"find": 1, "aggregate": 1})
