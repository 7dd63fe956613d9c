"""Relay node identity: the opaque global ids of users and groups, and who may resolve them.

Every node is read through the caller's tenant, so a global id of another tenant's object
resolves to ``null``, exactly like an id that never existed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TypeVar

import strawberry
from graphql import GraphQLError
from strawberry import relay
from strawberry.dataloader import DataLoader

from graphql_api.context import Context
from graphql_api.permissions import Scope

__all__ = ["Info", "global_id", "load_nodes", "local_id", "require_scope"]

Info = strawberry.Info[Context, None]

_Record = TypeVar("_Record")
_Node = TypeVar("_Node")


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


async def load_nodes(
    info: Info,
    scope: Scope,
    loader: DataLoader[str, _Record | None],
    node_ids: Iterable[str],
    of: Callable[[_Record], _Node],
) -> list[_Node | None]:
    """A node type's ``resolve_nodes``: the scope checked, the records read in one batch, null
    where the tenant has none."""
    require_scope(info, scope)
    records = await loader.load_many(list(node_ids))
    return [of(r) if r is not None else None for r in records]
