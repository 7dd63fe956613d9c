"""Shared Signals streams on MongoDB: one document per stream, in the ``ssf_streams`` collection.

Every query of one tenant goes through its :class:`~identity_store.mongo.scope.TenantScope`, as
the other collections' do; only the push loop's walk over every tenant's push streams does not.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from identity_store.mongo.errors import translate_errors
from identity_store.mongo.scope import TENANT, TenantScope
from identity_store.ssf_streams import PUSH, SsfStream

__all__ = ["MongoSsfStreams"]

Document = dict[str, Any]


def _document(stream: SsfStream) -> Document:
    return {
        "_id": stream.stream_id,
        TENANT: stream.tenant_id,
        "audience": stream.audience,
        "delivery_method": stream.delivery_method,
        "endpoint_url": stream.endpoint_url,
        "authorization_header": stream.authorization_header,
        "events_requested": list(stream.events_requested),
        "description": stream.description,
        "status": stream.status,
        "reason": stream.reason,
        "subjects": list(stream.subjects),
        "cursor": stream.cursor,
        "created_at": stream.created_at,
    }


def _stream(document: Mapping[str, Any]) -> SsfStream:
    return SsfStream(
        stream_id=str(document["_id"]),
        tenant_id=str(document[TENANT]),
        audience=str(document["audience"]),
        delivery_method=str(document["delivery_method"]),
        endpoint_url=document.get("endpoint_url"),
        authorization_header=document.get("authorization_header"),
        events_requested=tuple(document.get("events_requested", ())),
        description=document.get("description"),
        status=str(document["status"]),
        reason=document.get("reason"),
        subjects=tuple(document.get("subjects", ())),
        cursor=int(document["cursor"]),
        created_at=document["created_at"],
    )


class MongoSsfStreams:
    def __init__(self, database: AsyncDatabase[Document]) -> None:
        self._collection = database["ssf_streams"]

    @translate_errors
    async def add(self, stream: SsfStream) -> None:
        await self._collection.insert_one(TenantScope(stream.tenant_id).document(_document(stream)))

    @translate_errors
    async def get(self, tenant_id: str, stream_id: str) -> SsfStream | None:
        document = await self._collection.find_one(TenantScope(tenant_id).filter({"_id": stream_id}))
        return _stream(document) if document else None

    @translate_errors
    async def of_tenant(self, tenant_id: str) -> list[SsfStream]:
        return [_stream(d) async for d in self._collection.find(TenantScope(tenant_id).filter()).sort("created_at", 1)]

    @translate_errors
    async def replace(self, stream: SsfStream) -> bool:
        fields = _document(stream)
        for kept in ("_id", TENANT, "cursor", "created_at"):
            del fields[kept]
        result = await self._collection.update_one(
            TenantScope(stream.tenant_id).filter({"_id": stream.stream_id}), {"$set": fields}
        )
        return result.matched_count == 1

    @translate_errors
    async def delete(self, tenant_id: str, stream_id: str) -> bool:
        result = await self._collection.delete_one(TenantScope(tenant_id).filter({"_id": stream_id}))
        return result.deleted_count == 1

    @translate_errors
    async def advance(self, tenant_id: str, stream_id: str, to: int) -> None:
        await self._collection.update_one(
            TenantScope(tenant_id).filter({"_id": stream_id, "cursor": {"$lt": to}}), {"$set": {"cursor": to}}
        )

    @translate_errors
    async def lease(self, tenant_id: str, stream_id: str, *, owner: str, seconds: float) -> bool:
        at = datetime.now(UTC)
        free = [{"lease.owner": owner}, {"lease.until": {"$lt": at}}, {"lease": {"$exists": False}}]
        result = await self._collection.update_one(
            TenantScope(tenant_id).filter({"_id": stream_id, "$or": free}),
            {"$set": {"lease": {"owner": owner, "until": at + timedelta(seconds=seconds)}}},
        )
        return result.matched_count == 1

    @translate_errors
    async def release(self, tenant_id: str, stream_id: str, *, owner: str) -> None:
        await self._collection.update_one(
            TenantScope(tenant_id).filter({"_id": stream_id, "lease.owner": owner}), {"$unset": {"lease": ""}}
        )

    @translate_errors
    async def pushing(self) -> list[SsfStream]:
        cursor = self._collection.find({"delivery_method": PUSH, "status": "enabled"})
        return [_stream(d) async for d in cursor]
