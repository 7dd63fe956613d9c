"""SCIM request bodies as domain commands: the one translation the endpoints and Bulk share.

Each function takes what one SCIM operation carries (the resource id of its path, its body, the
version it is conditional on) and gives the command the bus runs: POST (RFC 7644 §3.3), PUT
(§3.5.1), PATCH (§3.5.2) and DELETE (§3.6) on ``/Users`` and ``/Groups``. A body that is not a
valid SCIM resource or PatchOp is refused here, before anything is written. ``schemas`` are the
tenant's (its registered extensions map URN keys and paths to their attributes).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from identity_store import (
    CreateGroup,
    CreateUser,
    DeleteGroup,
    DeleteUser,
    PatchGroup,
    PatchUser,
    ReplaceGroup,
    ReplaceUser,
)
from identity_store.domain.extensions import CORE_ONLY, TenantSchemas
from identity_store.domain.patch import PatchPolicy
from scim_facade.patch import group_patch, user_patch
from scim_facade.resources import group_attributes, user_attributes

__all__ = [
    "create_group",
    "create_user",
    "delete_group",
    "delete_user",
    "patch_group",
    "patch_user",
    "replace_group",
    "replace_user",
]


def create_user(body: Mapping[str, Any], policy: PatchPolicy, schemas: TenantSchemas = CORE_ONLY) -> CreateUser:
    """POST /Users (RFC 7644 §3.3)."""
    return CreateUser(attributes=user_attributes(body, lenient=policy.lenient_values, schema=schemas.user))


def replace_user(
    user_id: str,
    body: Mapping[str, Any],
    policy: PatchPolicy,
    expected: int | None = None,
    schemas: TenantSchemas = CORE_ONLY,
) -> ReplaceUser:
    """PUT /Users/{id} (RFC 7644 §3.5.1)."""
    attributes = user_attributes(body, lenient=policy.lenient_values, schema=schemas.user)
    return ReplaceUser(user_id=user_id, attributes=attributes, expected_version=expected)


def patch_user(
    user_id: str,
    body: Mapping[str, Any],
    policy: PatchPolicy,
    expected: int | None = None,
    schemas: TenantSchemas = CORE_ONLY,
) -> PatchUser:
    """PATCH /Users/{id} (RFC 7644 §3.5.2)."""
    return PatchUser(user_id=user_id, operations=user_patch(body, policy, schemas.user), expected_version=expected)


def delete_user(user_id: str, expected: int | None = None) -> DeleteUser:
    """DELETE /Users/{id} (RFC 7644 §3.6)."""
    return DeleteUser(user_id=user_id, expected_version=expected)


def create_group(body: Mapping[str, Any], policy: PatchPolicy, schemas: TenantSchemas = CORE_ONLY) -> CreateGroup:
    """POST /Groups (RFC 7644 §3.3), members included."""
    attributes, member_ids = group_attributes(body, lenient=policy.lenient_values, schema=schemas.group)
    return CreateGroup(attributes=attributes, member_ids=member_ids)


def replace_group(
    group_id: str,
    body: Mapping[str, Any],
    policy: PatchPolicy,
    expected: int | None = None,
    schemas: TenantSchemas = CORE_ONLY,
) -> ReplaceGroup:
    """PUT /Groups/{id} (RFC 7644 §3.5.1): the members sent become the members."""
    attributes, member_ids = group_attributes(body, lenient=policy.lenient_values, schema=schemas.group)
    return ReplaceGroup(group_id=group_id, attributes=attributes, member_ids=member_ids, expected_version=expected)


def patch_group(
    group_id: str,
    body: Mapping[str, Any],
    policy: PatchPolicy,
    expected: int | None = None,
    schemas: TenantSchemas = CORE_ONLY,
) -> PatchGroup:
    """PATCH /Groups/{id} (RFC 7644 §3.5.2): attribute operations and member changes apart."""
    changes = group_patch(body, policy, schemas.group)
    return PatchGroup(
        group_id=group_id,
        operations=tuple(changes.operations),
        add_member_ids=tuple(changes.add_ids),
        remove_member_ids=tuple(changes.remove_ids),
        remove_all_members=changes.remove_all,
        expected_version=expected,
    )


def delete_group(group_id: str, expected: int | None = None) -> DeleteGroup:
    """DELETE /Groups/{id} (RFC 7644 §3.6)."""
    return DeleteGroup(group_id=group_id, expected_version=expected)
