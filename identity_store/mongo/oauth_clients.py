"""The OAuth clients on MongoDB: looked up by id, listed per tenant, federated, disabled once."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo import ASCENDING, ReturnDocument
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase

from identity_store.domain.oauth import Federation, OAuthClient
from identity_store.mongo.documents import federation_to_document, oauth_client_from_document, oauth_client_to_document
from identity_store.mongo.errors import translate_errors
from identity_store.mongo.lookups import found
from identity_store.mongo.scope import TenantScope

__all__ = ["MongoOAuthClients"]

Document = dict[str, Any]


class MongoOAuthClients:
    """OAuth clients (client-credentials and federated), listed per tenant.

    Unbound, it finds a client by id alone (a token names its client before its tenant is known).
    Bound to a tenant's ``scope`` and a ``session``, as a transaction's repository, it finds only
    that tenant's clients and writes within the transaction.
    """

    def __init__(
        self,
        database: AsyncDatabase[Document],
        scope: TenantScope | None = None,
        session: AsyncClientSession | None = None,
    ) -> None:
        self._clients = database["oauth_clients"]
        self._scope = scope
        self._session = session

    def _where(self, condition: Document) -> Document:
        return self._scope.filter(condition) if self._scope is not None else condition

    @translate_errors
    async def add(self, client: OAuthClient) -> None:
        document = oauth_client_to_document(client)
        if self._scope is not None:
            document = self._scope.document(document)
        await self._clients.insert_one(document, session=self._session)

    @translate_errors
    async def get(self, client_id: str) -> OAuthClient:
        document = await self._clients.find_one(self._where({"_id": client_id}), session=self._session)
        return oauth_client_from_document(found(document, f"OAuth client {client_id} not found"))

    @translate_errors
    async def list(self, tenant_id: str) -> list[OAuthClient]:
        cursor = self._clients.find(TenantScope(tenant_id).filter(), session=self._session).sort("created", ASCENDING)
        return [oauth_client_from_document(d) async for d in cursor]

    @translate_errors
    async def federate(self, client_id: str, federation: Federation | None) -> OAuthClient:
        document = await self._clients.find_one_and_update(
            self._where({"_id": client_id}),
            {"$set": {"federation": federation_to_document(federation)}},
            return_document=ReturnDocument.AFTER,
            session=self._session,
        )
        return oauth_client_from_document(found(document, f"OAuth client {client_id} not found"))

    @translate_errors
    async def disable(self, client_id: str, at: datetime) -> OAuthClient:
        document = await self._clients.find_one_and_update(
            self._where({"_id": client_id, "disabled": None}),
            {"$set": {"disabled": at}},
            return_document=ReturnDocument.AFTER,
            session=self._session,
        )
        if document is None:
            document = await self._clients.find_one(self._where({"_id": client_id}), session=self._session)
        return oauth_client_from_document(found(document, f"OAuth client {client_id} not found"))
