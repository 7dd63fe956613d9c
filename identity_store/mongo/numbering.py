"""Numbering a tenant's events and placing its creations: the plan of the counters' moves.

A transaction's ledger (:class:`~identity_store.mongo.positions.Ledger`) says what it created,
deleted and restored. Numbering takes as many numbers from the tenant's sequence document as
there are events, in one ``$inc`` that also moves the directory counters
(:mod:`identity_store.mongo.positions`), gives each creation the next position of its kind, and
leaves a tombstone for each deletion and restore. Either the transaction does so for its own
events (:func:`number_now`), or a stamping round does for the pending events of many
(:mod:`identity_store.mongo.stamps`); :class:`Numbering` says which.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from pymongo import ReturnDocument
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase

from identity_store.domain.resources import now
from identity_store.mongo.positions import (
    CREATE,
    DELETE,
    POS,
    RESTORE,
    RESTORED,
    SEQUENCES,
    TOMBSTONE_DAYS,
    TOMBSTONES,
    Entry,
    Ledger,
)
from identity_store.mongo.scope import TenantScope

__all__ = ["Numbering", "Placement", "Plan", "number_now", "take_numbers"]

Document = dict[str, Any]


class Numbering(enum.Enum):
    """Who numbers a transaction's events.

    ``IN_TRANSACTION``: the transaction itself, taking the tenant's sequence document (fewest
    commands: one process's writes take turns anyway, so nothing waits on the document); the
    writes of several processes to one tenant conflict there and one runs again.
    ``SEQUENCER``: a stamping round after the commit (this module's docstring): writes share no
    document, at the cost of a round, shared by the writes it numbers.
    """

    IN_TRANSACTION = "transaction"
    SEQUENCER = "sequencer"


@dataclass(slots=True)
class Placement:
    """A resource given its position in this round: which, and whether it is live at the round's end."""

    kind: str
    resource_id: str
    position: int = -1
    live: bool = True


@dataclass(slots=True)
class Plan:
    """A round's ledger entries, read in order, each with the event sequence of its transaction.

    First the counters' moves that need no position (how many were created, are live, and were
    deleted at positions already known); once the ``$inc`` says where the round's creations
    begin, the positions of those resources and the deletion counts and tombstones that need
    them (:meth:`resolve`).
    """

    entries: Sequence[tuple[Entry, int]]
    bucket_size: int
    moves: dict[str, int] = field(default_factory=dict)
    created: dict[str, int] = field(default_factory=dict)

    #: The entries (by index) that gave a resource its position in this round.
    placing: dict[int, Placement] = field(default_factory=dict)

    def __post_init__(self) -> None:
        placed: set[tuple[str, str]] = set()
        for i, ((what, kind, resource_id, position), _) in enumerate(self.entries):
            key = (kind, resource_id)
            _move(self.moves, f"{kind}.live", -1 if what == DELETE else 1)
            if what == CREATE or (what == RESTORE and position is None and key not in placed):
                # A creation, or the restore of a resource deleted before it had a position: both
                # take the next position (no tombstone: no walk counted the resource before).
                _move(self.created, kind, 1)
                _move(self.moves, f"{kind}.next", 1)
                self.placing[i] = Placement(kind, resource_id)
                placed.add(key)
            elif position is not None:
                _move(self.moves, f"{kind}.gone.{position // self.bucket_size}", 1 if what == DELETE else -1)

    def resolve(self, counter: Document, scope: TenantScope) -> tuple[dict[str, int], list[Document]]:
        """Give the round's creations their positions (``counter``: the sequence document after
        the ``$inc``); the deletion counts still to move, and every tombstone."""
        following = {kind: int(counter[kind]["next"]) - n for kind, n in self.created.items()}
        for placement in self.placing.values():
            placement.position = following[placement.kind]
            following[placement.kind] += 1
        moves: dict[str, int] = {}
        tombstones: list[Document] = []
        expires = now() + timedelta(days=TOMBSTONE_DAYS)
        active: dict[tuple[str, str], Placement] = {}
        for i, ((what, kind, resource_id, position), sequence) in enumerate(self.entries):
            key = (kind, resource_id)
            if i in self.placing:
                active[key] = self.placing[i]
                continue
            placed = active.get(key)
            if placed is not None:
                placed.live = what != DELETE
                if position is None:
                    # Deleted (or restored) in the round that gave it its position.
                    position = placed.position
                    _move(moves, f"{kind}.gone.{position // self.bucket_size}", 1 if what == DELETE else -1)
            if position is not None:
                tombstones.append(_tombstone(scope, what, kind, resource_id, position, sequence, expires))
        return {k: v for k, v in moves.items() if v}, tombstones

    def positions(self) -> dict[tuple[str, str], int]:
        """The positions :meth:`resolve` gave, by (kind, id)."""
        return {(p.kind, p.resource_id): p.position for p in self.placing.values()}


def _move(moves: dict[str, int], key: str, by: int) -> None:
    moves[key] = moves.get(key, 0) + by


async def number_now(
    database: AsyncDatabase[Document],
    session: AsyncClientSession,
    scope: TenantScope,
    ledger: Ledger,
    count: int,
    *,
    bucket_size: int,
) -> tuple[int, Document]:
    """Number a transaction's own ``count`` events in the transaction (:data:`Numbering.IN_TRANSACTION`):
    take the sequence and move the counters in one ``$inc``, insert the created documents at
    their positions and leave the tombstones. The first number, and the sequence document after."""
    plan = Plan([(entry, 0) for entry in ledger.entries], bucket_size)
    first, counter, tombstones = await take_numbers(database, session, scope, plan, count)
    await ledger.insert(plan.positions())
    if tombstones:
        await database[TOMBSTONES].insert_many(tombstones, session=session)
    return first, counter


async def take_numbers(
    database: AsyncDatabase[Document], session: AsyncClientSession, scope: TenantScope, plan: Plan, count: int
) -> tuple[int, Document, list[Document]]:
    """Take ``count`` numbers from the tenant's sequence, in the ``$inc`` that moves the counters
    of ``plan`` (whose entries hold their transaction's offset from the first number), and give
    its creations their positions: the first number, the sequence document after, the tombstones."""
    moves = {k: v for k, v in plan.moves.items() if v}
    counter = await database[SEQUENCES].find_one_and_update(
        {"_id": scope.tenant_id},
        {"$inc": {"seq": count, **moves}},
        upsert=True,
        return_document=ReturnDocument.AFTER,
        session=session,
    )
    assert counter is not None  # an upsert returning the document after it always finds one
    first = int(counter["seq"]) - count + 1
    plan.entries = [(entry, first + offset) for entry, offset in plan.entries]
    more_moves, tombstones = plan.resolve(counter, scope)
    if more_moves:
        await database[SEQUENCES].update_one({"_id": scope.tenant_id}, {"$inc": more_moves}, session=session)
    return first, counter, tombstones


def _tombstone(
    scope: TenantScope, what: str, kind: str, resource_id: str, position: int, sequence: int, expires: Any
) -> Document:
    if what == DELETE:
        return scope.document(
            {
                "_id": f"{kind}:{resource_id}:{sequence}",
                "kind": kind,
                POS: position,
                "seq": sequence,
                "expires": expires,
            }
        )
    # A restore leaves a mark too: a walk that began while the resource was deleted counted its
    # position as a hole, and keeps doing so (identity_store.mongo.directory_pages).
    return scope.document(
        {
            "_id": f"{kind}:{position}:{sequence}:restored",
            "kind": kind,
            POS: position,
            "seq": sequence,
            RESTORED: True,
            "expires": expires,
        }
    )
