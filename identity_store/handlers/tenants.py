"""The tenant's own handlers: its creation and its settings, each recorded in the tenant's event log.

The tenant is the context's (for :class:`CreateTenant` the caller chose its id), so the event
opens the log of the tenant it creates and a settings change is recorded where it applies.
"""

from __future__ import annotations

from dataclasses import replace

from identity_store.commands import CreateTenant, LinkEntraTenant, SetDeletedRetention, SetStrictRfc, UnlinkEntraTenant
from identity_store.domain.errors import InvalidValue
from identity_store.domain.resources import now
from identity_store.domain.tenants import Tenant, TenantSettings
from identity_store.events import AggregateType, Change, DomainEvent, EventType
from identity_store.handlers.common import UnitOfWork
from identity_store.ports import Transaction

__all__ = ["change_tenant_settings", "create_tenant"]


async def create_tenant(command: CreateTenant, uow: UnitOfWork) -> Tenant:
    if not command.name.strip():
        raise InvalidValue("a tenant needs a name", attribute="name")

    async def work(tx: Transaction) -> Tenant:
        tenant = await tx.tenant.create(command.name, now())
        tx.record(
            _tenant_event(EventType.TENANT_CREATED, tenant, (Change(field="name", before=None, after=tenant.name),))
        )
        return tenant

    return await uow.run(work, expected_version=None)


SettingsCommand = SetStrictRfc | LinkEntraTenant | UnlinkEntraTenant | SetDeletedRetention


async def change_tenant_settings(command: SettingsCommand, uow: UnitOfWork) -> Tenant:
    """One handler for every settings change: read, change the one setting, write if it changed."""

    async def work(tx: Transaction) -> Tenant:
        tenant = await tx.tenant.get()
        wanted = _settings_after(command, tenant.settings)
        if wanted == tenant.settings:
            return tenant
        updated = await tx.tenant.update_settings(wanted)
        tx.record(_tenant_event(EventType.TENANT_SETTINGS_CHANGED, updated, _setting_changes(tenant.settings, wanted)))
        return updated

    return await uow.run(work, expected_version=None)


def _settings_after(command: SettingsCommand, settings: TenantSettings) -> TenantSettings:
    match command:
        case SetStrictRfc():
            return replace(settings, strict_rfc=command.strict_rfc)
        case LinkEntraTenant():
            return replace(settings, entra_tenant_id=command.entra_tenant_id)
        case UnlinkEntraTenant():
            return replace(settings, entra_tenant_id=None)
        case SetDeletedRetention():
            if command.days is not None and not 0 <= command.days <= 3650:
                raise InvalidValue("the retention of deleted objects is 0 to 3650 days", attribute="days")
            return replace(settings, deleted_retention_days=command.days)


def _setting_changes(before: TenantSettings, after: TenantSettings) -> tuple[Change, ...]:
    pairs = (
        ("strictRfc", before.strict_rfc, after.strict_rfc),
        ("entraTenantId", before.entra_tenant_id, after.entra_tenant_id),
        ("deletedRetentionDays", before.deleted_retention_days, after.deleted_retention_days),
    )
    return tuple(Change(field=name, before=old, after=new) for name, old, new in pairs if old != new)


def _tenant_event(kind: EventType, tenant: Tenant, changes: tuple[Change, ...]) -> DomainEvent:
    return DomainEvent(
        type=kind, aggregate_type=AggregateType.TENANT, aggregate_id=tenant.id, version=None, changes=changes
    )
