"""What the user and group repositories share: tenant-scoped reads, conditional writes, queries.

Each repository is bound to one tenant (its :class:`~identity_store.mongo.scope.TenantScope`)
and, when it works inside a transaction, to that transaction's session.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, TypeVar

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from identity_store.domain.errors import NotFound, Uniqueness, VersionConflict
from identity_store.domain.schema import ResourceSchema
from identity_store.mongo.directory_pages import DirectoryPages, Fetch, position_of
from identity_store.mongo.documents import DELETED_AT, DELETED_BY, DELETED_COLLECTIONS
from identity_store.mongo.errors import translate_errors
from identity_store.mongo.filters import hidden_equalities, sort_field, to_query
from identity_store.mongo.keysets import decode_cursor, dig, encode_cursor, keyset_condition
from identity_store.mongo.positions import BUCKET_SIZE, POS, Ledger
from identity_store.mongo.scope import TENANT, TenantScope
from identity_store.queries import CursorPage, IndexPage, Page, Projection, Query

__all__ = ["IN_BATCH", "NAMES_BATCH", "Found", "Resources", "projection_of", "uniqueness_from"]

Document = dict[str, Any]
T = TypeVar("T")
#: A page of documents: the documents, the total when asked, the cursors after and before, each one's cursor.
Found = tuple[list[Document], int | None, str | None, str | None, list[str]]

_META_FIELDS = {"_id": 1, TENANT: 1, "v": 1, "created": 1, "modified": 1}
#: Fields a replaced document may leave out (a user's password hash): a replacement removes them.
_OPTIONAL_FIELDS = ("pw",)
#: Most values one $in may hold before a lookup is split into several queries.
IN_BATCH = 500
#: A counter that only conflicting writes read: how :meth:`held_ids` holds a document.
HOLDS = "holds"
#: Ids per query when display names are read: the embedded database's $in costs the square of
#: its values (1,000 ids 1.1 s, 50 ids 6 ms), so small batches are fastest there; on MongoDB
#: they cost only round trips.
NAMES_BATCH = 50


def uniqueness_from(error: DuplicateKeyError, schema: ResourceSchema) -> Uniqueness:
    details = error.details or {}
    pattern = details.get("keyPattern") or {}
    keys = [k.removeprefix("search.") for k in pattern if k != TENANT]
    attribute = keys[0] if keys else "id"
    return Uniqueness(f"{schema.name} {attribute} is already taken", attribute=attribute)


def projection_of(projection: Projection | None) -> Document:
    """The fields a read projects: everything but the search mirror, or the attributes asked for."""
    if projection is None or projection.attributes is None:
        return {"search": 0}
    fields = dict(_META_FIELDS)
    for name in projection.attributes:
        fields[f"attrs.{name}"] = 1
    return fields


class Resources:
    """A tenant's users or groups: tenant-scoped reads, conditional writes, queries."""

    schema: ResourceSchema

    def __init__(
        self,
        collection: AsyncCollection[Document],
        scope: TenantScope,
        session: AsyncClientSession | None,
        schema: ResourceSchema | None = None,
        *,
        ledger: Ledger | None = None,
        bucket_size: int = BUCKET_SIZE,
        hold: bool = False,
    ):
        # The tenant's schema with its extensions, when it has any (filters and ``search`` read it).
        if schema is not None:
            self.schema = schema
        self._collection = collection
        self._scope = scope
        self._session = session
        self._ledger = ledger
        #: Whether :meth:`held_ids` must write what it checks (see there).
        self._hold = hold
        self._directory = DirectoryPages(collection.database, scope, collection.name, session, bucket_size)

    async def _get_document(self, resource_id: str, projection: Projection | None) -> Document:
        document = await self._collection.find_one(
            self._scope.filter({"_id": resource_id}), projection_of(projection), session=self._session
        )
        if document is None:
            raise NotFound(f"{self.schema.name} {resource_id} not found")
        return document

    @translate_errors
    async def existing_ids(self, ids: Sequence[str]) -> set[str]:
        # In batches: an $in's cost grows with the square of its values on some servers
        # (SecantusDB), so a thousand ids cost two small queries rather than one slow one.
        found: set[str] = set()
        unique = list(dict.fromkeys(ids))
        for start in range(0, len(unique), IN_BATCH):
            cursor = self._collection.find(
                self._scope.filter({"_id": {"$in": unique[start : start + IN_BATCH]}}),
                {"_id": 1},
                session=self._session,
            )
            found.update([document["_id"] async for document in cursor])
        return found

    @translate_errors
    async def held_ids(self, ids: Sequence[str]) -> set[str]:
        """The ids that exist, each *held* until the transaction ends: written (a counter no read
        shows), so that a transaction deleting one of them conflicts with this one and one of the
        two runs again on the other's outcome. A read alone would not do: two transactions that
        share no document commit side by side (snapshot isolation), and a membership or a manager
        reference could then name a user deleted at the same time. A transaction that numbers
        its own events needs none of it: it takes the tenant's sequence document, which every
        other write of the tenant takes too, so the two conflict there (``hold`` is off)."""
        if not self._hold:
            return await self.existing_ids(ids)
        held: set[str] = set()
        unique = list(dict.fromkeys(ids))
        for start in range(0, len(unique), IN_BATCH):
            batch = unique[start : start + IN_BATCH]
            result = await self._collection.update_many(
                self._scope.filter({"_id": {"$in": batch}}), {"$inc": {HOLDS: 1}}, session=self._session
            )
            if result.matched_count == len(batch):
                held.update(batch)
                continue
            cursor = self._collection.find(
                self._scope.filter({"_id": {"$in": batch}}), {"_id": 1}, session=self._session
            )
            held.update([document["_id"] async for document in cursor])
        return held

    @translate_errors
    async def display_names(self, ids: Sequence[str]) -> dict[str, str]:
        """The names of many resources, :data:`NAMES_BATCH` ids per query; only the two name
        attributes are read."""
        names: dict[str, str] = {}
        unique = list(dict.fromkeys(ids))
        for start in range(0, len(unique), NAMES_BATCH):
            cursor = self._collection.find(
                self._scope.filter({"_id": {"$in": unique[start : start + NAMES_BATCH]}}),
                {"attrs.displayName": 1, "attrs.userName": 1},
                session=self._session,
            )
            async for document in cursor:
                attributes = document.get("attrs", {})
                name = attributes.get("displayName") or attributes.get("userName")
                if isinstance(name, str):
                    names[document["_id"]] = name
        return names

    async def _get_many(self, ids: Sequence[str]) -> list[Document]:
        cursor = self._collection.find(
            self._scope.filter({"_id": {"$in": list(ids)}}), {"search": 0}, session=self._session
        )
        return [document async for document in cursor]

    async def _insert(self, document: Document) -> None:
        """Insert ``document``; in a transaction, when its events are appended, at the next
        creation position (:mod:`identity_store.mongo.positions`)."""
        if self._ledger is not None:
            self._ledger.create(self._collection.name, document, self._insert_now)
            return
        await self._insert_now(document)

    async def _insert_now(self, document: Document) -> None:
        try:
            await self._collection.insert_one(self._scope.document(document), session=self._session)
        except DuplicateKeyError as error:
            raise uniqueness_from(error, self.schema) from None

    async def _replace(self, document: Document, previous_version: int) -> None:
        try:
            # A $set of the whole state rather than a replacement: the creation position stays.
            state = {k: v for k, v in self._scope.document(document).items() if k != "_id"}
            update: Document = {"$set": state}
            if gone := [name for name in _OPTIONAL_FIELDS if name not in state]:
                update["$unset"] = dict.fromkeys(gone, "")
            result = await self._collection.update_one(
                self._scope.filter({"_id": document["_id"], "v": previous_version}), update, session=self._session
            )
        except DuplicateKeyError as error:
            raise uniqueness_from(error, self.schema) from None
        if result.matched_count == 0:
            raise VersionConflict(f"{self.schema.name} {document['_id']} changed since version {previous_version}")

    @translate_errors
    async def delete(self, resource_id: str, *, previous_version: int, at: datetime, by: str | None) -> None:
        # Moved, not removed (see identity_store.mongo.deleted): the document goes whole, so
        # whatever fields it had come back with a restore. Its creation position moves the
        # counts of its bucket (identity_store.mongo.positions).
        document = await self._collection.find_one_and_delete(
            self._scope.filter({"_id": resource_id, "v": previous_version}), session=self._session
        )
        if document is None:
            raise VersionConflict(f"{self.schema.name} {resource_id} changed since version {previous_version}")
        deleted = self._collection.database[DELETED_COLLECTIONS[self._collection.name]]
        await deleted.insert_one(
            self._scope.document({**document, DELETED_AT: at, DELETED_BY: by}), session=self._session
        )
        if self._ledger is not None:
            position = document.get(POS)
            self._ledger.delete(self._collection.name, resource_id, position if isinstance(position, int) else None)

    async def _page(self, query: Query, convert: Callable[[Document], T], related: Sequence[Document] = ()) -> Page[T]:
        """:meth:`_find`'s documents made domain objects by ``convert``, with the page's cursors."""
        documents, total, after, before, cursors = await self._find(query, related)
        return Page(
            items=[convert(d) for d in documents],
            total=total,
            next_cursor=after,
            previous_cursor=before,
            cursors=cursors,
        )

    async def _find(self, query: Query, related: Sequence[Document] = ()) -> Found:
        if _in_creation_order(query):
            found = await self._find_in_creation_order(query, related)
            if found is not None:
                return found
        condition = self._scope.filter(to_query(self.schema, query.filter) if query.filter is not None else None)
        field = sort_field(self.schema, query.sort.path)
        descending = query.sort.descending
        page = query.page
        if isinstance(page, CursorPage):
            counted = await self._count(condition) if query.count_total else None
            return await self._find_keyset(condition, field, descending, page, counted, query.projection, related)
        order = DESCENDING if descending else ASCENDING
        start = max(page.start_index, 1)
        sort = [(field, order), ("_id", order)]
        projection = projection_of(query.projection)
        documents = (
            await self._fetch(condition, projection, sort, start - 1, page.count, related) if page.count > 0 else []
        )
        total: int | None = None
        if query.count_total:
            # A page that is not full tells the total by itself: no count for Entra's match
            # queries, which find one resource or none.
            if len(documents) < page.count and (documents or start == 1):
                total = start - 1 + len(documents)
            else:
                total = await self._count(condition)
        return documents, total, None, None, []

    async def _fetch(
        self,
        condition: Document,
        projection: Document,
        sort: list[tuple[str, int]],
        skip: int,
        limit: int,
        related: Sequence[Document],
    ) -> list[Document]:
        """One command: a find, or an aggregate when ``related`` stages join other collections
        or the condition hides equalities an index can serve (see :func:`hidden_equalities`)."""
        matching = self._matching(condition)
        if not related and len(matching) == 1:
            cursor = self._collection.find(condition, projection, session=self._session).sort(sort).skip(skip)
            return [d async for d in cursor.limit(limit)]
        pipeline: list[Document] = [*matching, {"$sort": dict(sort)}]
        if skip:
            pipeline.append({"$skip": skip})
        pipeline += [{"$limit": limit}, {"$project": projection}, *related]
        # The whole page in the first batch (an aggregate's holds 101 documents unless told): a
        # keyset page's one more document would otherwise cost a getMore.
        batch = await self._collection.aggregate(pipeline, session=self._session, batchSize=limit + 1)
        return [d async for d in batch]

    async def _count(self, condition: Document) -> int:
        matching = self._matching(condition)
        if len(matching) == 1:
            return await self._collection.count_documents(condition, session=self._session)
        pipeline = [*matching, {"$group": {"_id": None, "n": {"$sum": 1}}}]
        async for row in await self._collection.aggregate(pipeline, session=self._session):
            return int(row["n"])
        return 0

    def _matching(self, condition: Document) -> list[Document]:
        """``$match`` stages for ``condition`` (already scoped), led by the tenant and its hidden
        equalities if any."""
        hidden = hidden_equalities(condition)
        if not hidden:
            return [{"$match": condition}]
        return [self._scope.match(hidden), {"$match": condition}]

    async def _find_in_creation_order(self, query: Query, related: Sequence[Document]) -> Found | None:
        """An unfiltered page in creation order (:mod:`identity_store.mongo.directory_pages`);
        ``None`` for a tenant whose resources have no positions."""
        page = query.page

        def fetch(projection: Document) -> Fetch:
            async def read(condition: Document, sort: list[tuple[str, int]], limit: int) -> list[Document]:
                return await self._fetch(condition, projection, sort, 0, limit, related)

            return read

        if isinstance(page, IndexPage):
            fields = projection_of(query.projection)
            if fields != {"search": 0}:
                fields = {**fields, POS: 1}  # the page keeps the positions it chose by it
            read = await self._directory.index_page(page, query.walker, fetch(fields))
            if read is None:
                return None
            documents, total = read
            return documents, total if query.count_total else None, None, None, []
        after = None
        if page.cursor is not None:
            value, _ = decode_cursor(page.cursor)
            after = position_of(value)
        fields = self._keyset_projection(query.projection, POS)
        read = await self._directory.keyset_page(page, after, fetch(fields))
        if read is None:
            return None
        documents, total = read
        return self._keyset_found(documents, POS, page, total if query.count_total else None)

    async def _find_keyset(
        self,
        condition: Document,
        field: str,
        descending: bool,
        page: CursorPage,
        total: int | None,
        projection: Projection,
        related: Sequence[Document] = (),
    ) -> Found:
        walk_descending = descending != page.backwards
        query = dict(condition)
        if page.cursor is not None:
            value, last_id = decode_cursor(page.cursor)
            # ``condition`` is already the tenant's: the $and keeps it.
            query = {"$and": [condition, keyset_condition(field, walk_descending, value, last_id)]}
        order = DESCENDING if walk_descending else ASCENDING
        sort = [(field, order), ("_id", order)]
        fields = self._keyset_projection(projection, field)
        documents = await self._fetch(query, fields, sort, 0, page.count + 1, related)
        return self._keyset_found(documents, field, page, total)

    def _keyset_found(self, documents: list[Document], field: str, page: CursorPage, total: int | None) -> Found:
        """A keyset page from its documents read in walk order, one more than the page if any follow."""
        more = len(documents) > page.count
        documents = documents[: page.count]
        if page.backwards:
            documents.reverse()
        cursors = [encode_cursor(dig(d, field), d["_id"]) for d in documents]
        next_cursor = cursors[-1] if documents and (more or page.backwards) else None
        previous_cursor = cursors[0] if documents and (page.cursor is not None or (page.backwards and more)) else None
        if page.backwards and not more:
            previous_cursor = None
        for document in documents:
            document.pop("search", None)
            if field == POS:
                document.pop(POS, None)
        return documents, total, next_cursor, previous_cursor, cursors

    def _keyset_projection(self, projection: Projection, field: str) -> Document:
        if field == POS:
            fields = projection_of(projection)
            return {"search": 0} if fields == {"search": 0} else {**fields, POS: 1}
        fields = projection_of(projection)
        if field == "_id":
            return fields
        if fields == {"search": 0}:
            return {"pw": 0}  # keep the sort key from search; it is dropped before returning
        return {**fields, field: 1}


def _in_creation_order(query: Query) -> bool:
    """Whether ``query`` is served from creation positions: unfiltered, asked in creation order,
    ascending."""
    sort = query.sort
    return (
        sort.creation and sort.path is None and not sort.descending and query.filter is None and query.member_of is None
    )
