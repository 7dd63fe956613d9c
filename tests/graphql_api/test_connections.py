"""Where a page stands (pure, no database): the window of each kind of page and its page info.

Relay cursor connections: ``hasNextPage``/``hasPreviousPage`` say whether items lie beyond the
page either way; ``startCursor``/``endCursor`` are where to resume, normally the first and last
edges' own cursors.
"""

from __future__ import annotations

from dataclasses import dataclass

from graphql_api.pagination import PageInfo, Window, sorted_window, trim_window
from graphql_api.types.connections import connection
from identity_store.queries import CursorPage

KEYS = ["a", "b", "c", "d", "e"]


@dataclass
class _Edge:
    cursor: str


@dataclass
class _Connection:
    edges: list[_Edge]
    page_info: PageInfo
    total: int


def test_page_info_takes_the_edges_cursors_unless_the_window_names_its_own() -> None:
    """A page's ends are its edges' cursors; a window that stops short names where to resume."""
    edges = [_Edge("1"), _Edge("2")]
    built = connection(_Connection, edges, Window(has_next=True, has_previous=False), total=9)
    assert built.page_info == PageInfo(has_next_page=True, has_previous_page=False, start_cursor="1", end_cursor="2")
    assert built.total == 9
    resumed = Window(has_next=True, has_previous=False, end_cursor="7").page_info(["1", "2"])
    assert (resumed.start_cursor, resumed.end_cursor) == ("1", "7")


def test_an_empty_page_has_no_cursors_unless_it_resumes_from_one() -> None:
    empty = Window(has_next=False, has_previous=True).page_info([])
    assert (empty.start_cursor, empty.end_cursor) == (None, None)
    assert Window(has_next=False, has_previous=True, end_cursor="5").page_info([]).end_cursor == "5"


def test_a_sorted_list_is_paged_after_and_before_a_key() -> None:
    """Forwards strictly after the key; backwards strictly before it, the items nearest to it."""
    assert sorted_window(KEYS, CursorPage(count=2), None) == (["a", "b"], Window(has_next=True, has_previous=False))
    assert sorted_window(KEYS, CursorPage(count=2), "c") == (["d", "e"], Window(has_next=False, has_previous=True))
    backwards = CursorPage(count=2, backwards=True)
    assert sorted_window(KEYS, backwards, "d") == (["b", "c"], Window(has_next=True, has_previous=True))
    assert sorted_window(KEYS, backwards, None) == (["d", "e"], Window(has_next=False, has_previous=True))


def test_one_extra_item_read_tells_whether_another_page_follows() -> None:
    """Read with ``count + 1``: the extra item is dropped and only says that more exist."""
    assert trim_window(KEYS[:3], CursorPage(count=2)) == (["a", "b"], Window(has_next=True, has_previous=False))
    assert trim_window(KEYS[:2], CursorPage(count=2, cursor="x")) == (
        ["a", "b"],
        Window(has_next=False, has_previous=True),
    )
    backwards = CursorPage(count=2, cursor="x", backwards=True)
    assert trim_window(KEYS[:3], backwards) == (["b", "c"], Window(has_next=True, has_previous=True))
