"""identityEvents over graphql-transport-ws on a real uvicorn server: replay, live delivery across
instances, and authentication on connect."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import pytest
from starlette.applications import Starlette
from websockets.exceptions import ConnectionClosed

from graphql_api import GraphQLSettings, graphql_routes
from identity_service.app import create_app
from identity_service.database import open_store
from identity_service.settings import Settings
from identity_store.domain.credentials import parse_secret
from identity_store.mongo import MongoStore
from tests.graphql_api.conftest import Call, serving
from tests.graphql_api.websocket import initialise, open_socket, receive, send, subscribe

EVENTS = """subscription($after: String, $types: [IdentityEventType!]) {
  identityEvents(after: $after, types: $types) { type subjectId cursor }
}"""
CREATE = "mutation($name: String!) { userCreate(input: {userName: $name}) { user { id } userErrors { message } } }"
LAST_CURSOR = "{ identityEvents(first: 100) { pageInfo { endCursor } } }"


@pytest.fixture
async def instance_a(database_uri: str, database_name: str) -> AsyncIterator[str]:
    """A second instance of the service (its own process state), on the same database; its ws:// URL."""
    async with serving(create_app(Settings(mongodb_uri=database_uri, database=database_name))) as url:
        yield url


async def _create(gql: Call, name: str) -> str:
    body = await gql(CREATE, {"name": name})
    user_id: str = body["data"]["userCreate"]["user"]["id"]
    return user_id


async def test_an_event_committed_through_another_instance_reaches_the_subscriber(
    instance_a: str, gql: Call, key: str
) -> None:
    """The subscriber is served by instance A; the user is created through instance B (the ``gql``
    app). The event travels through the database, not through process memory."""
    await _create(gql, "first@example.com")
    after = (await gql(LAST_CURSOR))["data"]["identityEvents"]["pageInfo"]["endCursor"]
    async with open_socket(instance_a) as socket:
        await initialise(socket, key)
        await subscribe(socket, "1", EVENTS, {"after": after})
        created = await _create(gql, "second@example.com")
        message = await receive(socket)
    assert message["type"] == "next", message
    assert message["id"] == "1"
    assert message["payload"]["data"]["identityEvents"]["type"] == "USER_CREATED"
    assert message["payload"]["data"]["identityEvents"]["subjectId"] == created


async def test_a_reconnecting_subscriber_replays_what_it_missed(instance_a: str, gql: Call, key: str) -> None:
    """With after: the cursor of the last event handled, the events since then come first, in order."""
    await _create(gql, "seen@example.com")
    after = (await gql(LAST_CURSOR))["data"]["identityEvents"]["pageInfo"]["endCursor"]
    missed = [await _create(gql, f"missed{i}@example.com") for i in range(3)]
    async with open_socket(instance_a) as socket:
        await initialise(socket, key)
        await subscribe(socket, "r", EVENTS, {"after": after})
        replayed = [(await receive(socket))["payload"]["data"]["identityEvents"]["subjectId"] for _ in missed]
    assert replayed == missed


async def test_a_subscription_filters_by_event_type(instance_a: str, gql: Call, key: str) -> None:
    await _create(gql, "before@example.com")
    after = (await gql(LAST_CURSOR))["data"]["identityEvents"]["pageInfo"]["endCursor"]
    await _create(gql, "ignored@example.com")
    await gql('mutation { groupCreate(input: {displayName: "Wanted"}) { group { id } } }')
    async with open_socket(instance_a) as socket:
        await initialise(socket, key)
        await subscribe(socket, "t", EVENTS, {"after": after, "types": ["GROUP_CREATED"]})
        message = await receive(socket)
    assert message["payload"]["data"]["identityEvents"]["type"] == "GROUP_CREATED"


async def test_connect_without_a_valid_key_is_rejected(instance_a: str) -> None:
    """connection_init without a key (or with a wrong one) closes the socket with 4403."""
    for payload in ({}, {"Authorization": "Bearer isk_000000000000000000000000_nope"}):
        async with open_socket(instance_a) as socket:
            await send(socket, {"type": "connection_init", "payload": payload})
            with pytest.raises(ConnectionClosed) as closed:
                await receive(socket)
        assert closed.value.rcvd is not None
        assert closed.value.rcvd.code == 4403


async def test_subscribing_needs_the_events_scope(instance_a: str, make_key: Callable[..., Awaitable[str]]) -> None:
    reader = await make_key("users:read")
    async with open_socket(instance_a) as socket:
        await initialise(socket, reader)
        await subscribe(socket, "x", EVENTS)
        message = await receive(socket)
    assert message["type"] in {"error", "next"}
    errors = message["payload"] if message["type"] == "error" else message["payload"]["errors"]
    assert "events:subscribe" in errors[0]["message"]


async def test_a_subscription_follows_one_user_including_its_memberships(instance_a: str, gql: Call, key: str) -> None:
    """userId keeps the events about that user: its own changes and groups gaining or losing it."""
    watched = await _create(gql, "watched@example.com")
    after = (await gql(LAST_CURSOR))["data"]["identityEvents"]["pageInfo"]["endCursor"]
    await _create(gql, "other@example.com")
    group = await gql('mutation { groupCreate(input: {displayName: "Club"}) { group { id } } }')
    group_id = group["data"]["groupCreate"]["group"]["id"]
    await gql(
        "mutation($g: ID!, $m: [ID!]!) { groupMembersAdd(id: $g, memberIds: $m) { group { id } } }",
        {"g": group_id, "m": [watched]},
    )
    query = """subscription($after: String, $user: ID) {
      identityEvents(after: $after, userId: $user) { type subjectId }
    }"""
    async with open_socket(instance_a) as socket:
        await initialise(socket, key)
        await subscribe(socket, "u", query, {"after": after, "user": watched})
        message = await receive(socket)
    assert message["payload"]["data"]["identityEvents"] == {"type": "MEMBERS_ADDED", "subjectId": group_id}


async def test_without_after_the_subscription_starts_with_the_next_change(instance_a: str, gql: Call, key: str) -> None:
    """Without a cursor nothing old is replayed: the first event is the change made after subscribing."""
    await _create(gql, "old@example.com")
    async with open_socket(instance_a) as socket:
        await initialise(socket, key)
        await subscribe(socket, "live", EVENTS)
        await asyncio.sleep(1)  # the subscription has taken its starting point well before the change
        created = await _create(gql, "new@example.com")
        message = await receive(socket)
    assert message["payload"]["data"]["identityEvents"]["subjectId"] == created


async def test_revoking_the_key_ends_its_live_subscriptions(
    database_uri: str, database_name: str, store: MongoStore, key: str
) -> None:
    """The key is checked on connect and then again while the subscription runs (here every 0.2 s)."""
    settings = Settings(mongodb_uri=database_uri, database=database_name)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with open_store(settings) as opened:
            app.state.store = opened
            yield

    app = Starlette(
        routes=graphql_routes(lambda: app.state.store, GraphQLSettings(credential_recheck_interval=0.2)),
        lifespan=lifespan,
    )
    async with serving(app) as url, open_socket(url) as socket:
        await initialise(socket, key)
        await subscribe(socket, "r", EVENTS)
        credential_id = parse_secret(key)
        assert credential_id is not None
        await store.credentials.revoke(credential_id, datetime.now(UTC))
        message = await receive(socket)
    errors = message["payload"] if message["type"] == "error" else message["payload"]["errors"]
    assert errors[0]["message"] == "the API key is no longer valid"
