"""Keyset connections: forwards and backwards, bounds, cursors, and totalCount only when asked."""

from __future__ import annotations

from typing import Any

from identity_store import CommandBus, RequestContext
from tests.graphql_api.conftest import Call, create_user

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
