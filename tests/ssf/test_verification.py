"""Verification (SSF 1.0 §8.1.4) is kept in the database: what the receiver asked for, with its
``state``, and whether it was delivered, are the same on every instance and survive a restart."""

from __future__ import annotations

import httpx

from identity_service.app import create_app
from identity_service.settings import Settings
from identity_store import Tenant
from identity_store.mongo import MongoStore
from tests.ssf.conftest import Receiver, serving
from tests.ssf.test_push_failures import refused_at_least, stored
from tests.ssf.test_transmitter import POLL, PUSH, VERIFICATION, bearer, create_stream, verified


async def poll(http: httpx.AsyncClient, url: str, key: str, **body: object) -> dict[str, str]:
    answer = (await http.post(url, json=body, headers=bearer(key))).json()
    sets: dict[str, str] = answer["sets"]
    return sets


async def test_a_verification_asked_of_one_instance_is_polled_from_another_and_acknowledged_for_both(
    http: httpx.AsyncClient, settings: Settings, ssf_key: str, store: MongoStore, tenant: Tenant
) -> None:
    """Two instances on one database: the verification SET asked of the first, with its ``state``,
    is returned by the second until acknowledged there, and then by neither."""
    async with serving(create_app(settings)) as first, serving(create_app(settings)) as second:
        stream = await create_stream(http, first, ssf_key, delivery={"method": POLL})
        asked = await http.post(
            f"{first}/ssf/verify",
            json={"stream_id": stream["stream_id"], "state": "from-first"},
            headers=bearer(ssf_key),
        )
        assert asked.status_code == 204
        on_second = f"{second}/ssf/poll/{stream['stream_id']}"
        ((jti, token),) = (await poll(http, on_second, ssf_key)).items()
        claims = await verified(http, second, token, stream["aud"])
        assert claims["events"] == {VERIFICATION: {"state": "from-first"}}
        assert claims["jti"] == jti

        assert await poll(http, on_second, ssf_key, ack=[jti]) == {}
        assert await poll(http, f"{first}/ssf/poll/{stream['stream_id']}", ssf_key) == {}
    (kept,) = (await stored(store, tenant, stream["stream_id"])).verifications
    assert (kept.jti, kept.state) == (jti, "from-first")
    assert kept.delivered_at is not None


async def test_a_verification_not_yet_polled_survives_a_restart(
    http: httpx.AsyncClient, settings: Settings, ssf_key: str
) -> None:
    async with serving(create_app(settings)) as before:
        stream = await create_stream(http, before, ssf_key, delivery={"method": POLL})
        body = {"stream_id": stream["stream_id"], "state": "before-restart"}
        assert (await http.post(f"{before}/ssf/verify", json=body, headers=bearer(ssf_key))).status_code == 204
    async with serving(create_app(settings)) as after:
        (token,) = (await poll(http, f"{after}/ssf/poll/{stream['stream_id']}", ssf_key)).values()
        claims = await verified(http, after, token, stream["aud"])
    assert claims["events"] == {VERIFICATION: {"state": "before-restart"}}


async def test_a_pushed_verification_waits_for_a_failing_receiver_and_is_sent_once(
    http: httpx.AsyncClient, settings: Settings, ssf_key: str, receiver: Receiver, store: MongoStore, tenant: Tenant
) -> None:
    """Asked while the receiver is down, the verification is kept in the stream and pushed, once,
    when the receiver is back, by whichever of two instances holds the stream."""
    async with serving(create_app(settings)) as first, serving(create_app(settings)):
        stream = await create_stream(http, first, ssf_key, delivery={"method": PUSH, "endpoint_url": receiver.url})
        receiver.failing = True
        body = {"stream_id": stream["stream_id"], "state": "while-down"}
        assert (await http.post(f"{first}/ssf/verify", json=body, headers=bearer(ssf_key))).status_code == 204
        await refused_at_least(receiver, 2)
        (pending,) = (await stored(store, tenant, stream["stream_id"])).pending_verifications
        assert pending.state == "while-down"
        receiver.failing = False
        (token,) = await receiver.wait_for(1)
        claims = await verified(http, first, token, stream["aud"])
        await receiver.wait_for(2, within=0.5)  # long enough for a duplicate, if one were sent
    assert len(receiver.received) == 1
    assert claims["events"] == {VERIFICATION: {"state": "while-down"}}
    assert (await stored(store, tenant, stream["stream_id"])).pending_verifications == ()
