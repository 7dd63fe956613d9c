"""Whole-directory walks (RFC 7644 §3.4.2.4, RFC 9865): an unfiltered list in creation order.

The store here groups creation positions in buckets of 8 (the service's are 1,000), so a few
dozen users cross many bucket boundaries. Each test states one rule of the README's "Directory
walks" and checks it through the real app on the real database.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from pymongo import monitoring

from identity_store import CommandBus, RequestContext, Tenant
from identity_store.commands import RestoreUser, RestoreUsers
from identity_store.events import Actor
from identity_store.mongo import CommandCounter, MongoStore
from tests.scim_facade.conftest import create_group, create_user

BUCKET = 8


class QueryRecorder(monitoring.CommandListener):
    """Keeps the reads of users sent while :attr:`recording` is on."""

    def __init__(self) -> None:
        self.recording = False
        self.reads: list[dict[str, Any]] = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if self.recording and event.command_name in {"find", "aggregate"}:
            self.reads.append(dict(event.command))

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        return None

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        return None


@pytest.fixture
def recorder() -> QueryRecorder:
    return QueryRecorder()


@pytest.fixture
async def store(
    database_uri: str, database_name: str, database_commands: CommandCounter, recorder: QueryRecorder
) -> AsyncIterator[MongoStore]:
    """The suite's store, with small buckets of positions."""
    store = MongoStore(database_uri, database_name, listeners=[database_commands, recorder], bucket_size=BUCKET)
    try:
        await store.create_indexes()
        yield store
        await store.client.drop_database(database_name)
    finally:
        await store.close()


async def _users(client: httpx.AsyncClient, count: int, prefix: str = "u") -> list[str]:
    return [str((await create_user(client, f"{prefix}{i:03d}"))["id"]) for i in range(count)]


async def _page(client: httpx.AsyncClient, path: str = "/Users", **params: str | int) -> dict[str, Any]:
    response = await client.get(path, params={"attributes": "id", **params})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _ids(body: dict[str, Any]) -> list[str]:
    return [r["id"] for r in body.get("Resources", [])]


async def test_total_results_comes_from_the_counts_after_creates_and_deletes(
    client: httpx.AsyncClient, database_commands: CommandCounter
) -> None:
    """totalResults of an unfiltered list is the tenant's live count, kept as users are created
    and deleted: no count of the collection."""
    ids = await _users(client, 20)
    for user_id in ids[3:6]:
        assert (await client.delete(f"/Users/{user_id}")).status_code == 204
    with database_commands.counting() as counted:
        body = await _page(client, count=1)
    assert body["totalResults"] == 17
    assert "count" not in counted
    assert counted["aggregate"] == 1  # the page itself, with its users' groups
    group = await create_group(client, "Crew")
    assert (await _page(client, "/Groups", count=1))["totalResults"] == 1
    assert (await client.delete(f"/Groups/{group['id']}")).status_code == 204
    assert (await _page(client, "/Groups", count=1))["totalResults"] == 0


async def test_an_unfiltered_list_comes_in_creation_order(client: httpx.AsyncClient) -> None:
    """Without sortBy or a filter, users come in the order they were created."""
    ids = await _users(client, 12)
    assert _ids(await _page(client, count=100)) == ids


async def test_any_start_index_returns_its_page(client: httpx.AsyncClient) -> None:
    """Every startIndex and count gives the slice of the full ordered list, across buckets,
    around deleted users, and past the end (empty, with the right total)."""
    ids = await _users(client, 41)
    deleted = set(ids[2:5] + ids[8:16] + ids[30:31])  # a bucket emptied, others thinned
    for user_id in deleted:
        assert (await client.delete(f"/Users/{user_id}")).status_code == 204
    live = [i for i in ids if i not in deleted]
    for count in (1, 3, 8, 13):
        for start in range(1, len(live) + 3):
            body = await _page(client, startIndex=start, count=count)
            assert _ids(body) == live[start - 1 : start - 1 + count], (start, count)
            assert body["totalResults"] == len(live)
            assert body["startIndex"] == start


async def test_odd_start_indexes_and_counts_are_answered_without_error(client: httpx.AsyncClient) -> None:
    """Negative, zero, huge and non-numeric values get a page or a 400, never a 500."""
    await _users(client, 5)
    for params in (
        {"startIndex": "-4"},
        {"startIndex": "0"},
        {"startIndex": "99999999999"},
        {"startIndex": "2147483647", "count": "2147483647"},
        {"count": "0"},
        {"count": "-1"},
        {"startIndex": "x"},
        {"count": "many"},
    ):
        response = await client.get("/Users", params=params)
        assert response.status_code in (200, 400), (params, response.text)
    assert _ids(await _page(client, startIndex="-4", count=2)) == _ids(await _page(client, count=2))


async def _churn(client: httpx.AsyncClient, doomed: list[str], stop: asyncio.Event) -> tuple[set[str], set[str]]:
    """Create and delete users until ``stop``: some of ``doomed`` and some of the newly created."""
    created: list[str] = []
    deleted: set[str] = set()
    rng = random.Random(7)  # noqa: S311 - a reproducible churn, not a secret
    made = 0
    while not stop.is_set():
        created.append(str((await create_user(client, f"new{made:04d}"))["id"]))
        made += 1
        pool = doomed if rng.random() < 0.6 and doomed else created
        victim = pool.pop(rng.randrange(len(pool)))
        assert (await client.delete(f"/Users/{victim}")).status_code == 204
        deleted.add(victim)
        await asyncio.sleep(0)
    return set(created), deleted


async def test_a_walk_by_start_index_returns_every_user_once_while_users_come_and_go(
    client: httpx.AsyncClient,
) -> None:
    """A caller advancing startIndex by count until it passes totalResults sees every user that
    exists throughout the walk exactly once, and no user twice, while another task creates and
    deletes users (before and after the walker's position)."""
    ids = await _users(client, 90)
    doomed = ids[::3]
    stop = asyncio.Event()
    churn = asyncio.create_task(_churn(client, list(doomed), stop))
    seen: list[str] = []
    start, total = 1, 1
    while start <= total:
        body = await _page(client, startIndex=start, count=7)
        seen += _ids(body)
        total = body["totalResults"]
        start += 7
        await asyncio.sleep(0.01)
    stop.set()
    _, deleted = await churn
    assert deleted & set(doomed), "the churn must have deleted users that existed before the walk"
    throughout = set(ids) - deleted
    assert len(seen) == len(set(seen)), "a user came back twice"
    assert throughout <= set(seen), "a user that existed throughout was missed"


async def test_a_walk_by_cursor_returns_every_user_once_while_users_come_and_go(client: httpx.AsyncClient) -> None:
    """RFC 9865 cursors over the unfiltered list: the same guarantee, without a walk record."""
    ids = await _users(client, 90)
    doomed = ids[::3]
    stop = asyncio.Event()
    churn = asyncio.create_task(_churn(client, list(doomed), stop))
    seen: list[str] = []
    cursor: str | None = ""
    while cursor is not None:
        body = await _page(client, cursor=cursor, count=7)
        seen += _ids(body)
        cursor = body.get("nextCursor")
        await asyncio.sleep(0.01)
    stop.set()
    _, deleted = await churn
    throughout = set(ids) - deleted
    assert len(seen) == len(set(seen))
    assert throughout <= set(seen)


async def test_cursor_pages_match_the_ordered_list_forwards_and_backwards(client: httpx.AsyncClient) -> None:
    """Cursor pages cut the ordered list where index pages do, and previousCursor goes back."""
    ids = await _users(client, 30)
    for user_id in ids[5:14]:
        assert (await client.delete(f"/Users/{user_id}")).status_code == 204
    live = ids[:5] + ids[14:]
    first = await _page(client, cursor="", count=4)
    second = await _page(client, cursor=first["nextCursor"], count=4)
    third = await _page(client, cursor=second["nextCursor"], count=4)
    assert _ids(first) + _ids(second) + _ids(third) == live[:12]
    assert third["totalResults"] == len(live)
    back = await _page(client, cursor=third["previousCursor"], count=4)
    assert _ids(back) == live[4:8]


async def test_a_walk_counts_users_deleted_during_it_as_empty_slots(client: httpx.AsyncClient) -> None:
    """After its first page, a walk keeps a slot for each user deleted since: the page is shorter
    than count and totalResults stays the walk's (live at its start, plus created since)."""
    ids = await _users(client, 20)
    first = await _page(client, count=5)
    assert _ids(first) == ids[:5]
    for user_id in ids[1:3] + ids[6:8]:
        assert (await client.delete(f"/Users/{user_id}")).status_code == 204
    extra = await create_user(client, "late")
    second = await _page(client, startIndex=6, count=5)
    assert _ids(second) == [ids[5], *ids[8:10]]
    assert second["totalResults"] == 21
    # Another caller (or a new walk) sees the live list.
    fresh = await _page(client, count=50)
    assert _ids(fresh) == [ids[0], *ids[3:6], *ids[8:], str(extra["id"])]
    assert fresh["totalResults"] == 17


async def test_a_deep_page_reads_a_bounded_range_of_positions(
    client: httpx.AsyncClient, recorder: QueryRecorder
) -> None:
    """The last page is read as positions bounded on both sides (no skip, no open range): its
    cost follows the page, not its depth."""
    ids = await _users(client, 40)
    await client.delete(f"/Users/{ids[33]}")
    recorder.recording = True
    body = await _page(client, startIndex=36, count=5)
    recorder.recording = False
    assert _ids(body) == ids[36:]
    reads = [r for r in recorder.reads if r.get("find") == "users" or r.get("aggregate") == "users"]
    assert reads
    for read in reads:
        condition = read["filter"] if "find" in read else read["pipeline"][0]["$match"]
        assert set(condition["pos"]) == {"$gte", "$lt"}, condition
        assert condition["pos"]["$lt"] - condition["pos"]["$gte"] <= 2 * BUCKET
        assert "skip" not in read
        assert not any("$skip" in stage for stage in read.get("pipeline", []))


async def test_a_restored_user_comes_back_at_its_place_and_is_counted(
    client: httpx.AsyncClient, store: MongoStore, tenant: Tenant
) -> None:
    """A deleted user that is restored is live again where it was created, and counted."""
    ids = await _users(client, 12)
    assert (await client.delete(f"/Users/{ids[4]}")).status_code == 204
    assert (await _page(client, count=50))["totalResults"] == 11  # one page: no walk to keep
    context = RequestContext(tenant_id=tenant.id, actor=Actor(credential_id="admin", kind="test"), correlation_id="r")
    await CommandBus(store).dispatch(context, RestoreUser(user_id=ids[4]))
    body = await _page(client, startIndex=3, count=5)
    assert _ids(body) == ids[2:7]
    assert body["totalResults"] == 12


async def test_users_restored_together_come_back_at_their_places_and_are_counted(
    client: httpx.AsyncClient, store: MongoStore, tenant: Tenant
) -> None:
    """A mass restore's batch puts each user back where it was created, counted live again."""
    ids = await _users(client, 20)
    for user_id in ids[3:12]:
        assert (await client.delete(f"/Users/{user_id}")).status_code == 204
    context = RequestContext(tenant_id=tenant.id, actor=Actor(credential_id="admin", kind="test"), correlation_id="r")
    await CommandBus(store).dispatch(context, RestoreUsers(user_ids=tuple(ids[4:10])))
    live = ids[:3] + ids[4:10] + ids[12:]
    for start in range(1, len(live) + 1, 4):
        body = await _page(client, startIndex=start, count=4)
        assert _ids(body) == live[start - 1 : start + 3]
        assert body["totalResults"] == len(live)


async def test_a_user_restored_during_a_walk_moves_no_other_user(
    client: httpx.AsyncClient, store: MongoStore, tenant: Tenant
) -> None:
    """A user deleted before a walk began and restored during it stays out of that walk, so
    every user that exists throughout still comes exactly once (the restored one is not one)."""
    ids = await _users(client, 20)
    for user_id in (ids[2], ids[5], ids[9]):
        assert (await client.delete(f"/Users/{user_id}")).status_code == 204
    first = await _page(client, count=3)
    context = RequestContext(tenant_id=tenant.id, actor=Actor(credential_id="admin", kind="test"), correlation_id="r")
    bus = CommandBus(store)
    await bus.dispatch(context, RestoreUser(user_id=ids[5]))
    assert (await client.delete(f"/Users/{ids[12]}")).status_code == 204  # deleted during the walk
    await bus.dispatch(context, RestoreUser(user_id=ids[9]))
    assert (await client.delete(f"/Users/{ids[9]}")).status_code == 204  # back, and gone again
    seen = _ids(first)
    start = 4
    while start <= first["totalResults"]:
        body = await _page(client, startIndex=start, count=3)
        assert body["totalResults"] == first["totalResults"]
        seen += _ids(body)
        start += 3
    throughout = [i for i in ids if i not in (ids[2], ids[5], ids[9], ids[12])]
    assert len(seen) == len(set(seen))
    assert set(throughout) <= set(seen)
    assert ids[5] not in seen


async def test_groups_page_by_creation_position_too(client: httpx.AsyncClient) -> None:
    """GET /Groups without a filter: the same order, pages and totals as users."""
    ids = [str((await create_group(client, f"Team {i:02d}"))["id"]) for i in range(20)]
    for group_id in ids[6:11]:
        assert (await client.delete(f"/Groups/{group_id}")).status_code == 204
    live = ids[:6] + ids[11:]
    for start in range(1, len(live) + 2):
        body = await _page(client, "/Groups", startIndex=start, count=4)
        assert _ids(body) == live[start - 1 : start + 3]
        assert body["totalResults"] == len(live)
