"""A tenant's schemas are read once and kept for the cache's time (the SCIM token cache's, in the
service): a change made elsewhere is in force within that bound, one made here at once."""

from __future__ import annotations

from identity_store import CommandBus, RequestContext, Tenant
from identity_store.commands import AddSchemaExtension
from identity_store.domain.extensions import CORE_ONLY
from identity_store.domain.values import JSON
from identity_store.mongo import CommandCounter, MongoStore
from identity_store.tenant_schemas import TenantSchemaCache

ACME: dict[str, JSON] = {
    "id": "urn:ietf:params:scim:schemas:extension:Acme:2.0:User",
    "attributes": [{"name": "costCenter"}],
}


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def test_a_change_made_elsewhere_is_seen_once_the_cache_time_has_passed(
    store: MongoStore, tenant: Tenant, context: RequestContext, database_commands: CommandCounter
) -> None:
    clock = Clock()
    cache = TenantSchemaCache(store, seconds=30, clock=clock)
    assert await cache.of(tenant.id) is CORE_ONLY
    # Another instance (another bus) registers a schema.
    await CommandBus(store).dispatch(context, AddSchemaExtension(document=ACME))

    clock.now += 29
    with database_commands.counting() as counted:
        assert await cache.of(tenant.id) is CORE_ONLY
    assert dict(counted) == {}
    clock.now += 1
    assert [e.urn for e in (await cache.of(tenant.id)).extensions] == [ACME["id"]]


async def test_a_change_made_through_the_bus_is_seen_by_its_cache_at_once(
    store: MongoStore, tenant: Tenant, context: RequestContext
) -> None:
    bus = CommandBus(store, schema_cache_seconds=3600)
    assert await bus.schemas.of(tenant.id) is CORE_ONLY
    await bus.dispatch(context, AddSchemaExtension(document=ACME))
    assert len((await bus.schemas.of(tenant.id)).extensions) == 1


async def test_without_a_cache_time_every_read_goes_to_the_database(
    store: MongoStore, tenant: Tenant, database_commands: CommandCounter
) -> None:
    cache = TenantSchemaCache(store, seconds=0)
    await cache.of(tenant.id)
    with database_commands.counting() as counted:
        await cache.of(tenant.id)
    assert dict(counted) == {"find": 1}
