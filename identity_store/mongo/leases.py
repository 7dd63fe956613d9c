"""Named leases in MongoDB: work that one instance at a time may do.

    <collection>:  {_id: <name>, owner, expires}

A lease is taken with one atomic update, an upsert that matches only a free or expired lease
(or the owner's own): another instance's live lease makes the upsert a duplicate key, so exactly
one instance holds it. A holder that dies leaves its lease to expire; a holder still working
renews it (:meth:`MongoLease.renewing`) and gives it back when done. The migrations run under
one (``schema``/``lock``), the purge job of deleted objects under another (``leases``/``purge``).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError, PyMongoError

from identity_store.mongo.errors import translate_errors

__all__ = ["MongoLease"]

Document = dict[str, Any]


class MongoLease:
    """The lease ``name``, kept as one document of ``collection``."""

    def __init__(self, collection: AsyncCollection[Document], name: str) -> None:
        self._collection = collection
        self._name = name

    @translate_errors
    async def take(self, owner: str, seconds: float, *, at: datetime | None = None) -> bool:
        """Take (or renew) the lease if it is free, expired or ``owner``'s; whether ``owner`` holds it."""
        at = at or datetime.now(UTC)
        try:
            await self._collection.update_one(
                {"_id": self._name, "$or": [{"expires": {"$lt": at}}, {"owner": owner}]},
                {"$set": {"owner": owner, "expires": at + timedelta(seconds=seconds)}},
                upsert=True,
            )
        except DuplicateKeyError:
            return False  # a live lease of another instance: the upsert could not insert a second one
        return True

    @translate_errors
    async def give_back(self, owner: str) -> None:
        """Free the lease, if ``owner`` still holds it, so another instance may take it at once."""
        await self._collection.delete_one({"_id": self._name, "owner": owner})

    @contextlib.contextmanager
    def renewing(self, owner: str, seconds: float) -> Iterator[None]:
        """Keep ``owner``'s lease alive while long work runs (renewed every third of ``seconds``)."""

        async def renew() -> None:
            while True:
                await asyncio.sleep(seconds / 3)
                at = datetime.now(UTC)
                # A renewal lost to a blip is retried at the next tick, well within the lease.
                with contextlib.suppress(PyMongoError):
                    await self._collection.update_one(
                        {"_id": self._name, "owner": owner}, {"$set": {"expires": at + timedelta(seconds=seconds)}}
                    )

        task = asyncio.create_task(renew())
        try:
            yield
        finally:
            task.cancel()
