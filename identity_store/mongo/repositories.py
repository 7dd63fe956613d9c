"""The port implementations on MongoDB. Every query carries the tenant; nothing else can be asked.

Each repository is bound to one tenant and, when it works inside a transaction, to its session.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING, ReturnDocument, UpdateOne
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from identity_store.domain.errors import InvalidValue, NotFound, Uniqueness, VersionConflict
from identity_store.domain.groups import Group
from identity_store.domain.memberships import Membership
from identity_store.domain.schema import GROUP_SCHEMA, USER_SCHEMA, ResourceSchema
from identity_store.domain.users import User
from identity_store.events import EventType, RecordedEvent
from identity_store.mongo.documents import (
    MEMBER_COUNT,
    event_from_document,
    group_from_document,
    group_to_document,
    membership_from_document,
    membership_to_document,
    search_view,
    user_from_document,
    user_to_document,
)
from identity_store.mongo.errors import translate_errors
from identity_store.mongo.filters import (
    decode_cursor,
    encode_cursor,
    hidden_equalities,
    keyset_condition,
    sort_field,
    to_query,
)
from identity_store.queries import CursorPage, MemberOf, Page, Projection, Query, UserView

__all__ = ["MongoEventLog", "MongoGroups", "MongoMemberships", "MongoUsers"]

Document = dict[str, Any]
_MEMBERSHIPS = "memberships"
_META_FIELDS = {"_id": 1, "tenant": 1, "v": 1, "created": 1, "modified": 1}
#: A users page filtered by group membership reads memberships in batches of up to this many,
#: and stops after this many in all (then returns a shorter page with a cursor to continue).
_MEMBER_BATCH = 1_000
_MEMBER_SCAN = 5_000
#: Where a user's manager reference is indexed (the search copy; the manager value is case-exact).
_MANAGER = "search.enterprise.manager.value"
#: Most values one $in may hold before a lookup is split into several queries.
_IN_BATCH = 500


def uniqueness_from(error: DuplicateKeyError, schema: ResourceSchema) -> Uniqueness:
    details = error.details or {}
    pattern = details.get("keyPattern") or {}
    keys = [k.removeprefix("search.") for k in pattern if k != "tenant"]
    attribute = keys[0] if keys else "id"
    return Uniqueness(f"{schema.name} {attribute} is already taken", attribute=attribute)


def _projection(projection: Projection | None) -> Document:
    if projection is None or projection.attributes is None:
        return {"search": 0}
    fields = dict(_META_FIELDS)
    for name in projection.attributes:
        fields[f"attrs.{name}"] = 1
    return fields


class _Resources:
    """What users and groups share: tenant-scoped reads, conditional writes, queries."""

    schema: ResourceSchema

    def __init__(self, collection: AsyncCollection[Document], tenant_id: str, session: AsyncClientSession | None):
        self._collection = collection
        self._tenant = tenant_id
        self._session = session

    async def _get_document(self, resource_id: str, projection: Projection | None) -> Document:
        document = await self._collection.find_one(
            {"_id": resource_id, "tenant": self._tenant}, _projection(projection), session=self._session
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
        for start in range(0, len(unique), _IN_BATCH):
            cursor = self._collection.find(
                {"_id": {"$in": unique[start : start + _IN_BATCH]}, "tenant": self._tenant},
                {"_id": 1},
                session=self._session,
            )
            found.update([document["_id"] async for document in cursor])
        return found

    @translate_errors
    async def display_names(self, ids: Sequence[str]) -> dict[str, str]:
        """One query for the names of many resources; only the two name attributes are read."""
        cursor = self._collection.find(
            {"_id": {"$in": list(ids)}, "tenant": self._tenant},
            {"attrs.displayName": 1, "attrs.userName": 1},
            session=self._session,
        )
        names: dict[str, str] = {}
        async for document in cursor:
            attributes = document.get("attrs", {})
            name = attributes.get("displayName") or attributes.get("userName")
            if isinstance(name, str):
                names[document["_id"]] = name
        return names

    async def _get_many(self, ids: Sequence[str]) -> list[Document]:
        cursor = self._collection.find(
            {"_id": {"$in": list(ids)}, "tenant": self._tenant}, {"search": 0}, session=self._session
        )
        return [document async for document in cursor]

    async def _insert(self, document: Document) -> None:
        try:
            await self._collection.insert_one(document, session=self._session)
        except DuplicateKeyError as error:
            raise uniqueness_from(error, self.schema) from None

    async def _replace(self, document: Document, previous_version: int) -> None:
        try:
            result = await self._collection.replace_one(
                {"_id": document["_id"], "tenant": self._tenant, "v": previous_version},
                document,
                session=self._session,
            )
        except DuplicateKeyError as error:
            raise uniqueness_from(error, self.schema) from None
        if result.matched_count == 0:
            raise VersionConflict(f"{self.schema.name} {document['_id']} changed since version {previous_version}")

    @translate_errors
    async def delete(self, resource_id: str, *, previous_version: int) -> None:
        result = await self._collection.delete_one(
            {"_id": resource_id, "tenant": self._tenant, "v": previous_version}, session=self._session
        )
        if result.deleted_count == 0:
            raise VersionConflict(f"{self.schema.name} {resource_id} changed since version {previous_version}")

    async def _find(
        self, query: Query, related: Sequence[Document] = ()
    ) -> tuple[list[Document], int | None, str | None, str | None, list[str]]:
        condition: Document = {"tenant": self._tenant}
        if query.filter is not None:
            condition.update(to_query(self.schema, query.filter))
        field = sort_field(self.schema, query.sort.path)
        descending = query.sort.descending
        page = query.page
        if isinstance(page, CursorPage):
            counted = await self._count(condition) if query.count_total else None
            return await self._find_keyset(condition, field, descending, page, counted, query.projection, related)
        order = DESCENDING if descending else ASCENDING
        start = max(page.start_index, 1)
        sort = [(field, order), ("_id", order)]
        projection = _projection(query.projection)
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
        return [d async for d in await self._collection.aggregate(pipeline, session=self._session)]

    async def _count(self, condition: Document) -> int:
        matching = self._matching(condition)
        if len(matching) == 1:
            return await self._collection.count_documents(condition, session=self._session)
        pipeline = [*matching, {"$group": {"_id": None, "n": {"$sum": 1}}}]
        async for row in await self._collection.aggregate(pipeline, session=self._session):
            return int(row["n"])
        return 0

    def _matching(self, condition: Document) -> list[Document]:
        """``$match`` stages for ``condition``, led by the tenant and its hidden equalities if any."""
        hidden = hidden_equalities(condition)
        if not hidden:
            return [{"$match": condition}]
        return [{"$match": {"tenant": self._tenant, **hidden}}, {"$match": condition}]

    async def _find_keyset(
        self,
        condition: Document,
        field: str,
        descending: bool,
        page: CursorPage,
        total: int | None,
        projection: Projection,
        related: Sequence[Document] = (),
    ) -> tuple[list[Document], int | None, str | None, str | None, list[str]]:
        walk_descending = descending != page.backwards
        query = dict(condition)
        if page.cursor is not None:
            value, last_id = decode_cursor(page.cursor)
            query = {"$and": [condition, keyset_condition(field, walk_descending, value, last_id)]}
        order = DESCENDING if walk_descending else ASCENDING
        sort = [(field, order), ("_id", order)]
        fields = self._keyset_projection(projection, field)
        documents = await self._fetch(query, fields, sort, 0, page.count + 1, related)
        more = len(documents) > page.count
        documents = documents[: page.count]
        if page.backwards:
            documents.reverse()
        cursors = [encode_cursor(_dig(d, field), d["_id"]) for d in documents]
        next_cursor = cursors[-1] if documents and (more or page.backwards) else None
        previous_cursor = cursors[0] if documents and (page.cursor is not None or (page.backwards and more)) else None
        if page.backwards and not more:
            previous_cursor = None
        return [_strip_search(d) for d in documents], total, next_cursor, previous_cursor, cursors

    def _keyset_projection(self, projection: Projection, field: str) -> Document:
        fields = _projection(projection)
        if field == "_id":
            return fields
        if fields == {"search": 0}:
            return {"pw": 0}  # keep the sort key from search; it is dropped before returning
        return {**fields, field: 1}


def _dig(document: Document, dotted: str) -> Any:
    value: Any = document
    for part in dotted.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def _strip_search(document: Document) -> Document:
    document.pop("search", None)
    return document


def _user_view(document: Document) -> UserView:
    """A user document with the ``_groups`` and ``_manager`` that :meth:`MongoUsers._related` joined."""
    group_ids = sorted({m["group"] for m in document.pop("_groups", [])})
    managers = document.pop("_manager", [])
    name = managers[0].get("attrs", {}).get("displayName") if managers else None
    return UserView(
        user=user_from_document(document), group_ids=group_ids, manager_name=name if isinstance(name, str) else None
    )


class MongoUsers(_Resources):
    schema = USER_SCHEMA

    @translate_errors
    async def get(self, user_id: str, projection: Projection | None = None) -> User:
        return user_from_document(await self._get_document(user_id, projection))

    @translate_errors
    async def get_view(self, user_id: str, projection: Projection | None = None, *, groups: bool) -> UserView:
        pipeline: list[Document] = [
            {"$match": {"_id": user_id, "tenant": self._tenant}},
            {"$project": _projection(projection)},
            *self._related(groups=groups),
        ]
        async for document in await self._collection.aggregate(pipeline, session=self._session):
            return _user_view(document)
        raise NotFound(f"{self.schema.name} {user_id} not found")

    @translate_errors
    async def find_views(self, query: Query, *, groups: bool) -> Page[UserView]:
        documents, total, after, before, cursors = await self._find(query, self._related(groups=groups))
        return Page(
            items=[_user_view(d) for d in documents],
            total=total,
            next_cursor=after,
            previous_cursor=before,
            cursors=cursors,
        )

    def _related(self, *, groups: bool) -> list[Document]:
        """``$lookup`` stages adding ``_groups`` (the user's memberships) and ``_manager`` (its
        manager's displayName). Each joins on a field with an index of its own (``member`` first
        in ``member_tenant``, ``_id``), the only shape SecantusDB's ``$lookup`` drives an index with."""
        stages: list[Document] = []
        if groups:
            stages.append(
                {
                    "$lookup": {
                        "from": _MEMBERSHIPS,
                        "localField": "_id",
                        "foreignField": "member",
                        "pipeline": [{"$match": {"tenant": self._tenant}}, {"$project": {"_id": 0, "group": 1}}],
                        "as": "_groups",
                    }
                }
            )
        stages.append(
            {
                "$lookup": {
                    "from": self._collection.name,
                    "localField": "attrs.enterprise.manager.value",
                    "foreignField": "_id",
                    "pipeline": [
                        {"$match": {"tenant": self._tenant}},
                        {"$project": {"_id": 0, "attrs.displayName": 1}},
                    ],
                    "as": "_manager",
                }
            }
        )
        return stages

    @translate_errors
    async def get_many(self, user_ids: Sequence[str]) -> list[User]:
        return [user_from_document(d) for d in await self._get_many(user_ids)]

    @translate_errors
    async def find(self, query: Query) -> Page[User]:
        if query.member_of is not None:
            return await self._find_members(query, query.member_of)
        documents, total, after, before, cursors = await self._find(query)
        return Page(
            items=[user_from_document(d) for d in documents],
            total=total,
            next_cursor=after,
            previous_cursor=before,
            cursors=cursors,
        )

    async def _find_members(self, query: Query, member_of: MemberOf) -> Page[User]:
        """Users of a group, in id order: a walk of the group's membership records (see MemberOf)."""
        page = query.page
        if not isinstance(page, CursorPage) or query.sort.path is not None:
            raise InvalidValue("members of a group are listed in id order, by cursor", attribute="memberOf")
        groups = await self._nested_groups(member_of.group_id) if member_of.transitive else [member_of.group_id]
        condition = to_query(self.schema, query.filter) if query.filter is not None else {}
        total = (
            await self._count_members(groups, condition, distinct=member_of.transitive) if query.count_total else None
        )
        walk_descending = query.sort.descending != page.backwards
        position = decode_cursor(page.cursor)[1] if page.cursor is not None else None
        found: list[User] = []
        seen: set[str] = set()
        scanned, batch, exhausted = 0, page.count + 1, False
        while len(found) <= page.count and scanned < _MEMBER_SCAN:
            rows = await self._member_batch(groups, condition, position, walk_descending, batch)
            scanned += len(rows)
            for row in rows:
                position = row["member"]
                if row["user"] and position not in seen:
                    seen.add(position)
                    found.append(user_from_document(row["user"][0]))
                    if len(found) > page.count:
                        break
            if len(rows) < batch:
                exhausted = len(found) <= page.count
                break
            batch = min(batch * 2, _MEMBER_BATCH)
        items = found[: page.count]
        # Where the next page starts: after the last item, or where the walk stopped short of a full page.
        resume = items[-1].id if len(found) > page.count else (None if exhausted else position)
        if page.backwards:
            items.reverse()
        cursors = [encode_cursor(None, u.id) for u in items]
        onward = encode_cursor(None, resume) if resume is not None else None
        if page.backwards:
            last = cursors[-1] if cursors else page.cursor
            return Page(items=items, total=total, next_cursor=last, previous_cursor=onward, cursors=cursors)
        first = (cursors[0] if cursors else page.cursor) if page.cursor is not None else None
        return Page(items=items, total=total, next_cursor=onward, previous_cursor=first, cursors=cursors)

    async def _member_batch(
        self, groups: Sequence[str], condition: Document, position: str | None, descending: bool, limit: int
    ) -> list[Document]:
        """The next ``limit`` user memberships of ``groups`` in member order, each with its user
        (``[]`` when the user does not meet ``condition``): one command, the semi-join in the database."""
        match: Document = {"tenant": self._tenant, "group": {"$in": list(groups)}, "type": "User"}
        if position is not None:
            match["member"] = {"$lt" if descending else "$gt": position}
        pipeline: list[Document] = [
            {"$match": match},
            {"$sort": {"member": DESCENDING if descending else ASCENDING}},
            {"$limit": limit},
            {
                "$lookup": {
                    "from": self._collection.name,
                    "localField": "member",
                    "foreignField": "_id",
                    "pipeline": [{"$match": {"tenant": self._tenant, **condition}}, {"$project": {"search": 0}}],
                    "as": "user",
                }
            },
            {"$project": {"_id": 0, "member": 1, "user": 1}},
        ]
        memberships = self._collection.database["memberships"]
        return [row async for row in await memberships.aggregate(pipeline, session=self._session)]

    async def _nested_groups(self, group_id: str) -> list[str]:
        """The group and every group nested in it at any depth (one command; cycles are harmless)."""
        pipeline: list[Document] = [
            {"$match": {"tenant": self._tenant, "_id": group_id}},
            {
                "$graphLookup": {
                    "from": "memberships",
                    "startWith": "$_id",
                    "connectFromField": "member",
                    "connectToField": "group",
                    "as": "nested",
                    "restrictSearchWithMatch": {"tenant": self._tenant, "type": "Group"},
                    "maxDepth": 32,
                }
            },
            {"$project": {"nested.member": 1}},
        ]
        groups = self._collection.database["groups"]
        found = [group_id]
        async for row in await groups.aggregate(pipeline, session=self._session):
            found += sorted({n["member"] for n in row.get("nested", [])} - {group_id})
        return found

    async def _count_members(self, groups: Sequence[str], condition: Document, *, distinct: bool) -> int:
        """How many users of ``groups`` meet ``condition``; this reads every membership of the groups."""
        pipeline: list[Document] = [
            {"$match": {"tenant": self._tenant, "group": {"$in": list(groups)}, "type": "User"}}
        ]
        if distinct:
            pipeline.append({"$group": {"_id": "$member"}})
            pipeline.append({"$project": {"member": "$_id"}})
        if condition:
            pipeline += [
                {
                    "$lookup": {
                        "from": self._collection.name,
                        "localField": "member",
                        "foreignField": "_id",
                        "pipeline": [{"$match": {"tenant": self._tenant, **condition}}, {"$project": {"_id": 1}}],
                        "as": "user",
                    }
                },
                {"$match": {"user": {"$ne": []}}},
            ]
        pipeline.append({"$count": "n"})
        memberships = self._collection.database["memberships"]
        rows = [row async for row in await memberships.aggregate(pipeline, session=self._session)]
        return int(rows[0]["n"]) if rows else 0

    @translate_errors
    async def add(self, user: User) -> None:
        await self._insert(user_to_document(user, USER_SCHEMA))

    @translate_errors
    async def update(self, user: User, *, previous_version: int) -> None:
        await self._replace(user_to_document(user, USER_SCHEMA), previous_version)

    @translate_errors
    async def clear_manager(self, manager_id: str, at: datetime) -> list[User]:
        reports = await self.direct_reports([manager_id])  # all of them: each is changed
        changed: list[User] = []
        for report in reports.get(manager_id, []):
            attributes = dict(report.attributes)
            enterprise = dict(report.enterprise)
            enterprise.pop("manager", None)
            if enterprise:
                attributes["enterprise"] = enterprise
            else:
                attributes.pop("enterprise", None)
            result = await self._collection.update_one(
                {"_id": report.id, "tenant": self._tenant, "v": report.version},
                {
                    "$set": {"attrs": attributes, "search": search_view(USER_SCHEMA, attributes), "modified": at},
                    "$inc": {"v": 1},
                },
                session=self._session,
            )
            if result.matched_count == 0:
                raise VersionConflict(f"user {report.id} changed while its manager was deleted")
            changed.append(
                user_from_document(
                    {
                        **user_to_document(report, USER_SCHEMA),
                        "attrs": attributes,
                        "v": report.version + 1,
                        "modified": at,
                    }
                )
            )
        return changed

    @translate_errors
    async def direct_reports(self, manager_ids: Sequence[str]) -> dict[str, list[User]]:
        cursor = self._collection.find(
            {"tenant": self._tenant, _MANAGER: {"$in": list(manager_ids)}}, {"search": 0}, session=self._session
        ).sort("_id", ASCENDING)
        reports: dict[str, list[User]] = {m: [] for m in manager_ids}
        async for document in cursor:
            user = user_from_document(document)
            if user.manager_id in reports:
                reports[user.manager_id].append(user)
        return reports

    @translate_errors
    async def reports_pages(
        self, manager_ids: Sequence[str], *, after: str | None = None, limit: int = 100, backwards: bool = False
    ) -> dict[str, list[User]]:
        # One command for every manager: a $lookup per manager whose sub-pipeline walks the
        # (tenant, manager, _id) index from the cursor and stops after ``limit`` reports, so the
        # cost follows the page sizes, not how many reports the managers have.
        walk: list[Document] = [{"$match": {"tenant": self._tenant}}]
        if after is not None:
            walk.append({"$match": {"_id": {"$lt" if backwards else "$gt": after}}})
        walk += [
            {"$sort": {"_id": DESCENDING if backwards else ASCENDING}},
            {"$limit": limit},
            {"$project": {"search": 0}},
        ]
        pipeline: list[Document] = [
            {"$match": {"tenant": self._tenant, "_id": {"$in": list(manager_ids)}}},
            {"$project": {"_id": 1}},
            {
                "$lookup": {
                    "from": self._collection.name,
                    "localField": "_id",
                    "foreignField": _MANAGER,
                    "pipeline": walk,
                    "as": "reports",
                }
            },
        ]
        pages: dict[str, list[User]] = {m: [] for m in manager_ids}
        async for row in await self._collection.aggregate(pipeline, session=self._session):
            users = [user_from_document(d) for d in row["reports"]]
            pages[row["_id"]] = users[::-1] if backwards else users
        return pages

    @translate_errors
    async def count_reports(self, manager_ids: Sequence[str]) -> dict[str, int]:
        pipeline: list[Document] = [
            {"$match": {"tenant": self._tenant, _MANAGER: {"$in": list(manager_ids)}}},
            {"$group": {"_id": f"${_MANAGER}", "n": {"$sum": 1}}},
        ]
        counts = {m: 0 for m in manager_ids}
        async for row in await self._collection.aggregate(pipeline, session=self._session):
            if row["_id"] in counts:
                counts[row["_id"]] = row["n"]
        return counts


class MongoGroups(_Resources):
    schema = GROUP_SCHEMA

    @translate_errors
    async def get(self, group_id: str, projection: Projection | None = None) -> Group:
        return group_from_document(await self._get_document(group_id, projection))

    @translate_errors
    async def get_many(self, group_ids: Sequence[str]) -> list[Group]:
        return [group_from_document(d) for d in await self._get_many(group_ids)]

    @translate_errors
    async def find(self, query: Query) -> Page[Group]:
        documents, total, after, before, cursors = await self._find(query)
        return Page(
            items=[group_from_document(d) for d in documents],
            total=total,
            next_cursor=after,
            previous_cursor=before,
            cursors=cursors,
        )

    @translate_errors
    async def add(self, group: Group, *, member_count: int = 0) -> None:
        await self._insert(group_to_document(group, GROUP_SCHEMA, member_count=member_count))

    @translate_errors
    async def update(self, group: Group, *, previous_version: int, members_delta: int = 0) -> None:
        # A $set of what the group's state is made of, not a replacement: the member count is
        # kept (and moved by ``members_delta``) in the same conditional write.
        document = group_to_document(group, GROUP_SCHEMA)
        state = {name: document[name] for name in ("v", "modified", "attrs", "search")}
        try:
            result = await self._collection.update_one(
                {"_id": group.id, "tenant": self._tenant, "v": previous_version},
                {"$set": state, "$inc": {MEMBER_COUNT: members_delta}},
                session=self._session,
            )
        except DuplicateKeyError as error:
            raise uniqueness_from(error, self.schema) from None
        if result.matched_count == 0:
            raise VersionConflict(f"{self.schema.name} {group.id} changed since version {previous_version}")

    @translate_errors
    async def touch(
        self, group_id: str, at: datetime, *, expected_version: int | None, members_delta: int = 0
    ) -> Group:
        condition: Document = {"_id": group_id, "tenant": self._tenant}
        if expected_version is not None:
            condition["v"] = expected_version
        document = await self._collection.find_one_and_update(
            condition,
            {"$inc": {"v": 1, MEMBER_COUNT: members_delta}, "$set": {"modified": at}},
            projection={"search": 0},
            return_document=ReturnDocument.AFTER,
            session=self._session,
        )
        if document is None:
            if expected_version is not None and await self.existing_ids([group_id]):
                raise VersionConflict(f"group {group_id} is no longer at version {expected_version}")
            raise NotFound(f"Group {group_id} not found")
        return group_from_document(document)


class MongoMemberships:
    def __init__(self, collection: AsyncCollection[Document], tenant_id: str, session: AsyncClientSession | None):
        self._collection = collection
        self._tenant = tenant_id
        self._session = session

    @translate_errors
    async def add(self, memberships: Sequence[Membership]) -> list[str]:
        if not memberships:
            return []
        # Upserts, not inserts: an existing membership is left as it was and, unlike a duplicate
        # key error, does not abort the transaction. One bulk command whatever the group size.
        operations = [
            UpdateOne(
                {"tenant": self._tenant, "group": m.group_id, "member": m.member_id},
                {"$setOnInsert": membership_to_document(self._tenant, m)},
                upsert=True,
            )
            for m in memberships
        ]
        result = await self._collection.bulk_write(operations, ordered=True, session=self._session)
        return [memberships[index].member_id for index in sorted(result.upserted_ids or {})]

    @translate_errors
    async def remove(self, group_id: str, member_ids: Sequence[str]) -> list[Membership]:
        cursor = self._collection.find(
            {"tenant": self._tenant, "group": group_id, "member": {"$in": list(member_ids)}},
            {"_id": 0},
            session=self._session,
        )
        present = {d["member"]: membership_from_document(d) async for d in cursor}
        if present:
            await self._collection.delete_many(
                {"tenant": self._tenant, "group": group_id, "member": {"$in": sorted(present)}}, session=self._session
            )
        return [present[m] for m in dict.fromkeys(member_ids) if m in present]

    @translate_errors
    async def remove_all(self, group_id: str) -> list[Membership]:
        members = await self.members(group_id)
        if members:
            await self._collection.delete_many({"tenant": self._tenant, "group": group_id}, session=self._session)
        return members

    @translate_errors
    async def remove_member_everywhere(self, member_id: str) -> list[str]:
        cursor = self._collection.find(
            {"tenant": self._tenant, "member": member_id}, {"group": 1}, session=self._session
        )
        groups = [d["group"] async for d in cursor]
        if groups:
            await self._collection.delete_many({"tenant": self._tenant, "member": member_id}, session=self._session)
        return groups

    @translate_errors
    async def members(self, group_id: str) -> list[Membership]:
        return (await self.members_of([group_id]))[group_id]

    @translate_errors
    async def members_of(self, group_ids: Sequence[str]) -> dict[str, list[Membership]]:
        cursor = self._collection.find(
            {"tenant": self._tenant, "group": {"$in": list(group_ids)}}, {"_id": 0}, session=self._session
        ).sort([("group", ASCENDING), ("member", ASCENDING)])
        result: dict[str, list[Membership]] = {g: [] for g in group_ids}
        async for document in cursor:
            result[document["group"]].append(membership_from_document(document))
        return result

    @translate_errors
    async def members_page(
        self, group_id: str, *, after: str | None = None, limit: int = 100, backwards: bool = False
    ) -> list[Membership]:
        condition: Document = {"tenant": self._tenant, "group": group_id}
        if after is not None:
            condition["member"] = {"$lt" if backwards else "$gt": after}
        order = DESCENDING if backwards else ASCENDING
        cursor = self._collection.find(condition, {"_id": 0}, session=self._session).sort("member", order).limit(limit)
        page = [membership_from_document(document) async for document in cursor]
        return page[::-1] if backwards else page

    @translate_errors
    async def count_members(self, group_ids: Sequence[str]) -> dict[str, int]:
        # The counts kept on the group documents (see documents.py): one find by ids, whatever
        # the size of the groups. A group that does not exist has no members.
        cursor = self._collection.database["groups"].find(
            {"_id": {"$in": list(group_ids)}, "tenant": self._tenant},
            {"_id": 1, MEMBER_COUNT: 1},
            session=self._session,
        )
        counts = {g: 0 for g in group_ids}
        async for document in cursor:
            counts[document["_id"]] = int(document[MEMBER_COUNT])
        return counts

    @translate_errors
    async def groups_of(self, member_ids: Sequence[str], *, transitive: bool = False) -> dict[str, list[str]]:
        result: dict[str, list[str]] = {m: [] for m in member_ids}
        if not transitive:
            cursor = self._collection.find(
                {"tenant": self._tenant, "member": {"$in": list(member_ids)}},
                {"group": 1, "member": 1},
                session=self._session,
            ).sort("group", ASCENDING)
            async for document in cursor:
                result[document["member"]].append(document["group"])
            return result
        # $graphLookup follows membership records upwards (member -> group -> its groups) inside
        # the database; cycles between groups are harmless because visited records are not revisited.
        pipeline: list[Document] = [
            {"$match": {"tenant": self._tenant, "member": {"$in": list(member_ids)}}},
            {
                "$graphLookup": {
                    "from": self._collection.name,
                    "startWith": "$group",
                    "connectFromField": "group",
                    "connectToField": "member",
                    "as": "ancestors",
                    "restrictSearchWithMatch": {"tenant": self._tenant},
                    "maxDepth": 32,
                }
            },
            {"$project": {"member": 1, "group": 1, "ancestors.group": 1}},
        ]
        found: dict[str, set[str]] = {m: set() for m in member_ids}
        async for row in await self._collection.aggregate(pipeline, session=self._session):
            found[row["member"]].add(row["group"])
            found[row["member"]].update(a["group"] for a in row.get("ancestors", []))
        return {m: sorted(groups) for m, groups in found.items()}

    @translate_errors
    async def existing(self, group_id: str, member_ids: Sequence[str]) -> set[str]:
        cursor = self._collection.find(
            {"tenant": self._tenant, "group": group_id, "member": {"$in": list(member_ids)}},
            {"member": 1},
            session=self._session,
        )
        return {d["member"] async for d in cursor}


class MongoEventLog:
    def __init__(self, collection: AsyncCollection[Document], tenant_id: str):
        self._collection = collection
        self._tenant = tenant_id

    @translate_errors
    async def read(
        self,
        *,
        after: int | None = None,
        limit: int = 100,
        types: Sequence[EventType] | None = None,
        aggregate_ids: Sequence[str] | None = None,
    ) -> list[RecordedEvent]:
        condition: Document = {"tenant": self._tenant}
        if after is not None:
            condition["seq"] = {"$gt": after}
        if types:
            condition["type"] = {"$in": [t.value for t in types]}
        if aggregate_ids:
            condition["$or"] = [
                {"aggregate.id": {"$in": list(aggregate_ids)}},
                {"members": {"$in": list(aggregate_ids)}},
            ]
        if limit <= 0:
            raise InvalidValue("limit must be positive", attribute="limit")
        cursor = self._collection.find(condition).sort("seq", ASCENDING).limit(limit)
        return [event_from_document(d) async for d in cursor]

    @translate_errors
    async def last_sequence(self) -> int:
        document = await self._collection.find_one({"tenant": self._tenant}, {"seq": 1}, sort=[("seq", DESCENDING)])
        return int(document["seq"]) if document else 0


def collections(database: AsyncDatabase[Document]) -> dict[str, AsyncCollection[Document]]:
    return {name: database[name] for name in ("users", "groups", "memberships", "events", "event_sequences")}
