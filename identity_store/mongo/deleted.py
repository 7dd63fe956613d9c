"""Deleted users and groups, and the relations kept aside for their restore, on MongoDB.

A deletion does not remove a user's or group's document: in the deletion's transaction it is
*moved*, unchanged (every field it had, whatever other code added to it), to the deleted
collection of its kind, with two fields added:

    deleted_users:         {<the user document as it was>, deleted, deleted_by}
    deleted_groups:        {<the group document as it was>, deleted, deleted_by}
    deleted_memberships:   {_id, tenant, group, member, type, added, by, kept_for}
    deleted_manager_refs:  {_id, tenant, user, manager, kept_for}

``deleted`` is the time of the deletion (UTC), ``deleted_by`` the credential that asked (``None``
for the CLI or the system). Being in another collection, a deleted object is outside every
query, filter and unique index of the live ones: its userName or displayName is free at once.

The deletion's fan-out (:mod:`identity_store.handlers.fan_outs`) moves its relations aside in
the same bounded batches it always removed them in: each membership of the deleted object, and
each manager reference to a deleted user (``user``'s manager was ``manager``). ``kept_for`` is the
deleted object whose restore brings the relation back. A relation whose both ends are deleted
is kept for one of them; restoring that one hands it on to the other (its ``kept_for`` changes),
so it comes back when both are live again, and goes when either is purged.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any

from bson import ObjectId
from pymongo import ASCENDING, UpdateOne
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError, DuplicateKeyError

from identity_store.domain.deletions import DeletedGroup, DeletedUser, KeptManagerRef, KeptMembership
from identity_store.domain.errors import DomainError, NotFound, Uniqueness, VersionConflict
from identity_store.domain.groups import Group
from identity_store.domain.schema import GROUP_SCHEMA, USER_SCHEMA, ResourceSchema
from identity_store.domain.users import User
from identity_store.mongo.documents import (
    DELETED_AT,
    DELETED_BY,
    DELETED_COLLECTIONS,
    DELETED_GROUPS,
    DELETED_USERS,
    KEPT_FOR,
    KEPT_MANAGER_REFS,
    KEPT_MEMBERSHIPS,
    group_from_document,
    group_to_document,
    membership_from_document,
    user_from_document,
    user_to_document,
    utc,
)
from identity_store.mongo.errors import translate_errors
from identity_store.mongo.positions import POS, Ledger
from identity_store.mongo.resources import IN_BATCH, uniqueness_from
from identity_store.mongo.scope import TenantScope

__all__ = ["MongoDeleted", "MongoKept"]

Document = dict[str, Any]
#: MongoDB's error code for a unique index violated.
_DUPLICATE_KEY = 11000


class MongoDeleted:
    """A tenant's deleted users and groups (:class:`~identity_store.ports.DeletedRepository`)."""

    def __init__(
        self,
        database: AsyncDatabase[Document],
        scope: TenantScope,
        session: AsyncClientSession | None,
        *,
        ledger: Ledger | None = None,
    ):
        self._database = database
        self._users = database[DELETED_USERS]
        self._groups = database[DELETED_GROUPS]
        self._scope = scope
        self._session = session
        self._ledger = ledger

    @translate_errors
    async def user(self, user_id: str) -> DeletedUser:
        document = await self._users.find_one(
            self._scope.filter({"_id": user_id}), {"search": 0}, session=self._session
        )
        if document is None:
            raise NotFound(f"deleted User {user_id} not found")
        return _deleted_user(document)

    @translate_errors
    async def group(self, group_id: str) -> DeletedGroup:
        document = await self._groups.find_one(
            self._scope.filter({"_id": group_id}), {"search": 0}, session=self._session
        )
        if document is None:
            raise NotFound(f"deleted Group {group_id} not found")
        return _deleted_group(document)

    @translate_errors
    async def deleted_ids(self, ids: Sequence[str]) -> set[str]:
        found: set[str] = set()
        unique = list(dict.fromkeys(ids))
        for collection in (self._users, self._groups):
            for start in range(0, len(unique), IN_BATCH):
                condition = self._scope.filter({"_id": {"$in": unique[start : start + IN_BATCH]}})
                cursor = collection.find(condition, {"_id": 1}, session=self._session)
                found.update([d["_id"] async for d in cursor])
        return found

    @translate_errors
    async def restore_user(self, user: User) -> None:
        await self._restore("users", user_to_document(user, USER_SCHEMA), USER_SCHEMA)

    @translate_errors
    async def restore_users(self, users: Sequence[User]) -> None:
        if len(users) == 1:
            return await self.restore_user(users[0])
        # Three commands for the batch: the stored documents read, removed, and put back whole.
        states = {u.id: user_to_document(u, USER_SCHEMA) for u in users}
        condition = self._scope.filter({"_id": {"$in": list(states)}})
        documents = [d async for d in self._users.find(condition, session=self._session)]
        if len(documents) != len(states):
            missing = sorted(set(states) - {d["_id"] for d in documents})
            raise NotFound(f"deleted User {missing[0]} not found")
        await self._users.delete_many(condition, session=self._session)

        async def insert(document: Document) -> None:
            try:
                await self._database["users"].insert_one(document, session=self._session)
            except DuplicateKeyError as error:
                raise uniqueness_from(error, USER_SCHEMA) from None

        restored = [self._scope.document({**_live(d), **states[d["_id"]]}) for d in documents]
        placed = [d for d in restored if self._placed("users", d, insert)]
        if not placed:
            return None
        try:
            await self._database["users"].insert_many(placed, session=self._session)
        except BulkWriteError as error:
            raise _uniqueness_of_bulk(error, USER_SCHEMA) from None
        return None

    def _placed(self, live: str, restored: Document, insert: Callable[[Document], Awaitable[None]]) -> bool:
        """Whether ``restored`` goes back now at its creation position (counted live again,
        :mod:`identity_store.mongo.positions`); one deleted before it had a position (made
        before positions existed, or before its creation was numbered) is inserted when the
        events are appended, and given its position as a creation is."""
        if self._ledger is None:
            return True
        position = restored.get(POS)
        if isinstance(position, int):
            self._ledger.restore(live, restored["_id"], position)
            return True
        self._ledger.restore_unplaced(live, restored, insert)
        return False

    @translate_errors
    async def users_of(self, user_ids: Sequence[str]) -> list[DeletedUser]:
        condition = self._scope.filter({"_id": {"$in": list(user_ids)}})
        return [_deleted_user(d) async for d in self._users.find(condition, {"search": 0}, session=self._session)]

    @translate_errors
    async def restore_group(self, group: Group) -> None:
        await self._restore("groups", group_to_document(group, GROUP_SCHEMA, member_count=0), GROUP_SCHEMA)

    async def _restore(self, live: str, state: Document, schema: ResourceSchema) -> None:
        # The stored document whole (fields other code added come back), its state replaced.
        deleted = self._database[DELETED_COLLECTIONS[live]]
        document = await deleted.find_one_and_delete(self._scope.filter({"_id": state["_id"]}), session=self._session)
        if document is None:
            raise NotFound(f"deleted {schema.name} {state['_id']} not found")
        restored = self._scope.document({**_live(document), **state})

        async def insert(document: Document) -> None:
            try:
                await self._database[live].insert_one(document, session=self._session)
            except DuplicateKeyError as error:
                raise uniqueness_from(error, schema) from None

        if self._placed(live, restored, insert):
            await insert(restored)

    @translate_errors
    async def users(
        self,
        *,
        since: datetime | None = None,
        before: datetime | None = None,
        deleted_by: str | None = None,
        after: str | None = None,
        limit: int = 100,
    ) -> list[DeletedUser]:
        documents = await self._find(self._users, since, before, deleted_by, after, limit)
        return [_deleted_user(d) for d in documents]

    @translate_errors
    async def groups(
        self,
        *,
        since: datetime | None = None,
        before: datetime | None = None,
        deleted_by: str | None = None,
        after: str | None = None,
        limit: int = 100,
    ) -> list[DeletedGroup]:
        documents = await self._find(self._groups, since, before, deleted_by, after, limit)
        return [_deleted_group(d) for d in documents]

    async def _find(
        self,
        collection: AsyncCollection[Document],
        since: datetime | None,
        before: datetime | None,
        deleted_by: str | None,
        after: str | None,
        limit: int,
    ) -> list[Document]:
        condition: Document = {}
        when: Document = {}
        if since is not None:
            when["$gte"] = since
        if before is not None:
            when["$lt"] = before
        if when:
            condition[DELETED_AT] = when
        if deleted_by is not None:
            condition[DELETED_BY] = deleted_by
        if after is not None:
            condition["_id"] = {"$gt": after}
        cursor = (
            collection.find(self._scope.filter(condition), {"search": 0}, session=self._session)
            .sort("_id", ASCENDING)
            .limit(limit)
        )
        return [d async for d in cursor]

    @translate_errors
    async def purge(self, user_ids: Sequence[str], group_ids: Sequence[str]) -> None:
        ids = [*user_ids, *group_ids]
        if not ids:
            return
        if user_ids:
            await self._users.delete_many(self._scope.filter({"_id": {"$in": list(user_ids)}}), session=self._session)
        if group_ids:
            await self._groups.delete_many(self._scope.filter({"_id": {"$in": list(group_ids)}}), session=self._session)
        for kept in (KEPT_MEMBERSHIPS, KEPT_MANAGER_REFS):
            await self._database[kept].delete_many(self._scope.filter({KEPT_FOR: {"$in": ids}}), session=self._session)


class MongoKept:
    """The relations kept for deleted objects (:class:`~identity_store.ports.KeptRelations`)."""

    def __init__(self, database: AsyncDatabase[Document], scope: TenantScope, session: AsyncClientSession | None):
        self._memberships = database[KEPT_MEMBERSHIPS]
        self._refs = database[KEPT_MANAGER_REFS]
        self._scope = scope
        self._session = session

    @translate_errors
    async def memberships(self, kept_for: Sequence[str], *, limit: int) -> list[KeptMembership]:
        cursor = (
            self._memberships.find(self._scope.filter(_kept_for(kept_for)), session=self._session)
            .sort("_id", ASCENDING)
            .limit(limit)
        )
        return [
            KeptMembership(id=str(d["_id"]), membership=membership_from_document(d), kept_for=d[KEPT_FOR])
            async for d in cursor
        ]

    @translate_errors
    async def manager_refs(self, kept_for: Sequence[str], *, limit: int) -> list[KeptManagerRef]:
        cursor = (
            self._refs.find(self._scope.filter(_kept_for(kept_for)), session=self._session)
            .sort("_id", ASCENDING)
            .limit(limit)
        )
        return [
            KeptManagerRef(id=str(d["_id"]), user_id=d["user"], manager_id=d["manager"], kept_for=d[KEPT_FOR])
            async for d in cursor
        ]

    @translate_errors
    async def own_manager_refs(self, user_ids: Sequence[str]) -> list[KeptManagerRef]:
        condition = {**_kept_for(user_ids), "user": {"$in": list(user_ids)}}
        cursor = self._refs.find(self._scope.filter(condition), session=self._session)
        return [
            KeptManagerRef(id=str(d["_id"]), user_id=d["user"], manager_id=d["manager"], kept_for=d[KEPT_FOR])
            async for d in cursor
        ]

    @translate_errors
    async def keep_manager_ref(self, user_id: str, manager_id: str) -> None:
        await self._refs.insert_one(
            self._scope.document({"user": user_id, "manager": manager_id, KEPT_FOR: manager_id}),
            session=self._session,
        )

    @translate_errors
    async def hand_on(self, memberships: Sequence[KeptMembership], refs: Sequence[KeptManagerRef]) -> None:
        for collection, kept in ((self._memberships, memberships), (self._refs, refs)):
            if kept:
                await collection.bulk_write(
                    [
                        UpdateOne(self._scope.filter({"_id": ObjectId(k.id)}), {"$set": {KEPT_FOR: k.other_end}})
                        for k in kept
                    ],
                    ordered=False,
                    session=self._session,
                )

    @translate_errors
    async def forget(self, memberships: Sequence[KeptMembership], refs: Sequence[KeptManagerRef]) -> None:
        for collection, kept in ((self._memberships, memberships), (self._refs, refs)):
            if kept:
                await collection.delete_many(
                    self._scope.filter({"_id": {"$in": [ObjectId(k.id) for k in kept]}}), session=self._session
                )


def _live(document: Document) -> Document:
    """A deleted document without what its deletion added, and without what its state says."""
    return {k: v for k, v in document.items() if k not in (DELETED_AT, DELETED_BY, "pw")}


def _uniqueness_of_bulk(error: BulkWriteError, schema: ResourceSchema) -> DomainError:
    for write_error in error.details.get("writeErrors", []):
        if write_error.get("code") == _DUPLICATE_KEY:
            pattern = write_error.get("keyPattern") or {}
            keys = [k.removeprefix("search.") for k in pattern if k != "tenant"]
            attribute = keys[0] if keys else "userName"
            return Uniqueness(f"{schema.name} {attribute} is already taken", attribute=attribute)
    return VersionConflict(f"{schema.name}s changed while being restored")


def _kept_for(ids: Sequence[str]) -> Document:
    # One id is an equality: SecantusDB serves it from the index where an $in of one might not.
    return {KEPT_FOR: ids[0]} if len(ids) == 1 else {KEPT_FOR: {"$in": list(ids)}}


def _deleted_user(document: Document) -> DeletedUser:
    return DeletedUser(
        user=user_from_document(document), deleted=utc(document[DELETED_AT]), deleted_by=document.get(DELETED_BY)
    )


def _deleted_group(document: Document) -> DeletedGroup:
    return DeletedGroup(
        group=group_from_document(document), deleted=utc(document[DELETED_AT]), deleted_by=document.get(DELETED_BY)
    )
