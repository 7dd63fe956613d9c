"""The service as one ASGI app: both facades and the token endpoint over one store and one bus.

:func:`create_app` is the composition of everything: the database opens in the lifespan
(:mod:`identity_service.database`), the indexes are prepared behind the readiness gate
(:mod:`identity_service.readiness`), and the SCIM and GraphQL front ends share one command bus
(:func:`identity_store.bootstrap.bootstrap`), so both send the same commands to the same handlers.
The command line (:mod:`identity_service.cli`) builds on this module, never the reverse.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import timedelta

import httpx
from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Mount, Route

from admin_console import ConsoleSettings, admin_console, random_session_key
from graphql_api import GraphQLSettings, Scope, graphql_routes
from graphql_api.event_feed import EventFeed
from identity_service.activity_recorder import ActivityRecorder
from identity_service.concurrency import ConcurrencyLimit
from identity_service.database import connect_store, open_database
from identity_service.database_metrics import DatabaseMetrics
from identity_service.loop_lag import LoopLag
from identity_service.metrics import ServiceMetrics
from identity_service.metrics_endpoint import metrics_route
from identity_service.rate_sharing import share_rate_limit
from identity_service.readiness import Readiness, ReadinessGate, prepare, readiness_report
from identity_service.request_log import log_request
from identity_service.request_reports import Observer, RequestCommands, RequestReports
from identity_service.settings import Settings
from identity_service.signing_key import signing_key
from identity_service.tracing import UNTRACED_PATHS, Tracing, tracing_from_environment
from identity_service.version import __version__
from identity_service.webhook_policy import webhook_policy
from identity_store import CommandBus, InvalidValue
from identity_store.activity import ActivityLog
from identity_store.bootstrap import BusOf, bootstrap
from identity_store.domain.credentials import CacheCounts
from identity_store.domain.filters import Filter
from identity_store.domain.schema import ResourceSchema
from identity_store.mongo import CommandListener, MongoStore
from identity_store.mongo.activity import MongoActivityLog
from identity_store.mongo.leases import MongoLease
from identity_store.mongo.ssf_streams import MongoSsfStreams
from identity_store.mongo.webhooks import MongoWebhooks
from identity_store.purge_job import PurgeJob
from outbound.webhooks import AddressPolicy, Backoff, DeliverySettings, WebhookWorker
from outbound.webhooks.pinning import pinned_client
from scim_facade import (
    AccessTokens,
    ClientAssertions,
    EntraTokens,
    KeySet,
    KeySets,
    ScimCounts,
    ScimSettings,
    TokenThrottle,
    TokenThrottleSettings,
    scim_mount,
    token_route,
)
from scim_facade.errors import ScimError
from scim_facade.filters import compile_filter
from scim_facade.limits import RateLimiter
from ssf_transmitter import SSF_MANAGE_SCOPE, Backoff as SsfBackoff, Pusher, SetSigner, Transmitter

__all__ = ["create_app"]

log = logging.getLogger("identity_service")

# How often each process writes what it keeps as plain attributes into its metrics, so that with
# several workers a scrape answered by one shows the others' values at most this old.
_SAMPLE_SECONDS = 5.0


def create_app(
    settings: Settings | None = None,
    *,
    command_listeners: Sequence[CommandListener] = (),
    attach_database: bool = False,
) -> Starlette:
    """The service as an ASGI app. ``command_listeners`` watch its database commands (benchmarks).

    ``attach_database``: a worker of ``serve --workers``, whose embedded database the parent
    process runs; the worker finds it through the data folder and never starts one itself.
    """
    settings = settings or Settings()
    loop_lag = LoopLag()
    # One command bus per store, shared by both front ends (the store opens in the lifespan).
    # A tenant's extension schemas are kept as long as a verified token is: a change made on
    # another instance is in force here within the same bound as a revocation.
    bus_of = BusOf(webhook_urls=webhook_policy(settings).rules, schema_cache_seconds=settings.scim_token_cache_seconds)

    readiness = Readiness()
    request_commands = RequestCommands()
    metrics = ServiceMetrics()
    database_metrics = DatabaseMetrics(metrics)
    tracing = tracing_from_environment()
    # What watches the commands of every client the process opens (the requests', the workers',
    # the activity log's): the metrics, and the traces when they are on.
    watching_commands: list[CommandListener] = [database_metrics]
    if tracing is not None:
        watching_commands.append(tracing.commands)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        watching = asyncio.create_task(loop_lag.watch())
        sampling = asyncio.create_task(metrics.sample_every(_SAMPLE_SECONDS))
        async with open_database(settings, attach=attach_database) as database:
            store = connect_store(settings, database.uri, [request_commands, *watching_commands, *command_listeners])
            app.state.store = store
            app.state.database = database
            readiness.begin()
            preparing = asyncio.create_task(prepare(store, readiness))
            # The gate keeps requests out until the indexes exist, so this wait is only so that
            # a normal start opens its port ready. A database that does not answer, or another
            # instance's migrations, open it at once: /readyz then says what is awaited.
            settled = asyncio.create_task(readiness.settled())
            await asyncio.wait({preparing, settled}, timeout=10, return_when=asyncio.FIRST_COMPLETED)
            settled.cancel()
            # Shared Signals push: one loop per process, following the push streams' cursors.
            pushing = asyncio.create_task(pusher.run()) if pusher is not None else None
            # The webhook worker has its own client: its polls are not the requests' database
            # commands (which ``command_listeners`` count), and its pool does not compete with theirs.
            worker_store = (
                connect_store(settings, database.uri, watching_commands) if settings.webhook_delivery else None
            )
            delivering = _start_webhooks(settings, worker_store) if worker_store is not None else None
            # The activity log writes through its own client too, for the same two reasons.
            # Reading the log is a request's work, counted as its commands; writing it is not (the
            # recorder's task has no request).
            activity_store = (
                connect_store(settings, database.uri, [request_commands, *watching_commands])
                if settings.activity_log
                else None
            )
            if activity_store is not None:
                app.state.activity_log = MongoActivityLog(
                    activity_store.database, retention=timedelta(days=settings.activity_retention_days)
                )
            recording = asyncio.create_task(recorder.run()) if activity_store is not None else None
            sharing = (
                asyncio.create_task(share_rate_limit(scim_limiter, store.request_tallies, exchange_seconds))
                if settings.scim_rate_limit_per_second > 0 and exchange_seconds > 0
                else None
            )
            # The purge job has its own client too (its commands are not a request's); it starts
            # once the indexes exist, and only the instance holding its lease purges.
            purge_store = connect_store(settings, database.uri, watching_commands) if settings.purge_job else None
            purging = (
                asyncio.create_task(_purge_deleted(settings, purge_store, preparing))
                if purge_store is not None
                else None
            )
            # Events a stopped process committed but did not number yet (identity_store.mongo.stamps).
            sweeping = asyncio.create_task(_sweep_pending(store, preparing))
            try:
                yield
            finally:
                for task in (pushing, delivering, recording, sharing, purging, sweeping):
                    if task is not None:
                        await _stop(task)
                if worker_store is not None:
                    await _close(worker_store)
                if activity_store is not None:
                    await _close(activity_store)
                if purge_store is not None:
                    await _close(purge_store)
                await ssf_client.aclose()
                preparing.cancel()
                watching.cancel()
                sampling.cancel()
                await _close(store)
                metrics.process_ended()
                if tracing is not None:
                    # Sends the spans still buffered; blocking (HTTP), and bounded by the exporter's timeout.
                    await asyncio.to_thread(tracing.shutdown)

    async def healthz(request: Request) -> JSONResponse:
        """The process is alive (no dependency is checked), which version it runs, and how long its
        event loop was held."""
        return JSONResponse({"status": "ok", "version": __version__, "eventLoopLag": loop_lag.report()})

    async def readyz(request: Request) -> JSONResponse:
        """Ready when the indexes and migrations are in place and the database answers; else why not."""
        return await readiness_report(readiness, request.app.state.database, request.app.state.store)

    key = signing_key(settings)
    access_tokens = AccessTokens(key, issuer=settings.oauth_issuer, audience=settings.oauth_audience) if key else None
    entra_keys = KeySet(
        settings.entra_jwks_url,
        min_refetch_seconds=settings.entra_jwks_refetch_seconds,
        timeout_seconds=settings.oauth_jwks_timeout_seconds,
    )
    assertions = ClientAssertions(
        KeySets(
            min_refetch_seconds=settings.entra_jwks_refetch_seconds, timeout_seconds=settings.oauth_jwks_timeout_seconds
        )
    )
    token_throttle = TokenThrottle(
        TokenThrottleSettings(
            per_client_per_second=settings.oauth_rate_limit_per_client_per_second,
            per_client_burst=settings.oauth_rate_limit_per_client_burst,
            per_address_per_second=settings.oauth_rate_limit_per_address_per_second,
            per_address_burst=settings.oauth_rate_limit_per_address_burst,
            failure_cost=settings.oauth_failure_cost,
            trust_forwarded=settings.trust_forwarded,
        )
    )
    scim = ScimSettings(
        max_results=settings.scim_max_results,
        max_payload_size=settings.scim_max_payload_size,
        token_cache_seconds=settings.scim_token_cache_seconds,
        trust_forwarded=settings.trust_forwarded,
        cursor_timeout_seconds=settings.scim_cursor_timeout_seconds,
        rate_limit_per_second=settings.scim_rate_limit_per_second,
        rate_limit_burst=settings.scim_rate_limit_burst,
        tenant_max_in_flight=settings.scim_tenant_max_in_flight,
        tenant_max_waiting=settings.scim_tenant_max_waiting,
        tenant_wait_seconds=settings.scim_tenant_wait_seconds,
        cursor_key=settings.scim_cursor_secret.encode() if settings.scim_cursor_secret else None,
        access_tokens=access_tokens,
        entra_tokens=EntraTokens(entra_keys),
    )
    graphql = GraphQLSettings(
        graphiql=settings.graphiql,
        allowed_origins=tuple(settings.graphql_allowed_origins),
        api_key_cache_seconds=settings.graphql_api_key_cache_seconds,
        max_query_nodes=settings.graphql_max_nodes,
        scim_filter=_scim_filter,
        activity_log=lambda: getattr(app.state, "activity_log", None),
    )
    # The tenants' SCIM rate limit, shared with the other instances by the lifespan's loop.
    scim_limiter = RateLimiter(settings.scim_rate_limit_per_second, settings.scim_rate_limit_burst, shared=True)
    exchange_seconds = settings.scim_rate_limit_exchange_seconds
    # What the metrics read from the parts that keep counts (see identity_service.metrics).
    scim_counts = ScimCounts()
    api_key_cache = CacheCounts()
    event_feed = EventFeed(interval=graphql.event_poll_interval)
    metrics.watch_cache("scim", lambda: scim_counts.token_cache.hits, lambda: scim_counts.token_cache.misses)
    metrics.watch_cache("graphql", lambda: api_key_cache.hits, lambda: api_key_cache.misses)
    metrics.watch_rate_limit("scim_tenant", lambda: scim_counts.rate_limited)
    metrics.watch_rate_limit("scim_tenant_in_flight", lambda: scim_counts.over_in_flight)
    metrics.watch_rate_limit("token_client", lambda: token_throttle.refused_by_client)
    metrics.watch_rate_limit("token_address", lambda: token_throttle.refused_by_address)
    metrics.watch_event_feed(lambda: event_feed.subscriptions, lambda: event_feed.lag_seconds)
    metrics.watch_loop_lag(lambda: loop_lag.last_seconds, lambda: loop_lag.max_seconds)

    def serving_store() -> MongoStore | None:
        """The requests' store, once the lifespan has connected it."""
        return getattr(app.state, "store", None)

    metrics.watch_numbering(
        lambda: store.stamper.rounds if (store := serving_store()) else 0,
        lambda: store.stamper.lost if (store := serving_store()) else 0,
        lambda: store.left_behind if (store := serving_store()) else 0,
    )
    # Who hears of each answered request (see identity_service.request_reports).
    recorder = ActivityRecorder(lambda: getattr(app.state, "activity_log", None), capacity=settings.activity_queue_size)
    observers: list[Observer] = [log_request, metrics.observe]
    if settings.activity_log:
        observers.append(recorder.observe)
        metrics.watch_activity(recorder)
    transmitter, pusher, ssf_client = _shared_signals(
        settings, key, lambda: app.state.store, lambda: bus_of(app.state.store)
    )
    app = Starlette(
        routes=[
            *(transmitter.routes() if transmitter is not None else []),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            metrics_route(metrics, token=settings.metrics_token),
            scim_mount(
                lambda: app.state.store, lambda: bus_of(app.state.store), scim, counts=scim_counts, limiter=scim_limiter
            ),
            token_route(lambda: app.state.store, access_tokens, assertions, throttle=token_throttle),
            *graphql_routes(
                lambda: app.state.store,
                graphql,
                lambda: bus_of(app.state.store),
                event_feed=event_feed,
                api_key_cache=api_key_cache,
            ),
            *_console(
                settings,
                lambda: app.state.store,
                lambda: bus_of(app.state.store),
                lambda: getattr(app.state, "activity_log", None),
            ),
        ],
        middleware=[
            *_traced(tracing),
            # Outermost but for the trace's server span: every request is reported, the
            # refused-when-busy and not-ready ones too.
            Middleware(RequestReports, observers=observers, trust_forwarded=settings.trust_forwarded),
            Middleware(ConcurrencyLimit, limit=settings.max_concurrent_requests),
            Middleware(ReadinessGate, readiness=readiness),
        ],
        lifespan=lifespan,
    )
    app.state.metrics = metrics
    app.state.tracing = tracing
    return app


def _traced(tracing: Tracing | None) -> list[Middleware]:
    """The ASGI instrumentation, outermost, so the request's server span is current for all the
    rest (its trace id reaches the RequestReport); none when tracing is off."""
    if tracing is None:
        return []
    return [
        Middleware(
            OpenTelemetryMiddleware,
            tracer_provider=tracing.provider,
            excluded_urls=UNTRACED_PATHS,
            # A span per ASGI message received or sent would double the spans and say nothing new.
            exclude_spans=["receive", "send"],
        )
    ]


def _console(
    settings: Settings,
    store: Callable[[], MongoStore],
    bus: Callable[[], CommandBus],
    activity_log: Callable[[], ActivityLog | None],
) -> list[BaseRoute]:
    """The admin console at /admin, when enabled."""
    if not settings.console_enabled:
        return []
    secret = settings.console_session_secret
    console = ConsoleSettings(
        session_key=secret.encode() if secret else random_session_key(),
        session_seconds=settings.console_session_minutes * 60,
        trust_forwarded=settings.trust_forwarded,
        lockout_failures=settings.console_lockout_failures,
        lockout_seconds=settings.console_lockout_minutes * 60,
        api_key_scopes=(*(s.value for s in Scope), SSF_MANAGE_SCOPE),
    )
    return [Mount("/admin", admin_console(store, bus, activity_log, console))]


def _shared_signals(
    settings: Settings, key: bytes | None, store: Callable[[], MongoStore], bus: Callable[[], CommandBus]
) -> tuple[Transmitter | None, Pusher | None, httpx.AsyncClient]:
    """The SSF transmitter and its push loop, when enabled and a signing key exists to sign SETs."""
    # Pinned, as the webhooks' client: pushes connect only to the addresses checked for them.
    client = pinned_client(timeout=settings.ssf_push_timeout_seconds)
    if not settings.ssf_enabled or key is None:
        return None, None, client
    signer = SetSigner(key, issuer=settings.ssf_issuer or settings.oauth_issuer)
    streams: dict[int, MongoSsfStreams] = {}

    def streams_of() -> MongoSsfStreams:
        # One adapter per open store (the store opens in the lifespan).
        current = store()
        return streams.setdefault(id(current), MongoSsfStreams(current.database))

    transmitter = Transmitter(
        store,
        bus,
        streams_of,
        signer,
        base_url=settings.ssf_base_url,
        allow_insecure_push=settings.ssf_allow_insecure_push,
        allow_private_push=settings.ssf_allow_private_push,
    )
    # Full jitter, unlike the webhooks' equal jitter: see ssf_transmitter.backoff.
    backoff = SsfBackoff(
        base=timedelta(seconds=settings.ssf_retry_base_seconds),
        maximum=timedelta(seconds=settings.ssf_retry_max_seconds),
        give_up=timedelta(seconds=settings.ssf_disable_after_seconds),
    )
    pusher = Pusher(
        streams_of,
        store,
        bus,
        signer,
        client,
        interval=settings.ssf_push_interval_seconds,
        backoff=backoff,
        policy=AddressPolicy(
            allow_http=settings.ssf_allow_insecure_push, allow_private=settings.ssf_allow_private_push
        ),
    )
    return transmitter, pusher, client


async def _stop(task: asyncio.Task[None], seconds: float = 5.0) -> None:
    """Cancel a background task and wait for it, at most ``seconds``: a shutdown must end.

    The cancellation is repeated every tenth of a second, because one can be lost: the webhook
    worker was seen polling on after it, now and then, until the wait ran out (five seconds added
    to a stop); Python 3.11's ``asyncio.wait_for``, which the driver uses, can swallow a
    cancellation that races with the completion of what it waits for.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not task.done() and loop.time() < deadline:
        task.cancel()
        await asyncio.wait({task}, timeout=min(0.1, max(deadline - loop.time(), 0)))
    if task.done() and not task.cancelled() and task.exception() is not None:
        log.warning("a background task ended with %r while stopping", task.exception())


async def _close(store: MongoStore) -> None:
    """Close a store's client, waiting at most a few seconds: a shutdown must end."""
    try:
        await asyncio.wait_for(store.close(), timeout=10)
    except TimeoutError:
        log.warning("the database client did not close within 10 s; leaving it")


async def _purge_deleted(settings: Settings, store: MongoStore, preparing: asyncio.Task[None]) -> None:
    """The purge job of deleted users and groups, once the store is prepared."""
    await asyncio.wait({preparing})
    job = PurgeJob(
        store=store,
        bus=bootstrap(store, webhook_urls=webhook_policy(settings).rules),
        lease=MongoLease(store.database["leases"], "purge"),
        retention=timedelta(days=settings.deleted_retention_days),
        interval_seconds=settings.purge_interval_seconds,
        lease_seconds=settings.purge_lease_seconds,
    )
    await job.run()


async def _sweep_pending(store: MongoStore, preparing: asyncio.Task[None]) -> None:
    """Number what other processes left pending, once the store is prepared, and every few seconds."""
    await asyncio.wait({preparing})
    await store.sweep_pending()


def _start_webhooks(settings: Settings, store: MongoStore) -> asyncio.Task[None]:
    """The webhook delivery worker, as a task of the lifespan."""
    worker = WebhookWorker(
        store,
        MongoWebhooks(store.database),
        DeliverySettings(
            poll_seconds=settings.webhook_poll_seconds,
            lease_seconds=settings.webhook_lease_seconds,
            timeout_seconds=settings.webhook_timeout_seconds,
            max_concurrency=settings.webhook_max_concurrency,
            dead_after_seconds=settings.webhook_dead_after_seconds,
            backoff=Backoff(
                base_seconds=settings.webhook_backoff_base_seconds, max_seconds=settings.webhook_backoff_max_seconds
            ),
            policy=webhook_policy(settings),
        ),
    )
    return asyncio.create_task(worker.run())


def _scim_filter(text: str, schema: ResourceSchema) -> Filter:
    """SCIM's filter translator, for GraphQL's ``scimFilter``: a refused filter (SCIM's 400
    ``invalidFilter``) becomes the domain's InvalidValue, which the GraphQL API renders itself."""
    try:
        return compile_filter(text, schema)
    except ScimError as error:
        raise InvalidValue(error.detail, attribute="scimFilter") from None
