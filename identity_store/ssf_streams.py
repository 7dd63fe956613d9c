"""Shared Signals streams (OpenID SSF 1.0 §8): what a receiver asked for, and how far it has been sent.

A stream belongs to one tenant. Its ``cursor`` is the sequence of the last event of the tenant's
log that was delivered (push: the receiver answered 202, RFC 8935 §2) or acknowledged (poll:
the receiver's ``ack``, RFC 8936 §2.4); delivery resumes after it, so nothing is lost across
restarts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from identity_store.domain.values import JSON

__all__ = ["POLL", "PUSH", "SsfStream", "SsfStreams"]

#: The delivery methods of SSF 1.0 §8.1.1, named by the RFCs that define them.
PUSH = "urn:ietf:rfc:8935"
POLL = "urn:ietf:rfc:8936"


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


class SsfStreams(Protocol):
    """Persistence of the streams; every read and write names the tenant it is for."""

    async def add(self, stream: SsfStream) -> None: ...

    async def get(self, tenant_id: str, stream_id: str) -> SsfStream | None: ...

    async def of_tenant(self, tenant_id: str) -> list[SsfStream]: ...

    async def replace(self, stream: SsfStream) -> bool:
        """Store the stream's configuration (never its cursor); whether it still existed."""
        ...

    async def delete(self, tenant_id: str, stream_id: str) -> bool: ...

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
