"""Shared Signals streams (OpenID SSF 1.0 §8): what a receiver asked for, and how far it has been sent.

A stream belongs to one tenant. Its ``cursor`` is the sequence of the last event of the tenant's
log that was delivered (push: the receiver answered 202, RFC 8935 §2) or acknowledged (poll:
the receiver's ``ack``, RFC 8936 §2.4); delivery resumes after it, so nothing is lost across
restarts.

What delivery has to remember is in the stream too, so that every instance sees it and a
restart keeps it: the push failures since the last SET the receiver accepted
(:class:`SsfFailure`), and the verification events asked for (:class:`SsfVerification`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from identity_store.domain.values import JSON

__all__ = ["POLL", "PUSH", "STATUSES", "SsfFailure", "SsfStream", "SsfStreams", "SsfVerification", "TenantSsfStreams"]

#: The delivery methods of SSF 1.0 §8.1.1, named by the RFCs that define them.
PUSH = "urn:ietf:rfc:8935"
POLL = "urn:ietf:rfc:8936"
#: A stream's statuses (SSF 1.0 §8.1.2).
STATUSES = ("enabled", "paused", "disabled")


@dataclass(frozen=True, slots=True, kw_only=True)
class SsfFailure:
    """A push stream's receiver failing: since when, how often, why last, and when to try next."""

    count: int
    first_at: datetime
    last_error: str
    next_attempt_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class SsfVerification:
    """A verification event asked for (SSF 1.0 §8.1.4), pending until delivered (push) or acknowledged (poll)."""

    jti: str
    #: The ``state`` the receiver sent, echoed in the event.
    state: str | None
    requested_at: datetime
    delivered_at: datetime | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class SsfStream:
    stream_id: str
    tenant_id: str
    audience: str
    delivery_method: str
    endpoint_url: str | None
    #: The ``authorization_header`` the receiver gave for push (sent as-is with each SET).
    authorization_header: str | None
    events_requested: tuple[str, ...]
    description: str | None
    #: ``enabled``, ``paused`` or ``disabled`` (SSF 1.0 §8.1.2).
    status: str
    reason: str | None
    #: Subjects added (SSF 1.0 §8.1.3), as their RFC 9493 identifiers; empty: every user.
    subjects: tuple[JSON, ...]
    cursor: int
    created_at: datetime
    #: Push only: set while the receiver fails, cleared by the first SET it accepts again.
    failure: SsfFailure | None = None
    #: The latest verification events asked for, oldest first (a few only are kept).
    verifications: tuple[SsfVerification, ...] = ()

    @property
    def pending_verifications(self) -> tuple[SsfVerification, ...]:
        return tuple(v for v in self.verifications if v.delivered_at is None)


class TenantSsfStreams(Protocol):
    """One tenant's streams inside a command's transaction (changes of configuration, status and
    subjects, made by the handlers of :mod:`identity_store.handlers.ssf_streams`)."""

    async def get(self, stream_id: str) -> SsfStream:
        """The stream (:class:`~identity_store.domain.errors.NotFound` when it is not the tenant's)."""
        ...

    async def add(self, stream: SsfStream) -> None: ...

    async def replace(self, stream: SsfStream) -> None:
        """Store the stream's configuration, status and subjects (never its cursor or delivery state)."""
        ...

    async def delete(self, stream_id: str) -> None: ...

    async def skip_to_end(self, stream_id: str) -> int:
        """Move the cursor to the end of the tenant's log as committed; that sequence."""
        ...

    async def recovered(self, stream_id: str) -> None:
        """Forget the stream's push failures."""
        ...


class SsfStreams(Protocol):
    """Delivery's reads and writes of the streams; every one names the tenant it is for."""

    async def get(self, tenant_id: str, stream_id: str) -> SsfStream | None: ...

    async def of_tenant(self, tenant_id: str) -> list[SsfStream]: ...

    async def advance(self, tenant_id: str, stream_id: str, to: int) -> None:
        """Move the cursor forwards to ``to`` (never backwards)."""
        ...

    async def lease(self, tenant_id: str, stream_id: str, *, owner: str, seconds: float) -> bool:
        """Hold (or renew) the right to push this stream for ``seconds``; whether ``owner`` has it.

        One process pushes a stream at a time, so several instances do not send its SETs twice.
        """
        ...

    async def release(self, tenant_id: str, stream_id: str, *, owner: str) -> None:
        """Give up ``owner``'s lease (a process stopping), so another may push at once."""
        ...

    async def pushing(self) -> Sequence[SsfStream]:
        """Every enabled push stream of every tenant (the push loop's work)."""
        ...

    async def failed(
        self, tenant_id: str, stream_id: str, *, error: str, at: datetime, next_attempt_at: datetime
    ) -> SsfFailure | None:
        """Count one more push failure (the first sets ``first_at``); the failure as now recorded."""
        ...

    async def recovered(self, tenant_id: str, stream_id: str) -> None:
        """The receiver accepted a SET: its failures are forgotten."""
        ...

    async def request_verification(self, tenant_id: str, stream_id: str, verification: SsfVerification) -> bool:
        """Keep a verification event to send; whether the stream still existed."""
        ...

    async def verification_delivered(self, tenant_id: str, stream_id: str, jti: str, *, at: datetime) -> None:
        """The verification event ``jti`` was accepted (push) or acknowledged (poll)."""
        ...
