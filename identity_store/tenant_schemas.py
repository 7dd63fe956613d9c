"""Each tenant's schemas (core and registered extensions), read once and kept for a bounded time.

Every SCIM and GraphQL request of a tenant needs its extensions (to parse bodies and filters, to
render resources, to validate in the handler); reading them once per request costs one database
command, which :class:`TenantSchemaCache` saves for ``seconds``. The composition root sets that to
the SCIM token cache's time, so a schema registered or removed on one instance is in force on
every instance within the same bound as a revoked token; on the instance that changed it, at once
(the handler calls :meth:`TenantSchemaCache.forget`). ``seconds=0`` reads them on every call.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from identity_store.domain.extensions import CORE_ONLY, TenantSchemas
from identity_store.ports import Store

__all__ = ["TenantSchemaCache"]

#: More tenants than one instance serves; an entry past it evicts the oldest.
_MAX_TENANTS = 10_000


class TenantSchemaCache:
    def __init__(self, store: Store, *, seconds: float = 0.0, clock: Callable[[], float] = time.monotonic) -> None:
        self._store = store
        self._seconds = seconds
        self._clock = clock
        self._entries: dict[str, tuple[float, TenantSchemas]] = {}

    async def of(self, tenant_id: str) -> TenantSchemas:
        """The tenant's schemas, from the cache while fresh."""
        entry = self._entries.get(tenant_id)
        at = self._clock()
        if entry is not None and at - entry[0] < self._seconds:
            return entry[1]
        extensions = await self._store.tenant(tenant_id).schema_extensions.all()
        schemas = TenantSchemas.of(extensions) if extensions else CORE_ONLY
        if self._seconds > 0:
            if len(self._entries) >= _MAX_TENANTS:
                self._entries.pop(next(iter(self._entries)))
            self._entries[tenant_id] = (at, schemas)
        return schemas

    def forget(self, tenant_id: str) -> None:
        """Drop the tenant's entry (its schemas just changed here)."""
        self._entries.pop(tenant_id, None)
