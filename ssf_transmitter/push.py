"""Push delivery (RFC 8935): each enabled push stream follows its tenant's log from its cursor.

A SET is POSTed as ``application/secevent+jwt``; the receiver's 202 (RFC 8935 §2.2) delivers it,
and the cursor moves past an event once all its SETs are delivered. Any other answer, or no
answer, stops the stream's round there; the next round retries the same SETs (same ``jti``),
so delivery is at least once and in log order per stream. A stream is pushed by one process at
a time: the one holding its lease in the database (renewed while it works, taken over by another
instance once it lapses).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import replace

import httpx

from identity_store import Store
from identity_store.domain.errors import DomainError
from identity_store.ssf_streams import SsfStream, SsfStreams
from ssf_transmitter.delivery import sets_after
from ssf_transmitter.tokens import SetSigner

__all__ = ["Pusher", "push_one"]

log = logging.getLogger(__name__)


async def push_one(client: httpx.AsyncClient, stream: SsfStream, token: str) -> bool:
    """POST one SET to the stream's endpoint; whether the receiver accepted it (202)."""
    if stream.endpoint_url is None:
        return False
    headers = {"Content-Type": "application/secevent+jwt", "Accept": "application/json"}
    if stream.authorization_header:
        headers["Authorization"] = stream.authorization_header
    try:
        response = await client.post(stream.endpoint_url, content=token, headers=headers)
    except httpx.HTTPError as error:
        log.warning("SSF push to stream %s failed: %s", stream.stream_id, error)
        return False
    if response.status_code != 202:
        log.warning("SSF push to stream %s answered %s", stream.stream_id, response.status_code)
        return False
    return True


class Pusher:
    """The push loop of this process: every ``interval`` seconds, each enabled push stream."""

    def __init__(
        self,
        streams: Callable[[], SsfStreams],
        store: Callable[[], Store],
        signer: SetSigner,
        client: httpx.AsyncClient,
        *,
        interval: float,
        batch: int = 100,
        lease_seconds: float = 30.0,
    ) -> None:
        self._streams = streams
        self._store = store
        self._signer = signer
        self._client = client
        self._interval = interval
        self._batch = batch
        self._owner = secrets.token_hex(8)
        self._lease_seconds = lease_seconds
        #: The streams whose lease this process holds, and when it last took or renewed each.
        self._held: dict[tuple[str, str], float] = {}

    async def run(self) -> None:
        try:
            while True:
                try:
                    streams = await self._streams().pushing()
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

    async def _deliver(self, stream: SsfStream) -> None:
        tenant = self._store().tenant(stream.tenant_id)
        # An idle stream costs a lease write only every third of the lease, not every round.
        if not self._lease_is_fresh(stream) and not await self._hold(stream):
            return
        while True:
            pending, read_to = await sets_after(stream, tenant, self._signer, limit=self._batch)
            if read_to == stream.cursor:
                return
            for item in pending:
                # Renewed well before it lapses, so no other instance takes over mid-batch.
                if not self._lease_is_fresh(stream) and not await self._hold(stream):
                    return
                if not await push_one(self._client, stream, item.token):
                    # The log is gapless: every event before this one is delivered or had no SET.
                    if item.sequence - 1 > stream.cursor:
                        await self._streams().advance(stream.tenant_id, stream.stream_id, item.sequence - 1)
                    return
            await self._streams().advance(stream.tenant_id, stream.stream_id, read_to)
            stream = replace(stream, cursor=read_to)
