"""A tenant's memberships on MongoDB: one document per (group, member), read and written by key.

Adding or removing members touches only the records of the changed members; the removals a
deletion or a replacement of all members implies are taken in bounded batches (``limit``), so
each transaction stays small however large the group or however many groups the member has.

A group's members are read by one cursor over the ``{tenant, group, member}`` index, fetched
:data:`MEMBER_BATCH` records per round trip, never all at once. One cursor rather than a keyset
walk (``member > last`` with a limit) because the embedded database materialises the rest of an
open index range before applying the limit: a walk of 100,000 members took 130 s there, the
cursor a few seconds; on MongoDB both stream the index.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection, Sequence
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING, UpdateOne
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.cursor import AsyncCursor

from identity_store.domain.memberships import Membership, MemberType
from identity_store.mongo.documents import (
    KEPT_FOR,
    KEPT_MEMBERSHIPS,
    MEMBER_COUNT,
    membership_from_document,
    membership_to_document,
)
from identity_store.mongo.errors import translate_errors
from identity_store.mongo.scope import TenantScope

__all__ = ["MEMBER_BATCH", "MongoMemberships"]

Document = dict[str, Any]
#: Group ids matched by one ``$in``: SecantusDB's ``$in`` costs grow with the square of its list.
_GROUP_BATCH = 50
#: Membership records fetched per round trip when a group's members are read.
MEMBER_BATCH = 500


class MongoMemberships:
    def __init__(self, collection: AsyncCollection[Document], scope: TenantScope, session: AsyncClientSession | None):
        self._collection = collection
        self._scope = scope
        self._session = session

    @translate_errors
    async def add(self, memberships: Sequence[Membership]) -> list[str]:
        # A membership added is written as one put back is: only what reports it differs.
        return [m.member_id for m in await self.put_back(memberships)]

    @translate_errors
    async def put_back(self, memberships: Sequence[Membership]) -> list[Membership]:
        if not memberships:
            return []
        # Upserts, not inserts: an existing membership is left as it was and, unlike a duplicate
        # key error, does not abort the transaction. One bulk command whatever the group size.
        operations = [
            UpdateOne(
                self._scope.filter({"group": m.group_id, "member": m.member_id}),
                {"$setOnInsert": self._scope.document(membership_to_document(self._scope.tenant_id, m))},
                upsert=True,
            )
            for m in memberships
        ]
        result = await self._collection.bulk_write(operations, ordered=True, session=self._session)
        return [memberships[index] for index in sorted(result.upserted_ids or {})]

    @translate_errors
    async def remove(self, group_id: str, member_ids: Sequence[str]) -> list[Membership]:
        cursor = self._collection.find(
            self._scope.filter({"group": group_id, "member": {"$in": list(member_ids)}}),
            {"_id": 0},
            session=self._session,
        )
        present = {d["member"]: membership_from_document(d) async for d in cursor}
        if present:
            await self._delete(group_id, sorted(present))
        return [present[m] for m in dict.fromkeys(member_ids) if m in present]

    @translate_errors
    async def remove_except(
        self, group_id: str, keep: Collection[str], *, added_before: datetime, after: str | None, limit: int
    ) -> tuple[list[Membership], str | None]:
        # A keyset walk in member order, the choice made here rather than in a $nin of every
        # member kept (whose cost would grow with their number on every batch).
        condition: Document = {"group": group_id}
        if after is not None:
            condition["member"] = {"$gt": after}
        cursor = (
            self._collection.find(self._scope.filter(condition), {"_id": 0}, session=self._session)
            .sort("member", ASCENDING)
            .limit(limit)
        )
        read = [membership_from_document(d) async for d in cursor]
        removed = [m for m in read if m.member_id not in keep and m.added_at <= added_before]
        if removed:
            await self._delete(group_id, [m.member_id for m in removed])
        return removed, (read[-1].member_id if len(read) == limit else None)

    @translate_errors
    async def remove_some(self, group_id: str, *, limit: int) -> list[Membership]:
        cursor = (
            self._collection.find(self._scope.filter({"group": group_id}), {"_id": 0}, session=self._session)
            .sort("member", ASCENDING)
            .limit(limit)
        )
        documents = [d async for d in cursor]
        if documents:
            await self._keep_aside(documents, kept_for=group_id)
            await self._delete(group_id, [d["member"] for d in documents])
        return [membership_from_document(d) for d in documents]

    async def _delete(self, group_id: str, member_ids: Sequence[str]) -> None:
        await self._collection.delete_many(
            self._scope.filter({"group": group_id, "member": {"$in": list(member_ids)}}), session=self._session
        )

    @translate_errors
    async def leave_groups(self, member_id: str, *, limit: int) -> list[str]:
        cursor = (
            self._collection.find(self._scope.filter({"member": member_id}), {"_id": 0}, session=self._session)
            .sort("group", ASCENDING)
            .limit(limit)
        )
        documents = [d async for d in cursor]
        groups = [d["group"] for d in documents]
        if groups:
            await self._keep_aside(documents, kept_for=member_id)
            await self._collection.delete_many(
                self._scope.filter({"member": member_id, "group": {"$in": groups}}), session=self._session
            )
        return groups

    async def _keep_aside(self, documents: Sequence[Document], *, kept_for: str) -> None:
        """Keep the memberships a deletion removes, for the deleted object's restore
        (:mod:`identity_store.mongo.deleted`); one command per batch."""
        kept = self._collection.database[KEPT_MEMBERSHIPS]
        await kept.insert_many(
            [self._scope.document({**d, KEPT_FOR: kept_for}) for d in documents], session=self._session
        )

    @translate_errors
    async def members(self, group_id: str) -> list[Membership]:
        return [m async for batch in self.member_batches(group_id) for m in batch]

    async def member_batches(self, group_id: str) -> AsyncIterator[list[Membership]]:
        cursor = (
            self._collection.find(self._scope.filter({"group": group_id}), {"_id": 0}, session=self._session)
            .sort("member", ASCENDING)
            .batch_size(MEMBER_BATCH)
        )
        try:
            while True:
                documents = await _next_batch(cursor)
                if not documents:
                    return
                yield [membership_from_document(d) for d in documents]
        finally:
            await cursor.close()

    @translate_errors
    async def members_of(self, group_ids: Sequence[str]) -> dict[str, list[Membership]]:
        # One cursor for a page of groups (its $in holds one page's ids), fetched in batches.
        cursor = (
            self._collection.find(
                self._scope.filter({"group": {"$in": list(group_ids)}}), {"_id": 0}, session=self._session
            )
            .sort([("group", ASCENDING), ("member", ASCENDING)])
            .batch_size(MEMBER_BATCH)
        )
        result: dict[str, list[Membership]] = {g: [] for g in group_ids}
        async for document in cursor:
            result[document["group"]].append(membership_from_document(document))
        return result

    @translate_errors
    async def members_page(
        self, group_id: str, *, after: str | None = None, limit: int = 100, backwards: bool = False
    ) -> list[Membership]:
        condition: Document = {"group": group_id}
        if after is not None:
            condition["member"] = {"$lt" if backwards else "$gt": after}
        order = DESCENDING if backwards else ASCENDING
        cursor = (
            self._collection.find(self._scope.filter(condition), {"_id": 0}, session=self._session)
            .sort("member", order)
            .limit(limit)
        )
        page = [membership_from_document(document) async for document in cursor]
        return page[::-1] if backwards else page

    @translate_errors
    async def count_members(self, group_ids: Sequence[str]) -> dict[str, int]:
        # The counts kept on the group documents (see documents.py): one find by ids, whatever
        # the size of the groups. A group that does not exist has no members.
        cursor = self._collection.database["groups"].find(
            self._scope.filter({"_id": {"$in": list(group_ids)}}),
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
                self._scope.filter({"member": {"$in": list(member_ids)}}),
                {"group": 1, "member": 1},
                session=self._session,
            ).sort("group", ASCENDING)
            async for document in cursor:
                result[document["member"]].append(document["group"])
            return result
        # $graphLookup follows membership records upwards (member -> group -> its groups) inside
        # the database; cycles between groups are harmless because visited records are not revisited.
        pipeline: list[Document] = [
            self._scope.match({"member": {"$in": list(member_ids)}}),
            self._scope.graph_lookup(
                from_=self._collection.name,
                start_with="$group",
                connect_from="group",
                connect_to="member",
                as_="ancestors",
                max_depth=32,
            ),
            {"$project": {"member": 1, "group": 1, "ancestors.group": 1}},
        ]
        found: dict[str, set[str]] = {m: set() for m in member_ids}
        async for row in await self._collection.aggregate(pipeline, session=self._session):
            found[row["member"]].add(row["group"])
            found[row["member"]].update(a["group"] for a in row.get("ancestors", []))
        return {m: sorted(groups) for m, groups in found.items()}

    @translate_errors
    async def with_member_of_type(self, group_ids: Sequence[str], member_type: MemberType) -> set[str]:
        # One command per batch of groups: each group looks up one membership of the type on the
        # (tenant, group, type, member) index and stops there, whatever the group's size.
        found: set[str] = set()
        unique = sorted(set(group_ids))
        for start in range(0, len(unique), _GROUP_BATCH):
            pipeline: list[Document] = [
                self._scope.match({"_id": {"$in": unique[start : start + _GROUP_BATCH]}}),
                {"$project": {"_id": 1}},
                self._scope.lookup(
                    from_=self._collection.name,
                    local_field="_id",
                    foreign_field="group",
                    condition={"type": member_type.value},
                    pipeline=[{"$limit": 1}, {"$project": {"_id": 1}}],
                    as_="typed",
                ),
                {"$match": {"typed": {"$ne": []}}},
                {"$project": {"_id": 1}},
            ]
            groups = self._collection.database["groups"]
            found.update([row["_id"] async for row in await groups.aggregate(pipeline, session=self._session)])
        return found


@translate_errors
async def _next_batch(cursor: AsyncCursor[Document]) -> list[Document]:
    return await cursor.to_list(MEMBER_BATCH)
