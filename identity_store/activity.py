"""The activity log: one record per provisioning request a tenant's clients made, refused ones included.

It is our side of Entra's provisioning logs. The event log holds what *changed*; the activity log
holds what was *asked* and how it ended (status, ``scimType``, ``detail``), who asked, and what the
request carried that the service did not keep (unknown attributes and schemas), so an admin can
answer "what did Entra send, and why did we refuse it?".

A front end fills in one :class:`RequestActivity` while it serves a request (the composition
root puts it on the ASGI scope, see :func:`activity_of`); the service turns it into an
:class:`ActivityRecord` when the answer is sent and writes records off the request path in
batches through :class:`ActivityLog`. Records never carry values, only attribute names.
"""

from __future__ import annotations

import base64
import binascii
import secrets
from collections.abc import MutableMapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from identity_store.domain.errors import InvalidValue

__all__ = [
    "ACTIVITY_SCOPE_KEY",
    "ActivityFilter",
    "ActivityLog",
    "ActivityPage",
    "ActivityRecord",
    "FrontEnd",
    "HourSummary",
    "Outcome",
    "RequestActivity",
    "activity_cursor",
    "activity_of",
    "new_record_id",
    "outcome_of",
    "parse_activity_cursor",
    "quarantine_warning",
]

#: Where the composition root keeps a request's :class:`RequestActivity` in the ASGI scope.
ACTIVITY_SCOPE_KEY = "identity_store.activity"


class FrontEnd(StrEnum):
    SCIM = "scim"
    GRAPHQL = "graphql"


class Outcome(StrEnum):
    """The kind of ending a status stands for; Entra's quarantine counts the failing kinds."""

    OK = "ok"
    CLIENT_ERROR = "client_error"
    UNAUTHORIZED = "unauthorized"
    THROTTLED = "throttled"
    SERVER_ERROR = "server_error"


def new_record_id() -> str:
    """A record's id: random, so that records of many processes never collide."""
    return secrets.token_hex(8)


def outcome_of(status: int) -> Outcome:
    if status < 400:
        return Outcome.OK
    if status == 429:
        return Outcome.THROTTLED
    if status in (401, 403):
        return Outcome.UNAUTHORIZED
    return Outcome.CLIENT_ERROR if status < 500 else Outcome.SERVER_ERROR


@dataclass(slots=True, kw_only=True)
class RequestActivity:
    """What a front end learns about one request while serving it; mutable until it is answered.

    ``tenant_id`` stays ``None`` until the caller is authenticated: a request nobody could be
    identified for belongs to no tenant's log (it is still logged and counted by the service).
    """

    front_end: FrontEnd
    request_id: str
    tenant_id: str | None = None
    credential_id: str | None = None
    credential_name: str | None = None
    operation: str | None = None
    resource_type: str | None = None
    resource_id: str | None = None
    #: The resource's userName or displayName, as the request or the answer gave it.
    resource_name: str | None = None
    scim_type: str | None = None
    detail: str | None = None
    #: Names (never values) of the attributes the request set, replaced or removed.
    changed: list[str] = field(default_factory=list)
    #: Attributes and schema URNs the request carried that the service did not keep.
    ignored: list[str] = field(default_factory=list)
    #: How it ended, when the status does not say (a GraphQL error is answered 200).
    outcome: Outcome | None = None
    #: Whether it goes to the tenant's activity log (a GraphQL query is only logged: it changes
    #: nothing, and an internal service polling would flood the log).
    recorded: bool = True

    def note_changed(self, names: Sequence[str]) -> None:
        for name in names:
            if name not in self.changed:
                self.changed.append(name)

    def note_ignored(self, names: Sequence[str]) -> None:
        for name in names:
            if name not in self.ignored:
                self.ignored.append(name)


def activity_of(scope: MutableMapping[str, Any]) -> RequestActivity | None:
    """The request's activity, when the service records one (it does for every SCIM and GraphQL
    request; a front end mounted alone, as in some tests, has none)."""
    found = scope.get(ACTIVITY_SCOPE_KEY)
    return found if isinstance(found, RequestActivity) else None


@dataclass(frozen=True, slots=True, kw_only=True)
class ActivityRecord:
    """One answered request of a tenant, as stored."""

    id: str
    tenant_id: str
    at: datetime
    front_end: FrontEnd
    request_id: str
    trace_id: str | None
    credential_id: str | None
    credential_name: str | None
    client_address: str | None
    method: str
    path: str
    operation: str | None
    resource_type: str | None
    resource_id: str | None
    resource_name: str | None
    status: int
    outcome: Outcome
    scim_type: str | None
    detail: str | None
    duration_ms: float
    database_commands: int
    changed: tuple[str, ...] = ()
    ignored: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class ActivityFilter:
    """Which records to list; every field left ``None`` matches all."""

    outcome: Outcome | None = None
    #: Only failures (any outcome but ``ok``); combines with the other fields.
    failed: bool = False
    status: int | None = None
    operation: str | None = None
    resource_id: str | None = None
    credential_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None


@dataclass(frozen=True, slots=True)
class ActivityPage:
    """Records newest first; ``after`` is the cursor of the next page, ``None`` on the last."""

    records: list[ActivityRecord]
    after: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class HourSummary:
    """One hour of a tenant's activity."""

    hour: datetime
    requests: int
    failures: int
    #: Failures by ``scimType`` (``""`` for failures without one, such as 401 or 500).
    failures_by_scim_type: dict[str, int]
    p95_duration_ms: float
    #: Of the failures, those refused their credential (401/403).
    unauthorized: int = 0
    #: The last request of the hour that succeeded.
    last_ok: datetime | None = None

    @property
    def failure_rate(self) -> float:
        return self.failures / self.requests if self.requests else 0.0


def activity_cursor(record: ActivityRecord) -> str:
    """Where a page of records newest first resumes after ``record``."""
    text = f"{record.at.isoformat()}|{record.id}"
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def parse_activity_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        at, record_id = text.split("|", 1)
        return datetime.fromisoformat(at), record_id
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise InvalidValue("the cursor is not one this service gave", attribute="after") from None


class ActivityLog(Protocol):
    """Where activity records are kept (``identity_store.mongo.activity`` on MongoDB)."""

    async def append(self, records: Sequence[ActivityRecord]) -> None:
        """Store ``records`` (of any tenants); best effort, as a log is."""

    async def find(
        self, tenant_id: str, where: ActivityFilter, *, first: int, after: str | None = None
    ) -> ActivityPage: ...

    async def get(self, tenant_id: str, record_id: str) -> ActivityRecord | None: ...

    async def summary(self, tenant_id: str, since: datetime, until: datetime) -> list[HourSummary]:
        """Every hour in ``[since, until)`` that had requests, oldest first."""


# Entra's escrow thresholds (its provisioning-quarantine documentation): evaluation starts at
# 5,000 failures; a job is quarantined past 40 % failing or 40,000 failures, or 60,000 of any kind.
# Its credential quarantine follows most calls failing to authenticate. The warning comes earlier.
_WARN_FAILURES = 1_000
_WARN_RATE = 0.30
_WARN_TOTAL = 30_000
_WARN_UNAUTHORIZED_RATE = 0.5
_WARN_UNAUTHORIZED_MIN_REQUESTS = 20


def quarantine_warning(hours: Sequence[HourSummary]) -> str | None:
    """Why a tenant's recent failures (``hours``) come close to
    the conditions under which Entra quarantines a provisioning job; ``None`` while they do not."""
    requests = sum(h.requests for h in hours)
    failures = sum(h.failures for h in hours)
    unauthorized = sum(h.unauthorized for h in hours)
    if requests == 0:
        return None
    rate = failures / requests
    if failures >= _WARN_TOTAL:
        return f"{failures} failed requests: Entra quarantines a job past 40,000 (60,000 of any kind)"
    if failures >= _WARN_FAILURES and rate >= _WARN_RATE:
        return (
            f"{rate:.0%} of {requests} requests failed: Entra quarantines a job past 40 % failing "
            "once 5,000 have failed"
        )
    if requests >= _WARN_UNAUTHORIZED_MIN_REQUESTS and unauthorized / requests >= _WARN_UNAUTHORIZED_RATE:
        return (
            f"{unauthorized} of {requests} requests were refused their credential: Entra quarantines a job "
            "whose calls fail to authenticate"
        )
    return None
