"""Shared Signals streams on MongoDB: one document per stream, in the ``ssf_streams`` collection.

Every query of one tenant goes through its :class:`~identity_store.mongo.scope.TenantScope`, as
the other collections' do; only the push loop's walk over every tenant's push streams does not.
:class:`MongoTenantSsfStreams` is the commands' side, in a transaction's session;
:class:`MongoSsfStreams` is delivery's (cursors, leases, failures, verifications).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo import ReturnDocument
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase

from identity_store.domain.errors import NotFound
from identity_store.mongo.errors import translate_errors
from identity_store.mongo.event_log import MongoEventLog
from identity_store.mongo.scope import TENANT, TenantScope
from identity_store.ssf_streams import PUSH, SsfFailure, SsfStream, SsfVerification

__all__ = ["MongoSsfStreams", "MongoTenantSsfStreams"]

Document = dict[str, Any]

#: How many verification events a stream remembers: the pending ones and the latest answered.
_VERIFICATIONS_KEPT = 10


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


def _failure(document: Mapping[str, Any] | None) -> SsfFailure | None:
    if not document:
        return None
    return SsfFailure(
        count=int(document["count"]),
        first_at=_utc(document["first_at"]),
        last_error=str(document["last_error"]),
        next_attempt_at=_utc(document["next_attempt_at"]),
    )


def _verification(document: Mapping[str, Any]) -> SsfVerification:
    delivered = document.get("delivered_at")
    return SsfVerification(
        jti=str(document["jti"]),
        state=document.get("state"),
        requested_at=_utc(document["requested_at"]),
        delivered_at=_utc(delivered) if delivered is not None else None,
    )


def _utc(at: datetime) -> datetime:
    # The driver hands back naive datetimes (UTC) unless the client is tz-aware.
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


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
        failure=_failure(document.get("failure")),
        verifications=tuple(_verification(v) for v in document.get("verifications", ())),
    )


class MongoTenantSsfStreams:
    """One tenant's streams in one transaction's session (:class:`~identity_store.ports.Transaction`)."""

    def __init__(self, database: AsyncDatabase[Document], scope: TenantScope, session: AsyncClientSession) -> None:
        self._collection = database["ssf_streams"]
        self._events = database["events"]
        self._scope = scope
        self._session = session

    async def get(self, stream_id: str) -> SsfStream:
        document = await self._collection.find_one(self._scope.filter({"_id": stream_id}), session=self._session)
        if document is None:
            raise NotFound(f"stream {stream_id} not found")
        return _stream(document)

    async def add(self, stream: SsfStream) -> None:
        await self._collection.insert_one(self._scope.document(_document(stream)), session=self._session)

    async def replace(self, stream: SsfStream) -> None:
        fields = _document(stream)
        for kept in ("_id", TENANT, "cursor", "created_at"):
            del fields[kept]
        result = await self._collection.update_one(
            self._scope.filter({"_id": stream.stream_id}), {"$set": fields}, session=self._session
        )
        if result.matched_count != 1:
            raise NotFound(f"stream {stream.stream_id} not found")

    async def delete(self, stream_id: str) -> None:
        result = await self._collection.delete_one(self._scope.filter({"_id": stream_id}), session=self._session)
        if result.deleted_count != 1:
            raise NotFound(f"stream {stream_id} not found")

    async def skip_to_end(self, stream_id: str) -> int:
        end = await MongoEventLog(self._events, self._scope, self._session).last_sequence()
        await self._collection.update_one(
            self._scope.filter({"_id": stream_id}), {"$max": {"cursor": end}}, session=self._session
        )
        return end

    async def recovered(self, stream_id: str) -> None:
        await self._collection.update_one(
            self._scope.filter({"_id": stream_id}), {"$unset": {"failure": ""}}, session=self._session
        )


class MongoSsfStreams:
    def __init__(self, database: AsyncDatabase[Document]) -> None:
        self._collection = database["ssf_streams"]

    @translate_errors
    async def get(self, tenant_id: str, stream_id: str) -> SsfStream | None:
        document = await self._collection.find_one(TenantScope(tenant_id).filter({"_id": stream_id}))
        return _stream(document) if document else None

    @translate_errors
    async def of_tenant(self, tenant_id: str) -> list[SsfStream]:
        return [_stream(d) async for d in self._collection.find(TenantScope(tenant_id).filter()).sort("created_at", 1)]

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
    async def failed(
        self, tenant_id: str, stream_id: str, *, error: str, at: datetime, next_attempt_at: datetime
    ) -> SsfFailure | None:
        document = await self._collection.find_one_and_update(
            TenantScope(tenant_id).filter({"_id": stream_id}),
            {
                "$inc": {"failure.count": 1},
                # $min: the first failure's time stays, whichever instance counts the next one.
                "$min": {"failure.first_at": at},
                "$set": {"failure.last_error": error[:500], "failure.next_attempt_at": next_attempt_at},
            },
            projection={"failure": 1},
            return_document=ReturnDocument.AFTER,
        )
        return _failure(document.get("failure")) if document else None

    @translate_errors
    async def recovered(self, tenant_id: str, stream_id: str) -> None:
        await self._collection.update_one(
            TenantScope(tenant_id).filter({"_id": stream_id, "failure": {"$exists": True}}), {"$unset": {"failure": ""}}
        )

    @translate_errors
    async def request_verification(self, tenant_id: str, stream_id: str, verification: SsfVerification) -> bool:
        entry = {"jti": verification.jti, "state": verification.state, "requested_at": verification.requested_at}
        result = await self._collection.update_one(
            TenantScope(tenant_id).filter({"_id": stream_id}),
            {"$push": {"verifications": {"$each": [entry], "$slice": -_VERIFICATIONS_KEPT}}},
        )
        return result.matched_count == 1

    @translate_errors
    async def verification_delivered(self, tenant_id: str, stream_id: str, jti: str, *, at: datetime) -> None:
        await self._collection.update_one(
            TenantScope(tenant_id).filter({"_id": stream_id}),
            {"$set": {"verifications.$[v].delivered_at": at}},
            array_filters=[{"v.jti": jti, "v.delivered_at": {"$exists": False}}],
        )

    @translate_errors
    async def pushing(self) -> list[SsfStream]:
        cursor = self._collection.find({"delivery_method": PUSH, "status": "enabled"})
        return [_stream(d) async for d in cursor]
