"""Users filtered by group membership (``memberOf``): a walk of the group's membership records.

The walk reads the group's user memberships in member order, in batches that grow from the page
size up to :data:`MEMBER_BATCH`, each joined with its user in the same command (the semi-join
runs in the database), and stops after :data:`MEMBER_SCAN` records in all: then it returns a
shorter page with a cursor to continue, so one page never reads a whole large group.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase

from identity_store.domain.errors import InvalidValue
from identity_store.domain.schema import USER_SCHEMA, ResourceSchema
from identity_store.domain.users import User
from identity_store.mongo.documents import user_from_document
from identity_store.mongo.filters import to_query
from identity_store.mongo.keysets import decode_cursor, encode_cursor
from identity_store.mongo.scope import TenantScope
from identity_store.queries import CursorPage, MemberOf, Page, Query

__all__ = ["MEMBER_BATCH", "MEMBER_SCAN", "MemberWalk"]

Document = dict[str, Any]
#: A users page filtered by group membership reads memberships in batches of up to this many,
#: and stops after this many in all (then returns a shorter page with a cursor to continue).
MEMBER_BATCH = 1_000
MEMBER_SCAN = 5_000


class MemberWalk:
    """The users of a group (or of it and its nested groups) of one tenant, page by page."""

    def __init__(
        self,
        database: AsyncDatabase[Document],
        scope: TenantScope,
        session: AsyncClientSession | None,
        schema: ResourceSchema = USER_SCHEMA,
    ):
        self._schema = schema
        self._database = database
        self._scope = scope
        self._session = session

    async def find(self, query: Query, member_of: MemberOf) -> Page[User]:
        """Users of a group, in id order (see :class:`MemberOf`)."""
        page = query.page
        if not isinstance(page, CursorPage) or query.sort.path is not None:
            raise InvalidValue("members of a group are listed in id order, by cursor", attribute="memberOf")
        groups = await self._nested_groups(member_of.group_id) if member_of.transitive else [member_of.group_id]
        condition = to_query(self._schema, query.filter) if query.filter is not None else {}
        total = await self._count(groups, condition, distinct=member_of.transitive) if query.count_total else None
        walk_descending = query.sort.descending != page.backwards
        position = decode_cursor(page.cursor)[1] if page.cursor is not None else None
        found: list[User] = []
        seen: set[str] = set()
        scanned, batch, exhausted = 0, page.count + 1, False
        while len(found) <= page.count and scanned < MEMBER_SCAN:
            rows = await self._batch(groups, condition, position, walk_descending, batch)
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
            batch = min(batch * 2, MEMBER_BATCH)
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

    async def _batch(
        self, groups: Sequence[str], condition: Document, position: str | None, descending: bool, limit: int
    ) -> list[Document]:
        """The next ``limit`` user memberships of ``groups`` in member order, each with its user
        (``[]`` when the user does not meet ``condition``): one command, the semi-join in the database."""
        match: Document = {"group": {"$in": list(groups)}, "type": "User"}
        if position is not None:
            match["member"] = {"$lt" if descending else "$gt": position}
        pipeline: list[Document] = [
            self._scope.match(match),
            {"$sort": {"member": DESCENDING if descending else ASCENDING}},
            {"$limit": limit},
            self._user_of(condition, {"search": 0}),
            {"$project": {"_id": 0, "member": 1, "user": 1}},
        ]
        memberships = self._database["memberships"]
        return [row async for row in await memberships.aggregate(pipeline, session=self._session)]

    def _user_of(self, condition: Document, projection: Document) -> Document:
        """A ``$lookup`` adding ``user``: the membership's user if it meets ``condition``, else ``[]``."""
        return self._scope.lookup(
            from_="users",
            local_field="member",
            foreign_field="_id",
            condition=condition,
            pipeline=[{"$project": projection}],
            as_="user",
        )

    async def _nested_groups(self, group_id: str) -> list[str]:
        """The group and every group nested in it at any depth (one command; cycles are harmless)."""
        pipeline: list[Document] = [
            self._scope.match({"_id": group_id}),
            self._scope.graph_lookup(
                from_="memberships",
                start_with="$_id",
                connect_from="member",
                connect_to="group",
                as_="nested",
                condition={"type": "Group"},
                max_depth=32,
            ),
            {"$project": {"nested.member": 1}},
        ]
        found = [group_id]
        async for row in await self._database["groups"].aggregate(pipeline, session=self._session):
            found += sorted({n["member"] for n in row.get("nested", [])} - {group_id})
        return found

    async def _count(self, groups: Sequence[str], condition: Document, *, distinct: bool) -> int:
        """How many users of ``groups`` meet ``condition``; this reads every membership of the groups."""
        pipeline: list[Document] = [self._scope.match({"group": {"$in": list(groups)}, "type": "User"})]
        if distinct:
            pipeline.append({"$group": {"_id": "$member"}})
            pipeline.append({"$project": {"member": "$_id"}})
        if condition:
            pipeline += [
                self._user_of(condition, {"_id": 1}),
                {"$match": {"user": {"$ne": []}}},
            ]
        pipeline.append({"$count": "n"})
        memberships = self._database["memberships"]
        rows = [row async for row in await memberships.aggregate(pipeline, session=self._session)]
        return int(rows[0]["n"]) if rows else 0
