"""The identity domain: tenants, users, groups, memberships, roles, and the commands that change them.

Front ends send :mod:`commands` through the :class:`CommandBus` and read through the
repositories of a tenant's store; storage lives behind :mod:`ports` (MongoDB in :mod:`mongo`).
"""

from __future__ import annotations

from identity_store.bus import CommandBus, RequestContext
from identity_store.commands import (
    AddMembers,
    Command,
    CreateGroup,
    CreateUser,
    DeactivateUser,
    DeleteGroup,
    DeleteUser,
    PatchGroup,
    PatchUser,
    PurgeDeleted,
    ReactivateUser,
    RemoveMembers,
    RenameGroup,
    ReplaceGroup,
    ReplaceMembers,
    ReplaceUser,
    RestoreGroup,
    RestoreUser,
    RestoreUsers,
)
from identity_store.domain.errors import (
    DomainError,
    Forbidden,
    InvalidPath,
    InvalidValue,
    NoTarget,
    NotFound,
    StoreTimeout,
    StoreUnavailable,
    Uniqueness,
    VersionConflict,
)
from identity_store.domain.groups import Group
from identity_store.domain.memberships import Membership, MemberType
from identity_store.domain.tenants import Tenant, TenantSettings
from identity_store.domain.users import User
from identity_store.events import Actor, DomainEvent, EventType, RecordedEvent
from identity_store.ports import Store, TenantStore

__all__ = [
    "Actor",
    "AddMembers",
    "Command",
    "CommandBus",
    "CreateGroup",
    "CreateUser",
    "DeactivateUser",
    "DeleteGroup",
    "DeleteUser",
    "DomainError",
    "DomainEvent",
    "EventType",
    "Forbidden",
    "Group",
    "InvalidPath",
    "InvalidValue",
    "MemberType",
    "Membership",
    "NoTarget",
    "NotFound",
    "PatchGroup",
    "PatchUser",
    "PurgeDeleted",
    "ReactivateUser",
    "RecordedEvent",
    "RemoveMembers",
    "RenameGroup",
    "ReplaceGroup",
    "ReplaceMembers",
    "ReplaceUser",
    "RequestContext",
    "RestoreGroup",
    "RestoreUser",
    "RestoreUsers",
    "Store",
    "StoreTimeout",
    "StoreUnavailable",
    "Tenant",
    "TenantSettings",
    "TenantStore",
    "Uniqueness",
    "User",
    "VersionConflict",
]
