"""Hostile or careless requests are refused before they cost anything; faults are masked."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import httpx
import pytest
from graphql import GraphQLError
from websockets.exceptions import ConnectionClosed, InvalidStatus

from graphql_api.auth import Principal
from graphql_api.context import Context
from graphql_api.errors import LoggedMaskErrors, is_public
from graphql_api.schema import MAX_ALIASES, MAX_DEPTH, MAX_TOKENS, schema
from identity_service.app import create_app
from identity_service.settings import Settings
from identity_store import StoreTimeout, StoreUnavailable, Tenant
from identity_store.bootstrap import bootstrap
from identity_store.mongo import MongoStore
from tests.graphql_api.conftest import Call, serving
from tests.graphql_api.websocket import initialise, open_socket, receive, subscribe
from tests.servers import free_port


def _nested(depth: int) -> str:
    """A query ``depth`` levels deep: users > nodes > manager > manager > ..."""
    inner = "userName"
    for _ in range(depth - 2):
        inner = f"manager {{ {inner} }}"
    return f"{{ users(first: 1) {{ nodes {{ {inner} }} }} }}"


async def test_a_query_deeper_than_the_limit_is_refused(gql: Call) -> None:
    body = await gql(_nested(MAX_DEPTH + 2))
    assert body["data"] is None
    assert "exceeds maximum operation depth" in body["errors"][0]["message"]
    assert "errors" not in await gql(_nested(MAX_DEPTH))


async def test_too_many_aliases_are_refused(gql: Call) -> None:
    aliases = " ".join(f"a{i}: viewer {{ name }}" for i in range(MAX_ALIASES + 1))
    body = await gql(f"{{ {aliases} }}")
    assert body["data"] is None
    assert "aliases" in body["errors"][0]["message"]


async def test_too_many_tokens_are_refused(gql: Call) -> None:
    fields = " ".join("__typename" for _ in range(MAX_TOKENS))
    body = await gql(f"{{ {fields} }}")
    assert body["data"] is None
    assert "token" in body["errors"][0]["message"].lower()


async def test_errors_suggest_no_field_names(gql: Call) -> None:
    """A misspelt field gets no "Did you mean" hint that would map the schema for a prober."""
    body = await gql("{ viewr { name } }")
    message = body["errors"][0]["message"]
    assert "Cannot query field 'viewr'" in message
    assert "Did you mean" not in message


async def test_graphiql_is_off_and_queries_via_get_are_refused(client: httpx.AsyncClient, key: str) -> None:
    headers = {"Authorization": f"Bearer {key}", "Accept": "text/html"}
    page = await client.get("/graphql", headers=headers)
    assert "graphiql" not in page.text.lower()
    query = await client.get(
        "/graphql", params={"query": "{ viewer { name } }"}, headers={"Authorization": f"Bearer {key}"}
    )
    assert query.status_code != 200


async def test_an_oversized_body_is_refused_before_authentication(client: httpx.AsyncClient) -> None:
    response = await client.post("/graphql", content=b"x" * (300 * 1024), headers={"Content-Type": "application/json"})
    assert response.status_code == 413
    assert response.json()["errors"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE"


async def test_a_body_of_undeclared_length_is_refused(client: httpx.AsyncClient, key: str) -> None:
    """A chunked body could be any size, so a POST must declare its Content-Length."""

    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"query": "{ viewer { name } }"}'

    response = await client.post(
        "/graphql", content=chunks(), headers={"Content-Type": "application/json", "Authorization": f"Bearer {key}"}
    )
    assert response.status_code == 411


async def test_an_unreachable_database_is_reported_without_internals(
    tenant: Tenant, caplog: pytest.LogCaptureFixture
) -> None:
    """A fault reaches the client masked: no driver message, only SERVICE_UNAVAILABLE for the
    database being away (so the client retries); the log keeps the cause and the request id."""
    dead = MongoStore(
        f"mongodb://127.0.0.1:{free_port()}/?directConnection=true",
        "nowhere",
        unreachable_seconds=0.2,
        operation_timeout_seconds=0.5,
    )
    principal = Principal(credential_id="c", name="svc", tenant_id=tenant.id, scopes=frozenset({"users:read"}))
    try:
        with caplog.at_level(logging.WARNING, logger="graphql_api"):
            result = await schema.execute(
                "{ users(first: 1) { nodes { id } } }",
                context_value=Context(store=dead, bus=bootstrap(dead), request_id="req-42", principal=principal),
            )
    finally:
        await dead.close()
    assert result.errors is not None
    [error] = result.errors
    assert error.message == "the identity store is unavailable; retry later"
    assert error.extensions is not None
    assert error.extensions["code"] == "SERVICE_UNAVAILABLE"
    assert "127.0.0.1" not in str(error.formatted)
    assert "req-42" in caplog.text
    # An outage is operational, not a bug of ours: a warning, without the driver's traceback.
    assert [r.levelno for r in caplog.records if r.name == "graphql_api"] == [logging.WARNING]
    assert all(r.exc_info is None for r in caplog.records if r.name == "graphql_api")


def test_a_database_past_its_deadline_is_a_timeout_not_an_outage() -> None:
    """StoreTimeout (the database answered, but too late) says the query took too long, with its
    own code; StoreUnavailable itself stays SERVICE_UNAVAILABLE."""
    late = LoggedMaskErrors().anonymise_error(GraphQLError("boom", original_error=StoreTimeout()))
    assert late.extensions is not None
    assert late.extensions["code"] == "TIMEOUT"
    assert "took too long" in late.message
    down = LoggedMaskErrors().anonymise_error(GraphQLError("boom", original_error=StoreUnavailable()))
    assert down.extensions is not None
    assert down.extensions["code"] == "SERVICE_UNAVAILABLE"


async def test_graphiql_is_served_only_when_enabled_for_development(database_uri: str, database_name: str) -> None:
    app = create_app(Settings(mongodb_uri=database_uri, database=database_name, graphiql=True))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client,
    ):
        page = await client.get("/graphql", headers={"Accept": "text/html"})
    assert page.status_code == 200
    assert "graphiql" in page.text.lower()


@pytest.fixture
async def served(database_uri: str, database_name: str, store: MongoStore) -> AsyncIterator[str]:
    settings = Settings(
        mongodb_uri=database_uri, database=database_name, graphql_allowed_origins=["https://console.example"]
    )
    async with serving(create_app(settings)) as url:
        yield url


async def test_only_graphql_transport_ws_is_spoken(served: str) -> None:
    """The legacy graphql-ws protocol (start before connection_init, CVE-2026-35526) is refused."""
    async with open_socket(served, protocol="graphql-ws") as socket:
        assert socket.subprotocol is None
        with pytest.raises(ConnectionClosed) as closed:
            await socket.recv()
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 4406


async def test_websocket_origins_must_be_allowed(served: str, key: str) -> None:
    """Cross-site WebSocket hijacking: a browser page of another origin cannot open the socket."""
    with pytest.raises(InvalidStatus) as refused:
        async with open_socket(served, origin="https://evil.example"):
            pass
    assert refused.value.response.status_code == 403
    async with open_socket(served, origin="https://console.example") as socket:
        await initialise(socket, key)


async def test_subscriptions_per_connection_are_limited(served: str, key: str) -> None:
    async with open_socket(served) as socket:
        await initialise(socket, key)
        for i in range(10):
            await subscribe(socket, str(i), "subscription { identityEvents { type } }")
        await subscribe(socket, "one-too-many", "subscription { identityEvents { type } }")
        message = await receive(socket)
    assert message == {
        "id": "one-too-many",
        "type": "error",
        "payload": [{"message": "Subscription limit reached"}],
    }


def test_any_other_fault_becomes_unexpected_error() -> None:
    """Errors raised by our code or GraphQL validation are public; anything else is anonymised."""
    fault = GraphQLError("connection string mongodb://secret@db", original_error=RuntimeError("secret"))
    assert not is_public(fault)
    assert LoggedMaskErrors().anonymise_error(fault).message == "Unexpected error."
    assert is_public(GraphQLError("Cannot query field 'x'"))
