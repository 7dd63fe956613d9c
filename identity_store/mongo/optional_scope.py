"""Repositories read unbound and bound to a tenant alike: the credentials and the OAuth clients.

A bearer token names its credential, and a token request its client, before the tenant is
known, so unbound such a repository finds a document by id alone. Bound to a tenant's ``scope``
and a ``session``, as a transaction's repository, it finds only that tenant's documents and
writes within the transaction.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase

from identity_store.mongo.scope import TenantScope

__all__ = ["OptionallyScoped"]

Document = dict[str, Any]


class OptionallyScoped:
    """The collection ``collection_name``, within ``scope`` and ``session`` when given."""

    collection_name: ClassVar[str]

    def __init__(
        self,
        database: AsyncDatabase[Document],
        scope: TenantScope | None = None,
        session: AsyncClientSession | None = None,
    ) -> None:
        self._collection = database[self.collection_name]
        self._scope = scope
        self._session = session

    def _where(self, condition: Document) -> Document:
        return self._scope.filter(condition) if self._scope is not None else condition

    async def _insert(self, document: Document) -> None:
        if self._scope is not None:
            document = self._scope.document(document)
        await self._collection.insert_one(document, session=self._session)

    async def _by_id(self, document_id: str) -> Document | None:
        return await self._collection.find_one(self._where({"_id": document_id}), session=self._session)
