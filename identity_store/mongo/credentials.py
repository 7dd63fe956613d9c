"""The credentials on MongoDB: looked up by id, listed per tenant, revoked once."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo import ASCENDING, ReturnDocument
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase

from identity_store.domain.credentials import Credential
from identity_store.mongo.documents import credential_from_document, credential_to_document
from identity_store.mongo.errors import translate_errors
from identity_store.mongo.lookups import found
from identity_store.mongo.scope import TenantScope

__all__ = ["MongoCredentials"]

Document = dict[str, Any]


class MongoCredentials:
    """API credentials (bearer secrets kept as digests), listed per tenant.

    Unbound, it finds a credential by id alone (a token names its credential before its tenant is
    known). Bound to a tenant's ``scope`` and a ``session``, as a transaction's repository, it
    finds only that tenant's credentials and writes within the transaction.
    """

    def __init__(
        self,
        database: AsyncDatabase[Document],
        scope: TenantScope | None = None,
        session: AsyncClientSession | None = None,
    ) -> None:
        self._credentials = database["credentials"]
        self._scope = scope
        self._session = session

    def _where(self, condition: Document) -> Document:
        return self._scope.filter(condition) if self._scope is not None else condition

    @translate_errors
    async def add(self, credential: Credential) -> None:
        document = credential_to_document(credential)
        if self._scope is not None:
            document = self._scope.document(document)
        await self._credentials.insert_one(document, session=self._session)

    @translate_errors
    async def get(self, credential_id: str) -> Credential:
        document = await self._credentials.find_one(self._where({"_id": credential_id}), session=self._session)
        return credential_from_document(found(document, f"credential {credential_id} not found"))

    @translate_errors
    async def list(self, tenant_id: str, kind: str | None = None, client_id: str | None = None) -> list[Credential]:
        condition: Document = {}
        if kind is not None:
            condition["kind"] = kind
        if client_id is not None:
            condition["client"] = client_id
        cursor = self._credentials.find(TenantScope(tenant_id).filter(condition), session=self._session)
        cursor = cursor.sort("created", ASCENDING)
        return [credential_from_document(d) async for d in cursor]

    @translate_errors
    async def revoke(self, credential_id: str, at: datetime) -> Credential:
        # Credentials are stored with "revoked": null, and $min keeps a null (it sorts before every
        # date), so set the time only where none is set; a second revocation keeps the first time.
        document = await self._credentials.find_one_and_update(
            self._where({"_id": credential_id, "revoked": None}),
            {"$set": {"revoked": at}},
            return_document=ReturnDocument.AFTER,
            session=self._session,
        )
        if document is None:
            document = await self._credentials.find_one(self._where({"_id": credential_id}), session=self._session)
        return credential_from_document(found(document, f"credential {credential_id} not found"))
