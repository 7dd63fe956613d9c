"""The GraphQL API for internal services: reads, the same commands as SCIM, and the event feed.

:func:`graphql_routes` mounts it (``/graphql``, HTTP and WebSocket); the strawberry schema is
:data:`graphql_api.schema.schema`, exported as ``schema.graphql``.

The names are imported when first used (PEP 562): building the schema takes most of a second,
and the command line, which only needs :class:`Scope`, should not wait for it.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from graphql_api.app import GraphQLSettings, graphql_routes
    from graphql_api.scopes import Scope

__all__ = ["GraphQLSettings", "Scope", "graphql_routes"]

_HOMES = {
    "GraphQLSettings": "graphql_api.app",
    "graphql_routes": "graphql_api.app",
    "Scope": "graphql_api.scopes",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'graphql_api' has no attribute {name!r}")
    return getattr(import_module(home), name)
