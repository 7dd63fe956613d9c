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

__all__ = [
    "DELETED_AT",
    "DELETED_BY",
    "DELETED_COLLECTIONS",
    "DELETED_GROUPS",
    "DELETED_USERS",
    "KEPT_FOR",
    "KEPT_MANAGER_REFS",
    "KEPT_MEMBERSHIPS",
]


DELETED_USERS = "deleted_users"
DELETED_GROUPS = "deleted_groups"
#: The deleted collection of each live one.
DELETED_COLLECTIONS = {"users": DELETED_USERS, "groups": DELETED_GROUPS}
KEPT_MEMBERSHIPS = "deleted_memberships"
KEPT_MANAGER_REFS = "deleted_manager_refs"

#: When the object was deleted (UTC), and which credential asked (``None``: the CLI or the system).
DELETED_AT = "deleted"
DELETED_BY = "deleted_by"
#: The deleted object whose restore brings a kept relation back.
KEPT_FOR = "kept_for"
