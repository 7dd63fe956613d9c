"""The live event feed: replay from a cursor, then follow the event log as it grows.

Events are read from the database (by sequence number, which is commit order), not from the
memory of this process, so a subscriber sees every committed change of its tenant whichever
instance of the service made it. A consumer that reconnects with the cursor of the last event
it handled loses nothing and sees nothing twice. A revoked or expired API key ends its live
subscriptions within ``credential_recheck_interval``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator

import strawberry
from graphql import GraphQLError
from strawberry import relay

from graphql_api.context import Context
from graphql_api.permissions import CanReadEvents
from graphql_api.types.events import IdentityEvent, IdentityEventType, event_sequence
from identity_store import EventType

__all__ = ["Subscription"]

Info = strawberry.Info[Context, None]

_BATCH = 100


@strawberry.type
class Subscription:
    @strawberry.subscription(
        description="Committed changes of the tenant as they happen. With after, first replays the events "
        "after that cursor; without it, starts with the next change. userId or groupId keep the events "
        "about that user or group (including memberships gained or lost).",
        permission_classes=[CanReadEvents],
    )
    async def identity_events(
        self,
        info: Info,
        types: list[IdentityEventType] | None = None,
        user_id: relay.GlobalID | None = None,
        group_id: relay.GlobalID | None = None,
        after: str | None = None,
    ) -> AsyncGenerator[IdentityEvent, None]:
        context = info.context
        log = context.tenant.events
        # Reads are shielded: a subscriber leaving cancels this generator, and a driver read
        # cancelled mid-flight could hold the connection's shutdown; the read finishes on its own.
        position = event_sequence(after) if after is not None else await asyncio.shield(log.last_sequence())
        about = [g.node_id for g in (user_id, group_id) if g is not None]
        wanted = [EventType(t) for t in types] if types else None
        checked = time.monotonic()
        while True:
            if time.monotonic() - checked >= context.credential_recheck_interval:
                if not await asyncio.shield(context.still_authenticated()):
                    raise GraphQLError("the API key is no longer valid", extensions={"code": "UNAUTHENTICATED"})
                checked = time.monotonic()
            batch = await asyncio.shield(
                log.read(after=position, limit=_BATCH, types=wanted, aggregate_ids=about or None)
            )
            for recorded in batch:
                position = recorded.sequence
                context.forget_loaded()  # nested fields of each event see the state of now
                yield IdentityEvent.of(recorded)
            if len(batch) < _BATCH:
                await asyncio.sleep(context.event_poll_interval)
