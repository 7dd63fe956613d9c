"""The indexes the store relies on, and the start-up migrations of documents of earlier versions.

Every index of a tenant collection leads with ``tenant`` (see :mod:`identity_store.mongo.scope`).
"""

from __future__ import annotations

from typing import Any

from pymongo import ASCENDING, IndexModel
from pymongo.asynchronous.database import AsyncDatabase

from identity_store.mongo.documents import MEMBER_COUNT
from identity_store.mongo.errors import translate_errors
from identity_store.mongo.scope import TENANT, TenantScope

__all__ = ["INDEXES", "SUPERSEDED_INDEXES", "create_indexes"]

Document = dict[str, Any]

INDEXES: dict[str, list[IndexModel]] = {
    "users": [
        IndexModel([(TENANT, ASCENDING), ("search.userName", ASCENDING)], unique=True, name="userName"),
        # Pages in the default order (userName, then _id: the keyset order) walk this index and
        # stop after the page; the unique index above cannot give the _id part of the order, so
        # without it MongoDB would sort the whole tenant for every page.
        IndexModel([(TENANT, ASCENDING), ("search.userName", ASCENDING), ("_id", ASCENDING)], name="userName_order"),
        IndexModel([(TENANT, ASCENDING), ("search.externalId", ASCENDING)], name="externalId"),
        IndexModel([(TENANT, ASCENDING), ("search.emails.value", ASCENDING)], name="emails"),
        # With _id last, a manager's reports come out in id order straight from the index (keyset pages).
        IndexModel(
            [(TENANT, ASCENDING), ("search.enterprise.manager.value", ASCENDING), ("_id", ASCENDING)],
            name="manager_reports",
        ),
        IndexModel([(TENANT, ASCENDING), ("_id", ASCENDING)], name="tenant_id"),
        # Conditional writes name the version read: SecantusDB serves {tenant, _id, v} only from
        # an index with exactly those fields first (the one above would leave it a collection scan).
        IndexModel([(TENANT, ASCENDING), ("_id", ASCENDING), ("v", ASCENDING)], name="tenant_id_version"),
    ],
    "groups": [
        IndexModel([(TENANT, ASCENDING), ("search.displayName", ASCENDING)], unique=True, name="displayName"),
        IndexModel(
            [(TENANT, ASCENDING), ("search.displayName", ASCENDING), ("_id", ASCENDING)], name="displayName_order"
        ),
        IndexModel([(TENANT, ASCENDING), ("search.externalId", ASCENDING)], name="externalId"),
        IndexModel([(TENANT, ASCENDING), ("_id", ASCENDING)], name="tenant_id"),
        # Conditional writes name the version read: SecantusDB serves {tenant, _id, v} only from
        # an index with exactly those fields first (the one above would leave it a collection scan).
        IndexModel([(TENANT, ASCENDING), ("_id", ASCENDING), ("v", ASCENDING)], name="tenant_id_version"),
    ],
    "memberships": [
        IndexModel([(TENANT, ASCENDING), ("group", ASCENDING), ("member", ASCENDING)], unique=True, name="group"),
        IndexModel([(TENANT, ASCENDING), ("member", ASCENDING), ("group", ASCENDING)], name="member"),
        # A group's user members in member order (users filtered by memberOf), and its nested
        # groups alone (the transitive walk), without reading the group's other members.
        IndexModel(
            [(TENANT, ASCENDING), ("group", ASCENDING), ("type", ASCENDING), ("member", ASCENDING)],
            name="group_type",
        ),
        # The join key first, for reading a user with its groups in one $lookup (repositories):
        # SecantusDB's $lookup uses an index only when it leads with the foreign field.
        IndexModel([("member", ASCENDING), (TENANT, ASCENDING)], name="member_tenant"),
    ],
    "events": [
        IndexModel([(TENANT, ASCENDING), ("seq", ASCENDING)], unique=True, name="sequence"),
        # The events about one user or group (identityEvents with userId/groupId), in sequence
        # order, whether it is the subject or a member added or removed: no walk of the whole log.
        IndexModel([(TENANT, ASCENDING), ("aggregate.id", ASCENDING), ("seq", ASCENDING)], name="subject"),
        IndexModel([(TENANT, ASCENDING), ("members", ASCENDING), ("seq", ASCENDING)], name="members"),
        # A lost commit is looked up by its first event's id, within the tenant.
        IndexModel([(TENANT, ASCENDING), ("_id", ASCENDING)], name="tenant_id"),
    ],
    "tenants": [
        IndexModel([("nameKey", ASCENDING)], unique=True, name="name"),
        IndexModel([("settings.entraTenantId", ASCENDING)], unique=True, sparse=True, name="entra_tenant"),
    ],
    "credentials": [
        IndexModel([(TENANT, ASCENDING), ("kind", ASCENDING)], name="tenant_kind"),
        IndexModel([("client", ASCENDING)], name="client", sparse=True),
    ],
    "oauth_clients": [IndexModel([(TENANT, ASCENDING), ("created", ASCENDING)], name="tenant")],
    "fan_outs": [IndexModel([(TENANT, ASCENDING), ("_id", ASCENDING)], name="tenant_id")],
}

#: Indexes earlier versions created that a wider one above now serves; dropped at start-up.
SUPERSEDED_INDEXES: dict[str, set[str]] = {"users": {"manager"}}


@translate_errors
async def create_indexes(database: AsyncDatabase[Document]) -> None:
    """Create every index the store relies on and bring documents of earlier versions up to
    date; idempotent, so it runs at each start-up, before the service takes requests."""
    for collection, indexes in INDEXES.items():
        await database[collection].create_indexes(indexes)
    for collection, names in SUPERSEDED_INDEXES.items():
        existing = {index["name"] async for index in await database[collection].list_indexes()}
        for name in names & existing:
            await database[collection].drop_index(name)
    await _count_members_once(database)


async def _count_members_once(database: AsyncDatabase[Document]) -> None:
    """Give each group written before groups kept their member count the count of its memberships.

    Member changes move the count with ``$inc``, which on a missing field would start from
    zero, so every group must have its count before any member change runs: this runs at
    start-up, before requests are taken, and only finds work on a database written by an
    earlier version (whose processes must be stopped, as they do not keep the count).
    Counting once per such group is exact because nothing else writes memberships meanwhile;
    the condition on the missing field makes two instances starting together harmless. On an
    up-to-date database this is one find over the groups that returns nothing.
    """
    groups = database["groups"]
    memberships = database["memberships"]
    async for group in groups.find({MEMBER_COUNT: {"$exists": False}}, {"_id": 1, TENANT: 1}):
        scope = TenantScope(group[TENANT])
        count = await memberships.count_documents(scope.filter({"group": group["_id"]}))
        await groups.update_one(
            scope.filter({"_id": group["_id"], MEMBER_COUNT: {"$exists": False}}), {"$set": {MEMBER_COUNT: count}}
        )
