"""A push receiver that fails (RFC 8935 §2.3): tried again with back-off, its failures recorded in
the stream, and the stream disabled (SSF 1.0 §8.1.2) once it has failed for too long.

The receiver is a real server on loopback that answers 503 while it is "down".
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import httpx

from identity_service.app import create_app
from identity_service.settings import Settings
from identity_store import EventType, Tenant
from identity_store.mongo import MongoStore
from identity_store.mongo.ssf_streams import MongoSsfStreams
from identity_store.ssf_streams import SsfStream
from tests.ssf.conftest import Receiver, entra_creates_user, serving
from tests.ssf.test_transmitter import PUSH, SCIM_CREATE, bearer, create_stream, verified


async def stored(store: MongoStore, tenant: Tenant, stream_id: str) -> SsfStream:
    stream = await MongoSsfStreams(store.database).get(tenant.id, stream_id)
    assert stream is not None
    return stream


async def refused_at_least(receiver: Receiver, count: int, *, within: float = 30.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while receiver.refused < count and loop.time() < deadline:  # noqa: ASYNC110 (the receiver's own thread counts)
        await asyncio.sleep(0.02)
    assert receiver.refused >= count


async def failing_at_least(store: MongoStore, tenant: Tenant, stream_id: str, count: int) -> SsfStream:
    """The stream once its record counts ``count`` failures (each is written after the receiver's answer)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 30
    stream = await stored(store, tenant, stream_id)
    while (stream.failure is None or stream.failure.count < count) and loop.time() < deadline:
        await asyncio.sleep(0.02)
        stream = await stored(store, tenant, stream_id)
    assert stream.failure is not None
    assert stream.failure.count >= count
    return stream


async def test_a_failing_receiver_has_its_failures_recorded_and_then_gets_each_event_once_in_order(
    http: httpx.AsyncClient,
    service: str,
    ssf_key: str,
    scim_token: str,
    receiver: Receiver,
    store: MongoStore,
    tenant: Tenant,
) -> None:
    """While the receiver fails, the stream records how often, since when, the last error and the
    next attempt; once it is back it gets every event once, in log order, and the record is gone."""
    stream = await create_stream(
        http, service, ssf_key, delivery={"method": PUSH, "endpoint_url": receiver.url}, events_requested=[SCIM_CREATE]
    )
    receiver.failing = True
    started = datetime.now(UTC)
    ids = [await entra_creates_user(http, service, scim_token, f"outage{n}@example.com") for n in range(4)]
    await refused_at_least(receiver, 3)
    failing = await failing_at_least(store, tenant, stream["stream_id"], 3)

    assert failing.failure is not None
    assert started <= failing.failure.first_at <= datetime.now(UTC)
    assert failing.failure.last_error == "the receiver answered 503"
    assert failing.failure.next_attempt_at >= failing.failure.first_at
    assert failing.status == "enabled"

    receiver.failing = False
    received = await receiver.wait_for(4)
    await receiver.wait_for(5, within=0.5)  # long enough for a duplicate, if one were sent
    claims = [await verified(http, service, token, stream["aud"]) for token in receiver.received]
    assert [c["sub_id"]["id"] for c in claims] == ids
    assert len(received) == 4
    assert (await stored(store, tenant, stream["stream_id"])).failure is None


async def test_a_receiver_failing_past_the_limit_has_its_stream_disabled_with_a_reason(
    http: httpx.AsyncClient,
    settings: Settings,
    ssf_key: str,
    scim_token: str,
    receiver: Receiver,
    store: MongoStore,
    tenant: Tenant,
) -> None:
    """SSF 1.0 §8.1.2: the status endpoint says ``disabled`` and why; a disabled stream holds
    nothing, so what happened meanwhile is not sent when the receiver comes back."""
    quick = settings.model_copy(update={"ssf_disable_after_seconds": 0.3})
    async with serving(create_app(quick)) as service:
        stream = await create_stream(
            http,
            service,
            ssf_key,
            delivery={"method": PUSH, "endpoint_url": receiver.url},
            events_requested=[SCIM_CREATE],
        )
        receiver.failing = True
        await entra_creates_user(http, service, scim_token, "gone@example.com")
        status: dict[str, str] = {}
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 30
        while status.get("status") != "disabled" and loop.time() < deadline:
            await asyncio.sleep(0.05)
            response = await http.get(
                f"{service}/ssf/status", params={"stream_id": stream["stream_id"]}, headers=bearer(ssf_key)
            )
            status = response.json()
        assert status["status"] == "disabled"
        assert "the receiver answered 503" in status["reason"]

        receiver.failing = False
        await entra_creates_user(http, service, scim_token, "meanwhile@example.com")
        await receiver.wait_for(1, within=0.5)
    assert receiver.received == []
    # The service disabled it as a command of its own: the log says so, and why.
    events = await store.tenant(tenant.id).events.read(types=[EventType.SSF_STREAM_STATUS_CHANGED])
    (disabled,) = [e for e in events if e.event.aggregate_id == stream["stream_id"]]
    assert disabled.actor.kind == "system"
    assert {c.field: c.after for c in disabled.event.changes}["status"] == "disabled"
