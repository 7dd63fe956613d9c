"""The node limit: each operation is priced from its page sizes and refused over the limit before it runs."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest
from graphql import OperationDefinitionNode, parse
from starlette.applications import Starlette

from graphql_api import GraphQLSettings, graphql_routes
from graphql_api.cost import DEFAULT_MAX_NODES, query_cost
from graphql_api.schema import schema
from identity_service.settings import Settings
from identity_store.mongo import CommandCounter, MongoStore

# 164 characters that used to run for 11 s: 100 users x 20 groups each x 100 members each.
HUGE = "{ users(first: 100) { nodes { groups { nodes { members(first: 100) { nodes { __typename } } } } } } }"


def _cost(query: str, variables: dict[str, Any] | None = None) -> int:
    document = parse(query)
    [operation] = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    return query_cost(schema._schema, document, operation, variables)


def test_a_connection_counts_its_page_size_and_twenty_when_none_is_given() -> None:
    assert _cost("{ users(first: 7) { nodes { id } } }") == 7
    assert _cost("{ users(last: 9) { edges { node { id } } } }") == 9
    assert _cost("{ users { nodes { id } } }") == 20


def test_nested_connections_multiply() -> None:
    """Each user's groups page is counted once per user; each group's members once per group."""
    assert _cost(HUGE) == 100 + 100 * 20 + 100 * 20 * 100


def test_a_plain_object_field_counts_one_per_parent() -> None:
    """manager per user, pageInfo per connection, viewer once; scalars count nothing."""
    assert _cost("{ viewer { tenant { name } } }") == 2
    assert _cost("{ users(first: 10) { pageInfo { hasNextPage } nodes { manager { userName } } } }") == 10 + 1 + 10


def test_nodes_counts_its_ids() -> None:
    query = "query($ids: [ID!]!) { nodes(ids: $ids) { ... on User { groups(first: 5) { nodes { id } } } } }"
    assert _cost(query, {"ids": ["a", "b", "c"]}) == 3 + 3 * 5


def test_fragments_and_variables_are_resolved() -> None:
    query = """query($n: Int = 30, $m: Int) { users(first: $n) { ...U } }
      fragment U on UserConnection { nodes { ... on User { directReports(first: $m) { nodes { id } } } } }"""
    assert _cost(query) == 30 + 30 * 20
    assert _cost(query, {"n": 2, "m": 3}) == 2 + 2 * 3


async def _served(store: MongoStore, **settings: Any) -> AsyncIterator[httpx.AsyncClient]:
    app = Starlette(routes=graphql_routes(lambda: store, GraphQLSettings(**settings)))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        yield client


@pytest.fixture
async def limited(store: MongoStore) -> AsyncIterator[httpx.AsyncClient]:
    """/graphql on the command-counted store, with a node limit of 1,000."""
    async for client in _served(store, max_query_nodes=1_000):
        yield client


async def _post(client: httpx.AsyncClient, key: str, query: str) -> dict[str, Any]:
    response = await client.post("/graphql", json={"query": query}, headers={"Authorization": f"Bearer {key}"})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_a_query_over_the_limit_is_refused_before_any_database_command(
    counted: httpx.AsyncClient, make_key: Callable[..., Awaitable[str]], database_commands: CommandCounter
) -> None:
    """The refusal states the cost and the limit; the database is not asked anything."""
    key = await make_key()
    await _post(counted, key, "{ viewer { name } }")  # the key is read once, then trusted for a while
    with database_commands.counting() as sent:
        body = await _post(counted, key, HUGE)
    assert body["data"] is None
    [error] = body["errors"]
    assert error["extensions"] == {"code": "QUERY_TOO_COSTLY", "cost": 202_100, "limit": DEFAULT_MAX_NODES}
    assert "202100" in error["message"]
    assert str(DEFAULT_MAX_NODES) in error["message"]
    assert sent.total() == 0


async def test_an_executed_query_reports_its_cost(limited: httpx.AsyncClient, key: str) -> None:
    body = await _post(limited, key, "{ users(first: 10) { nodes { manager { id } } } }")
    assert "errors" not in body
    assert body["extensions"]["cost"] == {"nodes": 20, "limit": 1_000}


async def test_the_limit_is_configurable(limited: httpx.AsyncClient, key: str) -> None:
    """Under a limit of 1,000 a page of 100 users with 20 groups each (2,100 nodes) is refused."""
    body = await _post(limited, key, "{ users(first: 100) { nodes { groups { nodes { id } } } } }")
    assert body["errors"][0]["extensions"] == {"code": "QUERY_TOO_COSTLY", "cost": 2_100, "limit": 1_000}


async def test_a_mutation_over_the_limit_changes_nothing(
    limited: httpx.AsyncClient, key: str, store: MongoStore, database_commands: CommandCounter
) -> None:
    """The price is checked before the first resolver, so a costly payload cannot commit a write first."""
    query = """mutation { userCreate(input: {userName: "x@example.com"}) { user {
      groups(first: 100) { nodes { members(first: 100) { nodes { __typename } } } } } } }"""
    await _post(limited, key, "{ viewer { name } }")
    with database_commands.counting() as sent:
        body = await _post(limited, key, query)
    assert body["errors"][0]["extensions"]["code"] == "QUERY_TOO_COSTLY"
    assert sent.total() == 0


def test_the_limit_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IDENTITY_GRAPHQL_MAX_NODES", "5000")
    assert Settings().graphql_max_nodes == 5_000
    monkeypatch.delenv("IDENTITY_GRAPHQL_MAX_NODES")
    assert Settings().graphql_max_nodes == DEFAULT_MAX_NODES
