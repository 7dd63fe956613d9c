"""Keyset connections: forwards and backwards, bounds, cursors, and totalCount only when asked."""

from __future__ import annotations

from typing import Any

from identity_store import CommandBus, RequestContext
from tests.graphql_api.conftest import Call, create_group, create_user, gid

PAGE = """query($first: Int, $after: String, $last: Int, $before: String) {
  users(first: $first, after: $after, last: $last, before: $before) {
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { userName } }
  }
}"""


async def _seed(bus: CommandBus, context: RequestContext, count: int) -> list[str]:
    names = [f"user{i:02d}@example.com" for i in range(count)]
    for name in names:
        await create_user(bus, context, name)
    return names


def _names(connection: dict[str, Any]) -> list[str]:
    return [edge["node"]["userName"] for edge in connection["edges"]]


async def test_forwards_through_every_page(gql: Call, bus: CommandBus, context: RequestContext) -> None:
    """first/after visits every user once, in order, and the last page says there is no next one."""
    names = await _seed(bus, context, 7)
    seen: list[str] = []
    after = None
    while True:
        page = (await gql(PAGE, {"first": 3, "after": after}))["data"]["users"]
        seen += _names(page)
        assert page["pageInfo"]["hasPreviousPage"] is (after is not None)
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == names


async def test_backwards_through_every_page(gql: Call, bus: CommandBus, context: RequestContext) -> None:
    """last/before walks from the end; each page keeps ascending order inside it."""
    names = await _seed(bus, context, 7)
    pages: list[list[str]] = []
    before = None
    while True:
        page = (await gql(PAGE, {"last": 3, "before": before}))["data"]["users"]
        pages.append(_names(page))
        if not page["pageInfo"]["hasPreviousPage"]:
            break
        before = page["pageInfo"]["startCursor"]
    assert pages == [names[4:7], names[1:4], names[0:1]]


async def test_every_edge_has_a_cursor_that_resumes_after_it(
    gql: Call, bus: CommandBus, context: RequestContext
) -> None:
    names = await _seed(bus, context, 4)
    page = (await gql(PAGE, {"first": 4}))["data"]["users"]
    second_cursor = page["edges"][1]["cursor"]
    resumed = (await gql(PAGE, {"first": 10, "after": second_cursor}))["data"]["users"]
    assert _names(resumed) == names[2:]


async def test_page_size_is_bounded(gql: Call) -> None:
    """first and last take 1 to 100; anything else is a BAD_USER_INPUT error."""
    for variables in ({"first": 101}, {"first": 0}, {"last": 500}, {"first": 1, "last": 1}):
        body = await gql(PAGE, variables)
        assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT", variables


async def test_a_forged_cursor_is_bad_user_input(gql: Call) -> None:
    body = await gql(PAGE, {"first": 1, "after": "bm90LWEtY3Vyc29y"})
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_total_count_is_given_when_selected(gql: Call, bus: CommandBus, context: RequestContext) -> None:
    await _seed(bus, context, 3)
    body = await gql("{ users(first: 1) { totalCount nodes { userName } } }")
    assert body["data"]["users"]["totalCount"] == 3


MEMBERS = """query($id: ID!, $first: Int, $after: String, $last: Int, $before: String) {
  group(lookup: {id: $id}) { members(first: $first, after: $after, last: $last, before: $before) {
    totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { node { ... on User { id } } }
  } }
}"""


async def test_group_members_page_forwards_and_backwards(gql: Call, bus: CommandBus, context: RequestContext) -> None:
    """Members are a keyset connection too (ordered by member id): pages meet without gap or overlap."""
    users = [await create_user(bus, context, f"m{i}@example.com") for i in range(5)]
    group = await create_group(bus, context, "Paged", tuple(u.id for u in users))
    expected = [gid("User", i) for i in sorted(u.id for u in users)]
    group_id = gid("Group", group.id)

    async def page(**arguments: Any) -> dict[str, Any]:
        body = await gql(MEMBERS, {"id": group_id, **arguments})
        members: dict[str, Any] = body["data"]["group"]["members"]
        return members

    forwards: list[str] = []
    after = None
    while True:
        members = await page(first=2, after=after)
        assert members["totalCount"] == 5
        forwards += [e["node"]["id"] for e in members["edges"]]
        if not members["pageInfo"]["hasNextPage"]:
            break
        after = members["pageInfo"]["endCursor"]
    assert forwards == expected

    last_two = await page(last=2)
    assert [e["node"]["id"] for e in last_two["edges"]] == expected[3:]
    assert last_two["pageInfo"]["hasPreviousPage"] is True
    before = await page(last=10, before=last_two["pageInfo"]["startCursor"])
    assert [e["node"]["id"] for e in before["edges"]] == expected[:3]
    assert before["pageInfo"]["hasPreviousPage"] is False


REPORTS = """query($id: ID!, $first: Int, $after: String, $last: Int, $before: String) {
  user(lookup: {id: $id}) { directReports(first: $first, after: $after, last: $last, before: $before) {
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { id } }
  } }
}"""


async def _reports(bus: CommandBus, context: RequestContext, count: int) -> tuple[str, list[str]]:
    """A manager and its reports' global ids, in id order (the connection's order)."""
    boss = await create_user(bus, context, "boss@example.com")
    await create_user(bus, context, "not-a-report@example.com")
    reports = [
        (await create_user(bus, context, f"r{i}@example.com", enterprise={"manager": {"value": boss.id}})).id
        for i in range(count)
    ]
    return gid("User", boss.id), [gid("User", r) for r in sorted(reports)]


async def test_direct_reports_forwards_and_backwards(gql: Call, bus: CommandBus, context: RequestContext) -> None:
    """directReports is a keyset connection in id order: first/after and last/before visit each report once."""
    boss, reports = await _reports(bus, context, 5)
    seen: list[str] = []
    after = None
    while True:
        page = (await gql(REPORTS, {"id": boss, "first": 2, "after": after}))["data"]["user"]["directReports"]
        seen += [e["node"]["id"] for e in page["edges"]]
        assert page["pageInfo"]["hasPreviousPage"] is (after is not None)
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == reports
    pages: list[list[str]] = []
    before = None
    while True:
        page = (await gql(REPORTS, {"id": boss, "last": 2, "before": before}))["data"]["user"]["directReports"]
        pages.append([e["node"]["id"] for e in page["edges"]])
        if not page["pageInfo"]["hasPreviousPage"]:
            break
        before = page["pageInfo"]["startCursor"]
    assert pages == [reports[3:5], reports[1:3], reports[0:1]]


async def test_direct_reports_pages_are_bounded(gql: Call, bus: CommandBus, context: RequestContext) -> None:
    """first/last above 100 is refused, like every connection; totalCount counts all reports."""
    boss, reports = await _reports(bus, context, 3)
    refused = await gql(REPORTS, {"id": boss, "first": 101})
    assert refused["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    counted = await gql(
        "query($id: ID!) { user(lookup: {id: $id}) { directReports(first: 1) { totalCount nodes { id } } } }",
        {"id": boss},
    )
    assert counted["data"]["user"]["directReports"] == {"totalCount": 3, "nodes": [{"id": reports[0]}]}
