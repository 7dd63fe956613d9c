"""Relay cursor connections: one builder for every connection of the schema.

Each connection (users, groups, a user's groups, a group's members, a manager's reports, the
event log) is a page of edges, each edge a node and its cursor, and the page info of where the
page stands (:class:`graphql_api.pagination.Window`). Only the edge and connection types and
their extra fields (``totalCount``, ...) differ, so they are built here the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Protocol, TypeVar

from graphql_api.pagination import Window

__all__ = ["Edge", "connection"]

C = TypeVar("C")


class Edge(Protocol):
    """What every edge has: the cursor to resume after its node."""

    @property
    def cursor(self) -> str: ...


def connection(make: Callable[..., C], edges: Iterable[Edge], window: Window, **fields: object) -> C:
    """The connection ``make(edges=..., page_info=..., **fields)`` of a page of ``edges``."""
    chosen = list(edges)
    return make(edges=chosen, page_info=window.page_info([edge.cursor for edge in chosen]), **fields)
