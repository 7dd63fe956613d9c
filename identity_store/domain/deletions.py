"""Soft deletion: a deleted user or group is kept aside, restorable, until it is purged.

A deletion moves the object out of the live directory (it is not found, listed, filtered or a
member of anything, and its userName or displayName is free) and keeps it with its relations:
the memberships it had and, for a user, the users it managed. :class:`Kept` names the deleted
object whose restore brings a relation back; when both ends of a relation are deleted, the first
one restored hands it on to the other, so it comes back once both are live again.

A restore brings back the same id and attributes, at the next version; its memberships in groups
that still exist; its manager, if that user is live (a manager still deleted is handed the
reference, and gives it back when it is restored); and its reports' manager references, except
for a report given another manager meanwhile. Past the tenant's retention period (by default
:data:`DEFAULT_RETENTION`) a purge removes the object and what was kept for it for good.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from identity_store.domain.groups import Group
from identity_store.domain.memberships import Membership
from identity_store.domain.users import User

__all__ = ["DEFAULT_RETENTION", "DeletedGroup", "DeletedUser", "KeptManagerRef", "KeptMembership"]

#: How long a deleted object stays restorable unless the service or the tenant says otherwise.
DEFAULT_RETENTION = timedelta(days=30)


@dataclass(frozen=True, slots=True, kw_only=True)
class DeletedUser:
    """A user as it was when deleted, when, and by which credential (``None``: the CLI or system)."""

    user: User
    deleted: datetime
    deleted_by: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class DeletedGroup:
    group: Group
    deleted: datetime
    deleted_by: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class KeptMembership:
    """A membership a deletion removed, kept for the restore of ``kept_for`` (one of its ends)."""

    id: str
    membership: Membership
    kept_for: str

    @property
    def other_end(self) -> str:
        """The end that is not ``kept_for``: it must be live for the membership to come back."""
        m = self.membership
        return m.member_id if m.group_id == self.kept_for else m.group_id


@dataclass(frozen=True, slots=True, kw_only=True)
class KeptManagerRef:
    """``user_id``'s manager was ``manager_id``; kept for the restore of ``kept_for`` (one of them)."""

    id: str
    user_id: str
    manager_id: str
    kept_for: str

    @property
    def other_end(self) -> str:
        return self.user_id if self.manager_id == self.kept_for else self.manager_id
