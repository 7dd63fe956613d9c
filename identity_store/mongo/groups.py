"""A tenant's groups on MongoDB: reads, conditional writes, and the member count each keeps."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from identity_store.domain.errors import NotFound, VersionConflict
from identity_store.domain.groups import Group
from identity_store.domain.schema import GROUP_SCHEMA
from identity_store.mongo.documents import MEMBER_COUNT, group_from_document, group_to_document
from identity_store.mongo.errors import translate_errors
from identity_store.mongo.resources import Resources, uniqueness_from
from identity_store.queries import Page, Projection, Query

__all__ = ["MongoGroups"]

Document = dict[str, Any]


class MongoGroups(Resources):
    schema = GROUP_SCHEMA

    @translate_errors
    async def get(self, group_id: str, projection: Projection | None = None) -> Group:
        return group_from_document(await self._get_document(group_id, projection))

    @translate_errors
    async def get_many(self, group_ids: Sequence[str]) -> list[Group]:
        return [group_from_document(d) for d in await self._get_many(group_ids)]

    @translate_errors
    async def find(self, query: Query) -> Page[Group]:
        return await self._page(query, group_from_document)

    @translate_errors
    async def add(self, group: Group, *, member_count: int = 0) -> None:
        await self._insert(group_to_document(group, self.schema, member_count=member_count))

    @translate_errors
    async def update(self, group: Group, *, previous_version: int, member_count_change: int = 0) -> None:
        # A $set of what the group's state is made of, not a replacement: the member count is
        # kept (and moved by ``member_count_change``) in the same conditional write.
        document = group_to_document(group, self.schema)
        state = {name: document[name] for name in ("v", "modified", "attrs", "search")}
        try:
            result = await self._collection.update_one(
                self._scope.filter({"_id": group.id, "v": previous_version}),
                {"$set": state, "$inc": {MEMBER_COUNT: member_count_change}},
                session=self._session,
            )
        except DuplicateKeyError as error:
            raise uniqueness_from(error, self.schema) from None
        if result.matched_count == 0:
            raise VersionConflict(f"{self.schema.name} {group.id} changed since version {previous_version}")

    @translate_errors
    async def members_changed(
        self, group_id: str, at: datetime, *, expected_version: int | None, member_count_change: int
    ) -> Group:
        # One findAndModify: the version advanced and the count moved together, the group returned.
        condition: Document = {"_id": group_id}
        if expected_version is not None:
            condition["v"] = expected_version
        document = await self._collection.find_one_and_update(
            self._scope.filter(condition),
            {"$inc": {"v": 1, MEMBER_COUNT: member_count_change}, "$set": {"modified": at}},
            projection={"search": 0},
            return_document=ReturnDocument.AFTER,
            session=self._session,
        )
        if document is None:
            if expected_version is not None and await self.existing_ids([group_id]):
                raise VersionConflict(f"group {group_id} is no longer at version {expected_version}")
            raise NotFound(f"Group {group_id} not found")
        return group_from_document(document)

    @translate_errors
    async def member_left(self, group_ids: Sequence[str], at: datetime) -> list[Group]:
        return await self._member_moved(group_ids, at, -1)

    @translate_errors
    async def members_back(self, counts: Mapping[str, int], at: datetime) -> list[Group]:
        # One update per distinct number of members back (a mass restore's batch: usually one or
        # two), and the groups read back for the events' versions.
        by_count: dict[int, list[str]] = {}
        for group_id, count in counts.items():
            by_count.setdefault(count, []).append(group_id)
        groups: list[Group] = []
        for count, group_ids in sorted(by_count.items()):
            groups += await self._member_moved(group_ids, at, count)
        return groups

    async def _member_moved(self, group_ids: Sequence[str], at: datetime, change: int) -> list[Group]:
        # Two commands for the whole batch, not one per group: the version and the count of each
        # move together in one update, and the groups are read back for the events' versions.
        if not group_ids:
            return []
        if len(group_ids) == 1:  # the common case, a member of one group: one findAndModify
            document = await self._collection.find_one_and_update(
                self._scope.filter({"_id": group_ids[0]}),
                {"$inc": {"v": 1, MEMBER_COUNT: change}, "$set": {"modified": at}},
                projection={"search": 0},
                return_document=ReturnDocument.AFTER,
                session=self._session,
            )
            return [group_from_document(document)] if document is not None else []
        condition = self._scope.filter({"_id": {"$in": list(group_ids)}})
        await self._collection.update_many(
            condition, {"$inc": {"v": 1, MEMBER_COUNT: change}, "$set": {"modified": at}}, session=self._session
        )
        cursor = self._collection.find(condition, {"search": 0}, session=self._session)
        return [group_from_document(d) async for d in cursor]
