"""Memberships: one record per (tenant, group, member), so a group has no size ceiling.

Adding or removing members touches only the records of the changed members. A member is a user
or, for nesting, another group of the same tenant.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

__all__ = ["MemberType", "Membership"]


class MemberType(StrEnum):
    USER = "User"
    GROUP = "Group"


@dataclass(frozen=True, slots=True, kw_only=True)
class Membership:
    """``member_id`` (a user or group) belongs to ``group_id`` since ``added_at``."""

    group_id: str
    member_id: str
    member_type: MemberType
    added_at: datetime
    added_by: str | None = None
