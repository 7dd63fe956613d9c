"""The shared event poller: one read per tenant per interval whatever the number of subscribers,
replay handed over to the live feed with no gap and no duplicate, started and stopped with use."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextlib import AsyncExitStack

import pytest

from graphql_api.event_feed import EventFeed, Subscriber, SubscriberFellBehind
from identity_store import CommandBus, CreateGroup, CreateUser, EventType, RecordedEvent, RequestContext, Tenant
from identity_store.mongo import CommandCounter, MongoStore

INTERVAL = 0.05


async def _until(condition: Callable[[], bool]) -> None:
    """Wait until ``condition()`` holds, checking ten times per poll interval (at most 10 s)."""
    async with asyncio.timeout(10):
        while True:
            if condition():
                return
            await asyncio.sleep(INTERVAL / 10)


async def _collect(subscriber: Subscriber, last: int) -> list[int]:
    """Sequences delivered to ``subscriber`` until the one numbered ``last``."""
    seen: list[int] = []
    async with asyncio.timeout(30):
        while not seen or seen[-1] < last:
            seen += [r.sequence for r in await subscriber.next(INTERVAL)]
    return seen


async def _create_users(bus: CommandBus, context: RequestContext, prefix: str, count: int) -> None:
    for i in range(count):
        await bus.dispatch(context, CreateUser(attributes={"userName": f"{prefix}{i}@example.com"}))


@pytest.mark.parametrize("subscribers", [1, 50])
async def test_each_poll_is_one_read_whatever_the_number_of_subscribers(
    store: MongoStore, tenant: Tenant, database_commands: CommandCounter, subscribers: int
) -> None:
    """One subscription or fifty of one tenant: each poll of the log is one find, shared by all.

    Counted between two poll completions (``EventFeed.polled`` returns before the next read is
    sent), so no read is half inside the count.
    """
    feed = EventFeed(interval=INTERVAL)
    tenant_store = store.tenant(tenant.id)
    async with AsyncExitStack() as stack:
        for _ in range(subscribers):
            await stack.enter_async_context(feed.subscribe(tenant_store))
        async with asyncio.timeout(10):
            await feed.polled(tenant.id, 2)
            start = feed.polls(tenant.id)
            with database_commands.counting() as counted:
                await feed.polled(tenant.id, start + 10)
                reads = dict(counted)
        assert feed.polls(tenant.id) == start + 10
    print(f"10 polls with {subscribers} subscribers: {reads}")
    assert reads == {"find": 10}


async def test_each_tenant_has_its_own_poller_started_and_stopped_with_its_subscribers(
    store: MongoStore, tenant: Tenant, database_commands: CommandCounter
) -> None:
    """The poller starts with the first subscription and stops with the last: then nothing is read."""
    other = await store.tenants.create("umbrella")
    feed = EventFeed(interval=INTERVAL)
    async with (
        feed.subscribe(store.tenant(tenant.id)),
        feed.subscribe(store.tenant(tenant.id)),
        feed.subscribe(store.tenant(other.id)),
    ):
        await _until(lambda: feed.polls(tenant.id) >= 1 and feed.polls(other.id) >= 1)
    assert feed.polls(tenant.id) == feed.polls(other.id) == 0  # no poller runs any more
    with database_commands.counting() as counted:
        await asyncio.sleep(INTERVAL * 5)
    assert dict(counted) == {}


async def test_replay_hands_over_to_the_live_feed_without_gap_or_duplicate(
    store: MongoStore, tenant: Tenant, bus: CommandBus, context: RequestContext
) -> None:
    """Subscribers join from old cursors while another writer commits: each receives every sequence
    after its cursor exactly once, in order (the log's sequence is gapless per tenant)."""
    feed = EventFeed(interval=INTERVAL, batch=7)  # small batches: replays take several reads
    tenant_store = store.tenant(tenant.id)
    await _create_users(bus, context, "before", 30)
    writer = asyncio.create_task(_create_users(bus, context, "during", 60))
    try:
        results: list[tuple[int, asyncio.Task[list[int]]]] = []
        async with AsyncExitStack() as stack:
            for after in (0, 12, 25):
                subscriber = await stack.enter_async_context(feed.subscribe(tenant_store, after=after))
                results.append((after, asyncio.create_task(_collect(subscriber, 90))))
                await asyncio.sleep(INTERVAL * 3)  # join at different moments of the writing
            for after, task in results:
                assert await task == list(range(after + 1, 91)), after
    finally:
        await writer
    assert await tenant_store.events.last_sequence() == 90


async def test_without_a_cursor_only_later_changes_arrive(
    store: MongoStore, tenant: Tenant, bus: CommandBus, context: RequestContext
) -> None:
    feed = EventFeed(interval=INTERVAL)
    tenant_store = store.tenant(tenant.id)
    await _create_users(bus, context, "old", 3)
    async with feed.subscribe(tenant_store) as subscriber:
        await _create_users(bus, context, "new", 2)
        assert await _collect(subscriber, 5) == [4, 5]


async def test_each_subscriber_keeps_its_own_filters(
    store: MongoStore, tenant: Tenant, bus: CommandBus, context: RequestContext
) -> None:
    """One read serves subscribers with different filters; each gets only what it asked for."""
    feed = EventFeed(interval=INTERVAL)
    tenant_store = store.tenant(tenant.id)
    user = await bus.dispatch(context, CreateUser(attributes={"userName": "watched@example.com"}))
    async with (
        feed.subscribe(tenant_store, after=0, types=[EventType.GROUP_CREATED]) as groups,
        feed.subscribe(tenant_store, after=0, about=[user.id]) as watched,
        feed.subscribe(tenant_store) as everything,
    ):
        await bus.dispatch(context, CreateGroup(attributes={"displayName": "Club"}, member_ids=(user.id,)))
        await _create_users(bus, context, "other", 1)
        assert [r.event.type for r in await _next(groups)] == [EventType.GROUP_CREATED]
        assert [r.event.type for r in await _next(watched, 2)] == [EventType.USER_CREATED, EventType.MEMBERS_ADDED]
        assert len(await _next(everything, 3)) == 3


async def _next(subscriber: Subscriber, count: int = 1) -> list[RecordedEvent]:
    got: list[RecordedEvent] = []
    async with asyncio.timeout(10):
        while len(got) < count:
            got += await subscriber.next(INTERVAL)
    return got


async def test_a_subscriber_that_falls_behind_is_ended(
    store: MongoStore, tenant: Tenant, bus: CommandBus, context: RequestContext
) -> None:
    """Undelivered events are bounded per subscriber: beyond that it ends, to resume from its cursor."""
    feed = EventFeed(interval=INTERVAL, max_pending=2)
    async with feed.subscribe(store.tenant(tenant.id)) as subscriber:
        await _create_users(bus, context, "flood", 4)
        start = feed.polls(tenant.id)
        await _until(lambda: feed.polls(tenant.id) >= start + 2)  # a whole read after the last commit
        with pytest.raises(SubscriberFellBehind):
            await subscriber.next(INTERVAL)


async def test_live_subscriptions_and_the_lag_are_what_the_metrics_read(
    store: MongoStore, tenant: Tenant, bus: CommandBus, context: RequestContext
) -> None:
    """``subscriptions`` counts the live ones of every tenant; ``lag_seconds`` is how long after
    its commit the newest event read was handed out, back to zero once nothing is waiting."""
    feed = EventFeed(interval=INTERVAL)
    tenant_store = store.tenant(tenant.id)
    assert (feed.subscriptions, feed.lag_seconds) == (0, 0.0)
    async with feed.subscribe(tenant_store) as first, feed.subscribe(tenant_store):
        assert feed.subscriptions == 2
        await _create_users(bus, context, "lag", 1)
        (created,) = await first.next(10)
        assert created.event.type == EventType.USER_CREATED
        await _until(lambda: feed.lag_seconds == 0.0)
    assert feed.subscriptions == 0
