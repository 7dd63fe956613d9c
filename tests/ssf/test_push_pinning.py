"""A push connects to the address its check vetted, checked again at every push: a receiver's
name that later answers a private address (DNS rebinding) cannot turn the pushes inwards.

The receiver is real (uvicorn on loopback); the name is answered by a resolver given to the
address policy, and the network maps the public address the name first answers to that receiver.
"""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlsplit

from identity_store.ssf_streams import PUSH, SsfStream
from outbound.webhooks import AddressPolicy
from outbound.webhooks.pinning import pinned_client
from ssf_transmitter.push import push_one
from tests.outbound.receiver import Receiver
from tests.outbound.test_pinning import LOOPBACK, PUBLIC, Internet, Rebinding
from tests.servers import serve_in_thread


def _stream(endpoint_url: str) -> SsfStream:
    return SsfStream(
        stream_id="s1",
        tenant_id="t1",
        audience="https://receiver.example",
        delivery_method=PUSH,
        endpoint_url=endpoint_url,
        authorization_header=None,
        events_requested=(),
        description=None,
        status="enabled",
        reason=None,
        subjects=(),
        cursor=0,
        created_at=datetime.now(UTC),
    )


async def test_a_push_goes_to_the_checked_address_and_a_rebound_name_is_refused() -> None:
    receiver = Receiver()
    with serve_in_thread(receiver.app()) as url:
        stream = _stream(f"http://receiver.example:{urlsplit(url).port}/hook")
        network = Internet()
        names = Rebinding(first=PUBLIC, then=LOOPBACK)
        policy = AddressPolicy(allow_http=True, resolver=names)
        async with pinned_client(timeout=5, network=network) as client:
            first = await push_one(client, policy, stream, "a.set.token")
            second = await push_one(client, policy, stream, "a.set.token")
    assert first == "the receiver answered 204"  # it reached the receiver (which is no SSF receiver)
    assert network.connected == [str(PUBLIC)]
    assert second is not None
    assert str(LOOPBACK) in second
    assert [d.body for d in receiver.received] == [b"a.set.token"]
    assert names.asked == ["receiver.example", "receiver.example"]
