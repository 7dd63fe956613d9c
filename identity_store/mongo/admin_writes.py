"""The tenant's administration inside a transaction: the tenant itself, its credentials and OAuth clients.

The transaction's repositories (:class:`~identity_store.ports.Transaction`) for the writes of the
command line, bound to one session and one tenant, so the change and the event that records it
commit together and a credential or client of another tenant is never found. The reads of the
hot path (a token's lookup on every request) use the same repositories unbound
(:mod:`credentials`, :mod:`oauth_clients`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo import ReturnDocument
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from identity_store.domain.errors import Uniqueness
from identity_store.domain.tenants import Tenant, TenantSettings
from identity_store.mongo.credentials import MongoCredentials
from identity_store.mongo.documents import (
    fold,
    tenant_from_document,
    tenant_settings_to_document,
)
from identity_store.mongo.lookups import found
from identity_store.mongo.oauth_clients import MongoOAuthClients
from identity_store.mongo.scope import TenantScope

__all__ = ["AdminWrites", "SessionTenant"]

Document = dict[str, Any]

_ENTRA_LINKED = "that Entra tenant is linked to another tenant"


class SessionTenant:
    """:class:`~identity_store.ports.TenantRecord` in one session."""

    def __init__(self, database: AsyncDatabase[Document], scope: TenantScope, session: AsyncClientSession) -> None:
        self._tenants = database["tenants"]
        # The tenants collection is keyed by the tenant id itself (its _id), not by a tenant field.
        self._tenant_id = scope.tenant_id
        self._session = session

    async def create(self, name: str, at: datetime) -> Tenant:
        tenant = Tenant(id=self._tenant_id, name=name, created=at, settings=TenantSettings())
        document = {
            "_id": tenant.id,
            "name": name,
            "nameKey": fold(name),
            "created": tenant.created,
            "settings": tenant_settings_to_document(tenant.settings),
        }
        try:
            await self._tenants.insert_one(document, session=self._session)
        except DuplicateKeyError:
            raise Uniqueness(f"a tenant named {name!r} exists", attribute="name") from None
        return tenant

    async def get(self) -> Tenant:
        document = await self._tenants.find_one({"_id": self._tenant_id}, session=self._session)
        return tenant_from_document(found(document, f"tenant {self._tenant_id} not found"))

    async def update_settings(self, settings: TenantSettings) -> Tenant:
        try:
            document = await self._tenants.find_one_and_update(
                {"_id": self._tenant_id},
                {"$set": {"settings": tenant_settings_to_document(settings)}},
                return_document=ReturnDocument.AFTER,
                session=self._session,
            )
        except DuplicateKeyError:
            raise Uniqueness(_ENTRA_LINKED, attribute="entraTenantId") from None
        return tenant_from_document(found(document, f"tenant {self._tenant_id} not found"))


class AdminWrites:
    """The three repositories of one transaction attempt, for the unit of work's transaction to expose."""

    def __init__(self, database: AsyncDatabase[Document], scope: TenantScope, session: AsyncClientSession) -> None:
        self.tenant = SessionTenant(database, scope, session)
        # The same repositories the token lookups use, bound to the tenant and the transaction.
        self.credentials = MongoCredentials(database, scope, session)
        self.oauth_clients = MongoOAuthClients(database, scope, session)
