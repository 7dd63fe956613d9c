"""Keyset pagination (Relay cursor connections): arguments, windows, page info, and cursors.

``first``/``after`` walk forwards and ``last``/``before`` backwards, at most :data:`MAX_PAGE_SIZE`
at a time. Cursors are opaque; those of users and groups come from the store (sort key and id),
so a page is one indexed query and never an offset.
"""

from __future__ import annotations

import base64
import binascii
import bisect
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import strawberry
from strawberry.types.nodes import SelectedField, Selection

from graphql_api.errors import BadUserInput
from identity_store.queries import CursorPage, Page

__all__ = [
    "DEFAULT_PAGE_SIZE",
    "MAX_PAGE_SIZE",
    "PageInfo",
    "Window",
    "cursor_page",
    "decode_key",
    "encode_key",
    "selects",
    "sorted_window",
    "store_window",
    "trim_window",
]

T = TypeVar("T")

MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 20


@strawberry.type(description="Where a page stands in its connection (Relay cursor connections).")
class PageInfo:
    has_next_page: bool = strawberry.field(
        description="Whether items follow this page (page on with first and after: endCursor)."
    )
    has_previous_page: bool = strawberry.field(
        description="Whether items come before this page (page back with last and before: startCursor)."
    )
    start_cursor: str | None = strawberry.field(
        description="The cursor of the page's first item; null when the page is empty."
    )
    end_cursor: str | None = strawberry.field(
        description="The cursor of the page's last item; null when the page is empty."
    )


def cursor_page(first: int | None, after: str | None, last: int | None, before: str | None) -> CursorPage:
    """The store page for Relay arguments; one direction at a time, 1 to MAX_PAGE_SIZE items."""
    if first is not None and last is not None:
        raise BadUserInput("pass first or last, not both")
    if after is not None and before is not None:
        raise BadUserInput("pass after or before, not both")
    if last is not None or before is not None:
        count = last if last is not None else DEFAULT_PAGE_SIZE
        _check_size("last", count)
        return CursorPage(cursor=before, count=count, backwards=True)
    count = first if first is not None else DEFAULT_PAGE_SIZE
    _check_size("first", count)
    return CursorPage(cursor=after, count=count)


@dataclass(frozen=True, slots=True, kw_only=True)
class Window:
    """Where a page stands in its list: whether items lie beyond it either way, and the cursors
    that stand for its ends when they are not its first and last edges' own (a page of users
    filtered by group may stop short and resume further on; an empty event page resumes from
    where it was asked)."""

    has_next: bool
    has_previous: bool
    start_cursor: str | None = None
    end_cursor: str | None = None

    def page_info(self, cursors: Sequence[str]) -> PageInfo:
        """The page info of this window's page, whose edges carry ``cursors`` in order."""
        return PageInfo(
            has_next_page=self.has_next,
            has_previous_page=self.has_previous,
            start_cursor=self.start_cursor or (cursors[0] if cursors else None),
            end_cursor=self.end_cursor or (cursors[-1] if cursors else None),
        )


def trim_window(items: Sequence[T], page: CursorPage) -> tuple[list[T], Window]:
    """The items of a page read with one extra (``limit=page.count + 1``, in order, the extra one
    first when reading backwards), and where the page stands."""
    more = len(items) > page.count
    chosen = (items[1:] if page.backwards else items[: page.count]) if more else items
    has_next = (page.cursor is not None) if page.backwards else more
    has_previous = more if page.backwards else page.cursor is not None
    return list(chosen), Window(has_next=has_next, has_previous=has_previous)


def sorted_window(keys: Sequence[str], page: CursorPage, after: str | None) -> tuple[Sequence[str], Window]:
    """The page of ``keys`` (sorted, all in memory) strictly after (or, backwards, before) ``after``."""
    if page.backwards:
        end = bisect.bisect_left(keys, after) if after is not None else len(keys)
        start = max(0, end - page.count)
        return keys[start:end], Window(has_next=after is not None, has_previous=start > 0)
    start = bisect.bisect_right(keys, after) if after is not None else 0
    end = start + page.count
    return keys[start:end], Window(has_next=end < len(keys), has_previous=after is not None)


def store_window(page: Page[Any], asked: CursorPage) -> Window:
    """Where a page the store cut stands; its cursors are the store's own (sort key and id)."""
    # A page filtered by memberOf may stop short of full and resume further on (see MemberOf).
    if asked.backwards:
        return Window(
            has_next=asked.cursor is not None,
            has_previous=page.previous_cursor is not None,
            start_cursor=page.previous_cursor,
        )
    return Window(
        has_next=page.next_cursor is not None,
        has_previous=page.previous_cursor is not None,
        end_cursor=page.next_cursor,
    )


def _check_size(name: str, value: int) -> None:
    if not 1 <= value <= MAX_PAGE_SIZE:
        raise BadUserInput(f"{name} must be between 1 and {MAX_PAGE_SIZE}")


def encode_key(kind: str, key: str) -> str:
    """An opaque cursor for a position in a list ordered by ``key`` (event sequence, member id)."""
    return base64.urlsafe_b64encode(f"{kind}:{key}".encode()).decode().rstrip("=")


def decode_key(kind: str, cursor: str) -> str:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise BadUserInput("the cursor is not one this service issued") from None
    prefix, _, key = text.partition(":")
    if prefix != kind or not key:
        raise BadUserInput("the cursor is not one this service issued")
    return key


def selects(info: strawberry.Info[Any, Any], name: str) -> bool:
    """Whether the current field's selection asks for ``name`` (directly or through fragments)."""

    def walk(selections: Sequence[Selection]) -> bool:
        for selection in selections:
            if isinstance(selection, SelectedField):
                if selection.name == name:
                    return True
            elif walk(selection.selections):
                return True
        return False

    return any(walk(field.selections) for field in info.selected_fields)
