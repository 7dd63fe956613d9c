"""Every operation on a graphql-transport-ws socket is authorised against the key's current state."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import pytest
from starlette.applications import Starlette

from graphql_api import GraphQLSettings, graphql_routes
from identity_service.database import open_store
from identity_service.settings import Settings
from identity_store import Tenant
from identity_store.domain.credentials import parse_secret
from identity_store.mongo import MongoStore
from identity_store.queries import Query
from tests.graphql_api.conftest import serving
from tests.graphql_api.websocket import initialise, open_socket, receive, subscribe

VIEWER = "{ viewer { name } }"
CREATE = 'mutation { userCreate(input: {userName: "late@example.com"}) { user { id } } }'


@pytest.fixture
async def url(database_uri: str, database_name: str, store: MongoStore) -> AsyncIterator[str]:
    """A uvicorn server whose API keys are read again at every use (no cache), so the test is quick."""
    settings = Settings(mongodb_uri=database_uri, database=database_name)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with open_store(settings) as opened:
            app.state.store = opened
            yield

    app = Starlette(
        routes=graphql_routes(lambda: app.state.store, GraphQLSettings(api_key_cache_seconds=0)), lifespan=lifespan
    )
    async with serving(app) as served:
        yield served


async def test_a_revoked_key_stops_queries_and_mutations_on_an_open_socket(
    url: str, key: str, store: MongoStore, tenant: Tenant
) -> None:
    """The socket was authenticated on connect; after the revocation the next query and the next
    mutation on it are refused with UNAUTHENTICATED, and the mutation changed nothing."""
    async with open_socket(url) as socket:
        await initialise(socket, key)
        await subscribe(socket, "before", VIEWER)
        answered = await receive(socket)
        assert answered["type"] == "next"
        assert answered["payload"]["data"] == {"viewer": {"name": "test-service"}}
        assert (await receive(socket))["type"] == "complete"

        credential_id = parse_secret(key)
        assert credential_id is not None
        await store.credentials.revoke(credential_id, datetime.now(UTC))

        refused = []
        for operation_id, query in (("query", VIEWER), ("mutation", CREATE)):
            await subscribe(socket, operation_id, query)
            refused.append(await receive(socket))
    assert [(m["id"], m["type"]) for m in refused] == [("query", "error"), ("mutation", "error")]
    for message in refused:
        [error] = message["payload"]
        assert error["extensions"] == {"code": "UNAUTHENTICATED"}
        assert error["message"] == "the API key is no longer valid"
    assert (await store.tenant(tenant.id).users.find(Query())).items == []


async def test_a_valid_key_keeps_working_operation_after_operation(url: str, key: str) -> None:
    async with open_socket(url) as socket:
        await initialise(socket, key)
        for i in range(3):
            await subscribe(socket, f"q{i}", VIEWER)
            assert (await receive(socket))["payload"]["data"] == {"viewer": {"name": "test-service"}}
            assert (await receive(socket))["type"] == "complete"
