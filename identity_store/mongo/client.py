"""The MongoDB store: client lifecycle, indexes, transactions, and driver errors made domain errors.

One :class:`MongoStore` per event loop (``AsyncMongoClient`` is bound to the loop that uses it).
Writes are acknowledged by a majority and journaled; a multi-document change runs in a
transaction together with the events it appends, so a failed command leaves neither behind.

Every transaction of a tenant takes that tenant's event sequence, so two of them can never
commit side by side: one aborts on a write conflict and is run again under the write path's one
retry policy (:mod:`identity_store.mongo.retries`), within the write's deadline. Within one
process the store therefore queues a tenant's transactions instead of letting them collide (the
wait counts against the same deadline); writers in other processes still meet at the sequence.
A handler reads what it decides on inside its transaction, so a decision is never taken on state
that changed before the write.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any, TypeVar

import pymongo
from pymongo import ASCENDING, AsyncMongoClient, IndexModel, ReturnDocument
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import ConnectionFailure, DuplicateKeyError, PyMongoError
from pymongo.monitoring import CommandListener
from pymongo.write_concern import WriteConcern

from identity_store.domain.credentials import Credential
from identity_store.domain.errors import NotFound, StoreTimeout, StoreUnavailable, Uniqueness, VersionConflict
from identity_store.domain.oauth import Federation, OAuthClient
from identity_store.domain.resources import new_id, now
from identity_store.domain.tenants import Tenant, TenantSettings
from identity_store.events import Actor, DomainEvent
from identity_store.mongo.admin_writes import AdminWrites
from identity_store.mongo.documents import (
    MEMBER_COUNT,
    credential_from_document,
    credential_to_document,
    event_to_document,
    federation_to_document,
    fold,
    oauth_client_from_document,
    oauth_client_to_document,
    tenant_from_document,
    tenant_settings_to_document,
)
from identity_store.mongo.errors import RETRY_AFTER_SECONDS, as_domain_error, translate_errors
from identity_store.mongo.repositories import MongoEventLog, MongoGroups, MongoMemberships, MongoUsers
from identity_store.mongo.retries import Deadline, RetryPolicy
from identity_store.ports import Transaction

__all__ = ["MongoStore"]

log = logging.getLogger(__name__)

Document = dict[str, Any]
T = TypeVar("T")

#: How long an abort may wait when the transaction failed because the database is gone.
_ABORT_SECONDS = 0.05
#: The shortest interval at which PyMongo's monitor looks at a server again (0.5 s), and a little more.
_MONITOR_INTERVAL_SECONDS = 0.55

_INDEXES: dict[str, list[IndexModel]] = {
    "users": [
        IndexModel([("tenant", ASCENDING), ("search.userName", ASCENDING)], unique=True, name="userName"),
        # Pages in the default order (userName, then _id: the keyset order) walk this index and
        # stop after the page; the unique index above cannot give the _id part of the order, so
        # without it MongoDB would sort the whole tenant for every page.
        IndexModel([("tenant", ASCENDING), ("search.userName", ASCENDING), ("_id", ASCENDING)], name="userName_order"),
        IndexModel([("tenant", ASCENDING), ("search.externalId", ASCENDING)], name="externalId"),
        IndexModel([("tenant", ASCENDING), ("search.emails.value", ASCENDING)], name="emails"),
        # With _id last, a manager's reports come out in id order straight from the index (keyset pages).
        IndexModel(
            [("tenant", ASCENDING), ("search.enterprise.manager.value", ASCENDING), ("_id", ASCENDING)],
            name="manager_reports",
        ),
        IndexModel([("tenant", ASCENDING), ("_id", ASCENDING)], name="tenant_id"),
    ],
    "groups": [
        IndexModel([("tenant", ASCENDING), ("search.displayName", ASCENDING)], unique=True, name="displayName"),
        IndexModel(
            [("tenant", ASCENDING), ("search.displayName", ASCENDING), ("_id", ASCENDING)], name="displayName_order"
        ),
        IndexModel([("tenant", ASCENDING), ("search.externalId", ASCENDING)], name="externalId"),
        IndexModel([("tenant", ASCENDING), ("_id", ASCENDING)], name="tenant_id"),
    ],
    "memberships": [
        IndexModel([("tenant", ASCENDING), ("group", ASCENDING), ("member", ASCENDING)], unique=True, name="group"),
        IndexModel([("tenant", ASCENDING), ("member", ASCENDING), ("group", ASCENDING)], name="member"),
        # A group's user members in member order (users filtered by memberOf), and its nested
        # groups alone (the transitive walk), without reading the group's other members.
        IndexModel(
            [("tenant", ASCENDING), ("group", ASCENDING), ("type", ASCENDING), ("member", ASCENDING)],
            name="group_type",
        ),
        # The join key first, for reading a user with its groups in one $lookup (repositories):
        # SecantusDB's $lookup uses an index only when it leads with the foreign field.
        IndexModel([("member", ASCENDING), ("tenant", ASCENDING)], name="member_tenant"),
    ],
    "events": [
        IndexModel([("tenant", ASCENDING), ("seq", ASCENDING)], unique=True, name="sequence"),
        # The events about one user or group (identityEvents with userId/groupId), in sequence
        # order, whether it is the subject or a member added or removed: no walk of the whole log.
        IndexModel([("tenant", ASCENDING), ("aggregate.id", ASCENDING), ("seq", ASCENDING)], name="subject"),
        IndexModel([("tenant", ASCENDING), ("members", ASCENDING), ("seq", ASCENDING)], name="members"),
    ],
    "tenants": [
        IndexModel([("nameKey", ASCENDING)], unique=True, name="name"),
        IndexModel([("settings.entraTenantId", ASCENDING)], unique=True, sparse=True, name="entra_tenant"),
    ],
    "credentials": [
        IndexModel([("tenant", ASCENDING), ("kind", ASCENDING)], name="tenant_kind"),
        IndexModel([("client", ASCENDING)], name="client", sparse=True),
    ],
    "oauth_clients": [IndexModel([("tenant", ASCENDING), ("created", ASCENDING)], name="tenant")],
}

#: Indexes earlier versions created that a wider one above now serves; dropped at start-up.
_SUPERSEDED_INDEXES: dict[str, set[str]] = {"users": {"manager"}}


class _Tx:
    """The repositories of one transaction attempt, and the events it will append."""

    def __init__(
        self, users: MongoUsers, groups: MongoGroups, memberships: MongoMemberships, admin: AdminWrites
    ) -> None:
        self.users = users
        self.groups = groups
        self.memberships = memberships
        self.tenant, self.credentials, self.oauth_clients = admin.tenant, admin.credentials, admin.oauth_clients
        self.events: list[DomainEvent] = []

    def record(self, *events: DomainEvent) -> None:
        self.events.extend(events)


class _CommitUnknown(Exception):
    """The commit was sent but its answer was lost: it may or may not have been applied."""


def _transient(error: PyMongoError) -> bool:
    return error.has_error_label("TransientTransactionError")


class MongoTenantStore:
    """One tenant's data. Built only by :meth:`MongoStore.tenant`, with the tenant fixed."""

    def __init__(self, store: MongoStore, tenant_id: str) -> None:
        self.tenant_id = tenant_id
        self._store = store
        db = store.database
        self.users = MongoUsers(db["users"], tenant_id, None)
        self.groups = MongoGroups(db["groups"], tenant_id, None)
        self.memberships = MongoMemberships(db["memberships"], tenant_id, None)
        self.events = MongoEventLog(db["events"], tenant_id)

    async def transact(
        self,
        work: Callable[[Transaction], Awaitable[T]],
        *,
        actor: Actor,
        correlation_id: str | None,
        retry_conflicts: bool = True,
    ) -> T:
        """Run ``work`` and append the events it recorded, in one transaction, under the retry policy.

        Every attempt of one call shares a transaction id, which names its events (``<id>:<n>``
        as ``_id``); since ids are unique, at most one attempt can ever commit. When a commit's
        answer is lost, the events are looked up by that id: found, the write happened and its
        result is returned as if the answer had arrived; a later attempt that then fails (the
        user it creates "already exists") is checked the same way, so a write never conflicts
        with itself.
        """
        deadline = self._store.retry.start()
        transaction_id = uuid.uuid4().hex
        results: dict[int, T] = {}
        unknown = False
        while True:
            attempt = deadline.attempt
            try:
                queued_at = time.monotonic()
                async with self._store.writing(self.tenant_id, deadline.remaining()):
                    self._store.fail_if_lost_since(queued_at)
                    try:
                        await self._attempt(work, transaction_id, attempt, results, actor, correlation_id)
                    except StoreUnavailable as error:
                        if not isinstance(error, StoreTimeout):
                            self._store.lost()
                        raise
                return results[attempt]
            except _CommitUnknown:
                unknown = True
                committed = await self._committed_attempt(transaction_id, deadline)
                if committed is not None:
                    return results[committed]
            except VersionConflict:
                if unknown and (committed := await self._committed_attempt(transaction_id, deadline)) is not None:
                    return results[committed]
                if not retry_conflicts:
                    raise
            except (Uniqueness, NotFound):
                if unknown and (committed := await self._committed_attempt(transaction_id, deadline)) is not None:
                    return results[committed]
                raise
            except PyMongoError as error:
                if not _transient(error):
                    translated = as_domain_error(error)
                    if translated is None:
                        raise
                    raise translated from error
            if not await deadline.back_off():
                if unknown:
                    raise StoreUnavailable("the database did not confirm the change; it may or may not have been made")
                raise StoreTimeout("other writes of this tenant kept getting in the way; retry later")

    async def _attempt(
        self,
        work: Callable[[Transaction], Awaitable[T]],
        transaction_id: str,
        attempt: int,
        results: dict[int, T],
        actor: Actor,
        correlation_id: str | None,
    ) -> None:
        """One attempt; its result is kept in ``results`` before the commit is sent, since a commit
        whose answer is lost may still have made it the result."""
        db = self._store.database
        async with self._store.client.start_session() as session:
            await session.start_transaction()
            try:
                tx = _Tx(
                    MongoUsers(db["users"], self.tenant_id, session),
                    MongoGroups(db["groups"], self.tenant_id, session),
                    MongoMemberships(db["memberships"], self.tenant_id, session),
                    AdminWrites(db, self.tenant_id, session),
                )
                results[attempt] = await work(tx)
                if tx.events:
                    await self._append(session, tx.events, transaction_id, attempt, actor, correlation_id)
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

    async def _append(
        self,
        session: AsyncClientSession,
        events: Sequence[DomainEvent],
        transaction_id: str,
        attempt: int,
        actor: Actor,
        correlation_id: str | None,
    ) -> None:
        db = self._store.database
        # The per-tenant sequence is taken inside the transaction: a concurrent writer
        # conflicts on it and retries, so sequence order is commit order and a reader
        # resuming "after N" can never miss an event committed later with a smaller number.
        counter = await db["event_sequences"].find_one_and_update(
            {"_id": self.tenant_id},
            {"$inc": {"seq": len(events)}},
            upsert=True,
            return_document=ReturnDocument.AFTER,
            session=session,
        )
        assert counter is not None  # an upsert returning the document after it always finds one
        first = int(counter["seq"]) - len(events) + 1
        at = now()
        documents = [
            {
                "_id": f"{transaction_id}:{i}",
                "attempt": attempt,
                **event_to_document(
                    event,
                    tenant_id=self.tenant_id,
                    sequence=first + i,
                    actor=actor,
                    correlation_id=correlation_id,
                    at=at,
                ),
            }
            for i, event in enumerate(events)
        ]
        await db["events"].insert_many(documents, session=session)

    async def _committed_attempt(self, transaction_id: str, deadline: Deadline) -> int | None:
        """Which attempt of the transaction committed, if one did (its first event is there).

        Asked again within the write's deadline while the database cannot be reached: the
        connection that lost the answer is usually all that failed, and a definite answer is
        worth more here than a quick "maybe".
        """
        while True:
            try:
                found = await self._store.database["events"].find_one({"_id": f"{transaction_id}:0"}, {"attempt": 1})
            except PyMongoError as error:
                translated = as_domain_error(error)
                if translated is None:
                    raise
                if not isinstance(translated, StoreUnavailable) or not await deadline.back_off():
                    raise translated from error
                continue
            return int(found["attempt"]) if found is not None else None


class MongoTenants:
    def __init__(self, database: AsyncDatabase[Document]) -> None:
        self._tenants = database["tenants"]
        self._sequences = database["event_sequences"]

    @translate_errors
    async def create(self, name: str, settings: TenantSettings | None = None) -> Tenant:
        settings = settings or TenantSettings()
        tenant = Tenant(id=new_id(), name=name, created=now(), settings=settings)
        try:
            await self._tenants.insert_one(
                {
                    "_id": tenant.id,
                    "name": name,
                    "nameKey": fold(name),
                    "created": tenant.created,
                    "settings": tenant_settings_to_document(settings),
                }
            )
        except DuplicateKeyError as error:
            if "entra" in str(error.details or {}):
                raise Uniqueness("that Entra tenant is linked to another tenant", attribute="entraTenantId") from None
            raise Uniqueness(f"a tenant named {name!r} exists", attribute="name") from None
        await self._sequences.update_one({"_id": tenant.id}, {"$setOnInsert": {"seq": 0}}, upsert=True)
        return tenant

    @translate_errors
    async def get(self, tenant_id: str) -> Tenant:
        document = await self._tenants.find_one({"_id": tenant_id})
        if document is None:
            raise NotFound(f"tenant {tenant_id} not found")
        return tenant_from_document(document)

    @translate_errors
    async def by_name(self, name: str) -> Tenant:
        document = await self._tenants.find_one({"nameKey": fold(name)})
        if document is None:
            raise NotFound(f"tenant {name!r} not found")
        return tenant_from_document(document)

    @translate_errors
    async def list(self) -> list[Tenant]:
        return [tenant_from_document(d) async for d in self._tenants.find().sort("nameKey", ASCENDING)]

    @translate_errors
    async def update_settings(self, tenant_id: str, settings: TenantSettings) -> Tenant:
        try:
            document = await self._tenants.find_one_and_update(
                {"_id": tenant_id},
                {"$set": {"settings": tenant_settings_to_document(settings)}},
                return_document=ReturnDocument.AFTER,
            )
        except DuplicateKeyError:
            raise Uniqueness("that Entra tenant is linked to another tenant", attribute="entraTenantId") from None
        if document is None:
            raise NotFound(f"tenant {tenant_id} not found")
        return tenant_from_document(document)

    @translate_errors
    async def by_entra_tenant(self, entra_tenant_id: str) -> Tenant:
        document = await self._tenants.find_one({"settings.entraTenantId": entra_tenant_id})
        if document is None:
            raise NotFound(f"no tenant is linked to Entra tenant {entra_tenant_id}")
        return tenant_from_document(document)


class MongoCredentials:
    def __init__(self, database: AsyncDatabase[Document]) -> None:
        self._credentials = database["credentials"]

    @translate_errors
    async def add(self, credential: Credential) -> None:
        await self._credentials.insert_one(credential_to_document(credential))

    @translate_errors
    async def get(self, credential_id: str) -> Credential:
        document = await self._credentials.find_one({"_id": credential_id})
        if document is None:
            raise NotFound(f"credential {credential_id} not found")
        return credential_from_document(document)

    @translate_errors
    async def list(self, tenant_id: str, kind: str | None = None, client_id: str | None = None) -> list[Credential]:
        condition: Document = {"tenant": tenant_id}
        if kind is not None:
            condition["kind"] = kind
        if client_id is not None:
            condition["client"] = client_id
        cursor = self._credentials.find(condition).sort("created", ASCENDING)
        return [credential_from_document(d) async for d in cursor]

    @translate_errors
    async def revoke(self, credential_id: str, at: datetime) -> Credential:
        # Credentials are stored with "revoked": null, and $min keeps a null (it sorts before every
        # date), so set the time only where none is set; a second revocation keeps the first time.
        document = await self._credentials.find_one_and_update(
            {"_id": credential_id, "revoked": None},
            {"$set": {"revoked": at}},
            return_document=ReturnDocument.AFTER,
        )
        if document is None:
            document = await self._credentials.find_one({"_id": credential_id})
        if document is None:
            raise NotFound(f"credential {credential_id} not found")
        return credential_from_document(document)


class MongoOAuthClients:
    def __init__(self, database: AsyncDatabase[Document]) -> None:
        self._clients = database["oauth_clients"]

    @translate_errors
    async def add(self, client: OAuthClient) -> None:
        await self._clients.insert_one(oauth_client_to_document(client))

    @translate_errors
    async def get(self, client_id: str) -> OAuthClient:
        document = await self._clients.find_one({"_id": client_id})
        if document is None:
            raise NotFound(f"OAuth client {client_id} not found")
        return oauth_client_from_document(document)

    @translate_errors
    async def list(self, tenant_id: str) -> list[OAuthClient]:
        cursor = self._clients.find({"tenant": tenant_id}).sort("created", ASCENDING)
        return [oauth_client_from_document(d) async for d in cursor]

    @translate_errors
    async def federate(self, client_id: str, federation: Federation | None) -> OAuthClient:
        document = await self._clients.find_one_and_update(
            {"_id": client_id},
            {"$set": {"federation": federation_to_document(federation)}},
            return_document=ReturnDocument.AFTER,
        )
        if document is None:
            raise NotFound(f"OAuth client {client_id} not found")
        return oauth_client_from_document(document)

    @translate_errors
    async def disable(self, client_id: str, at: datetime) -> OAuthClient:
        document = await self._clients.find_one_and_update(
            {"_id": client_id, "disabled": None}, {"$set": {"disabled": at}}, return_document=ReturnDocument.AFTER
        )
        if document is None:
            document = await self._clients.find_one({"_id": client_id})
        if document is None:
            raise NotFound(f"OAuth client {client_id} not found")
        return oauth_client_from_document(document)


class MongoStore:
    """The :class:`~identity_store.ports.Store` on MongoDB (or anything that speaks its protocol)."""

    def __init__(
        self,
        uri: str,
        database: str,
        *,
        unreachable_seconds: float = 1.0,
        operation_timeout_seconds: float = 10.0,
        retry: RetryPolicy | None = None,
        listeners: Sequence[CommandListener] = (),
    ) -> None:
        """``unreachable_seconds`` bounds how long an operation waits for a database it cannot reach
        (server selection and connecting) before failing as :class:`StoreUnavailable`;
        ``operation_timeout_seconds`` how long one database command may take once sent
        (:class:`StoreTimeout`). ``retry`` is the write path's deadline and back-off.

        No client-wide ``timeoutMS``: under it the driver waits the whole remaining timeout to
        select a server, so an outage would hold every request for the full operation deadline.
        """
        # PyMongo's server selection re-examines the topology at most every 0.5 s (its monitor's
        # shortest interval) and only then notices its timeout, so a wait can run past it by up
        # to that much: the timeout given to it leaves that margin inside the bound.
        selection_ms = max(int((unreachable_seconds - _MONITOR_INTERVAL_SECONDS) * 1000), 50)
        self.client: AsyncMongoClient[Document] = AsyncMongoClient(
            uri,
            tz_aware=True,
            uuidRepresentation="standard",
            serverSelectionTimeoutMS=selection_ms,
            connectTimeoutMS=max(int(unreachable_seconds * 1000), 1),
            socketTimeoutMS=max(int(operation_timeout_seconds * 1000), 1),
            event_listeners=list(listeners),
        )
        self.database: AsyncDatabase[Document] = self.client.get_database(
            database, write_concern=WriteConcern(w="majority", j=True)
        )
        self.retry = retry or RetryPolicy(deadline_seconds=operation_timeout_seconds)
        self.tenants = MongoTenants(self.database)
        self.credentials = MongoCredentials(self.database)
        self.oauth_clients = MongoOAuthClients(self.database)
        self._writers: dict[str, asyncio.Lock] = {}
        self._lost_at = float("-inf")

    def lost(self) -> None:
        """A write found the database unreachable: the writes queued behind it fail with it."""
        self._lost_at = time.monotonic()

    def fail_if_lost_since(self, queued_at: float) -> None:
        """Fail a write that queued before the database was last found unreachable, rather than
        have every write of a queue wait out the unreachable bound in turn."""
        if self._lost_at >= queued_at:
            raise StoreUnavailable(retry_after=RETRY_AFTER_SECONDS)

    @contextlib.asynccontextmanager
    async def writing(self, tenant_id: str, wait_seconds: float) -> AsyncIterator[None]:
        """Hold this process's turn for one tenant's transaction (see the module docstring),
        waiting at most ``wait_seconds`` for it: a queue too long for the deadline is a timeout."""
        lock = self._writers.get(tenant_id)
        if lock is None:
            lock = self._writers[tenant_id] = asyncio.Lock()
        try:
            async with asyncio.timeout(wait_seconds):
                await lock.acquire()
        except TimeoutError:
            raise StoreTimeout("this tenant's writes are queued too deep; retry later") from None
        try:
            yield
        finally:
            lock.release()

    def tenant(self, tenant_id: str) -> MongoTenantStore:
        return MongoTenantStore(self, tenant_id)

    @translate_errors
    async def ping(self) -> None:
        await self.database.command("ping")

    @translate_errors
    async def create_indexes(self) -> None:
        """Create every index the store relies on and bring documents of earlier versions up to
        date; idempotent, so it runs at each start-up, before the service takes requests."""
        for collection, indexes in _INDEXES.items():
            await self.database[collection].create_indexes(indexes)
        for collection, names in _SUPERSEDED_INDEXES.items():
            existing = {index["name"] async for index in await self.database[collection].list_indexes()}
            for name in names & existing:
                await self.database[collection].drop_index(name)
        await self._count_members_once()

    async def _count_members_once(self) -> None:
        """Give each group written before groups kept their member count the count of its memberships.

        Member changes move the count with ``$inc``, which on a missing field would start from
        zero, so every group must have its count before any member change runs: this runs at
        start-up, before requests are taken, and only finds work on a database written by an
        earlier version (whose processes must be stopped, as they do not keep the count).
        Counting once per such group is exact because nothing else writes memberships meanwhile;
        the condition on the missing field makes two instances starting together harmless. On an
        up-to-date database this is one find over the groups that returns nothing.
        """
        groups = self.database["groups"]
        memberships = self.database["memberships"]
        async for group in groups.find({MEMBER_COUNT: {"$exists": False}}, {"_id": 1, "tenant": 1}):
            count = await memberships.count_documents({"tenant": group["tenant"], "group": group["_id"]})
            await groups.update_one(
                {"_id": group["_id"], MEMBER_COUNT: {"$exists": False}}, {"$set": {MEMBER_COUNT: count}}
            )

    async def close(self) -> None:
        await self.client.close()
