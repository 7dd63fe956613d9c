"""What every stored resource carries besides its attributes: id, tenant and ``meta``."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

__all__ = ["Meta", "new_id", "now"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Meta:
    """Server-kept facts about a resource (RFC 7643 §3.1). ``version`` grows by one per change."""

    created: datetime
    last_modified: datetime
    version: int

    def next(self, at: datetime) -> Meta:
        return Meta(created=self.created, last_modified=at, version=self.version + 1)

    @staticmethod
    def first(at: datetime) -> Meta:
        return Meta(created=at, last_modified=at, version=1)


def new_id() -> str:
    """A fresh resource id: random, so ids are never reused and reveal nothing."""
    return str(uuid.uuid4())


def now() -> datetime:
    """The current time as stored: UTC, to the millisecond (what BSON dates keep)."""
    at = datetime.now(UTC)
    return at.replace(microsecond=at.microsecond // 1000 * 1000)
