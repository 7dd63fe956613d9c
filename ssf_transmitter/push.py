"""Push delivery (RFC 8935): each enabled push stream follows its tenant's log from its cursor.

A SET is POSTed as ``application/secevent+jwt``; the receiver's 202 (RFC 8935 §2.2) delivers it,
and the cursor moves past an event once all its SETs are delivered. Any other answer, or no
answer, stops the stream's round there; the same SETs (same ``jti``) are sent again, so delivery
is at least once and in log order per stream. A stream is pushed by one process at a time: the
one holding its lease in the database (renewed while it works, taken over by another instance
once it lapses).

A failing receiver is tried again after a back-off (:mod:`ssf_transmitter.backoff`); its
failures are recorded in the stream, so every instance waits the same, and after failing for
the back-off's ``give_up`` the stream is disabled with the reason. Verification events asked
for (SSF 1.0 §8.1.4) go first, from the stream's record.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime

import httpx

from identity_store import Store
from identity_store.bus import CommandBus, RequestContext
from identity_store.commands import SetSsfStreamStatus
from identity_store.domain.errors import DomainError
from identity_store.events import Actor
from identity_store.ssf_streams import SsfStream, SsfStreams
from outbound.webhooks.addresses import AddressPolicy, RefusedAddress
from outbound.webhooks.pinning import pinned
from ssf_transmitter.backoff import Backoff
from ssf_transmitter.delivery import sets_after, verification_set
from ssf_transmitter.tokens import SetSigner

__all__ = ["Pusher", "push_one"]

log = logging.getLogger(__name__)


async def push_one(client: httpx.AsyncClient, policy: AddressPolicy, stream: SsfStream, token: str) -> str | None:
    """POST one SET to the stream's endpoint; ``None`` when the receiver accepted it (202), else why not.

    The endpoint was checked when the stream was made; its name is resolved and checked again
    here, and the connection made to exactly the addresses checked (``client`` is a pinned
    client, see :mod:`outbound.webhooks.pinning`): a name that answers a public address to one
    lookup and a private one to the next (DNS rebinding) cannot turn a push inwards."""
    if stream.endpoint_url is None:
        return "the stream has no endpoint_url"
    headers = {"Content-Type": "application/secevent+jwt", "Accept": "application/json"}
    if stream.authorization_header:
        headers["Authorization"] = stream.authorization_header
    try:
        vetted = await policy.check(stream.endpoint_url)
    except RefusedAddress as refused:
        log.warning("SSF push to stream %s refused: %s", stream.stream_id, refused)
        return str(refused)
    try:
        with pinned(vetted):
            response = await client.post(stream.endpoint_url, content=token, headers=headers)
    except httpx.HTTPError as error:
        log.warning("SSF push to stream %s failed: %s", stream.stream_id, error)
        return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
    if response.status_code != 202:
        log.warning("SSF push to stream %s answered %s", stream.stream_id, response.status_code)
        return f"the receiver answered {response.status_code}"
    return None


class Pusher:
    """The push loop of this process: every ``interval`` seconds, each enabled push stream due."""

    def __init__(
        self,
        streams: Callable[[], SsfStreams],
        store: Callable[[], Store],
        bus: Callable[[], CommandBus],
        signer: SetSigner,
        client: httpx.AsyncClient,
        *,
        interval: float,
        backoff: Backoff,
        policy: AddressPolicy,
        batch: int = 100,
        lease_seconds: float = 30.0,
    ) -> None:
        self._streams = streams
        self._store = store
        self._bus = bus
        self._signer = signer
        self._client = client
        self._policy = policy
        self._interval = interval
        self._backoff = backoff
        self._batch = batch
        self._owner = secrets.token_hex(8)
        self._lease_seconds = lease_seconds
        #: The streams whose lease this process holds, and when it last took or renewed each.
        self._held: dict[tuple[str, str], float] = {}

    async def run(self) -> None:
        try:
            while True:
                try:
                    at = datetime.now(UTC)
                    streams = [s for s in await self._streams().pushing() if _due(s, at)]
                    await asyncio.gather(*(self._deliver(stream) for stream in streams))
                except DomainError as error:  # the database is away: an outage, not a fault of ours
                    log.warning("SSF push paused: %s", error.message)
                except Exception:
                    log.exception("SSF push round failed; retrying")
                await asyncio.sleep(self._interval)
        finally:
            # Stopping: hand the streams over now rather than when the leases lapse.
            await asyncio.shield(self._release_all())

    async def _release_all(self) -> None:
        for tenant_id, stream_id in list(self._held):
            try:
                await self._streams().release(tenant_id, stream_id, owner=self._owner)
            except Exception:
                log.warning("the lease of SSF stream %s could not be released; it lapses", stream_id)
        self._held.clear()

    async def _hold(self, stream: SsfStream) -> bool:
        """Take or renew the stream's lease; whether this process may push it."""
        key = (stream.tenant_id, stream.stream_id)
        held = await self._streams().lease(*key, owner=self._owner, seconds=self._lease_seconds)
        if held:
            self._held[key] = time.monotonic()
        else:
            self._held.pop(key, None)
        return held

    def _lease_is_fresh(self, stream: SsfStream) -> bool:
        taken = self._held.get((stream.tenant_id, stream.stream_id))
        return taken is not None and time.monotonic() - taken < self._lease_seconds / 3

    async def _push(self, stream: SsfStream, token: str) -> bool:
        """Push one SET, recording the outcome; whether it was accepted."""
        error = await push_one(self._client, self._policy, stream, token)
        if error is None:
            if stream.failure is not None:
                await self._streams().recovered(stream.tenant_id, stream.stream_id)
            return True
        await self._failed(stream, error)
        return False

    async def _failed(self, stream: SsfStream, error: str) -> None:
        at = datetime.now(UTC)
        count = (stream.failure.count if stream.failure else 0) + 1
        failure = await self._streams().failed(
            stream.tenant_id, stream.stream_id, error=error, at=at, next_attempt_at=at + self._backoff.delay(count)
        )
        if failure is not None and self._backoff.dead(failure.first_at, at):
            # Through the bus, as a receiver's own status change is: the event log says when and why.
            reason = (
                f"the receiver has accepted no SET since {failure.first_at.isoformat(timespec='seconds')} "
                f"({failure.count} attempts; last: {failure.last_error})"
            )
            command = SetSsfStreamStatus(stream_id=stream.stream_id, status="disabled", reason=reason)
            await self._bus().dispatch(RequestContext(tenant_id=stream.tenant_id, actor=Actor.system()), command)
            log.warning("SSF stream %s disabled: %s", stream.stream_id, reason)

    async def _deliver(self, stream: SsfStream) -> None:
        tenant = self._store().tenant(stream.tenant_id)
        # An idle stream costs a lease write only every third of the lease, not every round.
        if not self._lease_is_fresh(stream) and not await self._hold(stream):
            return
        for verification in stream.pending_verifications:
            if not await self._push(stream, verification_set(stream, verification, self._signer)):
                return
            await self._streams().verification_delivered(
                stream.tenant_id, stream.stream_id, verification.jti, at=datetime.now(UTC)
            )
            stream = replace(stream, failure=None)
        while True:
            pending, read_to = await sets_after(stream, tenant, self._signer, limit=self._batch)
            if read_to == stream.cursor:
                return
            for item in pending:
                # Renewed well before it lapses, so no other instance takes over mid-batch.
                if not self._lease_is_fresh(stream) and not await self._hold(stream):
                    return
                if not await self._push(stream, item.token):
                    # The log is gapless: every event before this one is delivered or had no SET.
                    if item.sequence - 1 > stream.cursor:
                        await self._streams().advance(stream.tenant_id, stream.stream_id, item.sequence - 1)
                    return
                stream = replace(stream, failure=None)
            await self._streams().advance(stream.tenant_id, stream.stream_id, read_to)
            stream = replace(stream, cursor=read_to)


def _due(stream: SsfStream, at: datetime) -> bool:
    """Whether a stream is to be pushed now: not failing, or its back-off is over."""
    return stream.failure is None or stream.failure.next_attempt_at <= at
