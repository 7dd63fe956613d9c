"""graphql-transport-ws with every operation authorised against the API key's current state.

The key is checked on ``connection_init`` and then again at each ``subscribe`` message (queries
and mutations over the socket are ``subscribe`` messages too), through the same cache of
verified keys as HTTP requests (:class:`graphql_api.auth.ApiKeys`), so a revoked key stops
working on a socket opened before the revocation within ``api_key_cache_seconds``, as it does
over HTTP. A refused operation gets an ``error`` message with ``extensions.code``
UNAUTHENTICATED and the socket stays open, so the client sees why (a close code alone carries
no reason a client library shows); live subscriptions end by their own recheck
(:mod:`graphql_api.subscriptions`).
"""

from __future__ import annotations

from graphql import GraphQLError
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import BaseGraphQLTransportWSHandler
from strawberry.subscriptions.protocols.graphql_transport_ws.types import ErrorMessage, SubscribeMessage

from graphql_api.context import Context
from identity_store import StoreUnavailable

__all__ = ["ReauthorisingTransportWS"]


class ReauthorisingTransportWS(BaseGraphQLTransportWSHandler[Context, None]):
    """Refuses an operation whose key is no longer valid before it is started."""

    async def handle_subscribe(self, message: SubscribeMessage) -> None:
        if self.connection_acknowledged and message["id"] not in self.operations:
            refusal = await self._refusal()
            if refusal is not None:
                code, text = refusal
                error = GraphQLError(text, extensions={"code": code})
                await self.send_message(ErrorMessage(id=message["id"], type="error", payload=[error.formatted]))
                return
        await super().handle_subscribe(message)

    async def _refusal(self) -> tuple[str, str] | None:
        try:
            still_valid = await self.context.reauthenticate()
        except StoreUnavailable:
            return "SERVICE_UNAVAILABLE", "the identity store is unavailable; retry later"
        return None if still_valid else ("UNAUTHENTICATED", "the API key is no longer valid")
