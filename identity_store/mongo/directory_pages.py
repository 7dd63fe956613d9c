"""Pages of an unfiltered list in creation order, at the same cost at any depth.

Resources carry their creation position (:mod:`identity_store.mongo.positions`), and the
tenant's counters say how many positions each bucket holds and how many of them were deleted.
A page is therefore found without an offset scan or a count:

* **By index** (RFC 7644 §3.4.2.4): the live counts of the buckets are summed up to the page's
  ``startIndex``, which names a bucket and an offset in it. Without deletions in the buckets the
  page spans, its positions follow (``first = bucket start + offset``) and the page is one read of
  ``pos`` in ``[first, first + count)``; otherwise the positions of those buckets are read first
  (the ``pos`` key alone, at most about two buckets of it), then the page's range.
* **By cursor** (RFC 9865, GraphQL): the cursor names the last position read; the next page is
  read from a range that the bucket counts guarantee to hold enough live positions (it ends a
  bucket's deletions past the positions wanted), so it too is bounded on both sides.

Every read is a range bounded on both sides: on SecantusDB, which materialises an index range
before its ``limit``, that is what keeps the last page as cheap as the first; on MongoDB it is an
index walk of the page and its bucket.

**Walks.** Positions never move, so creations during a walk land after it. Deletions would move
the later users one index down and a walker going by ``startIndex`` would miss one. A caller's
request for ``startIndex=1`` therefore records a *walk* (its event sequence and the deletion
counts it saw: one small upsert, left out when the first page holds everything); that caller's
later pages count every position that was live when the walk started, the ones deleted since
included (their tombstones name them), and return only those still live. A page can then hold
fewer than ``count`` resources (RFC 7644 §3.4.2.4 allows it) and ``totalResults`` is the walk's:
what was live at its start plus what was created since. Every resource that exists throughout
the walk is returned exactly once.

    directory_walks:  {_id, tenant, kind, walker, seq, gone: {"<bucket>": n}, expires}
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase

from identity_store.domain.errors import InvalidValue
from identity_store.domain.resources import now
from identity_store.mongo.positions import BUCKET_SIZE, POS, RESTORED, SEQUENCES, TOMBSTONE_DAYS, TOMBSTONES, Tally
from identity_store.mongo.scope import TenantScope
from identity_store.queries import CursorPage, IndexPage

__all__ = ["WALKS", "DirectoryPages", "Fetch", "View", "position_of"]

Document = dict[str, Any]
#: Reads one page: the (scoped) condition, the sort, the most documents to return.
Fetch = Callable[[Document, list[tuple[str, int]], int], Awaitable[list[Document]]]

WALKS = "directory_walks"
#: How long a walk is remembered after its first page (tombstones outlive it).
WALK_HOURS = TOMBSTONE_DAYS * 12


@dataclass(frozen=True, slots=True, kw_only=True)
class View:
    """The positions a list counts: every position handed out, less the ``holes`` (deletions
    per bucket not counted as slots). A walk's view also counts, as empty slots, the positions
    deleted after sequence ``since``."""

    tally: Tally
    holes: Mapping[int, int] = field(default_factory=dict)
    since: int | None = None

    def count(self, bucket: int) -> int:
        return self.tally.created_in(bucket) - self.holes.get(bucket, 0)

    @property
    def total(self) -> int:
        return self.tally.next - sum(self.holes.values())

    def slots_in(self, first: int, last: int) -> bool:
        """Whether buckets ``first`` to ``last`` hold positions deleted since the walk began."""
        return self.since is not None and any(
            self.tally.gone.get(b, 0) != self.holes.get(b, 0) for b in range(first, last + 1)
        )


class DirectoryPages:
    """One tenant's pages of one kind (``users`` or ``groups``) in creation order."""

    def __init__(
        self,
        database: AsyncDatabase[Document],
        scope: TenantScope,
        kind: str,
        session: AsyncClientSession | None,
        bucket_size: int = BUCKET_SIZE,
    ) -> None:
        self._database = database
        self._scope = scope
        self._kind = kind
        self._session = session
        self._size = bucket_size

    async def _counter(self) -> tuple[Tally | None, int]:
        counter = await self._database[SEQUENCES].find_one(
            {"_id": self._scope.tenant_id}, {"seq": 1, self._kind: 1}, session=self._session
        )
        return Tally.of(counter, self._kind, self._size), int((counter or {}).get("seq", 0))

    async def total(self) -> int | None:
        """How many are live, from the counters (``None``: the tenant has none)."""
        tally, _ = await self._counter()
        return None if tally is None else tally.live

    async def _view(self, tally: Tally, sequence: int, page: IndexPage, walker: str | None) -> View:
        if walker is None:
            return View(tally=tally, holes=tally.gone)
        walks = self._database[WALKS]
        walk_id = f"{self._scope.tenant_id}:{self._kind}:{walker}"
        if page.start_index <= 1:
            if tally.next - sum(tally.gone.values()) <= page.count:
                return View(tally=tally, holes=tally.gone)  # one page: nothing to walk
            walk = {
                "kind": self._kind,
                "walker": walker,
                "seq": sequence,
                "gone": {str(b): n for b, n in tally.gone.items()},
                "expires": now() + timedelta(hours=WALK_HOURS),
            }
            await walks.replace_one(
                self._scope.filter({"_id": walk_id}),
                self._scope.document({"_id": walk_id, **walk}),
                upsert=True,
                session=self._session,
            )
            return View(tally=tally, holes=tally.gone, since=sequence)
        found = await walks.find_one(self._scope.filter({"_id": walk_id}), {"seq": 1, "gone": 1}, session=self._session)
        if found is None or int(found["seq"]) > sequence:
            return View(tally=tally, holes=tally.gone)
        holes = {int(b): int(n) for b, n in (found.get("gone") or {}).items() if int(n)}
        return View(tally=tally, holes=holes, since=int(found["seq"]))

    async def index_page(self, page: IndexPage, walker: str | None, fetch: Fetch) -> tuple[list[Document], int] | None:
        """The page at ``page.start_index`` and the total (``None``: the tenant has no counters).

        ``walker`` names the caller whose walk this page belongs to (see the module docstring);
        ``None`` counts live resources only."""
        tally, sequence = await self._counter()
        if tally is None:
            return None
        view = await self._view(tally, sequence, page, walker)
        offset = max(page.start_index, 1) - 1
        if page.count <= 0 or offset >= view.total:
            return [], view.total
        bucket, seen = 0, 0
        while seen + view.count(bucket) <= offset:
            seen += view.count(bucket)
            bucket += 1
        inside = offset - seen
        last, covered = bucket, view.count(bucket)
        while covered < inside + page.count and last + 1 < tally.buckets:
            last += 1
            covered += view.count(last)
        low, high = bucket * self._size, min((last + 1) * self._size, tally.next)
        if not any(view.holes.get(b, 0) for b in range(bucket, last + 1)) and not view.slots_in(bucket, last):
            first = low + inside
            return await fetch(
                self._range(first, min(first + page.count, high)), [(POS, ASCENDING)], page.count
            ), view.total
        positions = await self._positions(low, high, view)
        window = positions[inside : inside + page.count]
        if not window:
            return [], view.total
        # The window's range holds only its positions, but for one a walk keeps as a hole though
        # it is live again (restored since the walk began): read by range, keep the window's.
        chosen = set(window)
        span = window[-1] + 1 - window[0]
        documents = await fetch(self._range(window[0], window[-1] + 1), [(POS, ASCENDING)], span)
        return [d for d in documents if d.get(POS) in chosen], view.total

    async def _positions(self, low: int, high: int, view: View) -> list[int]:
        """The positions of ``[low, high)`` the view counts: the live ones, and the walk's slots.

        For a walk, what happened to a position since it began is told by its tombstones: first
        a deletion, it was live then and keeps its slot (live again or not); first a restore, it
        was deleted then and stays a hole for the walk (live again or deleted again)."""
        cursor = (
            self._database[self._kind]
            .find(self._range(low, high), {"_id": 0, POS: 1}, session=self._session)
            .sort(POS, ASCENDING)
        )
        positions = {int(d[POS]) async for d in cursor}
        if view.since is not None:
            marks = self._database[TOMBSTONES].find(
                self._scope.filter({"kind": self._kind, POS: {"$gte": low, "$lt": high}, "seq": {"$gt": view.since}}),
                {"_id": 0, POS: 1, "seq": 1, RESTORED: 1},
                session=self._session,
            )
            first: dict[int, tuple[int, bool]] = {}
            async for mark in marks:
                position, sequence = int(mark[POS]), int(mark["seq"])
                if position not in first or sequence < first[position][0]:
                    first[position] = (sequence, bool(mark.get(RESTORED)))
            for position, (_, restored) in first.items():
                if restored:
                    positions.discard(position)
                else:
                    positions.add(position)
        return sorted(positions)

    def _range(self, low: int, high: int) -> Document:
        return self._scope.filter({POS: {"$gte": low, "$lt": high}})

    async def keyset_page(self, page: CursorPage, after: int | None, fetch: Fetch) -> tuple[list[Document], int] | None:
        """Up to ``page.count + 1`` documents strictly after position ``after`` (backwards: before
        it), in walk order, and the live total (``None``: the tenant has no counters)."""
        tally, _ = await self._counter()
        if tally is None:
            return None
        wanted = page.count + 1
        documents: list[Document] = []
        if not page.backwards:
            low = 0 if after is None else after + 1
            while len(documents) < wanted and low < tally.next:
                high = self._enough_after(tally, low, wanted - len(documents))
                documents += await fetch(self._range(low, high), [(POS, ASCENDING)], wanted - len(documents))
                low = high
        else:
            high = tally.next if after is None else min(after, tally.next)
            while len(documents) < wanted and high > 0:
                low = self._enough_before(tally, high, wanted - len(documents))
                documents += await fetch(self._range(low, high), [(POS, DESCENDING)], wanted - len(documents))
                high = low
        return documents, tally.live

    def _enough_after(self, tally: Tally, low: int, wanted: int) -> int:
        """The end of a range from ``low`` that holds at least ``wanted`` live positions (or the
        end of the positions): each bucket's deletions are allowed for."""
        position = low
        while position < tally.next:
            bucket = position // self._size
            end = min((bucket + 1) * self._size, tally.next)
            gone = tally.gone.get(bucket, 0)
            if end - position - gone >= wanted:
                return position + wanted + gone
            wanted -= max(end - position - gone, 0)
            position = end
        return tally.next

    def _enough_before(self, tally: Tally, high: int, wanted: int) -> int:
        position = high
        while position > 0:
            bucket = (position - 1) // self._size
            start = bucket * self._size
            gone = tally.gone.get(bucket, 0)
            if position - start - gone >= wanted:
                return position - wanted - gone
            wanted -= max(position - start - gone, 0)
            position = start
        return 0


def position_of(value: Any) -> int:
    """The position a keyset cursor of a creation-order page names."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidValue("the cursor is not one this service issued", attribute="cursor")
    return value
