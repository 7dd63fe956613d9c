"""The shard key of every collection, for a deployment that outgrows one replica set.

A tenant is the unit of placement: every tenant collection is sharded on a key that starts
with the tenant, so each command the store sends for a tenant (they all name it, see
:mod:`identity_store.mongo.scope`) is routed by that prefix to the shards holding the tenant's
range, and with zones assigning each tenant range to one shard (``sh.updateZoneKeyRange`` on
every collection with the same tenant bounds) a tenant's transaction touches one shard and needs
no two-phase commit. The few collections whose documents belong to no tenant are small and stay
unsharded, on the primary shard. :func:`shard_commands` gives the ``mongosh`` lines.

Where a tenant's data grows without bound (its events, its activity records) the key adds a
second field, so one tenant's range can still be split into chunks and balanced within its zone.
Every unique index of a sharded collection starts with its shard key, as MongoDB requires.
"""

from __future__ import annotations

from typing import Any

from identity_store.mongo.scope import TENANT

__all__ = ["CROSS_TENANT", "SHARD_KEYS", "shard_commands"]

#: The shard key of each sharded collection.
SHARD_KEYS: dict[str, dict[str, Any]] = {
    "users": {TENANT: 1},
    "groups": {TENANT: 1},
    "memberships": {TENANT: 1, "group": 1},
    "events": {TENANT: 1, "seq": 1},
    # The tenant's event sequence, one document per tenant: its _id is the tenant's id.
    "event_sequences": {"_id": 1},
    "fan_outs": {TENANT: 1},
    "schema_extensions": {TENANT: 1},
    # Deleted users and groups and what is kept for their restore: with the tenant's live ones.
    "deleted_users": {TENANT: 1},
    "deleted_groups": {TENANT: 1},
    "deleted_memberships": {TENANT: 1},
    "deleted_manager_refs": {TENANT: 1},
    # Whole-directory walks: the deletions during a walk, and each walker's start.
    "position_tombstones": {TENANT: 1},
    "directory_walks": {TENANT: 1},
    "webhook_subscriptions": {TENANT: 1},
    "ssf_streams": {TENANT: 1},
    "activity": {TENANT: 1, "at": 1},
    "activity_hours": {TENANT: 1, "hour": 1},
}

#: The collections left unsharded, and what reads them across tenants.
CROSS_TENANT: dict[str, str] = {
    "tenants": "the tenant list and name lookups; a few documents per tenant",
    "credentials": "a token is verified by its credential's id before its tenant is known; a few per tenant",
    "oauth_clients": "a client authenticates by its id before its tenant is known; a few per tenant",
    "schema": "the schema version and the migration lock: two documents",
    "webhook_attempts": "each delivery attempt by subscription, kept short; read by the delivery worker",
    "request_tallies": "the rate limit's recent windows, read by every instance across tenants",
    "leases": "the background jobs' leases (one instance at a time): a few documents",
}


def shard_commands(database: str) -> list[str]:
    """The ``mongosh`` commands that shard ``database``'s collections by :data:`SHARD_KEYS`."""
    lines = [f'sh.enableSharding("{database}")']
    for name, key in SHARD_KEYS.items():
        fields = ", ".join(f'"{field}": {order}' for field, order in key.items())
        lines.append(f'sh.shardCollection("{database}.{name}", {{{fields}}})')
    return lines
