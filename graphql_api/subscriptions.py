"""The live event feed: replay from a cursor, then follow the event log as it grows.

Events are read from the database by the tenant's shared poller (:mod:`graphql_api.event_feed`),
so a subscriber sees every committed change of its tenant whichever instance of the service
made it, and a thousand subscribers cost the database what one does. A consumer that
reconnects with the cursor of the last event it handled loses nothing and sees nothing twice. A
revoked or expired API key ends its live subscriptions within ``credential_recheck_interval``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator
from typing import Annotated

import strawberry
from graphql import GraphQLError
from strawberry import relay

from graphql_api.context import Context
from graphql_api.event_feed import SubscriberFellBehind
from graphql_api.permissions import CanReadEvents
from graphql_api.types.events import IdentityEvent, IdentityEventType, event_sequence
from identity_store import EventType

__all__ = ["Subscription"]

Info = strawberry.Info[Context, None]

_TYPES = strawberry.argument(description="Only events of these types; null or empty: every type.")
_ABOUT = strawberry.argument(
    description="Only the events about this user or group (global id), including memberships it gained or lost."
)
_AFTER = strawberry.argument(
    description="Replay the events after this cursor (IdentityEvent.cursor) first, then go on live; null: "
    "only changes from now on. A subscriber too far behind gets SUBSCRIBER_FELL_BEHIND and resumes from "
    "its last cursor."
)


@strawberry.type(
    description="Live events over WebSocket (graphql-transport-ws), the API key in the connection_init payload."
)
class Subscription:
    @strawberry.subscription(
        description="Committed changes of the tenant as they happen. With after, first replays the events "
        "after that cursor; without it, starts with the next change. userId or groupId keep the events "
        "about that user or group (including memberships gained or lost). Needs events:subscribe; the API key "
        "is checked again while the subscription lives.",
        permission_classes=[CanReadEvents],
    )
    async def identity_events(
        self,
        info: Info,
        types: Annotated[list[IdentityEventType] | None, _TYPES] = None,
        user_id: Annotated[relay.GlobalID | None, _ABOUT] = None,
        group_id: Annotated[relay.GlobalID | None, _ABOUT] = None,
        after: Annotated[str | None, _AFTER] = None,
    ) -> AsyncGenerator[IdentityEvent, None]:
        context = info.context
        about = [g.node_id for g in (user_id, group_id) if g is not None]
        feed = context.event_feed.subscribe(
            context.tenant,
            after=event_sequence(after) if after is not None else None,
            types=[EventType(t) for t in types] if types else None,
            about=about or None,
        )
        async with feed as subscriber:
            checked = time.monotonic()
            while True:
                wait = context.credential_recheck_interval - (time.monotonic() - checked)
                if wait <= 0:
                    if not await asyncio.shield(context.still_authenticated()):
                        raise GraphQLError("the API key is no longer valid", extensions={"code": "UNAUTHENTICATED"})
                    checked = time.monotonic()
                    continue
                try:
                    batch = await subscriber.next(wait)
                except SubscriberFellBehind as error:
                    raise GraphQLError(str(error), extensions={"code": "SUBSCRIBER_FELL_BEHIND"}) from None
                for recorded in batch:
                    context.forget_loaded()  # nested fields of each event see the state of now
                    yield IdentityEvent.of(recorded)
