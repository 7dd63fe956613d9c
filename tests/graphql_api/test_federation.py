"""Apollo Federation 2: User and Group are entities, resolved in batches, within the caller's tenant only."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest

from graphql_api.schema import schema
from identity_store import CommandBus, RequestContext, User
from identity_store.domain.resources import Meta, new_id, now
from identity_store.domain.schema import USER_SCHEMA
from identity_store.mongo import CommandCounter, MongoStore
from identity_store.mongo.documents import user_to_document
from tests.graphql_api.conftest import Call, create_group, create_user, gid
from tests.graphql_api.test_cost import _cost, _served

ENTITIES = """query($representations: [_Any!]!) { _entities(representations: $representations) {
  __typename ... on User { id userName } ... on Group { id displayName }
} }"""


async def _entities(gql: Call, representations: list[dict[str, Any]]) -> list[dict[str, Any] | None]:
    body = await gql(ENTITIES, {"representations": representations})
    assert "errors" not in body, body
    found: list[dict[str, Any] | None] = body["data"]["_entities"]
    return found


async def test_the_service_sdl_declares_user_and_group_keys(gql: Call) -> None:
    """_service { sdl } is the subgraph's schema with a Federation 2 @link and the entities' @key directives."""
    body = await gql("{ _service { sdl } }")
    text = body["data"]["_service"]["sdl"]
    assert '@link(url: "https://specs.apollo.dev/federation/v2.7"' in text
    assert 'type User implements Node @key(fields: "id") @key(fields: "userName")' in text
    assert 'type Group implements Node @key(fields: "id") @key(fields: "displayName")' in text


async def test_entities_resolve_by_id_and_by_unique_name(gql: Call, bus: CommandBus, context: RequestContext) -> None:
    """A representation names a user by id or userName (case-insensitively, RFC 7643 §4.1.1), a group
    by id or displayName; the answers come in the order asked."""
    ada = await create_user(bus, context, "ada@example.com")
    staff = await create_group(bus, context, "Staff")
    found = await _entities(
        gql,
        [
            {"__typename": "Group", "displayName": "staff"},
            {"__typename": "User", "id": gid("User", ada.id)},
            {"__typename": "User", "userName": "ADA@example.com"},
            {"__typename": "Group", "id": gid("Group", staff.id)},
        ],
    )
    user = {"__typename": "User", "id": gid("User", ada.id), "userName": "ada@example.com"}
    group = {"__typename": "Group", "id": gid("Group", staff.id), "displayName": "Staff"}
    assert found == [group, user, user, group]


async def test_unknown_foreign_and_mistyped_references_resolve_to_null(
    gql: Call, store: MongoStore, bus: CommandBus, context: RequestContext
) -> None:
    """Entity resolution never crosses tenants: another tenant's user or group, by id or by name, is null,
    exactly like one that never existed, a global id of another type, or a malformed id."""
    other = await store.tenants.create("globex")
    foreign = RequestContext(tenant_id=other.id, actor=context.actor)
    spy = await create_user(bus, foreign, "spy@globex.com")
    team = await create_group(bus, foreign, "Globex staff")
    mine = await create_user(bus, context, "ada@example.com")
    found = await _entities(
        gql,
        [
            {"__typename": "User", "id": gid("User", spy.id)},
            {"__typename": "User", "userName": "spy@globex.com"},
            {"__typename": "Group", "id": gid("Group", team.id)},
            {"__typename": "Group", "displayName": "Globex staff"},
            {"__typename": "User", "id": gid("User", new_id())},
            {"__typename": "Group", "id": gid("User", mine.id)},
            {"__typename": "User", "id": "not a global id"},
        ],
    )
    assert found == [None] * 7


async def test_entities_need_the_read_scope_of_their_type(
    gql: Call, bus: CommandBus, context: RequestContext, make_key: Callable[..., Awaitable[str]]
) -> None:
    """A key without users:read resolves no user entity (FORBIDDEN), as node(id:) does."""
    ada = await create_user(bus, context, "ada@example.com")
    key = await make_key("groups:read")
    body = await gql(ENTITIES, {"representations": [{"__typename": "User", "id": gid("User", ada.id)}]}, key=key)
    assert body["data"]["_entities"] == [None]
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert "userName" not in str(body["data"])


async def test_a_thousand_representations_cost_one_query_per_key(
    counted: httpx.AsyncClient,
    store: MongoStore,
    context: RequestContext,
    make_key: Callable[..., Awaitable[str]],
    database_commands: CommandCounter,
) -> None:
    """No N+1: 1,000 users by id are one find; 500 by id and 500 by userName are two (one per key)."""
    key = await make_key("users:read")
    at = now()
    users = [
        User(id=new_id(), tenant_id=context.tenant_id, attributes={"userName": f"fed{i:04d}"}, meta=Meta.first(at))
        for i in range(1_000)
    ]
    await store.database["users"].insert_many([user_to_document(u, USER_SCHEMA) for u in users])

    async def cost(representations: list[dict[str, str]]) -> Counter[str]:
        with database_commands.counting() as counted_commands:
            response = await counted.post(
                "/graphql",
                json={"query": ENTITIES, "variables": {"representations": representations}},
                headers={"Authorization": f"Bearer {key}"},
            )
        body = response.json()
        assert "errors" not in body, body
        assert [e["userName"] for e in body["data"]["_entities"]] == [u.user_name for u in users]
        # A large answer comes in batches of one cursor (getMore): paging, not a query more.
        return Counter({name: n for name, n in counted_commands.items() if name != "getMore"})

    by_id = [{"__typename": "User", "id": gid("User", u.id)} for u in users]
    await cost(by_id)  # the key is read on its first use, then trusted for a while
    ids_only = await cost(by_id)
    mixed = await cost(by_id[:500] + [{"__typename": "User", "userName": u.user_name} for u in users[500:]])
    print(f"database commands: 1,000 by id {dict(ids_only)}, 500 by id + 500 by userName {dict(mixed)}")
    assert ids_only == Counter({"find": 1})
    assert mixed == Counter({"find": 2})


def test_entities_are_priced_by_their_representations() -> None:
    """The node limit counts one node per representation, and multiplies what is selected under it."""
    query = """query($r: [_Any!]!) { _entities(representations: $r) {
      ... on User { groups(first: 5) { nodes { id } } } } }"""
    assert _cost(query, {"r": [{"__typename": "User", "id": "x"}] * 1_000}) == 1_000 + 1_000 * 5


def test_the_schema_keeps_its_roots() -> None:
    """Federation adds _entities and _service beside every existing query, mutation and subscription."""
    built = schema._schema
    assert built.query_type is not None
    assert {"_entities", "_service", "node", "users"} <= built.query_type.fields.keys()
    assert built.mutation_type is not None
    assert built.subscription_type is not None


async def test_a_malformed_representation_is_the_clients_error_and_the_others_resolve(
    gql: Call, bus: CommandBus, context: RequestContext, caplog: pytest.LogCaptureFixture
) -> None:
    """A representation that is no object, lacks __typename or names no entity gets BAD_USER_INPUT at its
    position (never a masked fault logged at ERROR); the valid ones beside it still resolve."""
    ada = await create_user(bus, context, "ada@example.com")
    body = await gql(
        ENTITIES,
        {
            "representations": [
                "a string",
                {"id": gid("User", ada.id)},
                {"__typename": "Query"},
                {"__typename": "User", "userName": "ada@example.com"},
            ]
        },
    )
    assert body["data"]["_entities"] == [
        None,
        None,
        None,
        {"__typename": "User", "id": gid("User", ada.id), "userName": "ada@example.com"},
    ]
    assert sorted(e["path"][1] for e in body["errors"]) == [0, 1, 2]
    assert {e["extensions"]["code"] for e in body["errors"]} == {"BAD_USER_INPUT"}
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


@pytest.fixture
async def limited(store: MongoStore) -> AsyncIterator[httpx.AsyncClient]:
    """/graphql on the command-counted store, with a node limit of 1,000."""
    async for client in _served(store, max_query_nodes=1_000):
        yield client


async def test_entities_over_the_node_limit_are_refused_before_any_database_command(
    limited: httpx.AsyncClient, key: str, database_commands: CommandCounter
) -> None:
    """1,001 representations under a limit of 1,000 nodes: QUERY_TOO_COSTLY, and the database is not asked."""
    headers = {"Authorization": f"Bearer {key}"}
    await limited.post("/graphql", json={"query": "{ viewer { name } }"}, headers=headers)  # reads the key once
    representations = [{"__typename": "User", "id": gid("User", new_id())} for _ in range(1_001)]
    with database_commands.counting() as sent:
        response = await limited.post(
            "/graphql", json={"query": ENTITIES, "variables": {"representations": representations}}, headers=headers
        )
    body = response.json()
    assert body["data"] is None
    assert body["errors"][0]["extensions"] == {"code": "QUERY_TOO_COSTLY", "cost": 1_001, "limit": 1_000}
    assert sent.total() == 0
