"""The request tallies on MongoDB: one document per tenant, instance and ten-second window.

A window's document holds only what was admitted in it, so a reader needs no clock but its own
and no history: it takes the growth of each document since it last read it (all of it, for one
it has not read), over the current and the previous window. An exchange is at most two
commands whatever the traffic: one bulk ``$inc`` of this instance's counts, and one find.
Documents expire an hour after their window.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from pymongo import UpdateOne
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.write_concern import WriteConcern

from identity_store.mongo.errors import translate_errors
from identity_store.mongo.scope import TENANT

__all__ = ["WINDOW_SECONDS", "MongoRequestTallies"]

Document = dict[str, Any]
WINDOW_SECONDS = 10


class MongoRequestTallies:
    """:class:`~identity_store.request_tallies.RequestTallies` on MongoDB."""

    def __init__(self, database: AsyncDatabase[Document]) -> None:
        # A tally is a hint for fairness, not a record: losing its last second in a crash costs
        # nothing, so it is neither journaled nor acknowledged by a majority.
        self._tallies = database.get_collection("request_tallies", write_concern=WriteConcern(w=1, j=False))
        self._seen: dict[str, int] = {}

    @translate_errors
    async def exchange(self, instance: str, admitted: Mapping[str, int]) -> dict[str, int]:
        window = int(time.time() // WINDOW_SECONDS)
        if admitted:
            started = datetime.fromtimestamp(window * WINDOW_SECONDS, UTC)
            await self._tallies.bulk_write(
                [
                    UpdateOne(
                        {"_id": f"{tenant}|{instance}|{window}"},
                        {
                            "$inc": {"count": count},
                            "$setOnInsert": {TENANT: tenant, "instance": instance, "window": window, "at": started},
                        },
                        upsert=True,
                    )
                    for tenant, count in admitted.items()
                ],
                ordered=False,
            )
        others: dict[str, int] = {}
        seen: dict[str, int] = {}
        cursor = self._tallies.find(
            {"window": {"$gte": window - 1}, "instance": {"$ne": instance}}, {TENANT: 1, "count": 1}
        )
        async for document in cursor:
            count = int(document["count"])
            seen[document["_id"]] = count
            grown = count - self._seen.get(document["_id"], 0)
            if grown > 0:
                others[document[TENANT]] = others.get(document[TENANT], 0) + grown
        # Only the windows still read are remembered: the map stays as small as the find.
        self._seen = seen
        return others
