"""Fan-outs: the records a change implies beyond its own aggregate, finished in bounded batches.

Deleting a user (its memberships, the versions of its groups, the manager references to it),
deleting a group (its own memberships and its memberships in parent groups), restoring either
(the same, brought back) and replacing all members of a group (the old members not kept) each
touch as many records as the object has relations, which is unbounded. The first batch runs in
the transaction of the change itself; if more remains, that transaction also writes a
:class:`FanOut`, the durable note of the work left, and each further batch is a transaction of
its own with its own events, until the last one removes the note. A process that dies midway
leaves the note, and the next write of the tenant (or start-up) finishes it. Every batch is
idempotent: it finds what is still left to do.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from identity_store.events import Actor

__all__ = ["FanOut", "FanOutKind"]


class FanOutKind(StrEnum):
    #: The user is gone: it leaves its groups, and its reports lose their manager.
    USER_DELETED = "UserDeleted"
    #: The group is gone: its own memberships go, and it leaves its parent groups.
    GROUP_DELETED = "GroupDeleted"
    #: The user is restored: the memberships and manager references kept for it come back.
    USER_RESTORED = "UserRestored"
    #: The group is restored: its members and its memberships in parent groups come back.
    GROUP_RESTORED = "GroupRestored"
    #: The group's members were replaced: the members added before ``started`` and not in ``keep`` go.
    MEMBERS_REPLACED = "MembersReplaced"


@dataclass(frozen=True, slots=True, kw_only=True)
class FanOut:
    """Work a committed change left to do; its batches are recorded as done by ``actor``."""

    id: str
    kind: FanOutKind
    #: The deleted user or group, or the group whose members were replaced.
    subject_id: str
    started: datetime
    actor: Actor
    correlation_id: str | None
    #: MEMBERS_REPLACED: the members the group keeps.
    keep: tuple[str, ...] = ()
    #: MEMBERS_REPLACED: the last member already looked at (the walk is in member-id order).
    position: str | None = None
    #: USER_RESTORED: the users restored together (a mass restore's batch); empty: ``subject_id`` alone.
    subjects: tuple[str, ...] = ()

    @property
    def subject_ids(self) -> tuple[str, ...]:
        return self.subjects or (self.subject_id,)
