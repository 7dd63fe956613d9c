"""Webhooks: commit-to-delivery latency with a local receiver, and the catch-up rate after an outage.

The service runs in its own process (``benchmarks/service.py``) with its delivery worker; the
receiver is a uvicorn app on loopback in this process. Latency: ``--events`` SCIM user creates,
one at a time, each timed from its 201 (the commit acknowledged) to the arrival of its webhook at
the receiver, and from the event's own timestamp (the commit) to that arrival. Catch-up: the
receiver answers 503 while ``--backlog`` users are created, then comes back; the figure is the
events a second delivered from its return, and from the first accepted delivery to the last
(the worker's own pace, without the back-off wait).

    .venv/bin/python benchmarks/webhooks.py [--events 300] [--backlog 2000] [--poll 0.25]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import threading
import time
from datetime import datetime

import harness
import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from identity_store import Actor, RequestContext
from identity_store.bootstrap import bootstrap
from identity_store.commands import CreateWebhookSubscription
from identity_store.domain.webhook_urls import WebhookUrlRules
from identity_store.mongo import MongoStore

USER_URN = "urn:ietf:params:scim:schemas:core:2.0:User"
TARGET_P95_MS = 1000.0


class Receiver:
    """Arrival times (wall clock, this machine) by user id; answers 503 while ``down``."""

    def __init__(self) -> None:
        self.down = False
        self.arrived: dict[str, float] = {}
        self.committed: dict[str, float] = {}
        self.accepted = 0
        self.lock = threading.Lock()

    def app(self) -> Starlette:
        async def hook(request: Request) -> Response:
            body = await request.body()
            at = time.time()
            if self.down:
                return Response(status_code=503)
            message = json.loads(body)
            user_id = message["data"]["aggregateId"]
            with self.lock:
                self.accepted += 1
                self.arrived.setdefault(user_id, at)
                self.committed.setdefault(user_id, datetime.fromisoformat(message["timestamp"]).timestamp())
            return Response(status_code=204)

        return Starlette(routes=[Route("/hook", hook, methods=["POST"])])


class _Server(uvicorn.Server):
    def install_signal_handlers(self) -> None:
        """This script owns the signals."""


def serve(app: Starlette) -> tuple[_Server, str]:
    port = harness.free_port()
    server = _Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.02)
    return server, f"http://127.0.0.1:{port}/hook"


async def create_users(http: httpx.AsyncClient, prefix: str, count: int, concurrency: int) -> dict[str, float]:
    """``count`` SCIM creates, ``concurrency`` at a time; each id with the time its 201 arrived."""
    acknowledged: dict[str, float] = {}
    numbers = iter(range(count))

    async def writer() -> None:
        for number in numbers:
            response = await http.post(
                "/scim/v2/Users",
                json={"schemas": [USER_URN], "userName": f"{prefix}{number}@example.com", "active": True},
                headers={"Content-Type": "application/scim+json"},
            )
            response.raise_for_status()
            acknowledged[response.json()["id"]] = time.time()

    await asyncio.gather(*(writer() for _ in range(concurrency)))
    return acknowledged


async def wait_for(receiver: Receiver, ids: set[str], within: float) -> None:
    deadline = time.monotonic() + within
    while not ids <= receiver.arrived.keys():
        if time.monotonic() > deadline:
            raise RuntimeError(f"{len(ids - receiver.arrived.keys())} webhooks never arrived")
        await asyncio.sleep(0.005)


async def measure(
    db: harness.Database, service: harness.Service, receiver: Receiver, url: str, args: argparse.Namespace
) -> dict[str, object]:
    store = MongoStore(db.uri, db.name)
    try:
        tenant = await harness.seed_tenant(store, "bench")
        bus = bootstrap(store, webhook_urls=WebhookUrlRules(allow_http=True, allow_private=True))
        await bus.dispatch(
            RequestContext(tenant_id=tenant.id, actor=Actor(credential_id=None, kind="cli")),
            CreateWebhookSubscription(url=url, event_types=("UserCreated",)),
        )
    finally:
        await store.close()
    headers = {"Authorization": f"Bearer {tenant.scim_token}"}
    async with httpx.AsyncClient(base_url=service.base_url, headers=headers, timeout=60) as http:
        # Latency: one create at a time, each waited for, so no event queues behind another.
        from_ack: list[float] = []
        from_commit: list[float] = []
        for number in range(args.events):
            # A random pause, so that creates do not fall in step with the worker's polls.
            await asyncio.sleep(random.uniform(0, args.poll))
            acknowledged = await create_users(http, f"latency{number}-", 1, 1)
            await wait_for(receiver, set(acknowledged), 60)
            for user_id, at in acknowledged.items():
                from_ack.append((receiver.arrived[user_id] - at) * 1000)
                from_commit.append((receiver.arrived[user_id] - receiver.committed[user_id]) * 1000)
        # Catch-up: a backlog built while the receiver is down, then drained.
        receiver.down = True
        backlog = await create_users(http, "backlog", args.backlog, 8)
        await asyncio.sleep(1.0)
        receiver.down = False
        back_at = time.time()
        await wait_for(receiver, set(backlog), 600)
    arrivals = sorted(receiver.arrived[user_id] for user_id in backlog)
    drained = arrivals[-1] - back_at
    pace = arrivals[-1] - arrivals[0]
    return {
        "events": args.events,
        "poll_seconds": args.poll,
        "acknowledged_to_delivery": harness.latency_figures(from_ack),
        "commit_to_delivery": harness.latency_figures(from_commit),
        "backlog": args.backlog,
        "catch_up_seconds_from_return": drained,
        "catch_up_events_per_second_from_return": args.backlog / drained,
        "catch_up_events_per_second_worker_pace": (args.backlog - 1) / pace if pace > 0 else float("nan"),
        "duplicates_accepted": receiver.accepted - len(receiver.arrived),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=300)
    parser.add_argument("--backlog", type=int, default=2000)
    parser.add_argument("--poll", type=float, default=0.25, help="IDENTITY_WEBHOOK_POLL_SECONDS")
    args = parser.parse_args()
    receiver = Receiver()
    server, url = serve(receiver.app())
    try:
        with (
            harness.database() as db,
            harness.service(
                db,
                webhook_allow_http="true",
                webhook_allow_private_addresses="true",
                webhook_poll_seconds=str(args.poll),
                webhook_backoff_base_seconds="0.2",
                webhook_backoff_max_seconds="1",
                scim_rate_limit_per_second="0",
            ) as service,
        ):
            figures = asyncio.run(measure(db, service, receiver, url, args))
    finally:
        server.should_exit = True
    ack = figures["acknowledged_to_delivery"]
    commit = figures["commit_to_delivery"]
    assert isinstance(ack, dict)
    assert isinstance(commit, dict)
    harness.print_table(
        f"Webhook delivery, {args.events} events, poll {args.poll} s ({db.label})",
        ["from", "p50 ms", "p95 ms", "p99 ms", "max ms"],
        [
            ("201 acknowledged", ack["p50_ms"], ack["p95_ms"], ack["p99_ms"], ack["max_ms"]),
            ("event timestamp", commit["p50_ms"], commit["p95_ms"], commit["p99_ms"], commit["max_ms"]),
        ],
    )
    harness.print_table(
        f"Catch-up after an outage, {args.backlog} events (back-off capped at 1 s)",
        ["measure", "value"],
        [
            ("seconds from the receiver's return", figures["catch_up_seconds_from_return"]),
            ("events/s from the receiver's return", figures["catch_up_events_per_second_from_return"]),
            ("events/s first to last delivery", figures["catch_up_events_per_second_worker_pace"]),
            ("duplicates accepted", figures["duplicates_accepted"]),
        ],
    )
    harness.print_targets(
        [("commit-to-delivery p95 <= 1 s", f"{commit['p95_ms']:.0f} ms", commit["p95_ms"] <= TARGET_P95_MS)]
    )
    harness.write_results("webhooks", figures)


if __name__ == "__main__":
    main()
