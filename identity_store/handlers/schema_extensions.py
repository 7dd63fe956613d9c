"""A tenant's extension schemas: registered and removed through the bus, each with its event.

``SchemaExtensionAdded`` names the URN, the resource type it extends and its attribute names;
``SchemaExtensionRemoved`` the URN. The schema document is checked here, before anything is
written (:func:`~identity_store.domain.extensions.parse_extension`), and a URN is registered at
most once per tenant, checked by the unique index in the transaction that writes it.

Removing a schema leaves the values stored under it in place: they are no longer returned,
validated or filterable, and come back if the same URN is registered again. Dropping them would be
a write to every user of the tenant, and Entra would send them again on its next cycle anyway.
"""

from __future__ import annotations

from identity_store.commands import AddSchemaExtension, RemoveSchemaExtension
from identity_store.domain.extensions import SchemaExtension, parse_extension
from identity_store.events import AggregateType, Change, DomainEvent, EventType
from identity_store.handlers.common import UnitOfWork
from identity_store.ports import Transaction
from identity_store.tenant_schemas import TenantSchemaCache

__all__ = ["add_schema_extension", "remove_schema_extension"]


async def add_schema_extension(
    command: AddSchemaExtension, uow: UnitOfWork, cache: TenantSchemaCache
) -> SchemaExtension:
    extension = parse_extension(command.document, extends=command.extends, indexed=command.indexed)

    async def work(tx: Transaction) -> SchemaExtension:
        await tx.schema_extensions.add(extension)
        described = (
            Change(field="id", before=None, after=extension.urn),
            Change(field="extends", before=None, after=extension.extends.value),
            Change(field="attributes", before=None, after=[a.name for a in extension.attributes]),
        )
        tx.record(_event(EventType.SCHEMA_EXTENSION_ADDED, extension, described))
        return extension

    added = await uow.run(work, expected_version=None)
    cache.forget(uow.store.tenant_id)
    if added.indexed:
        await uow.store.schema_extensions.ensure_indexes(added)
    return added


async def remove_schema_extension(
    command: RemoveSchemaExtension, uow: UnitOfWork, cache: TenantSchemaCache
) -> SchemaExtension:
    async def work(tx: Transaction) -> SchemaExtension:
        removed = await tx.schema_extensions.remove(command.urn.strip())
        tx.record(
            _event(EventType.SCHEMA_EXTENSION_REMOVED, removed, (Change(field="id", before=removed.urn, after=None),))
        )
        return removed

    removed = await uow.run(work, expected_version=None)
    cache.forget(uow.store.tenant_id)
    return removed


def _event(kind: EventType, extension: SchemaExtension, changes: tuple[Change, ...]) -> DomainEvent:
    return DomainEvent(
        type=kind,
        aggregate_type=AggregateType.SCHEMA_EXTENSION,
        aggregate_id=extension.urn,
        version=None,
        changes=changes,
    )
