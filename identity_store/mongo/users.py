"""A tenant's users on MongoDB: reads, conditional writes, manager references."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.collection import AsyncCollection

from identity_store.domain.errors import NotFound, VersionConflict
from identity_store.domain.filters import Compare, Operator, Or
from identity_store.domain.schema import ENTERPRISE, USER_SCHEMA, ResourceSchema
from identity_store.domain.users import User
from identity_store.mongo.documents import (
    KEPT_FOR,
    KEPT_MANAGER_REFS,
    search_view,
    user_from_document,
    user_to_document,
)
from identity_store.mongo.errors import translate_errors
from identity_store.mongo.member_walk import MemberWalk
from identity_store.mongo.positions import BUCKET_SIZE, Ledger
from identity_store.mongo.resources import Resources, projection_of
from identity_store.mongo.scope import TenantScope
from identity_store.mongo.user_views import related_stages, user_view
from identity_store.queries import IndexPage, Page, Projection, Query, UserView

__all__ = ["MongoUsers"]

Document = dict[str, Any]
#: Where a user's manager reference is indexed (the search copy; the manager value is case-exact).
_MANAGER = "search.enterprise.manager.value"


class MongoUsers(Resources):
    schema = USER_SCHEMA

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
        super().__init__(collection, scope, session, schema, ledger=ledger, bucket_size=bucket_size, hold=hold)
        self._members = MemberWalk(collection.database, scope, session, self.schema)

    @translate_errors
    async def get(self, user_id: str, projection: Projection | None = None) -> User:
        return user_from_document(await self._get_document(user_id, projection))

    @translate_errors
    async def get_view(self, user_id: str, projection: Projection | None = None, *, groups: bool) -> UserView:
        pipeline: list[Document] = [
            self._scope.match({"_id": user_id}),
            {"$project": projection_of(projection)},
            *related_stages(self._scope, self._collection.name, groups=groups),
        ]
        async for document in await self._collection.aggregate(pipeline, session=self._session):
            return user_view(document)
        raise NotFound(f"{self.schema.name} {user_id} not found")

    @translate_errors
    async def find_views(self, query: Query, *, groups: bool) -> Page[UserView]:
        related = related_stages(self._scope, self._collection.name, groups=groups)
        if query.member_of is None:
            return await self._page(query, user_view, related)
        members = await self._members.find(query, query.member_of)
        # The walk picks the page; what is shown beside its users is read in one more command.
        ids = [u.id for u in members.items]
        views: dict[str, UserView] = {}
        if ids:
            by_id = Or(tuple(Compare(path=("id",), op=Operator.EQ, value=i) for i in ids))
            shown = Query(filter=by_id, page=IndexPage(count=len(ids)), projection=query.projection, count_total=False)
            views = {v.user.id: v for v in (await self._page(shown, user_view, related)).items}
        return Page(
            items=[views[i] for i in ids if i in views],
            total=members.total,
            next_cursor=members.next_cursor,
            previous_cursor=members.previous_cursor,
            cursors=members.cursors,
        )

    @translate_errors
    async def get_many(self, user_ids: Sequence[str]) -> list[User]:
        return [user_from_document(d) for d in await self._get_many(user_ids)]

    @translate_errors
    async def find(self, query: Query) -> Page[User]:
        if query.member_of is not None:
            return await self._members.find(query, query.member_of)
        return await self._page(query, user_from_document)

    @translate_errors
    async def add(self, user: User) -> None:
        await self._insert(user_to_document(user, self.schema))

    @translate_errors
    async def update(self, user: User, *, previous_version: int) -> None:
        await self._replace(user_to_document(user, self.schema), previous_version)

    @translate_errors
    async def release_reports(self, manager_id: str, at: datetime, *, limit: int) -> list[User]:
        cursor = (
            self._collection.find(self._scope.filter({_MANAGER: manager_id}), {"search": 0}, session=self._session)
            .sort("_id", ASCENDING)
            .limit(limit)
        )
        changed: list[User] = []
        async for document in cursor:
            changed.append(await self._set_manager(user_from_document(document), None, at))
        if changed:
            # Kept for the manager's restore (see identity_store.mongo.deleted).
            await self._collection.database[KEPT_MANAGER_REFS].insert_many(
                [self._scope.document({"user": r.id, "manager": manager_id, KEPT_FOR: manager_id}) for r in changed],
                session=self._session,
            )
        return changed

    @translate_errors
    async def regain_manager(self, refs: Sequence[tuple[str, str]], at: datetime) -> list[User]:
        managers = dict(refs)
        if not managers:
            return []
        # Only users without a manager now: one given another manager meanwhile keeps it.
        condition = self._scope.filter({"_id": {"$in": list(managers)}, _MANAGER: {"$exists": False}})
        cursor = self._collection.find(condition, {"search": 0}, session=self._session)
        changed: list[User] = []
        async for document in cursor:
            user = user_from_document(document)
            changed.append(await self._set_manager(user, managers[user.id], at))
        return changed

    async def _set_manager(self, user: User, manager_id: str | None, at: datetime) -> User:
        """``user`` at its next version with ``manager_id`` as its manager (``None``: none, its
        manager deleted), written only if it is still at the version read; the user as written."""
        if manager_id is None:
            attributes = user.attributes_without_manager()
            # Only the manager leaves the search mirror: the rest of it (extension values
            # included, whose folding this store need not know here) stays as it was.
            update: Document = {
                "$set": {"attrs": attributes, "modified": at},
                "$unset": {"search.enterprise.manager": ""},
            }
        else:
            attributes = user.attributes_with_manager(manager_id)
            # Likewise only the enterprise part of the mirror is set again: rebuilt whole from the
            # core schema, the mirror would lose the tenant's extension values.
            enterprise = search_view(USER_SCHEMA, {ENTERPRISE: attributes[ENTERPRISE]})[ENTERPRISE]
            update = {"$set": {"attrs": attributes, f"search.{ENTERPRISE}": enterprise, "modified": at}}
        result = await self._collection.update_one(
            self._scope.filter({"_id": user.id, "v": user.version}), {**update, "$inc": {"v": 1}}, session=self._session
        )
        if result.matched_count == 0:
            why = "deleted" if manager_id is None else "restored"
            raise VersionConflict(f"user {user.id} changed while its manager was {why}")
        written = {**user_to_document(user, self.schema), "attrs": attributes, "v": user.version + 1, "modified": at}
        return user_from_document(written)

    @translate_errors
    async def reports_pages(
        self, manager_ids: Sequence[str], *, after: str | None = None, limit: int = 100, backwards: bool = False
    ) -> dict[str, list[User]]:
        # One command for every manager: a $lookup per manager whose sub-pipeline walks the
        # (tenant, manager, _id) index from the cursor and stops after ``limit`` reports, so the
        # cost follows the page sizes, not how many reports the managers have.
        walk: list[Document] = []
        if after is not None:
            walk.append({"$match": {"_id": {"$lt" if backwards else "$gt": after}}})
        walk += [
            {"$sort": {"_id": DESCENDING if backwards else ASCENDING}},
            {"$limit": limit},
            {"$project": {"search": 0}},
        ]
        pipeline: list[Document] = [
            self._scope.match({"_id": {"$in": list(manager_ids)}}),
            {"$project": {"_id": 1}},
            self._scope.lookup(
                from_=self._collection.name, local_field="_id", foreign_field=_MANAGER, pipeline=walk, as_="reports"
            ),
        ]
        pages: dict[str, list[User]] = {m: [] for m in manager_ids}
        async for row in await self._collection.aggregate(pipeline, session=self._session):
            users = [user_from_document(d) for d in row["reports"]]
            pages[row["_id"]] = users[::-1] if backwards else users
        return pages

    @translate_errors
    async def count_reports(self, manager_ids: Sequence[str]) -> dict[str, int]:
        pipeline: list[Document] = [
            self._scope.match({_MANAGER: {"$in": list(manager_ids)}}),
            {"$group": {"_id": f"${_MANAGER}", "n": {"$sum": 1}}},
        ]
        counts = {m: 0 for m in manager_ids}
        async for row in await self._collection.aggregate(pipeline, session=self._session):
            if row["_id"] in counts:
                counts[row["_id"]] = row["n"]
        return counts
