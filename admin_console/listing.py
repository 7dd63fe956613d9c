"""What the directory's list pages share: the search box's text and the page number, read from
the query string, and the position of a page in the whole list."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request

__all__ = ["PAGE_SIZE", "Listing", "after_sequence", "listing"]

PAGE_SIZE = 25
#: Longer search text is cut: nobody types more, and it bounds the database's work.
_MAX_SEARCH = 200


@dataclass(frozen=True, slots=True, kw_only=True)
class Listing:
    search: str
    start: int

    def previous(self) -> int | None:
        return max(self.start - PAGE_SIZE, 1) if self.start > 1 else None

    def next(self, total: int | None, shown: int) -> int | None:
        following = self.start + shown
        return following if total is not None and following <= total else None


def listing(request: Request) -> Listing:
    search = request.query_params.get("q", "").strip()[:_MAX_SEARCH]
    try:
        start = max(int(request.query_params.get("start", "1")), 1)
    except ValueError:
        start = 1
    return Listing(search=search, start=start)


def after_sequence(request: Request) -> int | None:
    """The ``after`` of a history page (``None``: from the start)."""
    try:
        value = int(request.query_params.get("after", ""))
    except ValueError:
        return None
    return value if value > 0 else None
