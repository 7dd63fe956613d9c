"""The tenants on MongoDB: names unique case-insensitively, at most one per linked Entra tenant."""

from __future__ import annotations

from typing import Any

from pymongo import ASCENDING, ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from identity_store.domain.errors import Uniqueness
from identity_store.domain.resources import new_id, now
from identity_store.domain.tenants import Tenant, TenantSettings
from identity_store.mongo.documents import fold, tenant_from_document, tenant_settings_to_document
from identity_store.mongo.errors import translate_errors
from identity_store.mongo.lookups import found

__all__ = ["MongoTenants"]

Document = dict[str, Any]


class MongoTenants:
    """The tenants, each with its settings; creating one starts its event sequence."""

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
        return tenant_from_document(found(document, f"tenant {tenant_id} not found"))

    @translate_errors
    async def by_name(self, name: str) -> Tenant:
        document = await self._tenants.find_one({"nameKey": fold(name)})
        return tenant_from_document(found(document, f"tenant {name!r} not found"))

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
        return tenant_from_document(found(document, f"tenant {tenant_id} not found"))

    @translate_errors
    async def by_entra_tenant(self, entra_tenant_id: str) -> Tenant:
        document = await self._tenants.find_one({"settings.entraTenantId": entra_tenant_id})
        return tenant_from_document(found(document, f"no tenant is linked to Entra tenant {entra_tenant_id}"))
