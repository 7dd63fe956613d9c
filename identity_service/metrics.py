"""The service's metrics, in the Prometheus text format (prometheus-client), one registry per app.

Three kinds of source feed them:

- each answered request, as a :class:`~identity_service.request_reports.RequestReport`
  (:meth:`ServiceMetrics.observe`): ``identity_requests_total`` by front end, operation and
  status class, and ``identity_request_duration_seconds``;
- each database command, from :class:`~identity_service.database_metrics.DatabaseMetrics`;
- what other parts keep as plain attributes (cache hits, refusals, queue depths, the event
  loop's lag), read by :meth:`ServiceMetrics.sample`, at every scrape and every few seconds.

Sampling rather than a custom collector: with several worker processes
(``PROMETHEUS_MULTIPROC_DIR`` set, prometheus-client's multiprocess mode) a scrape reaches one
worker, and only values written through the library's own metrics are summed across all of them
from the shared folder. Counted attributes become counters by the amount they grew since the last
sample; the others become gauges (the largest over live workers for lags, the sum for depths).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead

from identity_service.request_reports import RequestReport

__all__ = ["ActivityQueue", "ServiceMetrics", "multiprocess_dir"]

# Request latency: from a cached-token GET (milliseconds) to a large bulk or export page (seconds).
_REQUEST_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
_COMMAND_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0)


def multiprocess_dir() -> str | None:
    """The folder prometheus-client's multiprocess mode shares between workers, when set."""
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


class ActivityQueue(Protocol):
    """What the activity log's recorder shows of its queue (see :meth:`ServiceMetrics.watch_activity`)."""

    @property
    def queue_depth(self) -> int: ...
    @property
    def dropped(self) -> int: ...
    @property
    def write_failures(self) -> int: ...


@dataclass(slots=True)
class _Grown:
    """A counter fed by an attribute that only grows: adds what it grew since the last look."""

    counter: Counter
    read: Callable[[], float]
    seen: float = 0.0

    def sample(self) -> None:
        now = self.read()
        # A smaller value is a new source (a new store's cache, say) counting from zero again.
        grown = now - self.seen if now >= self.seen else now
        if grown > 0:
            self.counter.inc(grown)
        self.seen = now


@dataclass(slots=True)
class _Level:
    gauge: Gauge
    read: Callable[[], float]

    def sample(self) -> None:
        self.gauge.set(self.read())


class ServiceMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        registry = self.registry
        self.requests = Counter(
            "identity_requests",
            "Answered HTTP requests, by front end (scim, graphql, none), operation and status class (2xx...).",
            ["front_end", "operation", "status_class"],
            registry=registry,
        )
        self.request_seconds = Histogram(
            "identity_request_duration_seconds",
            "Time from a request's arrival to its answer being sent, by front end and operation.",
            ["front_end", "operation"],
            buckets=_REQUEST_BUCKETS,
            registry=registry,
        )
        self.database_commands = Counter(
            "identity_database_commands",
            "Database commands sent, by command name and outcome (succeeded, failed).",
            ["command", "outcome"],
            registry=registry,
        )
        self.database_seconds = Histogram(
            "identity_database_command_duration_seconds",
            "Database command latency as the driver measured it, by command name.",
            ["command"],
            buckets=_COMMAND_BUCKETS,
            registry=registry,
        )
        self._cache = Counter(
            "identity_credential_cache_lookups",
            "Lookups of presented secrets in the in-process verified-credential caches, by front end and result.",
            ["front_end", "result"],
            registry=registry,
        )
        self._rate_limited = Counter(
            "identity_rate_limited",
            "Requests refused with 429, by limit (scim_tenant, scim_tenant_in_flight, token_client, token_address).",
            ["limit"],
            registry=registry,
        )
        self._subscriptions = Gauge(
            "identity_graphql_subscriptions",
            "Live GraphQL subscriptions.",
            registry=registry,
            multiprocess_mode="livesum",
        )
        self._feed_lag = Gauge(
            "identity_event_feed_lag_seconds",
            "How long after its commit the newest event read for subscriptions was handed out.",
            registry=registry,
            multiprocess_mode="livemax",
        )
        self._loop_lag = Gauge(
            "identity_event_loop_lag_seconds",
            "How late the event loop last ran a timer: the time some callback held it.",
            registry=registry,
            multiprocess_mode="livemax",
        )
        self._loop_lag_max = Gauge(
            "identity_event_loop_lag_max_seconds",
            "The longest the event loop was held since the process started.",
            registry=registry,
            multiprocess_mode="livemax",
        )
        self._activity_depth = Gauge(
            "identity_activity_queue_depth",
            "Activity records waiting to be written.",
            registry=registry,
            multiprocess_mode="livesum",
        )
        self._activity_dropped = Counter(
            "identity_activity_dropped", "Activity records dropped because the queue was full.", registry=registry
        )
        self._activity_failures = Counter(
            "identity_activity_write_failures",
            "Batches of activity records that could not be written.",
            registry=registry,
        )
        self._rounds = Counter(
            "identity_stamping_rounds",
            "Rounds that numbered pending events (identity_store.mongo.stamps), by outcome: "
            "numbered, or lost to another process's round (run again or given up).",
            ["outcome"],
            registry=registry,
        )
        self._left_behind = Counter(
            "identity_pending_events_left",
            "Tenants whose events, left pending by a process that stopped between commit and "
            "numbering, the sweep numbered.",
            registry=registry,
        )
        self._sources: list[_Grown | _Level] = []
        # The labelled series each request adds to, looked up once per label set (a bounded set:
        # front ends, the front ends' operation names, status classes) rather than at every request.
        self._counted: dict[tuple[str, str, str], Counter] = {}
        self._timed: dict[tuple[str, str], Histogram] = {}

    # --- what the composition root wires ------------------------------------------------------

    def observe(self, report: RequestReport) -> None:
        """The :class:`RequestReport` observer."""
        front_end = str(report.front_end) if report.front_end is not None else "none"
        activity = report.activity
        # Operations are the front ends' own names (a bounded set); never the path, which clients choose.
        operation = activity.operation if activity is not None and activity.operation else "unknown"
        status_class = f"{report.status // 100}xx"
        counted = self._counted.get((front_end, operation, status_class))
        if counted is None:
            counted = self._counted[front_end, operation, status_class] = self.requests.labels(
                front_end, operation, status_class
            )
        timed = self._timed.get((front_end, operation))
        if timed is None:
            timed = self._timed[front_end, operation] = self.request_seconds.labels(front_end, operation)
        counted.inc()
        timed.observe(report.duration_seconds)

    def count(self, counter: Counter, read: Callable[[], float]) -> None:
        self._sources.append(_Grown(counter, read))

    def level(self, gauge: Gauge, read: Callable[[], float]) -> None:
        self._sources.append(_Level(gauge, read))

    def watch_cache(self, front_end: str, hits: Callable[[], int], misses: Callable[[], int]) -> None:
        self.count(self._cache.labels(front_end, "hit"), hits)
        self.count(self._cache.labels(front_end, "miss"), misses)

    def watch_rate_limit(self, limit: str, refused: Callable[[], int]) -> None:
        self.count(self._rate_limited.labels(limit), refused)

    def watch_event_feed(self, subscriptions: Callable[[], int], lag_seconds: Callable[[], float]) -> None:
        self.level(self._subscriptions, subscriptions)
        self.level(self._feed_lag, lag_seconds)

    def watch_loop_lag(self, last_seconds: Callable[[], float], max_seconds: Callable[[], float]) -> None:
        self.level(self._loop_lag, last_seconds)
        self.level(self._loop_lag_max, max_seconds)

    def watch_numbering(self, rounds: Callable[[], int], lost: Callable[[], int], left: Callable[[], int]) -> None:
        """Report the sequencer: its rounds, those that lost, and the sweep's finds."""
        self.count(self._rounds.labels("numbered"), rounds)
        self.count(self._rounds.labels("lost"), lost)
        self.count(self._left_behind, left)

    def watch_activity(self, queue: ActivityQueue) -> None:
        """Report the activity recorder's queue: any object with ``queue_depth``, ``dropped`` and
        ``write_failures``, read at each sample."""
        self.level(self._activity_depth, lambda: queue.queue_depth)
        self.count(self._activity_dropped, lambda: queue.dropped)
        self.count(self._activity_failures, lambda: queue.write_failures)

    # --- sampling and exposition -------------------------------------------------------------

    def sample(self) -> None:
        for source in self._sources:
            source.sample()

    async def sample_every(self, seconds: float) -> None:
        """Sample until cancelled: what keeps a worker's values fresh for a scrape another answers."""
        while True:
            await asyncio.sleep(seconds)
            self.sample()

    def exposition(self) -> tuple[bytes, str]:
        """The text a scrape gets, and its content type: this registry's, or with several workers
        every worker's, summed from the shared folder."""
        self.sample()
        folder = multiprocess_dir()
        if folder is None:
            return generate_latest(self.registry), CONTENT_TYPE_LATEST
        combined = CollectorRegistry()
        # prometheus-client leaves its multiprocess module untyped.
        MultiProcessCollector(combined, path=folder)  # type: ignore[no-untyped-call]
        return generate_latest(combined), CONTENT_TYPE_LATEST

    @staticmethod
    def process_ended() -> None:
        """With several workers, drop this process's live gauges from the shared folder."""
        if multiprocess_dir() is not None:
            mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]  # untyped upstream
