"""The purge job: deleted users and groups past their tenant's retention, removed for good.

It runs in every instance of the service, but only the one holding the ``purge`` lease does the
work (:class:`Lease`; on MongoDB, :mod:`identity_store.mongo.leases`): each round takes or renews
the lease, and the holder purges every tenant's objects deleted longer ago than the tenant's
retention (its own setting, or the service's default). Each purge is the :class:`PurgeDeleted`
command, in bounded batches with their events, as the system; so a holder that dies midway has
purged whole batches, and the next holder goes on once the lease expires.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from identity_store.bus import CommandBus, RequestContext
from identity_store.commands import PurgeDeleted
from identity_store.domain.deletions import DEFAULT_RETENTION
from identity_store.domain.errors import DomainError
from identity_store.domain.resources import now as utc_now
from identity_store.domain.tenants import Tenant
from identity_store.events import Actor
from identity_store.handlers import Purged
from identity_store.ports import Store

__all__ = ["Lease", "PurgeJob", "retention_of"]

log = logging.getLogger(__name__)


class Lease(Protocol):
    """Work one instance at a time may do: taken with an expiry, renewed, given back."""

    async def take(self, owner: str, seconds: float, *, at: datetime | None = None) -> bool:
        """Take or renew the lease for ``owner``; whether it holds it now."""

    async def give_back(self, owner: str) -> None: ...

    def renewing(self, owner: str, seconds: float) -> AbstractContextManager[None]:
        """Keep the lease alive while long work runs."""


def retention_of(tenant: Tenant, default: timedelta) -> timedelta:
    """How long the tenant's deleted objects stay restorable: its own setting, else ``default``."""
    days = tenant.settings.deleted_retention_days
    return default if days is None else timedelta(days=days)


@dataclass(slots=True, kw_only=True)
class PurgeJob:
    store: Store
    bus: CommandBus
    lease: Lease
    retention: timedelta = DEFAULT_RETENTION
    interval_seconds: float = 3600.0
    lease_seconds: float = 300.0
    owner: str = ""

    def __post_init__(self) -> None:
        self.owner = self.owner or uuid.uuid4().hex

    async def run_once(self, *, now: datetime | None = None) -> dict[str, Purged] | None:
        """One round: purge every tenant if this instance holds the lease; what each tenant lost
        (``None``: another instance holds the lease)."""
        if not await self.lease.take(self.owner, self.lease_seconds):
            return None
        at = now or utc_now()
        purged: dict[str, Purged] = {}
        with self.lease.renewing(self.owner, self.lease_seconds):
            for tenant in await self.store.tenants.list():
                context = RequestContext(tenant_id=tenant.id, actor=Actor.system(), correlation_id=None)
                before = at - retention_of(tenant, self.retention)
                purged[tenant.id] = await self.bus.dispatch(context, PurgeDeleted(deleted_before=before))
        return purged

    async def run(self) -> None:
        """Rounds every ``interval_seconds`` until cancelled; the lease is given back at the end."""
        try:
            while True:
                try:
                    await self.run_once()
                except DomainError as error:  # the database gone a while: the next round tries again
                    log.warning("purge of deleted objects left for later: %s", error.message)
                except Exception:  # a background job must outlive one bad round, and say why it failed
                    log.exception("purge of deleted objects failed; the next round tries again")
                await asyncio.sleep(self.interval_seconds)
        finally:
            with _quietly():
                await asyncio.shield(self.lease.give_back(self.owner))


@contextlib.contextmanager
def _quietly() -> Iterator[None]:
    with contextlib.suppress(DomainError, asyncio.CancelledError):
        yield
