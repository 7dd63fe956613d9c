"""The OAuth clients on MongoDB: looked up by id, listed per tenant, federated, disabled once."""

from __future__ import annotations

from datetime import datetime

from pymongo import ASCENDING, ReturnDocument

from identity_store.domain.oauth import Federation, OAuthClient
from identity_store.mongo.documents import federation_to_document, oauth_client_from_document, oauth_client_to_document
from identity_store.mongo.errors import translate_errors
from identity_store.mongo.lookups import found
from identity_store.mongo.optional_scope import OptionallyScoped
from identity_store.mongo.scope import TenantScope

__all__ = ["MongoOAuthClients"]


class MongoOAuthClients(OptionallyScoped):
    """OAuth clients (client-credentials and federated), listed per tenant; found by id alone
    unbound (a token request names its client before its tenant is known)."""

    collection_name = "oauth_clients"

    @translate_errors
    async def add(self, client: OAuthClient) -> None:
        await self._insert(oauth_client_to_document(client))

    @translate_errors
    async def get(self, client_id: str) -> OAuthClient:
        document = await self._by_id(client_id)
        return oauth_client_from_document(found(document, f"OAuth client {client_id} not found"))

    @translate_errors
    async def list(self, tenant_id: str) -> list[OAuthClient]:
        cursor = self._collection.find(TenantScope(tenant_id).filter(), session=self._session)
        cursor = cursor.sort("created", ASCENDING)
        return [oauth_client_from_document(d) async for d in cursor]

    @translate_errors
    async def federate(self, client_id: str, federation: Federation | None) -> OAuthClient:
        document = await self._collection.find_one_and_update(
            self._where({"_id": client_id}),
            {"$set": {"federation": federation_to_document(federation)}},
            return_document=ReturnDocument.AFTER,
            session=self._session,
        )
        return oauth_client_from_document(found(document, f"OAuth client {client_id} not found"))

    @translate_errors
    async def disable(self, client_id: str, at: datetime) -> OAuthClient:
        document = await self._collection.find_one_and_update(
            self._where({"_id": client_id, "disabled": None}),
            {"$set": {"disabled": at}},
            return_document=ReturnDocument.AFTER,
            session=self._session,
        )
        if document is None:
            document = await self._by_id(client_id)
        return oauth_client_from_document(found(document, f"OAuth client {client_id} not found"))
