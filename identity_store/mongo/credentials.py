"""The credentials on MongoDB: looked up by id, listed per tenant, revoked once."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo import ASCENDING, ReturnDocument

from identity_store.domain.credentials import Credential
from identity_store.mongo.documents import credential_from_document, credential_to_document
from identity_store.mongo.errors import translate_errors
from identity_store.mongo.lookups import found
from identity_store.mongo.optional_scope import OptionallyScoped
from identity_store.mongo.scope import TenantScope

__all__ = ["MongoCredentials"]

Document = dict[str, Any]


class MongoCredentials(OptionallyScoped):
    """API credentials (bearer secrets kept as digests), listed per tenant; found by id alone
    unbound (a token names its credential before its tenant is known)."""

    collection_name = "credentials"

    @translate_errors
    async def add(self, credential: Credential) -> None:
        await self._insert(credential_to_document(credential))

    @translate_errors
    async def get(self, credential_id: str) -> Credential:
        document = await self._by_id(credential_id)
        return credential_from_document(found(document, f"credential {credential_id} not found"))

    @translate_errors
    async def list(self, tenant_id: str, kind: str | None = None, client_id: str | None = None) -> list[Credential]:
        condition: Document = {}
        if kind is not None:
            condition["kind"] = kind
        if client_id is not None:
            condition["client"] = client_id
        cursor = self._collection.find(TenantScope(tenant_id).filter(condition), session=self._session)
        cursor = cursor.sort("created", ASCENDING)
        return [credential_from_document(d) async for d in cursor]

    @translate_errors
    async def revoke(self, credential_id: str, at: datetime) -> Credential:
        # Credentials are stored with "revoked": null, and $min keeps a null (it sorts before every
        # date), so set the time only where none is set; a second revocation keeps the first time.
        document = await self._collection.find_one_and_update(
            self._where({"_id": credential_id, "revoked": None}),
            {"$set": {"revoked": at}},
            return_document=ReturnDocument.AFTER,
            session=self._session,
        )
        if document is None:
            document = await self._by_id(credential_id)
        return credential_from_document(found(document, f"credential {credential_id} not found"))
