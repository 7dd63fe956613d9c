"""The indexes the store relies on, created at start-up before the migrations run.

Every index of a tenant collection leads with ``tenant`` (see :mod:`identity_store.mongo.scope`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pymongo import ASCENDING, DESCENDING, IndexModel
from pymongo.asynchronous.database import AsyncDatabase

from identity_store.mongo.directory_pages import WALKS
from identity_store.mongo.documents import (
    DELETED_AT,
    DELETED_GROUPS,
    DELETED_USERS,
    KEPT_FOR,
    KEPT_MANAGER_REFS,
    KEPT_MEMBERSHIPS,
)
from identity_store.mongo.errors import translate_errors
from identity_store.mongo.migrations import migrate
from identity_store.mongo.positions import POS, TOMBSTONES
from identity_store.mongo.scope import TENANT
from identity_store.mongo.stamps import PENDING_MARK

__all__ = ["INDEXES", "create_indexes"]

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
        # Unfiltered pages in creation order read a range of positions (identity_store.mongo.directory_pages).
        IndexModel([(TENANT, ASCENDING), (POS, ASCENDING)], name="position"),
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
        IndexModel([(TENANT, ASCENDING), (POS, ASCENDING)], name="position"),
    ],
    # The positions deleted, for walks begun before (identity_store.mongo.positions), and the walks.
    TOMBSTONES: [
        IndexModel([(TENANT, ASCENDING), ("kind", ASCENDING), (POS, ASCENDING)], name="tenant_kind_position"),
        IndexModel([("expires", ASCENDING)], expireAfterSeconds=0, name="expires"),
    ],
    WALKS: [
        # Read by (tenant, _id); the tenant first, as the collection's shard key (shard_keys.py) needs.
        IndexModel([(TENANT, ASCENDING), ("_id", ASCENDING)], name="tenant_id"),
        IndexModel([("expires", ASCENDING)], expireAfterSeconds=0, name="expires"),
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
        # The events left pending by a process that stopped, across tenants, for the sweep
        # (identity_store.mongo.stamps): sparse, so it holds only those, and is empty when all is well.
        IndexModel([(PENDING_MARK, ASCENDING)], sparse=True, name="pending"),
    ],
    "tenants": [
        IndexModel([("nameKey", ASCENDING)], unique=True, name="name"),
        IndexModel([("settings.entraTenantId", ASCENDING)], unique=True, sparse=True, name="entra_tenant"),
    ],
    "credentials": [
        IndexModel([(TENANT, ASCENDING), ("kind", ASCENDING)], name="tenant_kind"),
        IndexModel([("client", ASCENDING)], name="client", sparse=True),
    ],
    # A tenant's extension schemas, one per URN (case-folded); the filter indexes they ask for
    # are made when one is registered (identity_store.mongo.schema_extensions).
    "schema_extensions": [IndexModel([(TENANT, ASCENDING), ("urnKey", ASCENDING)], unique=True, name="urn")],
    "oauth_clients": [IndexModel([(TENANT, ASCENDING), ("created", ASCENDING)], name="tenant")],
    "fan_outs": [IndexModel([(TENANT, ASCENDING), ("_id", ASCENDING)], name="tenant_id")],
    # Deleted users and groups and the relations kept for their restore (identity_store.mongo.deleted):
    # by deletion time (a purge past the retention, an undo since a time), by id (a restore), and
    # the relations by the deleted object they are kept for. No unique name index: a deleted
    # object's name is free for a live one.
    DELETED_USERS: [
        IndexModel([(TENANT, ASCENDING), (DELETED_AT, ASCENDING)], name="tenant_deleted"),
        IndexModel([(TENANT, ASCENDING), ("_id", ASCENDING)], name="tenant_id"),
    ],
    DELETED_GROUPS: [
        IndexModel([(TENANT, ASCENDING), (DELETED_AT, ASCENDING)], name="tenant_deleted"),
        IndexModel([(TENANT, ASCENDING), ("_id", ASCENDING)], name="tenant_id"),
    ],
    # Named leases (identity_store.mongo.leases), by their expiry.
    "leases": [IndexModel([("expires", ASCENDING)], name="expires")],
    # A kept relation is handed on or forgotten by its id: without (tenant, _id) each of those
    # writes scanned the collection (a 10,000-user restore spent most of its time there).
    KEPT_MEMBERSHIPS: [
        IndexModel([(TENANT, ASCENDING), (KEPT_FOR, ASCENDING), ("_id", ASCENDING)], name="tenant_kept_for"),
        IndexModel([(TENANT, ASCENDING), ("_id", ASCENDING)], name="tenant_id"),
    ],
    KEPT_MANAGER_REFS: [
        IndexModel([(TENANT, ASCENDING), (KEPT_FOR, ASCENDING), ("_id", ASCENDING)], name="tenant_kept_for"),
        IndexModel([(TENANT, ASCENDING), ("_id", ASCENDING)], name="tenant_id"),
    ],
    # The outbound channels' collections are created here too, with the others, before the
    # service is ready: a collection created later by a background worker could be cut short by
    # a crash of the embedded database, which then cannot open its files again.
    "webhook_subscriptions": [
        IndexModel([("state", ASCENDING)], name="state"),
        IndexModel([(TENANT, ASCENDING)], name="tenant"),
    ],
    "webhook_attempts": [IndexModel([("subscription", ASCENDING), ("at", DESCENDING)], name="subscription_at")],
    # The activity log: newest first per tenant, failures, one resource's requests (a credential's
    # are read from the first, within a time window: every index costs each record's write);
    # documents expire at their own ``expires`` (see identity_store.mongo.activity).
    "activity": [
        IndexModel([(TENANT, ASCENDING), ("at", DESCENDING), ("_id", DESCENDING)], name="tenant_at"),
        IndexModel([(TENANT, ASCENDING), ("failed", ASCENDING), ("at", DESCENDING)], name="failed_at"),
        IndexModel([(TENANT, ASCENDING), ("resource", ASCENDING), ("at", DESCENDING)], name="resource_at"),
        IndexModel([("expires", ASCENDING)], expireAfterSeconds=0, name="expires"),
    ],
    "activity_hours": [
        IndexModel([(TENANT, ASCENDING), ("hour", ASCENDING)], name="tenant_hour"),
        IndexModel([("expires", ASCENDING)], expireAfterSeconds=0, name="expires"),
    ],
    # Rate limit tallies: the recent windows of every tenant are read at once; each window's
    # documents go an hour after it.
    "request_tallies": [
        IndexModel([("window", ASCENDING)], name="window"),
        IndexModel([("at", ASCENDING)], expireAfterSeconds=3600, name="at"),
    ],
    "ssf_streams": [
        IndexModel([(TENANT, ASCENDING), ("created_at", ASCENDING)], name="tenant_created"),
        IndexModel([("delivery_method", ASCENDING), ("status", ASCENDING)], name="pushing"),
    ],
}


@translate_errors
async def create_indexes(database: AsyncDatabase[Document], *, on_wait: Callable[[str], None] | None = None) -> None:
    """Create every index the store relies on, then bring documents of earlier versions up to
    date (:mod:`identity_store.mongo.migrations`, under its lease); idempotent, so it runs at
    each start-up, before the service takes requests. ``on_wait`` hears why it is waiting."""
    for collection, indexes in INDEXES.items():
        await database[collection].create_indexes(indexes)
    await migrate(database, on_wait=on_wait)
