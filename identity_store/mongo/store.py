"""The MongoDB store: client lifecycle, settings, the tenant write queue, and one store per tenant.

One :class:`MongoStore` per event loop (``AsyncMongoClient`` is bound to the loop that uses it).
Writes are acknowledged by a majority and journaled; a multi-document change runs in a
transaction together with the events it appends (:mod:`identity_store.mongo.unit_of_work`), so a
failed command leaves neither behind. Everything of one tenant is reached through
:meth:`MongoStore.tenant`, bound to that tenant's :class:`~identity_store.mongo.scope.TenantScope`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from functools import cached_property
from typing import Any, TypeVar

from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import PyMongoError
from pymongo.monitoring import CommandListener
from pymongo.write_concern import WriteConcern

from identity_store.domain.errors import DomainError
from identity_store.domain.extensions import CORE_ONLY, TenantSchemas
from identity_store.events import Actor
from identity_store.mongo.credentials import MongoCredentials
from identity_store.mongo.database import Database
from identity_store.mongo.deleted import MongoDeleted, MongoKept
from identity_store.mongo.errors import translate_errors
from identity_store.mongo.event_log import MongoEventLog
from identity_store.mongo.fan_outs import PENDING, MongoFanOuts
from identity_store.mongo.groups import MongoGroups
from identity_store.mongo.indexes import create_indexes
from identity_store.mongo.memberships import MongoMemberships
from identity_store.mongo.numbering import Numbering
from identity_store.mongo.oauth_clients import MongoOAuthClients
from identity_store.mongo.positions import BUCKET_SIZE
from identity_store.mongo.request_tallies import MongoRequestTallies
from identity_store.mongo.retries import RetryPolicy
from identity_store.mongo.schema_extensions import MongoSchemaExtensions
from identity_store.mongo.scope import TenantScope
from identity_store.mongo.stamps import LEFT_SECONDS, SWEEP_SECONDS, Clock, Overtaken, Stamper, pending_tenants
from identity_store.mongo.tenants import MongoTenants
from identity_store.mongo.unit_of_work import MongoUnitOfWork
from identity_store.mongo.users import MongoUsers
from identity_store.mongo.webhooks import MongoTenantWebhooks
from identity_store.mongo.write_turns import WriteTurns
from identity_store.ports import Transaction

log = logging.getLogger("identity_store.mongo")

__all__ = ["MongoStore", "MongoTenantStore"]

Document = dict[str, Any]

#: The shortest interval at which PyMongo's monitor looks at a server again (0.5 s), and a little more.
_MONITOR_INTERVAL_SECONDS = 0.55
T = TypeVar("T")


class MongoTenantStore:
    """One tenant's data. Built only by :meth:`MongoStore.tenant`, with the tenant fixed.

    One is built per request, and a request uses one or two of its repositories: each is built
    when first asked for.
    """

    def __init__(self, store: MongoStore, tenant_id: str, schemas: TenantSchemas | None = None) -> None:
        self.tenant_id = tenant_id
        self._store = store
        self._scope = TenantScope(tenant_id)
        self._schemas = schemas or CORE_ONLY

    @cached_property
    def users(self) -> MongoUsers:
        db = self._store.database
        return MongoUsers(db["users"], self._scope, None, self._schemas.user, bucket_size=self._store.bucket_size)

    @cached_property
    def groups(self) -> MongoGroups:
        db = self._store.database
        return MongoGroups(db["groups"], self._scope, None, self._schemas.group, bucket_size=self._store.bucket_size)

    @cached_property
    def memberships(self) -> MongoMemberships:
        return MongoMemberships(self._store.database["memberships"], self._scope, None)

    @cached_property
    def events(self) -> MongoEventLog:
        return MongoEventLog(self._store.database["events"], self._scope)

    @cached_property
    def fan_outs(self) -> MongoFanOuts:
        return MongoFanOuts(self._store.database, self._scope, None)

    @cached_property
    def deleted(self) -> MongoDeleted:
        return MongoDeleted(self._store.database, self._scope, None)

    @cached_property
    def kept(self) -> MongoKept:
        return MongoKept(self._store.database, self._scope, None)

    @cached_property
    def webhooks(self) -> MongoTenantWebhooks:
        return MongoTenantWebhooks(self._store.database, self._scope, None)

    @cached_property
    def schema_extensions(self) -> MongoSchemaExtensions:
        return MongoSchemaExtensions(self._store.database, self._scope, None)

    @cached_property
    def _unit_of_work(self) -> MongoUnitOfWork:
        return MongoUnitOfWork(self._store, self._scope, self._schemas)

    @property
    def has_pending_work(self) -> bool:
        return self._unit_of_work.pending_work

    async def transact(
        self,
        work: Callable[[Transaction], Awaitable[T]],
        *,
        actor: Actor,
        correlation_id: str | None,
        retry_conflicts: bool = True,
    ) -> T:
        return await self._unit_of_work.transact(
            work, actor=actor, correlation_id=correlation_id, retry_conflicts=retry_conflicts
        )


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
        bucket_size: int = BUCKET_SIZE,
        numbering: Numbering = Numbering.IN_TRANSACTION,
    ) -> None:
        """``unreachable_seconds`` bounds how long an operation waits for a database it cannot reach
        (server selection and connecting) before failing as :class:`StoreUnavailable`;
        ``operation_timeout_seconds`` how long one database command may take once sent
        (:class:`StoreTimeout`). ``retry`` is the write path's deadline and back-off.
        ``bucket_size`` groups creation positions for the deletion counts
        (:mod:`identity_store.mongo.positions`); it is fixed for a database. ``numbering`` says
        who numbers the events of a transaction (:class:`~identity_store.mongo.numbering.Numbering`).

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
        self.database: AsyncDatabase[Document] = Database(
            self.client, database, write_concern=WriteConcern(w="majority", j=True)
        )
        self.retry = retry or RetryPolicy(deadline_seconds=operation_timeout_seconds)
        self.bucket_size = bucket_size
        self.tenants = MongoTenants(self.database)
        self.credentials = MongoCredentials(self.database)
        self.oauth_clients = MongoOAuthClients(self.database)
        self.request_tallies = MongoRequestTallies(self.database)
        #: Whose turn it is to write, per tenant (:mod:`identity_store.mongo.write_turns`).
        self.turns = WriteTurns()
        #: The rounds that number what writes left pending, and the clock that orders it
        #: (:mod:`identity_store.mongo.stamps`).
        self.clock = Clock()
        self.numbering = numbering
        self.stamper = Stamper(self.client, self.database, bucket_size=bucket_size, retry=self.retry)
        #: Tenants whose events, left pending by a process that stopped, the sweep numbered.
        self.left_behind = 0

    def writing(self, tenant_id: str, wait_seconds: float) -> contextlib.AbstractAsyncContextManager[None]:
        """Hold this process's turn for one tenant's transaction (see the module docstring),
        waiting at most ``wait_seconds`` for it: a queue too long for the deadline is a timeout."""
        return self.turns.turn(tenant_id, wait_seconds)

    def tenant(self, tenant_id: str, schemas: TenantSchemas | None = None) -> MongoTenantStore:
        return MongoTenantStore(self, tenant_id, schemas)

    @translate_errors
    async def ping(self) -> None:
        await self.database.command("ping")

    @translate_errors
    async def create_indexes(self, *, on_wait: Callable[[str], None] | None = None) -> None:
        """Create every index the store relies on and bring documents of earlier versions up to
        date (:mod:`identity_store.mongo.indexes`, :mod:`identity_store.mongo.migrations`);
        idempotent, so it runs at each start-up. ``on_wait`` hears why it is waiting."""
        await create_indexes(self.database, on_wait=on_wait)

    @translate_errors
    async def tenants_with_pending_work(self) -> list[str]:
        """The tenants with fan-outs left unfinished (a process stopped midway), for start-up."""
        cursor = self.database["event_sequences"].find({PENDING: {"$gt": 0}}, {"_id": 1})
        return [document["_id"] async for document in cursor]

    @translate_errors
    async def number_pending(self) -> int:
        """Number the events that stopped processes left pending, in every tenant
        (:mod:`identity_store.mongo.stamps`); how many tenants had some. A tenant whose round
        fails is left for the next sweep."""
        tenants = await pending_tenants(self.database)
        for tenant_id, waited in tenants.items():
            try:
                await self.stamper.settle(tenant_id)
            except (PyMongoError, Overtaken) as error:
                log.warning("tenant %s: pending events not numbered (%s); the next sweep will", tenant_id, error)
                continue
            if waited > LEFT_SECONDS:
                self.left_behind += 1
                log.warning(
                    "tenant %s: numbered the events a stopped process left pending for %.0f s",
                    tenant_id,
                    waited,
                    extra={"tenant_id": tenant_id, "pending_seconds": round(waited, 1)},
                )
        return len(tenants)

    async def sweep_pending(self, every_seconds: float = SWEEP_SECONDS) -> None:
        """:meth:`number_pending` now and every ``every_seconds``, until cancelled."""
        while True:
            try:
                await self.number_pending()
            except DomainError as error:
                log.warning("pending events not swept: %s", error)
            await asyncio.sleep(every_seconds)

    async def close(self) -> None:
        await self.client.close()
