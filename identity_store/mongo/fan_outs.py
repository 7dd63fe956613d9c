"""The durable notes of fan-outs still to finish (see :mod:`identity_store.domain.fan_outs`).

    fan_outs:         {_id, tenant, kind, subject, started, actor: {id, kind}, cid, keep, position[, subjects]}
    event_sequences:  {_id: tenant, seq, pending}

``pending`` counts the tenant's notes beside its event sequence, which every transaction with
events takes anyway: a write learns that work is left from the counter it already reads, so
checking for unfinished fan-outs costs no command of its own.
"""

from __future__ import annotations

from typing import Any

from pymongo import ASCENDING
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase

from identity_store.domain.fan_outs import FanOut, FanOutKind
from identity_store.events import Actor
from identity_store.mongo.documents import utc
from identity_store.mongo.errors import translate_errors
from identity_store.mongo.scope import TenantScope

__all__ = ["PENDING", "MongoFanOuts"]

Document = dict[str, Any]
#: The counter of a tenant's unfinished fan-outs, on its event sequence document.
PENDING = "pending"


def _to_document(fan_out: FanOut) -> Document:
    return {
        "_id": fan_out.id,
        "kind": fan_out.kind.value,
        "subject": fan_out.subject_id,
        "started": fan_out.started,
        "actor": {"id": fan_out.actor.credential_id, "kind": fan_out.actor.kind},
        "cid": fan_out.correlation_id,
        "keep": list(fan_out.keep),
        "position": fan_out.position,
        **({"subjects": list(fan_out.subjects)} if fan_out.subjects else {}),
    }


def _from_document(document: Document) -> FanOut:
    return FanOut(
        id=document["_id"],
        kind=FanOutKind(document["kind"]),
        subject_id=document["subject"],
        started=utc(document["started"]),
        actor=Actor(credential_id=document["actor"]["id"], kind=document["actor"]["kind"]),
        correlation_id=document.get("cid"),
        keep=tuple(document.get("keep", ())),
        position=document.get("position"),
        subjects=tuple(document.get("subjects", ())),
    )


class MongoFanOuts:
    """A tenant's unfinished fan-outs; inside a transaction, written with the batch they describe."""

    def __init__(self, database: AsyncDatabase[Document], scope: TenantScope, session: AsyncClientSession | None):
        self._notes = database["fan_outs"]
        self._sequences = database["event_sequences"]
        self._scope = scope
        self._session = session
        #: Whether this transaction wrote a note (so the work left is known without the counter).
        self.noted = False

    @translate_errors
    async def note(self, fan_out: FanOut) -> None:
        await self._notes.insert_one(self._scope.document(_to_document(fan_out)), session=self._session)
        await self._count(+1)
        self.noted = True

    @translate_errors
    async def get(self, fan_out_id: str) -> FanOut | None:
        document = await self._notes.find_one(self._scope.filter({"_id": fan_out_id}), session=self._session)
        return _from_document(document) if document is not None else None

    @translate_errors
    async def advance(self, fan_out_id: str, position: str) -> None:
        await self._notes.update_one(
            self._scope.filter({"_id": fan_out_id}), {"$set": {"position": position}}, session=self._session
        )

    @translate_errors
    async def finish(self, fan_out_id: str) -> None:
        result = await self._notes.delete_one(self._scope.filter({"_id": fan_out_id}), session=self._session)
        if result.deleted_count:
            await self._count(-1)

    @translate_errors
    async def pending(self) -> list[FanOut]:
        cursor = self._notes.find(self._scope.filter(), session=self._session).sort("started", ASCENDING)
        return [_from_document(d) async for d in cursor]

    async def _count(self, change: int) -> None:
        await self._sequences.update_one(
            {"_id": self._scope.tenant_id}, {"$inc": {PENDING: change}}, upsert=True, session=self._session
        )
