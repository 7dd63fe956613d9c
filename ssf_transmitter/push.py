"""Push delivery (RFC 8935): each enabled push stream follows its tenant's log from its cursor.

A SET is POSTed as ``application/secevent+jwt``; the receiver's 202 (RFC 8935 §2.2) delivers it,
and the cursor moves past an event once all its SETs are delivered. Any other answer, or no
answer, stops the stream's round there; the next round retries the same SETs (same ``jti``),
so delivery is at least once and in log order per stream.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import replace

import httpx

from identity_store import Store
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
    ) -> None:
        self._streams = streams
        self._store = store
        self._signer = signer
        self._client = client
        self._interval = interval
        self._batch = batch

    async def run(self) -> None:
        while True:
            try:
                streams = await self._streams().pushing()
                await asyncio.gather(*(self._deliver(stream) for stream in streams))
            except Exception:
                log.exception("SSF push round failed; retrying")
            await asyncio.sleep(self._interval)

    async def _deliver(self, stream: SsfStream) -> None:
        tenant = self._store().tenant(stream.tenant_id)
        while True:
            pending, read_to = await sets_after(stream, tenant, self._signer, limit=self._batch)
            if read_to == stream.cursor:
                return
            for item in pending:
                if not await push_one(self._client, stream, item.token):
                    # The log is gapless: every event before this one is delivered or had no SET.
                    if item.sequence - 1 > stream.cursor:
                        await self._streams().advance(stream.tenant_id, stream.stream_id, item.sequence - 1)
                    return
            await self._streams().advance(stream.tenant_id, stream.stream_id, read_to)
            stream = replace(stream, cursor=read_to)
