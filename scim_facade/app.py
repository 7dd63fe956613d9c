"""The SCIM 2.0 HTTP surface (RFC 7644 §3), mounted at ``/scim/v2``: its routes, and nothing else.

Each route maps methods to endpoint functions of a :class:`~scim_facade.calls.Call`: resources
in :mod:`users` and :mod:`groups`, lists and searches in :mod:`listing`, Bulk in :mod:`bulk`,
discovery in :mod:`discovery`. :class:`~scim_facade.calls.CallBoundary` authenticates each
request and turns every failure into a SCIM Error (:mod:`errors`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match, Mount, Route, Router
from starlette.types import Receive, Scope, Send

from identity_store import CommandBus, Store
from scim_facade import discovery, groups, listing, users
from scim_facade.bulk import post_bulk
from scim_facade.calls import PREFIX, CallBoundary, Handler
from scim_facade.counts import ScimCounts
from scim_facade.errors import error_response
from scim_facade.limits import RateLimiter
from scim_facade.settings import ScimSettings

__all__ = ["PREFIX", "ScimSettings", "scim_mount"]

_ALL_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def scim_mount(
    get_store: Callable[[], Store],
    get_bus: Callable[[], CommandBus],
    settings: ScimSettings | None = None,
    *,
    counts: ScimCounts | None = None,
    limiter: RateLimiter | None = None,
) -> Mount:
    """The SCIM endpoints, mounted at :data:`PREFIX`; ``get_store`` gives the store at request time,
    ``counts`` (when given) is counted up as they serve, and ``limiter`` is the tenants' rate limit
    (see :class:`~scim_facade.calls.CallBoundary`)."""
    boundary = CallBoundary(get_store, get_bus, settings or ScimSettings(), counts, limiter)

    def route(path: str, methods: Mapping[str, Handler]) -> Route:
        # An ASGI endpoint with methods=None receives every method, so OPTIONS, TRACE or any other
        # gets the endpoint's SCIM 405 with Allow instead of Starlette's plain-text one.
        return Route(path, _AnyMethod(boundary.endpoint(methods)), methods=None)

    routes = [
        route("/Users", {"GET": listing.list_users, "POST": users.create_user}),
        route("/Users/.search", {"POST": listing.search_users}),
        route(
            "/Users/{id}",
            {"GET": users.get_user, "PUT": users.replace_user, "PATCH": users.patch_user, "DELETE": users.delete_user},
        ),
        route("/Groups", {"GET": listing.list_groups, "POST": groups.create_group}),
        route("/Groups/.search", {"POST": listing.search_groups}),
        route(
            "/Groups/{id}",
            {
                "GET": groups.get_group,
                "PUT": groups.replace_group,
                "PATCH": groups.patch_group,
                "DELETE": groups.delete_group,
            },
        ),
        route("/.search", {"POST": listing.search_root}),
        route("/Bulk", {"POST": post_bulk}),
        route("/Me", dict.fromkeys(_ALL_METHODS, users.me)),
        route("/ServiceProviderConfig", {"GET": discovery.get_service_provider_config}),
        route("/ResourceTypes", {"GET": discovery.get_resource_types}),
        route("/ResourceTypes/{id}", {"GET": discovery.get_resource_types}),
        route("/Schemas", {"GET": discovery.get_schemas}),
        route("/Schemas/{id}", {"GET": discovery.get_schemas}),
    ]
    # No slash redirects: ``/Users/`` and ``/Users//`` are SCIM 404s, never a 307 elsewhere.
    return _ScimMount(PREFIX, app=Router(routes=routes, default=_not_found, redirect_slashes=False))


class _AnyMethod:
    """An ASGI app around a request handler (Starlette routes a plain function for GET only)."""

    def __init__(self, handle: Callable[[Request], Awaitable[Response]]) -> None:
        self._handle = handle

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = await self._handle(Request(scope, receive))
        await response(scope, receive, send)


async def _not_found(scope: Scope, receive: Receive, send: Send) -> None:
    response = error_response(404, "no such SCIM endpoint")
    await response(scope, receive, send)


def _route_path(scope: Scope) -> str:
    """The path below the application's root path (as Starlette's routing computes it)."""
    path: str = scope["path"]
    root_path: str = scope.get("root_path", "")
    return path[len(root_path) :] if root_path and path.startswith(root_path + "/") else path


class _ScimMount(Mount):
    """:data:`PREFIX` and every path under it, whatever it holds, reach the SCIM router.

    Starlette's own Mount pattern stops at a line break, so ``/Users/a%0D%0Ab`` would fall through
    to the application's plain-text 404, and ``/scim/v2`` would be redirected."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] == "http":
            path = _route_path(scope)
            if path == PREFIX or path.startswith(PREFIX + "/"):
                root_path = scope.get("root_path", "")
                return Match.FULL, {
                    "path_params": dict(scope.get("path_params", {})),
                    "app_root_path": scope.get("app_root_path", root_path),
                    "root_path": root_path + PREFIX,
                    "endpoint": self.app,
                }
        return super().matches(scope)
