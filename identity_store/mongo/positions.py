"""Directory positions: the order resources were created in, and the counts kept beside it.

Each user and group is given the next *position* of its kind in its tenant (``pos``: 0, 1, 2, ...
without gaps, in the order their events are numbered, never reused) when its creation's event is
numbered: by its own transaction or by a stamping round (:mod:`identity_store.mongo.stamps`).
The tenant's event sequence document, which numbering writes anyway, keeps per kind how many
positions were handed out, how many resources are live, and how many were deleted in each
*bucket* of positions (``pos // bucket_size``)::

    event_sequences:      {_id: tenant, seq, ..., users: {next, live, gone: {"<bucket>": n}}, groups: {...}}
    position_tombstones:  {_id, tenant, kind, pos, seq[, restored], expires}   one per deletion or
                                                                             restore, kept two days

The counts move in the same ``$inc`` that numbers the events, so they cost no command of their
own, and they are exact once the events are numbered. A list then knows its total without counting,
and finds where any index falls by summing the live counts of the buckets (bucket ``b`` holds
``min(size, next - b*size)`` positions, less its deletions): the page is read as a range of
positions bounded on both sides (:mod:`identity_store.mongo.directory_pages`). A write is
answered once its events are numbered, so a list read after it counts it.

A deletion also leaves a tombstone naming the position and the event sequence of its
transaction, so a walk that started before it can still count the slot (see ``directory_pages``).

The bucket size is fixed for a database: the deletion counts are kept per bucket.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pymongo import ASCENDING, UpdateOne
from pymongo.asynchronous.database import AsyncDatabase

from identity_store.mongo.scope import TenantScope

__all__ = [
    "BUCKET_SIZE",
    "CREATE",
    "DELETE",
    "KINDS",
    "POS",
    "RESTORE",
    "RESTORED",
    "SEQUENCES",
    "TOMBSTONES",
    "TOMBSTONE_DAYS",
    "Entry",
    "Ledger",
    "Tally",
    "recount",
    "recount_all",
]

Document = dict[str, Any]
#: One entry of a ledger: what happened (CREATE, DELETE, RESTORE), the kind, the id, the position.
Entry = tuple[str, str, str, int | None]
Insert = Callable[[Document], Awaitable[None]]

#: The field a resource's position is kept in.
POS = "pos"
#: Positions per bucket: a page reads at most about two buckets of positions.
BUCKET_SIZE = 1000
#: The collections whose resources have positions (also the counters' keys).
KINDS = ("users", "groups")
SEQUENCES = "event_sequences"
TOMBSTONES = "position_tombstones"
CREATE, DELETE, RESTORE = "create", "delete", "restore"
#: Marks a tombstone that records a restore, not a deletion.
RESTORED = "restored"
#: How long a tombstone is kept: a walk older than half of it falls back to the live view.
TOMBSTONE_DAYS = 2


@dataclass(frozen=True, slots=True, kw_only=True)
class Tally:
    """One kind's counters as read from the tenant's sequence document."""

    next: int
    live: int
    gone: Mapping[int, int] = field(default_factory=dict)
    bucket_size: int = BUCKET_SIZE

    @classmethod
    def of(cls, counter: Document | None, kind: str, bucket_size: int) -> Tally | None:
        """The counters of ``kind``; ``None`` for a tenant that has none (none of its resources
        was given a position: its lists are served as before positions existed)."""
        part = (counter or {}).get(kind)
        if not isinstance(part, dict) or "next" not in part:
            return None
        gone = {int(k): int(v) for k, v in (part.get("gone") or {}).items() if int(v)}
        return cls(next=int(part["next"]), live=int(part.get("live", 0)), gone=gone, bucket_size=bucket_size)

    @property
    def buckets(self) -> int:
        return -(-self.next // self.bucket_size)

    def created_in(self, bucket: int) -> int:
        """How many positions bucket ``bucket`` holds (the last one may be partly filled)."""
        return max(0, min(self.bucket_size, self.next - bucket * self.bucket_size))


class Ledger:
    """What one transaction creates, deletes and restores, in order, and the creations' documents.

    A created document is inserted when the transaction's events are appended: with its position
    when the transaction numbers its own events, without one when a stamping round will
    (:mod:`identity_store.mongo.stamps`), which then reads these entries from the first pending event.
    """

    def __init__(self) -> None:
        self._entries: list[Entry] = []
        self._inserts: list[tuple[str, Document, Insert]] = []

    def __bool__(self) -> bool:
        return bool(self._entries)

    def create(self, kind: str, document: Document, insert: Insert) -> None:
        """Insert ``document`` (through ``insert``, which renders the write's own errors) when the
        events are appended; it takes the next position of ``kind``."""
        self._entries.append((CREATE, kind, str(document["_id"]), None))
        self._inserts.append((kind, document, insert))

    def delete(self, kind: str, resource_id: str, position: int | None) -> None:
        """A resource at ``position`` (``None``: not numbered yet, or made before positions) was deleted."""
        self._entries.append((DELETE, kind, resource_id, position))

    def restore(self, kind: str, resource_id: str, position: int) -> None:
        """A deleted resource came back at its ``position``."""
        self._entries.append((RESTORE, kind, resource_id, position))

    def restore_unplaced(self, kind: str, document: Document, insert: Insert) -> None:
        """A deleted resource without a position came back: inserted as a creation is, at its
        position if a stamping round gives it one in the round that numbers its creation."""
        self._entries.append((RESTORE, kind, str(document["_id"]), None))
        self._inserts.append((kind, document, insert))

    @property
    def entries(self) -> list[Entry]:
        return list(self._entries)

    async def insert(self, positions: Mapping[tuple[str, str], int] | None = None) -> None:
        """Insert the created documents, each at its position in ``positions`` if given."""
        for kind, document, insert in self._inserts:
            position = None if positions is None else positions.get((kind, str(document["_id"])))
            await insert(document if position is None else {**document, POS: position})


async def recount(database: AsyncDatabase[Document], tenant_id: str, *, bucket_size: int = BUCKET_SIZE) -> None:
    """Give every resource of the tenant without a position one (in creation order, after those
    given), and set the tenant's counters from what is stored. Idempotent; for a migration, an
    import or a bulk load, not for a tenant being written to at the same time."""
    scope = TenantScope(tenant_id)
    counter = await database[SEQUENCES].find_one({"_id": tenant_id}) or {}
    counts: Document = {}
    for kind in KINDS:
        collection = database[kind]
        positions = [
            int(d[POS])
            async for d in collection.find(scope.filter({POS: {"$gte": 0}}), {"_id": 0, POS: 1}, batch_size=10_000)
        ]
        given = max(positions, default=-1) + 1
        known = Tally.of(counter, kind, bucket_size)
        following = max(given, known.next if known is not None else 0)
        missing = collection.find(scope.filter({POS: {"$exists": False}}), {"_id": 1}, batch_size=10_000).sort(
            [("created", ASCENDING), ("_id", ASCENDING)]
        )
        updates: list[UpdateOne] = []
        async for document in missing:
            updates.append(
                UpdateOne(scope.filter({"_id": document["_id"], POS: {"$exists": False}}), {"$set": {POS: following}})
            )
            positions.append(following)
            following += 1
            if len(updates) >= 1000:
                await collection.bulk_write(updates, ordered=False)
                updates = []
        if updates:
            await collection.bulk_write(updates, ordered=False)
        tally = Tally(next=following, live=len(positions), bucket_size=bucket_size)
        live: dict[int, int] = {}
        for position in positions:
            live[position // bucket_size] = live.get(position // bucket_size, 0) + 1
        gone = {
            str(b): tally.created_in(b) - live.get(b, 0)
            for b in range(tally.buckets)
            if tally.created_in(b) - live.get(b, 0)
        }
        counts[kind] = {"next": following, "live": len(positions), "gone": gone}
    await database[SEQUENCES].update_one({"_id": tenant_id}, {"$set": counts}, upsert=True)


async def recount_all(database: AsyncDatabase[Document]) -> None:
    """:func:`recount` every tenant (the migration that introduced positions)."""
    async for tenant in database["tenants"].find({}, {"_id": 1}):
        await recount(database, tenant["_id"])
