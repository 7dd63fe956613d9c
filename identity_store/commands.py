"""Every state change of the identity domain is one of these commands.

A front end builds a command and hands it to the :class:`~identity_store.bus.CommandBus`, which
runs its one handler. A command says what to change; how Entra's habits are read (the tenant's
PATCH policy) and who may change what (the actor's rights) come with the request's context.

``expected_version`` makes a write conditional (optimistic concurrency):
with it, a stale writer gets :class:`~identity_store.domain.errors.VersionConflict`; without it,
the handler still writes conditionally and re-applies the change on the newer state, so two
concurrent writers never lose each other's changes.
"""

from __future__ import annotations

from dataclasses import dataclass

from identity_store.domain.patch import PatchOperation
from identity_store.domain.values import Attributes

__all__ = [
    "AddMembers",
    "Command",
    "CreateGroup",
    "CreateUser",
    "DeactivateUser",
    "DeleteGroup",
    "DeleteUser",
    "PatchGroup",
    "PatchUser",
    "ReactivateUser",
    "RemoveMembers",
    "RenameGroup",
    "ReplaceGroup",
    "ReplaceMembers",
    "ReplaceUser",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class CreateUser:
    attributes: Attributes
    password: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ReplaceUser:
    """Replace every writable attribute (PUT); immutable ones may not change once set."""

    user_id: str
    attributes: Attributes
    password: str | None = None
    expected_version: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class PatchUser:
    """Apply add/replace/remove operations, all or nothing."""

    user_id: str
    operations: tuple[PatchOperation, ...]
    expected_version: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class DeactivateUser:
    """Set ``active`` to false; the user and its memberships stay."""

    user_id: str
    expected_version: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ReactivateUser:
    user_id: str
    expected_version: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class DeleteUser:
    """Delete the user, its memberships, and every manager reference to it."""

    user_id: str
    expected_version: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class CreateGroup:
    attributes: Attributes
    member_ids: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class ReplaceGroup:
    """Replace the group's attributes and its whole member list (PUT)."""

    group_id: str
    attributes: Attributes
    member_ids: tuple[str, ...] = ()
    expected_version: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class RenameGroup:
    group_id: str
    display_name: str
    expected_version: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class PatchGroup:
    """Attribute operations and member changes of one request, applied together or not at all.

    Member changes cost O(changed members): ``add_member_ids`` and ``remove_member_ids`` touch
    only those memberships. ``remove_all_members`` (a PATCH ``remove`` of ``members``) clears
    the group before the additions are applied.
    """

    group_id: str
    operations: tuple[PatchOperation, ...] = ()
    add_member_ids: tuple[str, ...] = ()
    remove_member_ids: tuple[str, ...] = ()
    remove_all_members: bool = False
    expected_version: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class AddMembers:
    group_id: str
    member_ids: tuple[str, ...]
    expected_version: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class RemoveMembers:
    group_id: str
    member_ids: tuple[str, ...]
    expected_version: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ReplaceMembers:
    group_id: str
    member_ids: tuple[str, ...]
    expected_version: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class DeleteGroup:
    """Delete the group and every membership in it or of it."""

    group_id: str
    expected_version: int | None = None


Command = (
    CreateUser
    | ReplaceUser
    | PatchUser
    | DeactivateUser
    | ReactivateUser
    | DeleteUser
    | CreateGroup
    | ReplaceGroup
    | RenameGroup
    | PatchGroup
    | AddMembers
    | RemoveMembers
    | ReplaceMembers
    | DeleteGroup
)
