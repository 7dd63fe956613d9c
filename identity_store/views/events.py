"""Reads of a tenant's event log: the feed's pages, its live polls, and where the log ends.

Events are numbered per tenant in commit order (gapless), so a reader resumes from the last
sequence it saw and never misses or repeats a change, whichever process committed it.
"""

from __future__ import annotations

from collections.abc import Collection

from identity_store.events import EventType, RecordedEvent
from identity_store.ports import TenantStore

__all__ = ["events_after", "last_sequence"]


async def events_after(
    store: TenantStore,
    *,
    after: int | None,
    limit: int,
    types: Collection[EventType] | None = None,
    about: Collection[str] | None = None,
) -> list[RecordedEvent]:
    """Up to ``limit`` events after the sequence ``after`` (``None``: from the start), oldest first.

    ``types`` keeps those events' types only; ``about`` those about these users or groups,
    including the memberships they gained or lost. Both narrow the read in the database.
    """
    return await store.events.read(
        after=after,
        limit=limit,
        types=sorted(types) if types else None,
        aggregate_ids=sorted(about) if about else None,
    )


async def last_sequence(store: TenantStore) -> int:
    """The sequence of the tenant's latest event (0 when it has none)."""
    return await store.events.last_sequence()
