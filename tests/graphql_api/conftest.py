"""The GraphQL API through the composed ASGI app (create_app) on the suite's real database.

Tests seed data through the command bus of the ``store`` fixture, which uses the same database
as the app, and call ``/graphql`` with an API key of the ``tenant`` fixture.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, Protocol

import httpx
import pytest
from starlette.applications import Starlette
from strawberry import relay

from graphql_api import graphql_routes
from identity_service.app import create_app
from identity_service.settings import Settings
from identity_store import CommandBus, CreateGroup, CreateUser, Group, RequestContext, Tenant, User
from identity_store.domain.credentials import CredentialKind, issue
from identity_store.domain.resources import now
from identity_store.mongo import MongoStore
from tests.servers import serve_in_thread

ALL_SCOPES = ("users:read", "groups:read", "write", "events:subscribe")


class Call(Protocol):
    async def __call__(
        self, query: str, variables: dict[str, Any] | None = None, *, key: str | None = ...
    ) -> dict[str, Any]: ...


@pytest.fixture
async def app(database_uri: str, database_name: str, store: MongoStore) -> AsyncIterator[Starlette]:
    """The service as deployed, on the test database (its lifespan run by hand: ASGITransport has none)."""
    application = create_app(Settings(mongodb_uri=database_uri, database=database_name))
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def counted(store: MongoStore) -> AsyncIterator[httpx.AsyncClient]:
    """/graphql mounted on the suite's ``store``, whose driver reports every database command to
    the ``database_commands`` counter (the composed app would open a store of its own)."""
    app = Starlette(routes=graphql_routes(lambda: store))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        yield client


@pytest.fixture
async def client(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as http:
        yield http


@pytest.fixture
def make_key(store: MongoStore, tenant: Tenant) -> Callable[..., Awaitable[str]]:
    async def make(*scopes: str, tenant_id: str | None = None, kind: CredentialKind = CredentialKind.API_KEY) -> str:
        issued = issue(
            tenant_id=tenant_id or tenant.id,
            kind=kind,
            name="test-service",
            scopes=frozenset(scopes or ALL_SCOPES),
            created=now(),
        )
        await store.credentials.add(issued.credential)
        return issued.secret

    return make


@pytest.fixture
async def key(make_key: Callable[..., Awaitable[str]]) -> str:
    """A key with every ordinary scope (not write:provisioned)."""
    return await make_key(*ALL_SCOPES)


@pytest.fixture
def gql(client: httpx.AsyncClient, key: str) -> Call:
    """POST a query with the ``key`` fixture (or ``key=``); the JSON body, after checking the status is 200."""

    async def call(query: str, variables: dict[str, Any] | None = None, *, key: str | None = key) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        response = await client.post("/graphql", json={"query": query, "variables": variables}, headers=headers)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    return call


async def create_user(bus: CommandBus, context: RequestContext, user_name: str, **attributes: Any) -> User:
    return await bus.dispatch(context, CreateUser(attributes={"userName": user_name, **attributes}))


async def create_group(
    bus: CommandBus, context: RequestContext, name: str, members: tuple[str, ...] = (), **attributes: Any
) -> Group:
    return await bus.dispatch(context, CreateGroup(attributes={"displayName": name, **attributes}, member_ids=members))


@asynccontextmanager
async def serving(app: Starlette) -> AsyncIterator[str]:
    """A uvicorn server for ``app`` in a thread; its ws:// URL of /graphql.

    Starting and stopping happen off the event loop: the server's graceful shutdown waits for
    the test's WebSocket clients to finish closing, which needs this loop to keep running.
    """
    server = serve_in_thread(app)
    base_url = await asyncio.to_thread(server.__enter__)
    try:
        yield base_url.replace("http://", "ws://") + "/graphql"
    finally:
        await asyncio.to_thread(server.__exit__, None, None, None)


def gid(type_name: str, node_id: str) -> str:
    """The global id the API gives a user or group."""
    return str(relay.GlobalID(type_name=type_name, node_id=node_id))
