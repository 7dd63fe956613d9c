"""The sequencer: a tenant's committed events numbered in commit order, after their transaction.

With :data:`~identity_store.mongo.numbering.Numbering.SEQUENCER`, a write transaction touches
only the documents it changes. Its events go in *pending*: their
``seq`` is a string key, ``"<clock>:<transaction>:<n>"``, instead of a number, and the first of
them carries the transaction's ledger (what it created, deleted and restored:
:mod:`identity_store.mongo.positions`). So two writes of one tenant never meet at a shared
document, in one process or in several, unless they change the same user or group. Then a
*stamping round* numbers what is pending, in one transaction of its own::

    events (pending):   {_id: "<tx>:<n>", tenant, seq: "<clock>:<tx>:<n>", pending: true[, ledger], ...}
    events (numbered):  {_id: "<tx>:<n>", tenant, seq: <int>, ...}

A round reads the tenant's pending events in key order (up to :data:`ROUND_SIZE`), takes that
many numbers from the tenant's sequence document in one ``$inc`` that also moves the directory
counters, gives the round's creations their positions, leaves the tombstones of its deletions,
and sets each event's number. The feed's readers ask for numbers only (a range of numbers never
matches a string: MongoDB compares within a type), so they see an event once, numbered, and
never a hole: a round commits whole or not at all.

**Order.** The clock is taken at the end of a transaction's work, after everything it read, and
never runs backwards in a process. A round's read is a snapshot, so if it sees a transaction it
sees every transaction that committed before that one. A transaction that read another's change
started its clock after that one committed, hence after that one's clock: within a round, key
order is an order in which the transactions could have committed, and what a later round sees
committed later than everything an earlier round saw. Processes on one host share its clock;
across hosts the order of two writes made within their clocks' skew of each other, neither of
which read the other, follows those clocks (each still in its own order).

**Who stamps.** A write is answered once a round that began after its commit has finished
(:meth:`Stamper.settle`), so whoever reads after the answer sees the change numbered: in the
feed, and counted in the directory's pages. A process's writers of one tenant share its rounds:
those that commit while a round runs are numbered together by the next one. Rounds of two
processes for one tenant conflict at the sequence document: the loser runs again, and finds
what the winner numbered gone from the pending set, unless one read says the winner numbered
the events of every write waiting on the loser (the winner read after they committed).

**Failures.**

- *A crash between a commit and its round* (of the process, or of the database): the events stay
  pending; the write was not answered. The next round of that tenant numbers them, whichever
  process runs it: the tenant's next write, and every process's sweep
  (:func:`pending_tenants`, at start-up and every :data:`SWEEP_SECONDS`).
- *A round that fails* (a crash, a conflict, the database gone): nothing of it stays, so nothing
  is numbered twice or skipped; the events are numbered by the next round. A write that
  committed is answered 2xx even if its round failed (it is durable); it is numbered later.
- *Two processes*: their rounds conflict at the sequence document and one runs again; a round
  also sets each event's number only where it is still pending, and gives up (to run again)
  when another round numbered one first.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from pymongo import UpdateOne
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import PyMongoError

from identity_store.mongo.documents import DELETED_COLLECTIONS
from identity_store.mongo.fan_outs import PENDING
from identity_store.mongo.numbering import Plan, take_numbers
from identity_store.mongo.positions import POS, TOMBSTONES, Entry
from identity_store.mongo.retries import RetryPolicy
from identity_store.mongo.scope import TenantScope

__all__ = [
    "LEDGER",
    "LEFT_SECONDS",
    "PENDING_KEYS",
    "PENDING_MARK",
    "ROUND_SIZE",
    "SWEEP_SECONDS",
    "Clock",
    "Overtaken",
    "Round",
    "Stamper",
    "pending_key",
    "pending_tenants",
    "stamp_round",
]

Document = dict[str, Any]
log = logging.getLogger("identity_store.mongo")

#: The field that marks a pending event (for the sweep's index), and the one holding the ledger.
PENDING_MARK = "pending"
LEDGER = "ledger"
#: Every pending key and no number: strings sort after numbers, and the keys are printable.
PENDING_KEYS: Document = {"$gte": "", "$lt": "\x7f"}
#: The most events one round numbers.
ROUND_SIZE = 1000
#: How often each process looks for events left pending by a process that stopped.
SWEEP_SECONDS = 5.0
#: Events pending longer than this were left by a process that stopped (a live writer's round
#: follows its commit within milliseconds): the sweep says so when it numbers them.
LEFT_SECONDS = 2 * SWEEP_SECONDS


class Clock:
    """Nanoseconds since the epoch, never the same twice nor going back within the process."""

    def __init__(self) -> None:
        self._last = 0

    def read(self) -> int:
        self._last = max(time.time_ns(), self._last + 1)
        return self._last


def pending_key(clock: int, transaction_id: str, n: int) -> str:
    """The ``seq`` of a pending event: ordered by clock, then transaction, then place in it."""
    return f"{clock:020d}:{transaction_id}:{n:05d}"


def clock_of(key: str) -> int:
    """The clock a :func:`pending_key` was made with."""
    return int(key.partition(":")[0])


@dataclass(frozen=True, slots=True)
class Round:
    """What a round did: how many events it numbered, whether more were pending than it took,
    and whether the tenant has fan-outs left (``None``: it did not read the sequence)."""

    numbered: int
    more: bool
    fan_outs_pending: bool | None


async def stamp_round(
    database: AsyncDatabase[Document],
    session: AsyncClientSession,
    tenant_id: str,
    *,
    bucket_size: int,
    size: int = ROUND_SIZE,
) -> Round:
    """Number the tenant's pending events, in ``session``'s transaction (see the module docstring)."""
    scope = TenantScope(tenant_id)
    events = database["events"]
    found = [
        d
        async for d in events.find(scope.filter({"seq": PENDING_KEYS}), {"seq": 1, LEDGER: 1}, session=session)
        .sort("seq", 1)
        .limit(size)
    ]
    if not found:
        return Round(numbered=0, more=False, fan_outs_pending=None)
    more = len(found) == size
    if more and (whole := _whole_transactions(found)):
        found = whole
    numbered = len(found)

    # Each transaction's events follow one another from its first number, which its ledger
    # entries carry (a tombstone names it).
    offsets: dict[str, int] = {}
    for following, document in enumerate(found):
        offsets.setdefault(_transaction_of(document), following)
    ledgers = [(d, e) for d in found for e in d.get(LEDGER) or ()]
    plan = Plan([(_entry(e), offsets[_transaction_of(d)]) for d, e in ledgers], bucket_size)
    first, counter, tombstones = await take_numbers(database, session, scope, plan, numbered)

    # By the pending key, unique in the tenant: the filter is the whole shard key (tenant, seq),
    # through which alone a sharded cluster changes a shard key's value, and the fields of the
    # unique index that serves it (SecantusDB plans a write's filter only from an index whose
    # fields are exactly the filter's).
    writes = [
        UpdateOne(
            scope.filter({"seq": d["seq"]}), {"$set": {"seq": first + i}, "$unset": {PENDING_MARK: "", LEDGER: ""}}
        )
        for i, d in enumerate(found)
    ]
    result = await events.bulk_write(writes, ordered=False, session=session)
    if result.matched_count != len(writes):
        raise Overtaken()  # numbered by another round since this one read
    await _place(database, scope, plan, session)
    if tombstones:
        await database[TOMBSTONES].insert_many(tombstones, session=session)
    return Round(numbered=numbered, more=more, fan_outs_pending=int(counter.get(PENDING, 0)) > 0)


def _entry(stored: Sequence[Any]) -> Entry:
    what, kind, resource_id, position = stored
    return str(what), str(kind), str(resource_id), None if position is None else int(position)


class Overtaken(Exception):
    """Another round numbered part of this one's events or the sequence first: run again."""


def _transaction_of(document: Document) -> str:
    return str(document["_id"]).rpartition(":")[0]


def _whole_transactions(found: list[Document]) -> list[Document]:
    """``found`` less the last transaction's events, which may go on past the round's size."""
    last = _transaction_of(found[-1])
    return list(itertools.takewhile(lambda d: _transaction_of(d) != last, found))


async def _place(
    database: AsyncDatabase[Document], scope: TenantScope, plan: Plan, session: AsyncClientSession
) -> None:
    """Set the positions of the round's creations, where each is kept now (live or deleted)."""
    by_collection: dict[str, list[UpdateOne]] = {}
    for placement in plan.placing.values():
        kind, resource_id = placement.kind, placement.resource_id
        collection = kind if placement.live else DELETED_COLLECTIONS[kind]
        by_collection.setdefault(collection, []).append(
            UpdateOne(scope.filter({"_id": resource_id}), {"$set": {POS: placement.position}})
        )
    for collection, updates in by_collection.items():
        await database[collection].bulk_write(updates, ordered=False, session=session)


@dataclass(slots=True)
class _TenantRounds:
    """One tenant's rounds in this process: how many settles were asked for and answered."""

    asked: int = 0
    answered: int = 0
    running: asyncio.Future[None] | None = None
    fan_outs_pending: bool = False
    #: The first event of each write waiting, by its ticket: after losing to another process's
    #: round, those events may all be numbered already, and then there is nothing to run again for.
    waiting: dict[int, str] = field(default_factory=dict)


class Stamper:
    """This process's stamping rounds, one at a time per tenant, shared by its writers."""

    def __init__(
        self,
        client: Any,
        database: AsyncDatabase[Document],
        *,
        bucket_size: int,
        retry: RetryPolicy,
    ) -> None:
        self._client = client
        self._database = database
        self._bucket_size = bucket_size
        self._retry = retry
        self._tenants: dict[str, _TenantRounds] = {}
        #: Rounds committed, and rounds that lost to another process's (the operator's view).
        self.rounds = 0
        self.lost = 0

    async def settle(self, tenant_id: str, event_id: str | None = None) -> bool:
        """Return once every event of the tenant committed before the call is numbered (among them
        ``event_id``, the first of the caller's own, if it says); whether the tenant has fan-outs
        left, as the last round read it. Raises what the round raised (the database gone, the
        deadline past): the events stay pending for a later round."""
        tenant = self._tenants.setdefault(tenant_id, _TenantRounds())
        tenant.asked += 1
        ticket = tenant.asked
        if event_id is not None:
            tenant.waiting[ticket] = event_id
        try:
            while tenant.answered < ticket:
                if tenant.running is None:
                    tenant.running = asyncio.ensure_future(self._drain(tenant_id, tenant))
                await asyncio.shield(tenant.running)
        finally:
            tenant.waiting.pop(ticket, None)
        return tenant.fan_outs_pending

    async def _drain(self, tenant_id: str, tenant: _TenantRounds) -> None:
        """Rounds until every settle asked for is answered. A round answers those asked before it
        read: they asked after their commit, so its snapshot holds their events (when it took
        all that was pending)."""
        try:
            while tenant.answered < tenant.asked:
                asked = tenant.asked
                if not await self._round(tenant_id, tenant, asked):
                    tenant.answered = max(tenant.answered, asked)
        finally:
            tenant.running = None
            if tenant.answered >= tenant.asked:
                self._tenants.pop(tenant_id, None)

    async def _round(self, tenant_id: str, tenant: _TenantRounds, asked: int) -> bool:
        """One round, run again while it loses to another process's, unless that one numbered
        the events of every write waiting here; whether more is pending."""
        deadline = self._retry.start()
        # The writes this round answers, if each named its first event (the sweep names none).
        waiting = {ticket: event for ticket, event in tenant.waiting.items() if ticket <= asked}
        known = len(waiting) == asked - tenant.answered
        while True:
            try:
                async with self._client.start_session() as session:
                    await session.start_transaction()
                    try:
                        done = await stamp_round(self._database, session, tenant_id, bucket_size=self._bucket_size)
                        if done.numbered:
                            await session.commit_transaction()
                        else:
                            await session.abort_transaction()
                    except BaseException:
                        if session.in_transaction:
                            with contextlib.suppress(PyMongoError):
                                await session.abort_transaction()
                        raise
            except (PyMongoError, Overtaken) as error:
                transient = isinstance(error, Overtaken) or error.has_error_label("TransientTransactionError")
                if transient:
                    self.lost += 1
                if transient and known and await self._numbered(tenant_id, waiting):
                    # The round that won read after these writes committed, so it numbered all
                    # that committed before them too.
                    return False
                if transient and await deadline.back_off():
                    continue
                raise
            self.rounds += 1
            if done.fan_outs_pending is not None:
                tenant.fan_outs_pending = done.fan_outs_pending
            return done.more

    async def _numbered(self, tenant_id: str, waiting: dict[int, str]) -> bool:
        """Whether the waiting writes' first events are all numbered."""
        if not waiting:
            return False
        scope = TenantScope(tenant_id)
        cursor = self._database["events"].find(scope.filter({"_id": {"$in": list(waiting.values())}}), {"seq": 1})
        return all([isinstance(d.get("seq"), int) async for d in cursor])


async def pending_tenants(database: AsyncDatabase[Document], limit: int = 1000) -> dict[str, float]:
    """The tenants with events pending, each with how long its oldest has waited, in seconds (the
    clock in its key). Across tenants, so on a sharded cluster it asks every shard: it runs at
    start-up and every :data:`SWEEP_SECONDS`, on the sparse index of pending events, which is
    empty when all is well."""
    cursor = database["events"].find({PENDING_MARK: True}, {"tenant": 1, "seq": 1, "_id": 0}).limit(limit)
    oldest: dict[str, int] = {}
    async for document in cursor:
        clock = clock_of(str(document["seq"]))
        oldest[document["tenant"]] = min(clock, oldest.get(document["tenant"], clock))
    current = time.time_ns()
    return {tenant: max(current - clock, 0) / 1e9 for tenant, clock in oldest.items()}
