"""The tenant's event log on MongoDB: read in sequence order (the change feed and the audit trail).

Events are appended only by the unit of work (:mod:`identity_store.mongo.unit_of_work`), in the
transaction of the change they describe, pending; the log holds them once they are numbered
(:mod:`identity_store.mongo.stamps`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pymongo import ASCENDING
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.collection import AsyncCollection

from identity_store.domain.errors import InvalidValue
from identity_store.events import EventType, RecordedEvent
from identity_store.mongo.documents import event_from_document
from identity_store.mongo.errors import translate_errors
from identity_store.mongo.positions import SEQUENCES
from identity_store.mongo.scope import TenantScope

__all__ = ["MongoEventLog"]

Document = dict[str, Any]
#: Above every event number (a bound for the index range; no tenant gets near it).
LAST = 2**62


class MongoEventLog:
    """A tenant's events in sequence (commit) order, by type or by the user or group they concern;
    as a transaction sees them when ``session`` is given."""

    def __init__(
        self, collection: AsyncCollection[Document], scope: TenantScope, session: AsyncClientSession | None = None
    ):
        self._collection = collection
        self._scope = scope
        self._session = session

    @translate_errors
    async def read(
        self,
        *,
        after: int | None = None,
        limit: int = 100,
        types: Sequence[EventType] | None = None,
        aggregate_ids: Sequence[str] | None = None,
    ) -> list[RecordedEvent]:
        if limit <= 0:
            raise InvalidValue("limit must be positive", attribute="limit")
        # Numbers only: a pending event's key is a string (identity_store.mongo.stamps).
        condition: Document = {"seq": {"$gt": after if after is not None else 0, "$lt": LAST}}
        if types:
            condition["type"] = {"$in": [t.value for t in types]}
        if aggregate_ids:
            condition["$or"] = [
                {"aggregate.id": {"$in": list(aggregate_ids)}},
                {"members": {"$in": list(aggregate_ids)}},
            ]
        cursor = (
            self._collection.find(self._scope.filter(condition), session=self._session)
            .sort("seq", ASCENDING)
            .limit(limit)
        )
        return [event_from_document(d) async for d in cursor]

    @translate_errors
    async def last_sequence(self) -> int:
        """The number of the last numbered event: the tenant's sequence, which has no gaps."""
        counter = await self._collection.database[SEQUENCES].find_one(
            {"_id": self._scope.tenant_id}, {"seq": 1}, session=self._session
        )
        return int((counter or {}).get("seq", 0))
