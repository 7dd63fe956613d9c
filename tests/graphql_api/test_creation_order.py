"""The users connection in creation order: pages cut where the ordered list is cut, totals from
the tenant's counts, and a walk that returns each user once while users come and go.

The store groups creation positions in buckets of 8 (the service's are 1,000), so a few dozen
users cross many bucket boundaries.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from graphql_api import graphql_routes
from identity_store import CommandBus, DeleteUser, RequestContext
from identity_store.mongo import CommandCounter, MongoStore
from tests.graphql_api.conftest import Call, create_user, gid

BUCKET = 8
PAGE = """query($first: Int, $after: String, $last: Int, $before: String) {
  users(first: $first, after: $after, last: $last, before: $before, orderBy: {field: CREATION}) {
    totalCount
    nodes { id }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}"""


@pytest.fixture
async def store(database_uri: str, database_name: str, database_commands: CommandCounter) -> AsyncIterator[MongoStore]:
    store = MongoStore(database_uri, database_name, listeners=[database_commands], bucket_size=BUCKET)
    try:
        await store.create_indexes()
        yield store
        await store.client.drop_database(database_name)
    finally:
        await store.close()


@pytest.fixture
async def client(store: MongoStore) -> AsyncIterator[httpx.AsyncClient]:
    """/graphql on the small-bucket store."""
    app = Starlette(routes=graphql_routes(lambda: store))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as http:
        yield http


async def _users(bus: CommandBus, context: RequestContext, count: int, prefix: str = "u") -> list[str]:
    return [(await create_user(bus, context, f"{prefix}{i:03d}")).id for i in range(count)]


def _ids(body: dict[str, Any]) -> list[str]:
    assert "errors" not in body, body
    return [n["id"] for n in body["data"]["users"]["nodes"]]


async def test_pages_in_creation_order_follow_the_ordered_list(
    gql: Call, bus: CommandBus, context: RequestContext
) -> None:
    """first/after and last/before cut the list in creation order, around deleted users; the
    total is the live count."""
    ids = await _users(bus, context, 30)
    for user_id in ids[4:13]:
        await bus.dispatch(context, DeleteUser(user_id=user_id))
    live = [gid("User", i) for i in ids[:4] + ids[13:]]
    seen: list[str] = []
    after: str | None = None
    while True:
        body = await gql(PAGE, {"first": 5, "after": after})
        seen += _ids(body)
        assert body["data"]["users"]["totalCount"] == len(live)
        info = body["data"]["users"]["pageInfo"]
        if not info["hasNextPage"]:
            break
        after = info["endCursor"]
    assert seen == live
    last = await gql(PAGE, {"last": 6})
    assert _ids(last) == live[-6:]
    before = await gql(PAGE, {"last": 6, "before": last["data"]["users"]["pageInfo"]["startCursor"]})
    assert _ids(before) == live[-12:-6]


async def test_a_walk_returns_every_user_once_while_users_come_and_go(
    gql: Call, bus: CommandBus, context: RequestContext
) -> None:
    """Paging through every user with first/after while another task creates and deletes users:
    each user that exists throughout is returned exactly once."""
    ids = await _users(bus, context, 90)
    doomed = ids[::3]
    stop = asyncio.Event()

    async def churn() -> set[str]:
        rng = random.Random(11)  # noqa: S311 - a reproducible churn, not a secret
        deleted: set[str] = set()
        made: list[str] = []
        number = 0
        while not stop.is_set():
            made.append((await create_user(bus, context, f"new{number:04d}")).id)
            number += 1
            pool = doomed if doomed and rng.random() < 0.6 else made
            victim = pool.pop(rng.randrange(len(pool)))
            await bus.dispatch(context, DeleteUser(user_id=victim))
            deleted.add(victim)
            await asyncio.sleep(0)
        return deleted

    task = asyncio.create_task(churn())
    seen: list[str] = []
    after: str | None = None
    while True:
        body = await gql(PAGE, {"first": 7, "after": after})
        seen += _ids(body)
        info = body["data"]["users"]["pageInfo"]
        if not info["hasNextPage"]:
            break
        after = info["endCursor"]
        await asyncio.sleep(0.01)
    stop.set()
    deleted = await task
    throughout = {gid("User", i) for i in set(ids) - deleted}
    assert len(seen) == len(set(seen))
    assert throughout <= set(seen)
