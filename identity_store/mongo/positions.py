"""Directory positions: the order resources were created in, and the counts kept beside it.

Each user and group is given, by the transaction that creates it, the next *position* of its kind
in its tenant (``pos``: 0, 1, 2, ... without gaps, in commit order, never reused). The tenant's
event sequence document, which every write transaction already increments, keeps per kind how
many positions were handed out, how many resources are live, and how many were deleted in each
*bucket* of positions (``pos // bucket_size``)::

    event_sequences:      {_id: tenant, seq, ..., users: {next, live, gone: {"<bucket>": n}}, groups: {...}}
    position_tombstones:  {_id, tenant, kind, pos, seq[, restored], expires}   one per deletion or
                                                                             restore, kept two days

The counts move in the same ``$inc`` that takes the event sequence, so they cost no command of
their own, and they are exact whenever a transaction commits. A list then knows its total
without counting, and finds where any index falls by summing the live counts of the buckets
(bucket ``b`` holds ``min(size, next - b*size)`` positions, less its deletions): the page is
read as a range of positions bounded on both sides (:mod:`identity_store.mongo.directory_pages`).

A deletion also leaves a tombstone naming the position and the event sequence of its
transaction, so a walk that started before it can still count the slot (see ``directory_pages``).

The bucket size is fixed for a database: the deletion counts are kept per bucket.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from pymongo import ASCENDING, UpdateOne
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase

from identity_store.domain.resources import now
from identity_store.mongo.scope import TenantScope

__all__ = [
    "BUCKET_SIZE",
    "KINDS",
    "POS",
    "RESTORED",
    "SEQUENCES",
    "TOMBSTONES",
    "TOMBSTONE_DAYS",
    "Ledger",
    "Tally",
    "recount",
    "recount_all",
]

Document = dict[str, Any]
Insert = Callable[[Document], Awaitable[None]]

#: The field a resource's position is kept in.
POS = "pos"
#: Positions per bucket: a page reads at most about two buckets of positions.
BUCKET_SIZE = 1000
#: The collections whose resources have positions (also the counters' keys).
KINDS = ("users", "groups")
SEQUENCES = "event_sequences"
TOMBSTONES = "position_tombstones"
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
    """What one transaction creates and deletes, settled when it takes the event sequence.

    A created document is inserted only then, with the next positions of its kind; the counters
    move in the same update that takes the sequence.
    """

    def __init__(self, scope: TenantScope, bucket_size: int = BUCKET_SIZE) -> None:
        self._scope = scope
        self.bucket_size = bucket_size
        self._created: dict[str, list[tuple[Document, Insert]]] = {}
        self._deleted: dict[str, list[tuple[str, int | None]]] = {}
        self._restored: dict[str, list[int]] = {}

    def __bool__(self) -> bool:
        return bool(self._created or self._deleted or self._restored)

    def create(self, kind: str, document: Document, insert: Insert) -> None:
        """Insert ``document`` (through ``insert``, which renders the write's own errors) when
        the transaction settles, at the next position of ``kind``."""
        self._created.setdefault(kind, []).append((document, insert))

    def delete(self, kind: str, resource_id: str, position: int | None) -> None:
        """A resource at ``position`` (``None``: given none, made before positions) was deleted."""
        self._deleted.setdefault(kind, []).append((resource_id, position))

    def restore(self, kind: str, position: int) -> None:
        """A deleted resource came back at its ``position``: live again, its bucket's deletion undone."""
        self._restored.setdefault(kind, []).append(position)

    def increments(self) -> dict[str, int]:
        """The ``$inc`` of the counters, beside the event sequence's."""
        moves: dict[str, int] = {}

        def move(key: str, by: int) -> None:
            moves[key] = moves.get(key, 0) + by

        for kind, created in self._created.items():
            move(f"{kind}.next", len(created))
            move(f"{kind}.live", len(created))
        for kind, deleted in self._deleted.items():
            for _, position in deleted:
                move(f"{kind}.live", -1)
                if position is not None:
                    move(f"{kind}.gone.{position // self.bucket_size}", 1)
        for kind, restored in self._restored.items():
            for position in restored:
                move(f"{kind}.live", 1)
                move(f"{kind}.gone.{position // self.bucket_size}", -1)
        return moves

    async def settle(
        self, database: AsyncDatabase[Document], counter: Document, sequence: int, session: AsyncClientSession
    ) -> None:
        """Insert the created documents at their positions (``counter``: the sequence document
        after the update) and leave a tombstone for each deletion, tagged with ``sequence``."""
        for kind, created in self._created.items():
            first = int(counter[kind]["next"]) - len(created)
            for offset, (document, insert) in enumerate(created):
                await insert({**document, POS: first + offset})
        expires = now() + timedelta(days=TOMBSTONE_DAYS)
        tombstones = [
            self._scope.document(
                {
                    "_id": f"{kind}:{resource_id}:{sequence}",
                    "kind": kind,
                    POS: position,
                    "seq": sequence,
                    "expires": expires,
                }
            )
            for kind, deleted in self._deleted.items()
            for resource_id, position in deleted
            if position is not None
        ]
        # A restore leaves a mark too: a walk that began while the resource was deleted counted
        # its position as a hole, and keeps doing so (identity_store.mongo.directory_pages).
        tombstones += [
            self._scope.document(
                {
                    "_id": f"{kind}:{position}:{sequence}:restored",
                    "kind": kind,
                    POS: position,
                    "seq": sequence,
                    RESTORED: True,
                    "expires": expires,
                }
            )
            for kind, restored in self._restored.items()
            for position in restored
        ]
        if tombstones:
            await database[TOMBSTONES].insert_many(tombstones, session=session)


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
