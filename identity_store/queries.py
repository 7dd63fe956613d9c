"""The read side: what a list or search asks for, and the page it gets back.

Both front ends compile their filters to :mod:`identity_store.domain.filters` and their paging to
:class:`IndexPage` (``startIndex``/``count``, RFC 7644 §3.4.2.4) or :class:`CursorPage` (a keyset
cursor, RFC 9865). The MongoDB adapter runs the whole query in the database; nothing is filtered
or paged in Python, and attributes not asked for are not loaded.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from identity_store.domain.filters import Filter
from identity_store.domain.users import User

__all__ = ["CursorPage", "IndexPage", "MemberOf", "Page", "Projection", "Query", "Sort", "UserView"]

T = TypeVar("T")


@dataclass(frozen=True, slots=True, kw_only=True)
class Sort:
    """Order by an attribute path (``None``: by id). Ties always break on id, so pages are stable.

    ``creation`` (with no path) asks for creation order where the store keeps it: an unfiltered
    list is then served from the resources' creation positions, at the same cost at any depth,
    and a walk through it returns every resource that exists throughout exactly once. A filtered
    list (or one of a group's members) asked for in creation order comes in id order.
    """

    path: tuple[str, ...] | None = None
    descending: bool = False
    creation: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class IndexPage:
    """RFC 7644 §3.4.2.4: 1-based ``start_index``, at most ``count`` results."""

    start_index: int = 1
    count: int = 100


@dataclass(frozen=True, slots=True, kw_only=True)
class CursorPage:
    """A keyset page: results strictly after (or before) the opaque ``cursor``."""

    cursor: str | None = None
    count: int = 100
    backwards: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class Projection:
    """Which top-level attributes to load (``None``: all). ``members`` applies to groups only."""

    attributes: frozenset[str] | None = None
    members: bool = True

    def includes(self, name: str) -> bool:
        return self.attributes is None or name in self.attributes


@dataclass(frozen=True, slots=True, kw_only=True)
class MemberOf:
    """Only users that are members of ``group_id``: directly, or (``transitive``) also through
    groups nested in it, at any depth.

    The store walks the group's membership records in member-id order and looks up the users of
    each batch, so a page costs what the page needs, not what the group holds. Such a query must
    therefore be sorted by id and paged by cursor (:class:`InvalidValue` otherwise). A filter
    that few members meet makes the walk read further; it stops after a bounded number of
    memberships, and the page may then hold fewer items than asked while ``next_cursor`` (or,
    backwards, ``previous_cursor``) still points at where the walk stopped.
    """

    group_id: str
    transitive: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class Query:
    filter: Filter | None = None
    member_of: MemberOf | None = None
    sort: Sort = field(default_factory=Sort)
    page: IndexPage | CursorPage = field(default_factory=IndexPage)
    projection: Projection = field(default_factory=Projection)
    count_total: bool = True
    #: Who walks the list by index (a credential id): its ``start_index=1`` page begins a walk
    #: that its later pages count from (see ``Sort.creation``); ``None``: no walk is kept.
    walker: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Page(Generic[T]):
    """One page of results; ``total`` is ``None`` when it was not asked for.

    A keyset page also carries ``cursors``: one per item, the cursor that resumes right after it.
    """

    items: Sequence[T]
    total: int | None
    next_cursor: str | None = None
    previous_cursor: str | None = None
    cursors: Sequence[str] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class UserView:
    """A user with what is shown beside it, read in the same query: the ids of the groups it is a
    direct member of (when asked for), and its manager's ``displayName`` (when it has one)."""

    user: User
    group_ids: Sequence[str] = ()
    manager_name: str | None = None
