"""The unit of work on MongoDB: one tenant's transaction, run under the write path's one retry policy.

A transaction writes the documents its change touches and appends its events. They are numbered
in the tenant's sequence either by the transaction itself, which then takes the tenant's sequence
document, or, pending, by a stamping round after it, which the write waits for
(:mod:`identity_store.mongo.stamps`). Two transactions that write the same document conflict:
one is run again under the write path's one retry policy (:mod:`identity_store.mongo.retries`),
within the write's deadline. Within one process a tenant's writes take turns, and those that
queued while one ran are committed together in the next transaction
(:mod:`identity_store.mongo.write_turns`). A handler reads what it decides on inside its
transaction, so a decision is never taken on state that changed before the write.

Every attempt of one call shares a transaction id, which names its events (``<id>:<n>`` as
``_id``); since ids are unique, at most one attempt can ever commit. When a commit's answer is
lost, the events are looked up by that id: found, the write happened and its result is returned
as if the answer had arrived.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any, Protocol, TypeVar

import pymongo
from pymongo import AsyncMongoClient
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import ConnectionFailure, PyMongoError

from identity_store.domain.errors import NotFound, StoreTimeout, StoreUnavailable, Uniqueness, VersionConflict
from identity_store.domain.extensions import CORE_ONLY, TenantSchemas
from identity_store.domain.resources import now
from identity_store.events import Actor, DomainEvent
from identity_store.mongo.admin_writes import AdminWrites
from identity_store.mongo.deleted import MongoDeleted, MongoKept
from identity_store.mongo.documents import event_to_document
from identity_store.mongo.errors import as_domain_error
from identity_store.mongo.event_log import MongoEventLog
from identity_store.mongo.fan_outs import PENDING, MongoFanOuts
from identity_store.mongo.groups import MongoGroups
from identity_store.mongo.memberships import MongoMemberships
from identity_store.mongo.numbering import Numbering, number_now
from identity_store.mongo.positions import SEQUENCES, Ledger
from identity_store.mongo.retries import Deadline, RetryPolicy
from identity_store.mongo.schema_extensions import MongoSchemaExtensions
from identity_store.mongo.scope import TenantScope
from identity_store.mongo.ssf_streams import MongoTenantSsfStreams
from identity_store.mongo.stamps import LEDGER, PENDING_MARK, Clock, Overtaken, Stamper, pending_key
from identity_store.mongo.users import MongoUsers
from identity_store.mongo.webhooks import MongoTenantWebhooks
from identity_store.mongo.write_turns import Queued, WriteTurns
from identity_store.ports import Transaction

__all__ = ["MongoUnitOfWork", "Storage"]

Document = dict[str, Any]
T = TypeVar("T")
#: Who wrote each event of a transaction: its actor and the request's correlation id.
Authors = Sequence[tuple[Actor, str | None]]


class Storage(Protocol):
    """What a unit of work needs of the store (:class:`~identity_store.mongo.store.MongoStore`)."""

    @property
    def client(self) -> AsyncMongoClient[Document]: ...
    @property
    def database(self) -> AsyncDatabase[Document]: ...
    @property
    def retry(self) -> RetryPolicy: ...
    @property
    def bucket_size(self) -> int: ...
    @property
    def turns(self) -> WriteTurns: ...
    @property
    def stamper(self) -> Stamper: ...
    @property
    def clock(self) -> Clock: ...
    @property
    def numbering(self) -> Numbering: ...


log = logging.getLogger("identity_store.mongo")

#: How long an abort may wait when the transaction failed because the database is gone.
_ABORT_SECONDS = 0.05


class _Tx:
    """The repositories of one transaction attempt, and the events it will append."""

    def __init__(self, store: Storage, scope: TenantScope, session: AsyncClientSession, schemas: TenantSchemas) -> None:
        db = store.database
        # Creations and deletions of users and groups, for the round that numbers the events.
        self.positions = Ledger()
        # Without a shared document, the existence checks hold what they check (held_ids).
        hold = store.numbering is Numbering.SEQUENCER
        self.users = MongoUsers(
            db["users"], scope, session, schemas.user, ledger=self.positions, bucket_size=store.bucket_size, hold=hold
        )
        self.groups = MongoGroups(
            db["groups"], scope, session, schemas.group, ledger=self.positions, bucket_size=store.bucket_size, hold=hold
        )
        self.memberships = MongoMemberships(db["memberships"], scope, session)
        self.fan_outs = MongoFanOuts(db, scope, session)
        self.deleted = MongoDeleted(db, scope, session, ledger=self.positions)
        self.kept = MongoKept(db, scope, session)
        # The tenant's own records (its settings, credentials, OAuth clients), for administration
        # commands, bound to the same scope and session as those above.
        admin = AdminWrites(db, scope, session)
        self.tenant, self.credentials, self.oauth_clients = admin.tenant, admin.credentials, admin.oauth_clients
        self.webhooks = MongoTenantWebhooks(db, scope, session)
        self.ssf_streams = MongoTenantSsfStreams(db, scope, session)
        self.schema_extensions = MongoSchemaExtensions(db, scope, session)
        self.events: list[DomainEvent] = []
        self._event_log = MongoEventLog(db["events"], scope, session)

    def record(self, *events: DomainEvent) -> None:
        self.events.extend(events)

    async def last_sequence(self) -> int:
        # The events recorded so far in this transaction (by writes committed together with
        # this one) come first: they take the next sequence numbers when it commits.
        return await self._event_log.last_sequence() + len(self.events)


class _CommitUnknown(Exception):
    """The commit was sent but its answer was lost: it may or may not have been applied."""


def _transient(error: PyMongoError) -> bool:
    return error.has_error_label("TransientTransactionError")


class MongoUnitOfWork:
    """Runs one tenant's transactions (see the module docstring)."""

    def __init__(self, store: Storage, scope: TenantScope, schemas: TenantSchemas | None = None) -> None:
        self._store = store
        self._scope = scope
        self._schemas = schemas or CORE_ONLY
        self.tenant_id = scope.tenant_id
        #: Whether the tenant had unfinished fan-outs when its last transaction here committed.
        self.pending_work = False

    async def transact(
        self,
        work: Callable[[Transaction], Awaitable[T]],
        *,
        actor: Actor,
        correlation_id: str | None,
        retry_conflicts: bool = True,
    ) -> T:
        """Run ``work`` and append the events it recorded, in one transaction, under the retry policy.

        A commit whose answer was lost is looked up by the transaction id; a later attempt that
        then fails (the user it creates "already exists") is checked the same way, so a write
        never conflicts with itself.
        """
        deadline = self._store.retry.start()
        transaction_id = uuid.uuid4().hex
        results: dict[int, T] = {}
        unknown = False
        turns = self._store.turns
        queue = turns.queue(self.tenant_id)
        queued = Queued(work=work, actor=actor, correlation_id=correlation_id, schemas=self._schemas)
        queue.join(queued)
        try:
            while True:
                attempt = deadline.attempt
                try:
                    queued_at = time.monotonic()
                    async with self._turn(queued, deadline):
                        taken = queued.done  # by another write's turn, which sees it numbered
                        if not taken:
                            turns.fail_if_lost_since(queued_at)
                        if taken or (queued.together and await self._together(queued)):
                            result, noted, numbering = queued.result, queued.pending_work, queued.numbering
                            first = queued.first_event
                        else:
                            try:
                                noted, numbering = await self._attempt(
                                    work, transaction_id, attempt, results, actor, correlation_id
                                )
                            except StoreUnavailable as error:
                                if not isinstance(error, StoreTimeout):
                                    turns.lost()
                                raise
                            result = results[attempt]
                            first = f"{transaction_id}:0"
                        # Numbered within the turn: the writes that queue meanwhile commit together next.
                        if taken and queued.numbered is not None:
                            seen = await asyncio.shield(queued.numbered)
                            if seen is not None:
                                self.pending_work = seen
                                return result  # type: ignore[no-any-return]  # what ``work`` returned
                            # The write whose turn it was stopped waiting (its client went away).
                        numbered = False
                        try:
                            answer: T = await self._numbered(result, noted=noted, numbering=numbering, first=first)
                            numbered = True
                            return answer
                        finally:
                            if queued.numbered is not None and not queued.numbered.done():
                                queued.numbered.set_result(self.pending_work if numbered else None)
                except _CommitUnknown:
                    unknown = True
                    committed = await self._committed_attempt(transaction_id, deadline)
                    if committed is not None:
                        return await self._numbered(
                            results[committed], noted=False, numbering=self._pending, first=f"{transaction_id}:0"
                        )
                except VersionConflict:
                    if unknown and (committed := await self._committed_attempt(transaction_id, deadline)) is not None:
                        return await self._numbered(
                            results[committed], noted=False, numbering=self._pending, first=f"{transaction_id}:0"
                        )
                    if not retry_conflicts:
                        raise
                except (Uniqueness, NotFound):
                    if unknown and (committed := await self._committed_attempt(transaction_id, deadline)) is not None:
                        return await self._numbered(
                            results[committed], noted=False, numbering=self._pending, first=f"{transaction_id}:0"
                        )
                    raise
                except PyMongoError as error:
                    if not _transient(error):
                        translated = as_domain_error(error)
                        if translated is None:
                            raise
                        raise translated from error
                if not await deadline.back_off():
                    if unknown:
                        raise StoreUnavailable(
                            "the database did not confirm the change; it may or may not have been made"
                        )
                    raise StoreTimeout("other writes of this tenant kept getting in the way; retry later")
        finally:
            queue.leave(queued)

    @property
    def _pending(self) -> bool:
        """Whether this store's transactions leave their events for a round to number."""
        return self._store.numbering is Numbering.SEQUENCER

    async def _numbered(self, result: T, *, noted: bool, numbering: bool, first: str | None) -> T:
        """``result``, once the events its transaction left pending are numbered
        (:mod:`identity_store.mongo.stamps`), so a read after the answer sees them; whether the
        tenant has fan-outs left is learnt from the round's read of the sequence. The change is
        committed either way: a round that fails leaves its events to the next round, and the
        write is answered as made."""
        pending = noted
        if numbering:
            try:
                pending = await self._store.stamper.settle(self.tenant_id, first) or pending
            except (PyMongoError, Overtaken) as error:
                log.warning(
                    "tenant %s: a change is committed, its events not yet numbered (%s); the next round will",
                    self.tenant_id,
                    error,
                )
            except Exception:
                # A defect in a round, not an outage: said with its traceback, and still not a 500
                # for a change that was made.
                log.exception("tenant %s: a change is committed, numbering its events failed", self.tenant_id)
        self.pending_work = pending
        return result

    @contextlib.asynccontextmanager
    async def _turn(self, queued: Queued, deadline: Deadline) -> AsyncIterator[None]:
        """This process's turn for the tenant's transaction. A write whose wait ran out after
        another's turn took it into a shared transaction waits for that transaction instead:
        it may commit, and a timeout must never be answered for a change that was made."""
        turn = contextlib.AsyncExitStack()
        try:
            await turn.enter_async_context(self._store.turns.turn(self.tenant_id, deadline.remaining()))
        except StoreTimeout:
            if queued.taken and not queued.done:
                await queued.settled.wait()
            if not queued.done:
                raise
            yield
            return
        async with turn:
            yield

    async def _together(self, turn: Queued) -> bool:
        """Commit ``turn`` with the writes queued behind it, if any; whether it was committed."""
        batch = self._store.turns.queue(self.tenant_id).take(turn)
        if len(batch) == 1:
            turn.together = False
            turn.settled.set()
            return False
        deadline = self._store.retry.start()
        try:
            while True:
                try:
                    await self._commit_together(batch, take_sequence_first=deadline.attempt > 0)
                    break
                except PyMongoError as error:
                    # Another process's transaction took the sequence, or changed a document of
                    # the batch, first: the batch is run again, as a batch, taking the sequence
                    # first (see _take_turn_at_sequence).
                    if not (_transient(error) and await deadline.back_off()):
                        raise
        except Exception as error:
            log.debug("%d writes committed together failed (%s); each runs alone", len(batch), error)
        finally:
            for queued in batch:
                queued.together = queued.together and queued.done
                queued.settled.set()
        return turn.done

    async def _commit_together(self, batch: Sequence[Queued], *, take_sequence_first: bool) -> None:
        """Run every write of ``batch`` in one transaction, in order, and append all their events;
        on success each is marked done with its result."""
        transaction_id = uuid.uuid4().hex
        async with self._store.client.start_session() as session:
            await session.start_transaction()
            try:
                if take_sequence_first:
                    await self._take_turn_at_sequence(session)
                tx = _Tx(self._store, self._scope, session, batch[0].schemas)
                results: list[Any] = []
                authors: list[tuple[Actor, str | None]] = []
                for queued in batch:
                    before = len(tx.events)
                    results.append(await queued.work(tx))
                    authors += [(queued.actor, queued.correlation_id)] * (len(tx.events) - before)
                numbering, left = await self._append(session, tx.events, tx.positions, transaction_id, 0, authors)
            except BaseException:
                if session.in_transaction:
                    with contextlib.suppress(PyMongoError):
                        await session.abort_transaction()
                raise
            try:
                await session.commit_transaction()
            except PyMongoError as error:
                lost_answer = error.has_error_label("UnknownTransactionCommitResult") or isinstance(
                    error, ConnectionFailure
                )
                # Without events there is nothing to look the commit up by; run alone, each write
                # meets its own effect (a no-op, or the state it already made).
                if not (lost_answer and tx.events):
                    raise
                if await self._committed_attempt(transaction_id, self._store.retry.start()) is None:
                    raise
        # The write whose turn it was sees the events numbered, for all of them: one settle.
        numbered = asyncio.get_running_loop().create_future()
        for queued, result in zip(batch, results, strict=True):
            queued.result = result
            queued.pending_work = tx.fan_outs.noted or left
            queued.numbering = numbering
            queued.first_event = f"{transaction_id}:0"
            queued.numbered = numbered
            queued.done = True

    async def _attempt(
        self,
        work: Callable[[Transaction], Awaitable[T]],
        transaction_id: str,
        attempt: int,
        results: dict[int, T],
        actor: Actor,
        correlation_id: str | None,
    ) -> tuple[bool, bool]:
        """One attempt; its result is kept in ``results`` before the commit is sent, since a commit
        whose answer is lost may still have made it the result. Whether it noted a fan-out, and
        whether it left events to number."""
        async with self._store.client.start_session() as session:
            await session.start_transaction()
            try:
                if attempt > 0:
                    await self._take_turn_at_sequence(session)
                tx = _Tx(self._store, self._scope, session, self._schemas)
                results[attempt] = await work(tx)
                authors = [(actor, correlation_id)] * len(tx.events)
                numbering, left = await self._append(session, tx.events, tx.positions, transaction_id, attempt, authors)
            except BaseException as error:
                if session.in_transaction:
                    # With the database gone an abort would wait for it as long again; the server
                    # drops a transaction left unfinished by itself, so the abort gets a moment only.
                    gone = isinstance(error, StoreUnavailable | ConnectionFailure)
                    with contextlib.suppress(PyMongoError), pymongo.timeout(_ABORT_SECONDS if gone else None):
                        await session.abort_transaction()
                raise
            try:
                await session.commit_transaction()
            except PyMongoError as error:
                # The driver retried the commit once already; past that its outcome is unknown.
                if error.has_error_label("UnknownTransactionCommitResult") or isinstance(error, ConnectionFailure):
                    raise _CommitUnknown() from error
                raise
            return tx.fan_outs.noted or left, numbering

    async def _append(
        self,
        session: AsyncClientSession,
        events: Sequence[DomainEvent],
        ledger: Ledger,
        transaction_id: str,
        attempt: int,
        authors: Authors,
    ) -> tuple[bool, bool]:
        """Append the events (``authors[i]`` wrote ``events[i]``) and insert the created documents,
        numbered here or left for a round (:class:`~identity_store.mongo.numbering.Numbering`).
        Whether a round has something to number, and whether fan-outs are left (as far as this
        transaction read the tenant's sequence)."""
        if not events and not ledger:
            return False, False
        at = now()
        documents = [
            {
                "_id": f"{transaction_id}:{i}",
                "attempt": attempt,
                **self._scope.document(
                    event_to_document(
                        event,
                        tenant_id=self.tenant_id,
                        sequence=0,
                        actor=authors[i][0],
                        correlation_id=authors[i][1],
                        at=at,
                    )
                ),
            }
            for i, event in enumerate(events)
        ]
        db = self._store.database
        if self._store.numbering is Numbering.IN_TRANSACTION:
            # The sequence is taken inside the transaction: a concurrent writer conflicts on it
            # and runs again, so sequence order is commit order.
            first, counter = await number_now(
                db, session, self._scope, ledger, len(events), bucket_size=self._store.bucket_size
            )
            for i, document in enumerate(documents):
                document["seq"] = first + i
            if documents:
                await db["events"].insert_many(documents, session=session)
            return False, int(counter.get(PENDING, 0)) > 0
        if not documents:
            # Every change records its events (the domain's rule); its ledger rides on the first.
            raise RuntimeError("a transaction created or deleted a resource without recording an event")
        # Pending, keyed by the clock read now, after all the work read; no document that the
        # tenant's other writes share is written.
        await ledger.insert()
        clock = self._store.clock.read()
        for i, document in enumerate(documents):
            document["seq"] = pending_key(clock, transaction_id, i)
            document[PENDING_MARK] = True
        if ledger:
            documents[0][LEDGER] = [list(entry) for entry in ledger.entries]
        await db["events"].insert_many(documents, session=session)
        return True, False

    async def _take_turn_at_sequence(self, session: AsyncClientSession) -> None:
        """With :data:`~identity_store.mongo.numbering.Numbering.IN_TRANSACTION`, write the tenant's
        sequence document first thing in the transaction. A transaction takes the sequence last,
        when it knows its events; one of another process that commits meanwhile makes it fail
        there, after all its work, and run again. Run again, it writes the document first: from
        then on a rival fails at its first write instead of its last, and two processes' writers
        take turns at the cost of one command, paid only by a write that already lost a race once."""
        if self._store.numbering is Numbering.IN_TRANSACTION:
            await self._store.database[SEQUENCES].update_one(
                {"_id": self.tenant_id}, {"$inc": {"turns": 1}}, upsert=True, session=session
            )

    async def _committed_attempt(self, transaction_id: str, deadline: Deadline) -> int | None:
        """Which attempt of the transaction committed, if one did (its first event is there).

        Asked again within the write's deadline while the database cannot be reached: the
        connection that lost the answer is usually all that failed, and a definite answer is
        worth more here than a quick "maybe".
        """
        while True:
            try:
                found = await self._store.database["events"].find_one(
                    self._scope.filter({"_id": f"{transaction_id}:0"}), {"attempt": 1}
                )
            except PyMongoError as error:
                translated = as_domain_error(error)
                if translated is None:
                    raise
                if not isinstance(translated, StoreUnavailable) or not await deadline.back_off():
                    raise translated from error
                continue
            return int(found["attempt"]) if found is not None else None
