"""Relay node identity: the opaque global ids of users and groups, and who may resolve them.

Every node is read through the caller's tenant, so a global id of another tenant's object
resolves to ``null``, exactly like an id that never existed. Federation's entity references
(``_entities``) follow the same rule: they are read through the same tenant-bound loaders.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import TypeVar

import strawberry
from graphql import GraphQLError
from strawberry import relay
from strawberry.dataloader import DataLoader

from graphql_api.context import Context
from graphql_api.permissions import Scope

__all__ = ["Info", "entity_reference", "global_id", "load_nodes", "local_id", "require_scope"]

Info = strawberry.Info[Context, None]
R = TypeVar("R")

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


async def entity_reference(
    key: Mapping[str, object],
    type_name: str,
    *,
    by_id: DataLoader[str, R | None],
    by_name: DataLoader[str, R | None],
    name: str,
) -> R | None:
    """The record a federation representation names: by its global ``id`` or by its unique ``name``.

    ``None`` for a malformed key, a global id of another type, or a record this tenant lacks.
    """
    identifier, unique_name = key.get("id"), key.get(name)
    if isinstance(identifier, str):
        try:
            decoded = relay.GlobalID.from_id(identifier)
        except (ValueError, GraphQLError):
            return None
        node_id = local_id(decoded, type_name)
        return await by_id.load(node_id) if node_id is not None else None
    if isinstance(unique_name, str):
        return await by_name.load(unique_name)
    return None
