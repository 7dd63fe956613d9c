"""Relay node identity: the opaque global ids of users and groups, and who may resolve them.

Every node is read through the caller's tenant, so a global id of another tenant's object
resolves to ``null``, exactly like an id that never existed.
"""

from __future__ import annotations

import strawberry
from graphql import GraphQLError
from strawberry import relay

from graphql_api.context import Context
from graphql_api.permissions import Scope

__all__ = ["Info", "global_id", "local_id", "require_scope"]

Info = strawberry.Info[Context, None]


def global_id(type_name: str, node_id: str) -> str:
    """The opaque global id of a node (what ``id`` returns and ``node(id:)`` accepts)."""
    return str(relay.GlobalID(type_name=type_name, node_id=node_id))


def local_id(value: relay.GlobalID, type_name: str) -> str | None:
    """The store id inside a global id, or ``None`` when it names another type."""
    return value.node_id if value.type_name == type_name else None


def require_scope(info: Info, scope: Scope) -> None:
    """FORBIDDEN unless the caller's key holds ``scope`` (for ``node(id:)``, which no field guards)."""
    principal = info.context.principal
    if principal is None or scope.value not in principal.scopes:
        raise GraphQLError(f"this API key lacks the {scope.value} scope", extensions={"code": "FORBIDDEN"})
