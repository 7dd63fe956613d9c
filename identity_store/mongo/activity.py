"""The activity log on MongoDB: one document per request in ``activity``, one per tenant-hour in
``activity_hours``.

Both expire by a TTL index on ``expires`` (``expireAfterSeconds: 0``), stamped on each document
when it is written, so a changed retention applies to new records without rebuilding the index.

Lists are newest first, in keyset order ``(at, _id)`` descending, and read in time windows
bounded on both sides (the last hour, the last day, the last week, then the rest of the
retention): a page costs what its window holds, not what the tenant's whole log holds, on any
server (SecantusDB reads a whole index range before it applies a limit; an open range would
cost the entire log).

The hourly summary is counted as records are written (``$inc`` per tenant-hour, one upsert per
hour in a batch), with latencies in fixed buckets, so reading a day is 24 small documents
whatever the traffic was.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo import DESCENDING, UpdateOne, WriteConcern
from pymongo.asynchronous.database import AsyncDatabase

from identity_store.activity import (
    ActivityFilter,
    ActivityPage,
    ActivityRecord,
    FrontEnd,
    HourSummary,
    Outcome,
    activity_cursor,
    parse_activity_cursor,
)
from identity_store.mongo.errors import translate_errors
from identity_store.mongo.scope import TENANT, TenantScope

__all__ = ["DURATION_BUCKETS_MS", "MongoActivityLog"]

Document = dict[str, Any]

#: Upper bounds of the latency buckets of the hourly summary, in milliseconds (the last is open).
DURATION_BUCKETS_MS: tuple[float, ...] = (5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000)

# The windows a page is read in, newest first; after the last, one window down to the retention.
_WINDOWS = (timedelta(hours=1), timedelta(days=1), timedelta(days=7))


def _hour(at: datetime) -> datetime:
    return at.replace(minute=0, second=0, microsecond=0)


def _document(record: ActivityRecord, expires: datetime) -> Document:
    return TenantScope(record.tenant_id).document(
        {
            "_id": record.id,
            "at": record.at,
            "expires": expires,
            "frontEnd": record.front_end.value,
            "requestId": record.request_id,
            "traceId": record.trace_id,
            "credential": record.credential_id,
            "credentialName": record.credential_name,
            "address": record.client_address,
            "method": record.method,
            "path": record.path,
            "operation": record.operation,
            "resourceType": record.resource_type,
            "resource": record.resource_id,
            "resourceName": record.resource_name,
            "status": record.status,
            "outcome": record.outcome.value,
            "failed": record.outcome is not Outcome.OK,
            "scimType": record.scim_type,
            "detail": record.detail,
            "ms": record.duration_ms,
            "commands": record.database_commands,
            "changed": list(record.changed),
            "ignored": list(record.ignored),
        }
    )


def _record(document: Document) -> ActivityRecord:
    return ActivityRecord(
        id=document["_id"],
        tenant_id=document[TENANT],
        at=document["at"],
        front_end=FrontEnd(document["frontEnd"]),
        request_id=document["requestId"],
        trace_id=document.get("traceId"),
        credential_id=document.get("credential"),
        credential_name=document.get("credentialName"),
        client_address=document.get("address"),
        method=document["method"],
        path=document["path"],
        operation=document.get("operation"),
        resource_type=document.get("resourceType"),
        resource_id=document.get("resource"),
        resource_name=document.get("resourceName"),
        status=int(document["status"]),
        outcome=Outcome(document["outcome"]),
        scim_type=document.get("scimType"),
        detail=document.get("detail"),
        duration_ms=float(document["ms"]),
        database_commands=int(document["commands"]),
        changed=tuple(document.get("changed", ())),
        ignored=tuple(document.get("ignored", ())),
    )


def _conditions(where: ActivityFilter) -> Document:
    condition: Document = {}
    if where.outcome is not None:
        condition["outcome"] = where.outcome.value
    if where.failed:
        condition["failed"] = True
    if where.status is not None:
        condition["status"] = where.status
    if where.operation is not None:
        condition["operation"] = where.operation
    if where.resource_id is not None:
        condition["resource"] = where.resource_id
    if where.credential_id is not None:
        condition["credential"] = where.credential_id
    return condition


class MongoActivityLog:
    """:class:`~identity_store.activity.ActivityLog` on MongoDB."""

    def __init__(self, database: AsyncDatabase[Document], *, retention: timedelta = timedelta(days=30)) -> None:
        # A log, not the identity data: acknowledged by the primary alone, unjournaled, so its
        # writes do not wait for the replicas' and the journal's flushes the requests wait for.
        logged = WriteConcern(w=1, j=False)
        self._records = database.get_collection("activity", write_concern=logged)
        self._hours = database.get_collection("activity_hours", write_concern=logged)
        self._retention = retention

    @translate_errors
    async def append(self, records: Sequence[ActivityRecord]) -> None:
        if not records:
            return
        expires = datetime.now(UTC) + self._retention
        # Unordered: one bad document must not keep the rest of the batch out.
        await self._records.insert_many([_document(r, expires) for r in records], ordered=False)
        await self._hours.bulk_write(self._hour_updates(records, expires), ordered=False)

    def _hour_updates(self, records: Sequence[ActivityRecord], expires: datetime) -> list[UpdateOne]:
        counts: dict[tuple[str, datetime], Document] = {}
        last_ok: dict[tuple[str, datetime], datetime] = {}
        for record in records:
            key = (record.tenant_id, _hour(record.at))
            inc = counts.setdefault(key, {})
            inc["requests"] = inc.get("requests", 0) + 1
            bucket = f"buckets.{bisect.bisect_left(DURATION_BUCKETS_MS, record.duration_ms)}"
            inc[bucket] = inc.get(bucket, 0) + 1
            if record.outcome is Outcome.OK:
                last_ok[key] = max(last_ok.get(key, record.at), record.at)
            else:
                inc["failures"] = inc.get("failures", 0) + 1
                if record.outcome is Outcome.UNAUTHORIZED:
                    inc["unauthorized"] = inc.get("unauthorized", 0) + 1
                # Field names may not hold dots or start with "$"; scimType values never do.
                kind = f"byScimType.{(record.scim_type or '-').replace('.', '_').lstrip('$')}"
                inc[kind] = inc.get(kind, 0) + 1
        updates = []
        for (tenant_id, hour), inc in counts.items():
            update: Document = {
                "$inc": inc,
                "$set": {"expires": expires},
                "$setOnInsert": {TENANT: tenant_id, "hour": hour},
            }
            if (tenant_id, hour) in last_ok:
                update["$max"] = {"lastOk": last_ok[tenant_id, hour]}
            updates.append(UpdateOne({"_id": f"{tenant_id}:{hour.isoformat()}"}, update, upsert=True))
        return updates

    @translate_errors
    async def find(
        self, tenant_id: str, where: ActivityFilter, *, first: int, after: str | None = None
    ) -> ActivityPage:
        scope = TenantScope(tenant_id)
        now = datetime.now(UTC)
        upper = min(where.until or now, now + timedelta(minutes=1))
        floor = max(where.since or now - self._retention, now - self._retention - timedelta(days=1))
        position = parse_activity_cursor(after) if after is not None else None
        if position is not None:
            upper = min(upper, position[0] + timedelta(milliseconds=1))
        condition = _conditions(where)
        found: list[ActivityRecord] = []
        high = upper
        for width in (*_WINDOWS, None):
            if high <= floor or len(found) > first:
                break
            low = floor if width is None else max(floor, upper - width)
            if low >= high:
                continue
            window: Document = {**condition, "at": {"$gte": low, "$lt": high}}
            if position is not None:
                at, record_id = position
                window["$or"] = [{"at": {"$lt": at}}, {"at": at, "_id": {"$lt": record_id}}]
            cursor = (
                self._records.find(scope.filter(window))
                .sort([("at", DESCENDING), ("_id", DESCENDING)])
                .limit(first + 1 - len(found))
            )
            found.extend([_record(d) async for d in cursor])
            high = low
        page = found[:first]
        return ActivityPage(page, activity_cursor(page[-1]) if len(found) > first and page else None)

    @translate_errors
    async def get(self, tenant_id: str, record_id: str) -> ActivityRecord | None:
        document = await self._records.find_one(TenantScope(tenant_id).filter({"_id": record_id}))
        return _record(document) if document is not None else None

    @translate_errors
    async def summary(self, tenant_id: str, since: datetime, until: datetime) -> list[HourSummary]:
        scope = TenantScope(tenant_id)
        cursor = self._hours.find(scope.filter({"hour": {"$gte": _hour(since), "$lt": until}})).sort("hour", 1)
        return [_summary(d) async for d in cursor]


def _summary(document: Document) -> HourSummary:
    buckets = document.get("buckets", {})
    counts = [int(buckets.get(str(i), 0)) for i in range(len(DURATION_BUCKETS_MS) + 1)]
    return HourSummary(
        hour=document["hour"],
        requests=int(document.get("requests", 0)),
        failures=int(document.get("failures", 0)),
        unauthorized=int(document.get("unauthorized", 0)),
        failures_by_scim_type={("" if k == "-" else k): int(v) for k, v in document.get("byScimType", {}).items()},
        p95_duration_ms=_percentile(counts, 0.95),
        last_ok=document.get("lastOk"),
    )


def _percentile(counts: list[int], fraction: float) -> float:
    """The bucket bound under which ``fraction`` of the durations fall (the last bound for the open bucket)."""
    total = sum(counts)
    if total == 0:
        return 0.0
    wanted = fraction * total
    seen = 0
    for index, count in enumerate(counts):
        seen += count
        if seen >= wanted:
            return DURATION_BUCKETS_MS[min(index, len(DURATION_BUCKETS_MS) - 1)]
    return DURATION_BUCKETS_MS[-1]
