"""The scimFilter argument of users and groups: SCIM's own filter translator, injected by the app."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from graphql_api import GraphQLSettings, graphql_routes
from identity_store import CommandBus, RequestContext
from identity_store.mongo import MongoStore
from tests.graphql_api.conftest import Call, create_group, create_user

USERS = "query($f: String) { users(first: 50, scimFilter: $f) { nodes { userName } } }"
GROUPS = "query($f: String) { groups(first: 50, scimFilter: $f) { nodes { displayName } } }"


async def _user_names(gql: Call, scim_filter: str) -> list[str]:
    body = await gql(USERS, {"f": scim_filter})
    assert "errors" not in body, body
    return [n["userName"] for n in body["data"]["users"]["nodes"]]


async def test_users_scim_filter_uses_the_scim_grammar(gql: Call, bus: CommandBus, context: RequestContext) -> None:
    """Value paths, extension URNs, case-insensitive names and operators: as the SCIM facade reads them."""
    await create_user(
        bus, context, "ada@example.com", emails=[{"value": "ada@work.example", "type": "work"}], title="Engineer"
    )
    await create_user(bus, context, "bob@example.com", enterprise={"department": "Sales"}, active=False)
    await create_user(bus, context, "cy@other.org", emails=[{"value": "cy@home.example", "type": "home"}])

    assert await _user_names(gql, 'emails[type eq "work" and value co "@work."]') == ["ada@example.com"]
    assert await _user_names(gql, 'USERNAME SW "B"') == ["bob@example.com"]
    assert await _user_names(
        gql, 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "sales"'
    ) == ["bob@example.com"]
    assert await _user_names(gql, 'title pr or userName ew ".org"') == ["ada@example.com", "cy@other.org"]
    assert await _user_names(gql, "not (active eq false)") == ["ada@example.com", "cy@other.org"]


async def test_scim_filter_and_typed_filter_combine_with_and(
    gql: Call, bus: CommandBus, context: RequestContext
) -> None:
    await create_user(bus, context, "a1@example.com", enterprise={"department": "Sales"})
    await create_user(bus, context, "a2@example.com", enterprise={"department": "Ops"})
    await create_user(bus, context, "b1@example.com", enterprise={"department": "Sales"})
    body = await gql(
        '{ users(first: 10, scimFilter: "userName sw \\"a\\"", filter: {department: "sales"}) '
        "{ totalCount nodes { userName } } }"
    )
    assert body["data"]["users"] == {"totalCount": 1, "nodes": [{"userName": "a1@example.com"}]}


async def test_groups_scim_filter(gql: Call, bus: CommandBus, context: RequestContext) -> None:
    await create_group(bus, context, "Finance", externalId="entra-1")
    await create_group(bus, context, "Facilities")
    await create_group(bus, context, "Sales")
    body = await gql(GROUPS, {"f": 'displayName sw "f" and externalId pr'})
    assert body["data"]["groups"]["nodes"] == [{"displayName": "Finance"}]


@pytest.mark.parametrize(
    ("query", "scim_filter"),
    [
        (USERS, 'userName eq "unterminated'),
        (USERS, 'nickname eq "x" and'),
        (USERS, 'unknownAttribute eq "x"'),
        (USERS, 'password eq "secret"'),
        (GROUPS, 'userName eq "a"'),
        (USERS, "not (" * 60 + 'userName eq "a"' + ")" * 60),
        (USERS, "x" * 5000),
    ],
    ids=[
        "syntax",
        "dangling-and",
        "unknown-attribute",
        "never-returned",
        "other-resource-type",
        "deeply-nested",
        "too-long",
    ],
)
async def test_an_invalid_scim_filter_is_a_bad_user_input_error(gql: Call, query: str, scim_filter: str) -> None:
    """A filter SCIM would refuse with 400 invalidFilter is a top-level BAD_USER_INPUT error naming
    the argument, with no data, never an unexpected error (and never a silently empty page)."""
    body = await gql(query, {"f": scim_filter})
    assert body["data"] is None
    [error] = body["errors"]
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "argument": "scimFilter"}
    assert error["message"].startswith("invalid scimFilter: ")


async def test_without_a_compiler_scim_filter_is_refused(
    store: MongoStore, key: str, bus: CommandBus, context: RequestContext
) -> None:
    """graphql_api alone (no SCIM translator injected) refuses the argument instead of ignoring it."""
    await create_user(bus, context, "ada@example.com")
    app = Starlette(routes=graphql_routes(lambda: store, GraphQLSettings()))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        response = await client.post(
            "/graphql",
            json={"query": USERS, "variables": {"f": 'userName eq "ada@example.com"'}},
            headers={"Authorization": f"Bearer {key}"},
        )
    body: dict[str, Any] = response.json()
    assert body["data"] is None
    assert body["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "argument": "scimFilter"}
