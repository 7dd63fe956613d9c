"""Writing the activity log off the request path, in batches, within a bounded queue.

:meth:`ActivityRecorder.observe` is a request observer (:mod:`identity_service.request_reports`):
it turns the report of a tenant's SCIM or GraphQL request into an
:class:`~identity_store.activity.ActivityRecord` and queues it, which costs microseconds and no
I/O. :meth:`run` writes what is queued every ``interval`` seconds, or as soon as a batch is full.

A log must never fail or slow the requests it records, so it gives way: past ``capacity`` queued
records new ones are dropped (and counted), and a write that fails is counted, logged (at most
once a minute) and its batch dropped; the next batch is tried as usual. What is counted is shown
by ``/metrics`` (``queue_depth``, ``dropped``, ``write_failures``).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime

from identity_service.request_reports import RequestReport
from identity_store.activity import ActivityLog, ActivityRecord, new_record_id, outcome_of

__all__ = ["ActivityRecorder"]

log = logging.getLogger("identity_service.activity")

_WARN_EVERY_SECONDS = 60.0


class ActivityRecorder:
    def __init__(
        self,
        activity_log: Callable[[], ActivityLog | None],
        *,
        capacity: int = 10_000,
        batch_size: int = 500,
        interval: float = 0.5,
        write_timeout: float = 10.0,
    ) -> None:
        self._log = activity_log
        self._queue: collections.deque[ActivityRecord] = collections.deque()
        self._capacity = capacity
        self._batch_size = batch_size
        self._interval = interval
        self._write_timeout = write_timeout
        self._full = asyncio.Event()
        self._warned_at = float("-inf")
        self.dropped = 0
        self.write_failures = 0
        self.written = 0

    @property
    def queue_depth(self) -> int:
        return len(self._queue)

    def observe(self, report: RequestReport) -> None:
        activity = report.activity
        if activity is None or activity.tenant_id is None or not activity.recorded:
            return  # nobody was identified (not any tenant's activity), or a GraphQL query
        if len(self._queue) >= self._capacity:
            self.dropped += 1
            return
        status = report.status
        self._queue.append(
            ActivityRecord(
                id=new_record_id(),
                tenant_id=activity.tenant_id,
                # Milliseconds, as the database keeps them, so a cursor names a record exactly.
                at=_now_ms(),
                front_end=activity.front_end,
                request_id=activity.request_id,
                trace_id=getattr(report, "trace_id", None),
                credential_id=activity.credential_id,
                credential_name=activity.credential_name,
                client_address=report.client_address,
                method=report.method,
                path=report.path[:2048],
                operation=activity.operation,
                resource_type=activity.resource_type,
                resource_id=activity.resource_id,
                resource_name=activity.resource_name,
                status=status,
                outcome=activity.outcome if activity.outcome is not None and status < 400 else outcome_of(status),
                scim_type=activity.scim_type,
                detail=activity.detail[:1024] if activity.detail else activity.detail,
                duration_ms=round(report.duration_seconds * 1000, 2),
                database_commands=report.database_commands,
                changed=tuple(activity.changed),
                ignored=tuple(activity.ignored),
            )
        )
        if len(self._queue) >= self._batch_size:
            self._full.set()

    async def run(self) -> None:
        """Write batches until cancelled; on cancellation, one last flush of what is queued."""
        try:
            while True:
                with contextlib.suppress(TimeoutError):  # the interval is up: write what there is
                    await asyncio.wait_for(self._full.wait(), timeout=self._interval)
                self._full.clear()
                await self._flush_unbroken()
        except asyncio.CancelledError:
            await self._flush_unbroken()
            raise

    async def _flush_unbroken(self) -> None:
        """:meth:`flush` to its end, then any cancellation that came meanwhile. A stop repeats its
        cancellation (identity_service.app, ``_stop``): cut in the middle of a write, a flush
        would lose the batch it had taken from the queue, and the last flush all but its first
        batch. Each batch's write is bounded by the write timeout, and the stop by its own bound."""
        flushing = asyncio.ensure_future(self.flush())
        cancelled = False
        while not flushing.done():
            try:
                await asyncio.shield(flushing)
            except asyncio.CancelledError:
                cancelled = True
        if cancelled:
            raise asyncio.CancelledError

    async def flush(self) -> None:
        """Write everything queued now, batch by batch."""
        while self._queue:
            activity_log = self._log()
            if activity_log is None:
                return
            batch = [self._queue.popleft() for _ in range(min(self._batch_size, len(self._queue)))]
            try:
                await asyncio.wait_for(activity_log.append(batch), timeout=self._write_timeout)
                self.written += len(batch)
            except Exception as error:  # a log write must never take the service down
                self.write_failures += 1
                self.dropped += len(batch)
                now = time.monotonic()
                if now - self._warned_at >= _WARN_EVERY_SECONDS:
                    self._warned_at = now
                    log.warning("could not write %d activity records: %s", len(batch), error or type(error).__name__)
                return


def _now_ms() -> datetime:
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)
