"""A tenant's extension schemas on MongoDB, and the filter indexes they ask for.

    schema_extensions: {_id, tenant, urn, urnKey, name, description, extends, indexed,
                        attributes: [{name, type, multiValued, caseExact, mutability, returned,
                                      canonicalValues, referenceTypes, subAttributes}], created}

``urnKey`` is the case-folded URN, unique within the tenant (URNs compare case-insensitively).
The attributes are kept in the RFC 7643 §7 spelling, so a stored schema reads like the document
the admin registered.

An indexed attribute gets an index on ``(tenant, search.<extension key>.<attribute>)`` that holds
only that tenant's documents (a partial index on the tenant), named by a digest of both; it is
created after the registration commits (index builds do not belong in a transaction) and kept
when the schema is removed, since the values stay too (see the README).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, IndexModel
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError, OperationFailure

from identity_store.domain.errors import NotFound, Uniqueness
from identity_store.domain.extensions import ExtendedType, SchemaExtension, schema_document
from identity_store.domain.resources import new_id, now
from identity_store.domain.schema import Attribute, AttributeType, Mutability, Returned
from identity_store.mongo.errors import translate_errors
from identity_store.mongo.scope import TENANT, TenantScope

__all__ = ["MongoSchemaExtensions", "extension_index_name"]

Document = dict[str, Any]

_COLLECTIONS = {ExtendedType.USER: "users", ExtendedType.GROUP: "groups"}


def _attribute(document: Mapping[str, Any]) -> Attribute:
    return Attribute(
        name=document["name"],
        type=AttributeType(document["type"]),
        multi_valued=bool(document.get("multiValued", False)),
        case_exact=bool(document.get("caseExact", False)),
        mutability=Mutability(document.get("mutability", Mutability.READ_WRITE.value)),
        returned=Returned(document.get("returned", Returned.DEFAULT.value)),
        canonical_values=tuple(document.get("canonicalValues", ())),
        reference_types=tuple(document.get("referenceTypes", ())),
        sub_attributes=tuple(_attribute(d) for d in document.get("subAttributes", ())),
    )


def _descriptions(documents: Sequence[Mapping[str, Any]], prefix: str = "") -> dict[str, str]:
    found: dict[str, str] = {}
    for document in documents:
        path = f"{prefix}{document['name']}"
        if document.get("description"):
            found[path] = document["description"]
        found.update(_descriptions(document.get("subAttributes", ()), f"{path}."))
    return found


def _extension(document: Mapping[str, Any]) -> SchemaExtension:
    return SchemaExtension(
        descriptions=_descriptions(document["attributes"]),
        urn=document["urn"],
        name=document.get("name", ""),
        description=document.get("description", ""),
        extends=ExtendedType(document["extends"]),
        attributes=tuple(_attribute(d) for d in document["attributes"]),
        indexed=tuple(document.get("indexed", ())),
    )


def _document(extension: SchemaExtension, at: datetime) -> Document:
    return {
        "_id": new_id(),
        "urn": extension.urn,
        "urnKey": extension.urn.casefold(),
        "name": extension.name,
        "description": extension.description,
        "extends": extension.extends.value,
        "attributes": schema_document(extension)["attributes"],
        "indexed": list(extension.indexed),
        "created": at,
    }


def extension_index_name(tenant_id: str, field: str) -> str:
    """The name of one tenant's index on ``field`` (a digest: index names are length-limited)."""
    return "ext_" + hashlib.sha256(f"{tenant_id}\x00{field}".encode()).hexdigest()[:24]


class MongoSchemaExtensions:
    """:class:`~identity_store.ports.SchemaExtensionRepository`, in ``session`` when given."""

    def __init__(
        self, database: AsyncDatabase[Document], scope: TenantScope, session: AsyncClientSession | None
    ) -> None:
        self._database = database
        self._collection = database["schema_extensions"]
        self._scope = scope
        self._session = session

    @translate_errors
    async def all(self) -> list[SchemaExtension]:
        cursor = self._collection.find(self._scope.filter(), session=self._session).sort(
            [("created", ASCENDING), ("_id", ASCENDING)]
        )
        return [_extension(d) async for d in cursor]

    @translate_errors
    async def add(self, extension: SchemaExtension) -> None:
        try:
            await self._collection.insert_one(self._scope.document(_document(extension, now())), session=self._session)
        except DuplicateKeyError:
            raise Uniqueness(f"the schema {extension.urn} is already registered", attribute="id") from None

    @translate_errors
    async def remove(self, urn: str) -> SchemaExtension:
        document = await self._collection.find_one_and_delete(
            self._scope.filter({"urnKey": urn.casefold()}), session=self._session
        )
        if document is None:
            raise NotFound(f"no schema {urn} is registered")
        return _extension(document)

    @translate_errors
    async def ensure_indexes(self, extension: SchemaExtension) -> None:
        collection = self._database[_COLLECTIONS[extension.extends]]
        for name in extension.indexed:
            field = f"search.{extension.key}.{name}"
            index_name = extension_index_name(self._scope.tenant_id, field)
            keys = [(TENANT, ASCENDING), (field, ASCENDING)]
            try:
                await collection.create_indexes(
                    [IndexModel(keys, name=index_name, partialFilterExpression={TENANT: self._scope.tenant_id})]
                )
            except OperationFailure:
                # A database without partial indexes: the same keys over every tenant's documents
                # still serve the tenant's filters (the tenant leads the key).
                await collection.create_indexes([IndexModel(keys, name=index_name)])
