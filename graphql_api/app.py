"""The ``/graphql`` endpoint: HTTP and WebSocket, authenticated before anything is executed.

Over HTTP the API key comes as ``Authorization: Bearer <key>``; a missing or invalid key gets a
401 with a GraphQL error (``extensions.code`` UNAUTHENTICATED) before the query is even parsed,
and a request with two Authorization headers (which one counts would be a guess) a 400
(RFC 6750 §3.1 ``invalid_request``). Every other malformed request gets its 4xx with a GraphQL
error body too (see :mod:`graphql_api.http_requests`); a document of several operations without
``operationName`` a 400 (see :mod:`graphql_api.operations`).

Over WebSocket only ``graphql-transport-ws`` is spoken; the key comes in the ``connection_init``
payload (``{"Authorization": "Bearer <key>"}``) and a bad one closes the connection (4403). The
key is checked again at each operation (see :mod:`graphql_api.transport_ws`).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from cross_web import AsyncHTTPRequestAdapter, HTTPException, StarletteRequestAdapter
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Route, WebSocketRoute
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types.unset import UnsetType

from graphql_api.auth import ApiKeys, Principal, bearer_token
from graphql_api.context import Context
from graphql_api.cost import DEFAULT_MAX_NODES
from graphql_api.event_feed import EventFeed
from graphql_api.graphiql import assets_mount, graphiql_page
from graphql_api.http_requests import RequestError, error_response, parse_body
from graphql_api.operations import OPERATION_NAME_REQUIRED
from graphql_api.schema import schema
from graphql_api.scim_filters import ScimFilterCompiler
from graphql_api.transport_ws import ReauthorisingTransportWS
from identity_store import CommandBus, Store, StoreTimeout, StoreUnavailable
from identity_store.activity import ActivityLog, activity_of
from identity_store.bootstrap import BusOf
from identity_store.domain.credentials import CacheCounts

__all__ = ["GraphQLSettings", "graphql_routes"]

_PRINCIPAL = "graphql_api.principal"
#: What each status of strawberry's own request errors means, as our error codes.
_CODES = {400: "BAD_REQUEST", 404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED", 415: "UNSUPPORTED_MEDIA_TYPE"}
#: Errors of the request as a whole, answered with 400 even though they are found by GraphQL.
_REQUEST_ERROR_CODES = frozenset({OPERATION_NAME_REQUIRED})


@dataclass(frozen=True, slots=True, kw_only=True)
class GraphQLSettings:
    """How the endpoint is exposed. The defaults are the production ones."""

    graphiql: bool = False
    allowed_origins: tuple[str, ...] = ()
    max_subscriptions_per_connection: int = 10
    max_body_bytes: int = 256 * 1024
    #: How often each tenant's event log is read while it has live subscriptions (once for all of them).
    event_poll_interval: float = 0.25
    #: How often a live subscription checks that its API key is still valid (revocation, expiry).
    credential_recheck_interval: float = 30.0
    #: How long a verified API key is trusted without reading it again (0: read it every request).
    api_key_cache_seconds: float = 30.0
    #: The most nodes one operation may return, priced before it runs (see graphql_api.cost).
    max_query_nodes: int = DEFAULT_MAX_NODES
    #: Compiles the ``scimFilter`` argument (see :mod:`graphql_api.scim_filters`); without one,
    #: the argument is refused with BAD_USER_INPUT.
    scim_filter: ScimFilterCompiler | None = None
    #: The activity log, once the store is open (see identity_store.activity); None: none is kept.
    activity_log: Callable[[], ActivityLog | None] | None = None


class _IdentityGraphQL(GraphQL[Context, None]):
    graphql_transport_ws_handler_class = ReauthorisingTransportWS

    def __init__(
        self,
        store: Callable[[], Store],
        bus: Callable[[], CommandBus],
        settings: GraphQLSettings,
        api_keys: ApiKeys,
        event_feed: EventFeed | None = None,
    ) -> None:
        super().__init__(
            schema,
            graphql_ide="graphiql" if settings.graphiql else None,
            allow_queries_via_get=False,
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
            connection_init_wait_timeout=timedelta(seconds=10),
            multipart_uploads_enabled=False,
            max_subscriptions_per_connection=settings.max_subscriptions_per_connection,
            allowed_origins=settings.allowed_origins,
        )
        self._store = store
        self._bus = bus
        self._settings = settings
        self._api_keys = api_keys
        # One set of pollers for every connection this endpoint serves (one read per tenant per interval).
        self._event_feed = event_feed if event_feed is not None else EventFeed(interval=settings.event_poll_interval)

    async def get_context(self, request: Request | WebSocket, response: Response | WebSocket) -> Context:
        principal = request.scope.get(_PRINCIPAL)
        activity = activity_of(request.scope)
        return Context(
            store=self._store(),
            bus=self._bus(),
            request_id=activity.request_id
            if activity is not None
            else request.headers.get("x-request-id") or uuid.uuid4().hex,
            activity=activity,
            activity_log=self._settings.activity_log() if self._settings.activity_log is not None else None,
            principal=principal if isinstance(principal, Principal) else None,
            event_feed=self._event_feed,
            credential_recheck_interval=self._settings.credential_recheck_interval,
            max_query_nodes=self._settings.max_query_nodes,
            scim_filter=self._settings.scim_filter,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        try:
            response = await self.run(Request(scope, receive))
        except RequestError as refused:
            response = refused.response()
        except HTTPException as refused:  # strawberry's own, plain text by default
            code = _CODES.get(refused.status_code, "BAD_REQUEST")
            response = error_response(refused.status_code, code, refused.reason)
        await response(scope, receive, send)

    async def render_graphql_ide(self, request: Request) -> HTMLResponse:
        # Our page, not strawberry's: its assets come from this app (see graphql_api.graphiql).
        return graphiql_page(request.scope.get("root_path", ""))

    async def parse_http_body(self, request: AsyncHTTPRequestAdapter) -> GraphQLRequestData:
        return parse_body(request.content_type, await request.get_body())

    def create_response(
        self, response_data: GraphQLHTTPResponse | list[GraphQLHTTPResponse], sub_response: Response
    ) -> Response:
        response = super().create_response(response_data, sub_response)
        errors = response_data.get("errors") if isinstance(response_data, dict) else None
        if errors and any(str(_code(error)) in _REQUEST_ERROR_CODES for error in errors):
            response.status_code = 400
        return response

    async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object] | None:
        params = context.connection_params if isinstance(context.connection_params, dict) else {}
        secret = bearer_token(params.get("Authorization"))
        try:
            principal = await self._api_keys.authenticate(context.store, secret)
        except StoreUnavailable:
            principal = None  # cannot be checked now: refuse; the client reconnects later
        if principal is None:
            raise ConnectionRejectionError({"code": "UNAUTHENTICATED", "message": "a valid API key is required"})
        context.principal = principal
        context.api_keys, context.api_key = self._api_keys, secret  # checked again at each operation
        return UnsetType()  # acknowledge with no payload


def _code(error: object) -> object:
    extensions = error.get("extensions") if isinstance(error, dict) else None
    return extensions.get("code") if isinstance(extensions, dict) else None


class _Endpoint:
    """Authenticates HTTP requests, then hands them (and WebSocket connections) to strawberry."""

    def __init__(
        self,
        store: Callable[[], Store],
        bus: Callable[[], CommandBus],
        settings: GraphQLSettings,
        *,
        event_feed: EventFeed | None,
        api_key_cache: CacheCounts | None,
    ) -> None:
        self._store = store
        self._settings = settings
        self._api_keys = ApiKeys(cache_seconds=settings.api_key_cache_seconds, cache_counts=api_key_cache)
        self._graphql = _IdentityGraphQL(store, bus, settings, self._api_keys, event_feed)
        self.graphiql = settings.graphiql

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            request = Request(scope, receive)
            response = await self._refuse(request)
            if response is not None:
                await response(scope, receive, send)
                return
        await self._graphql(scope, receive, send)

    async def _refuse(self, request: Request) -> Response | None:
        allowed = "GET, POST" if self._settings.graphiql else "POST"
        if (
            request.method == "GET"
            and self._settings.graphiql
            and self._graphql.should_render_graphql_ide(StarletteRequestAdapter(request))
        ):
            return None  # the development IDE page
        if request.method != "POST":
            return error_response(405, "METHOD_NOT_ALLOWED", "send GraphQL operations with POST", {"Allow": allowed})
        length = request.headers.get("content-length")
        if length is None:
            # A body without a declared length could be any size; clients must say it up front.
            return error_response(411, "LENGTH_REQUIRED", "send the request body with a Content-Length")
        if not length.isdigit() or int(length) > self._settings.max_body_bytes:
            return error_response(
                413, "PAYLOAD_TOO_LARGE", f"the request body exceeds {self._settings.max_body_bytes} bytes"
            )
        authorizations = request.headers.getlist("authorization")
        if len(authorizations) > 1:
            return error_response(
                400,
                "BAD_REQUEST",
                "send exactly one Authorization header",
                {"WWW-Authenticate": 'Bearer error="invalid_request"'},
            )
        try:
            principal = await self._api_keys.authenticate(
                self._store(), bearer_token(authorizations[0] if authorizations else None)
            )
        except StoreTimeout as error:
            return error_response(
                503, "TIMEOUT", "the identity store did not answer in time", {"Retry-After": str(error.retry_after)}
            )
        except StoreUnavailable as error:
            return error_response(
                503, "SERVICE_UNAVAILABLE", "the identity store is unavailable", {"Retry-After": str(error.retry_after)}
            )
        if principal is None:
            return error_response(401, "UNAUTHENTICATED", "a valid API key is required", {"WWW-Authenticate": "Bearer"})
        request.scope[_PRINCIPAL] = principal
        return None


def graphql_routes(
    store: Callable[[], Store],
    settings: GraphQLSettings | None = None,
    bus: Callable[[], CommandBus] | None = None,
    *,
    event_feed: EventFeed | None = None,
    api_key_cache: CacheCounts | None = None,
) -> list[BaseRoute]:
    """``/graphql`` for HTTP and WebSocket, on the store ``store()`` returns (set up by the lifespan)
    and its command bus ``bus()`` (by default, the store's bus, bootstrapped once). The service
    passes its own ``event_feed`` and ``api_key_cache`` counts to report them as metrics."""
    bus_of = BusOf()
    endpoint = _Endpoint(
        store,
        bus or (lambda: bus_of(store())),
        settings or GraphQLSettings(),
        event_feed=event_feed,
        api_key_cache=api_key_cache,
    )
    # Every method reaches the endpoint, so even a PUT is refused with a GraphQL error body.
    routes: list[BaseRoute] = [Route("/graphql", endpoint), WebSocketRoute("/graphql", endpoint)]
    if endpoint.graphiql:
        routes.append(assets_mount())  # the IDE's scripts and styles, only while it is served
    return routes
