"""Shared Signals push: how long from an Entra deactivation's commit to the receiver holding its
account-disabled SET (p50/p95/p99).

The service runs in its own process (push loop at its default interval); a receiver (uvicorn on
loopback, in this process) notes when each SET arrives. Each user is deactivated by Entra's PATCH
(``active`` "False"), one at a time and paced, and the latency is taken two ways: from the PATCH
being sent (an upper bound: it includes the request) and from its response (a lower bound: the
commit happened before it). Targets: p95 ≤ 1 s, p99 ≤ 5 s (the deactivation goal).

Then the catch-up after an outage (``--backlog``): the receiver answers 503 while Entra creates
that many users, then comes back; the figure is the rate at which the backlog of create SETs
is delivered once the receiver accepts again (from its first 202 to the last SET), and how long
the back-off made it wait before that first one.
"""

from __future__ import annotations

import argparse
import asyncio
import threading
import time

import harness
import httpx
import jwt
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from identity_store.domain.credentials import CredentialKind, issue
from identity_store.domain.resources import now
from identity_store.mongo import MongoStore
from scim_facade import generate_signing_key

ACCOUNT_DISABLED = "https://schemas.openid.net/secevent/risc/event-type/account-disabled"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
SCIM_CREATE = "urn:ietf:params:scim:event:prov:create:notice"
SCIM_USER = "urn:ietf:params:scim:schemas:core:2.0:User"


def receiver(arrivals: dict[str, float], down: threading.Event | None = None) -> tuple[str, uvicorn.Server]:
    async def events(request: Request) -> Response:
        if down is not None and down.is_set():
            return Response(status_code=503)
        token = (await request.body()).decode()
        subject = jwt.decode(token, options={"verify_signature": False})["sub_id"]
        # RISC events name the user by iss_sub, RFC 9967 ones by a scim sub_id.
        arrivals[subject.get("sub", subject.get("id"))] = time.time()
        return Response(status_code=202)

    port = harness.free_port()
    app = Starlette(routes=[Route("/events", events, methods=["POST"])])
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.02)
    return f"http://127.0.0.1:{port}/events", server


async def measure(db: harness.Database, users: int, pace: float) -> None:
    store = MongoStore(db.uri, db.name)
    await store.create_indexes()
    tenant = await harness.seed_tenant(store, "bench")
    key = issue(
        tenant_id=tenant.id, kind=CredentialKind.API_KEY, name="ssf", scopes=frozenset({"ssf:manage"}), created=now()
    )
    await store.credentials.add(key.credential)
    await store.close()
    arrivals: dict[str, float] = {}
    url, server = receiver(arrivals)
    settings = {
        "oauth_signing_key": generate_signing_key().decode(),
        "ssf_allow_insecure_push": "true",
        "ssf_allow_private_push": "true",
    }
    settings["scim_rate_limit_per_second"] = "0"
    with harness.service(db, **settings) as service:
        async with httpx.AsyncClient(base_url=service.base_url, timeout=30) as http:
            scim = {"Authorization": f"Bearer {tenant.scim_token}"}
            stream = await http.post(
                "/ssf/streams",
                json={
                    "delivery": {"method": "urn:ietf:rfc:8935", "endpoint_url": url},
                    "events_requested": [ACCOUNT_DISABLED],
                },
                headers={"Authorization": f"Bearer {key.secret}"},
            )
            stream.raise_for_status()
            ids = []
            for n in range(users):
                created = await http.post(
                    "/scim/v2/Users",
                    json={"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": f"u{n}@bench.example"},
                    headers=scim,
                )
                created.raise_for_status()
                ids.append(created.json()["id"])
            sent: dict[str, float] = {}
            answered: dict[str, float] = {}
            for user_id in ids:
                sent[user_id] = time.time()
                response = await http.patch(
                    f"/scim/v2/Users/{user_id}",
                    json={"schemas": [PATCH_OP], "Operations": [{"op": "Replace", "path": "active", "value": "False"}]},
                    headers=scim,
                )
                response.raise_for_status()
                answered[user_id] = time.time()
                await asyncio.sleep(pace)
            deadline = time.monotonic() + 60
            # Polled: the receiver records arrivals from its own server thread.
            while len(arrivals) < users and time.monotonic() < deadline:  # noqa: ASYNC110
                await asyncio.sleep(0.05)
    server.should_exit = True
    upper = [(arrivals[u] - sent[u]) * 1000 for u in ids if u in arrivals]
    lower = [(arrivals[u] - answered[u]) * 1000 for u in ids if u in arrivals]
    high, low = harness.latency_figures(upper), harness.latency_figures(lower)
    harness.print_table(
        f"SSF push, account-disabled, {users} deactivations {pace * 1000:.0f} ms apart ({len(upper)} delivered)",
        ["measured from", "p50 ms", "p95 ms", "p99 ms", "max ms"],
        [
            ("PATCH sent (upper bound)", high["p50_ms"], high["p95_ms"], high["p99_ms"], high["max_ms"]),
            ("PATCH answered (lower bound)", low["p50_ms"], low["p95_ms"], low["p99_ms"], low["max_ms"]),
        ],
    )
    harness.print_targets(
        [
            ("commit-to-push p95 <= 1 s", f"{high['p95_ms']:.0f} ms", high["p95_ms"] <= 1000),
            ("account-disabled p99 <= 5 s", f"{high['p99_ms']:.0f} ms", high["p99_ms"] <= 5000),
            ("every SET delivered", f"{len(upper)}/{users}", len(upper) == users),
        ]
    )
    harness.write_results("ssf", {"users": users, "pace_s": pace, "from_sent": high, "from_answered": low})


async def catch_up(db: harness.Database, backlog: int, retry_max: float) -> None:
    store = MongoStore(db.uri, db.name)
    tenant = await harness.seed_tenant(store, "catch-up")
    key = issue(
        tenant_id=tenant.id, kind=CredentialKind.API_KEY, name="ssf", scopes=frozenset({"ssf:manage"}), created=now()
    )
    await store.credentials.add(key.credential)
    await store.close()
    arrivals: dict[str, float] = {}
    down = threading.Event()
    url, server = receiver(arrivals, down)
    settings = {
        "oauth_signing_key": generate_signing_key().decode(),
        "ssf_allow_insecure_push": "true",
        "ssf_allow_private_push": "true",
        "ssf_retry_max_seconds": str(retry_max),
        "scim_rate_limit_per_second": "0",
    }
    with harness.service(db, **settings) as service:
        async with httpx.AsyncClient(base_url=service.base_url, timeout=30) as http:
            stream = await http.post(
                "/ssf/streams",
                json={
                    "delivery": {"method": "urn:ietf:rfc:8935", "endpoint_url": url},
                    "events_requested": [SCIM_CREATE],
                },
                headers={"Authorization": f"Bearer {key.secret}"},
            )
            stream.raise_for_status()
            down.set()
            scim = {"Authorization": f"Bearer {tenant.scim_token}"}
            outage_started = time.time()
            gate = asyncio.Semaphore(8)

            async def create(n: int) -> None:
                async with gate:
                    created = await http.post(
                        "/scim/v2/Users",
                        json={"schemas": [SCIM_USER], "userName": f"backlog{n}@bench.example"},
                        headers=scim,
                    )
                    created.raise_for_status()

            await asyncio.gather(*(create(n) for n in range(backlog)))
            outage = time.time() - outage_started
            back = time.time()
            down.clear()
            deadline = time.monotonic() + 90
            while len(arrivals) < backlog and time.monotonic() < deadline:  # noqa: ASYNC110 (the receiver's thread)
                await asyncio.sleep(0.05)
    server.should_exit = True
    first, last = min(arrivals.values(), default=back), max(arrivals.values(), default=back)
    rate = (len(arrivals) - 1) / (last - first) if len(arrivals) > 1 and last > first else 0.0
    harness.print_table(
        f"SSF push catch-up: {backlog} create SETs held by a {outage:.1f} s outage (back-off max {retry_max:g} s)",
        ["delivered", "wait for first after back (s)", "first to last (s)", "catch-up SETs/s"],
        [(f"{len(arrivals)}/{backlog}", f"{first - back:.2f}", f"{last - first:.2f}", f"{rate:.0f}")],
    )
    harness.write_results(
        "ssf_catch_up",
        {
            "backlog": backlog,
            "outage_s": outage,
            "retry_max_s": retry_max,
            "delivered": len(arrivals),
            "wait_for_first_s": first - back,
            "first_to_last_s": last - first,
            "sets_per_second": rate,
        },
    )


def main(users: int, pace: float, backlog: int, retry_max: float) -> None:
    with harness.database() as db:
        if users:
            asyncio.run(measure(db, users, pace))
        if backlog:
            asyncio.run(catch_up(db, backlog, retry_max))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=300)
    parser.add_argument("--pace", type=float, default=0.05, help="seconds between deactivations")
    parser.add_argument("--backlog", type=int, default=2000, help="SETs held by the outage (0: skip the catch-up)")
    parser.add_argument("--retry-max", type=float, default=2.0, help="IDENTITY_SSF_RETRY_MAX_SECONDS for the catch-up")
    arguments = parser.parse_args()
    main(arguments.users, arguments.pace, arguments.backlog, arguments.retry_max)
