"""Faults and hostile load, measured from outside: outages, a dying embedded database, greedy requests.

Three parts, each against the real service in its own process:

* **outage**: the database (SecantusDB on a fixed port, given to the service as ``MONGODB_URI``)
  is killed; readers and writers keep sending for a while. Reported: how long each request took
  to get its 503 (p50/p99, reads and writes apart), how many got anything else, and once the
  database is started again, how long until the service answers 2xx without being restarted.
* **supervised**: ``identity-store serve`` on its embedded default; its database child is killed
  with SIGKILL. Reported: how long until a SCIM read answers 200 again, with no operator.
* **stall**: the largest requests the limits allow (a PATCH adding the most roles a user may
  have, a search with the longest filter, a Bulk request of the most operations, a GraphQL query
  near the node limit over 100 users who are each in 100 groups) are sent one after another,
  while one client polls ``/healthz`` and another tenant reads a user. Reported: those clients'
  p50/p99 and the longest event-loop stall the service measured (``/healthz``
  ``eventLoopLag.maxMs``).

    .venv/bin/python benchmarks/faults.py [--part outage,supervised,stall] [--seconds 8]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from harness import (
    USER_URN,
    Database,
    bulk_groups,
    bulk_memberships,
    bulk_users,
    database,
    free_port,
    latency_figures,
    print_table,
    seed_tenant,
    service,
    write_results,
)

from identity_store.mongo import EmbeddedDatabase, MongoStore

PATCH_URN = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
SEARCH_URN = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
BULK_URN = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"


async def _user(client: httpx.AsyncClient, name: str) -> str:
    response = await client.post("/scim/v2/Users", json={"schemas": [USER_URN], "userName": name})
    response.raise_for_status()
    return str(response.json()["id"])


# --- outage ---------------------------------------------------------------------------------


async def _outage(seconds: float) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-outage-") as scratch:
        port = free_port()
        embedded = EmbeddedDatabase(Path(scratch) / "db", port=port)
        uri = await embedded.start()
        db = Database(uri, "outage", "embedded SecantusDB")
        store = MongoStore(uri, db.name)
        tenant = await seed_tenant(store, "outage")
        await store.close()
        with service(db, scim_rate_limit_per_second="0") as running:
            headers = {"Authorization": f"Bearer {tenant.scim_token}"}
            async with httpx.AsyncClient(base_url=running.base_url, headers=headers, timeout=60) as client:
                user_id = await _user(client, "before")
                assert embedded._process is not None
                os.kill(embedded._process.pid, signal.SIGKILL)
                embedded._process.wait()
                embedded._process = None
                await embedded.stop()  # gives up the folder, as a process that died would
                reads: list[float] = []
                writes: list[float] = []
                other: dict[str, int] = {}
                stop = time.monotonic() + seconds

                async def client_loop(number: int) -> None:
                    sent = 0
                    while time.monotonic() < stop:
                        sent += 1
                        started = time.perf_counter()
                        if sent % 2:
                            response = await client.get(f"/scim/v2/Users/{user_id}")
                            bucket = reads
                        else:
                            response = await client.post(
                                "/scim/v2/Users", json={"schemas": [USER_URN], "userName": f"o{number}-{sent}"}
                            )
                            bucket = writes
                        elapsed = (time.perf_counter() - started) * 1000
                        if response.status_code == 503 and "retry-after" in response.headers:
                            bucket.append(elapsed)
                        else:
                            other[str(response.status_code)] = other.get(str(response.status_code), 0) + 1

                await asyncio.gather(*(client_loop(i) for i in range(4)))
                restarted = time.monotonic()
                embedded = EmbeddedDatabase(Path(scratch) / "db", port=port)
                await embedded.start()
                # Polling the service from outside, as a client would: there is no event to wait on.
                while (await client.get(f"/scim/v2/Users/{user_id}")).status_code != 200:  # noqa: ASYNC110
                    await asyncio.sleep(0.05)
                recovered = time.monotonic() - restarted
            print_table(
                "Requests while the database is down (4 clients, reads and creates alternating)",
                ["kind", "503s", "p50 ms", "p99 ms", "max ms"],
                [
                    ("read", len(reads), *(latency_figures(reads)[k] for k in ("p50_ms", "p99_ms", "max_ms"))),
                    ("write", len(writes), *(latency_figures(writes)[k] for k in ("p50_ms", "p99_ms", "max_ms"))),
                ],
            )
            print(f"answers other than 503 with Retry-After: {other or 'none'}")
            print(f"2xx again {recovered:.2f} s after the database was started, without restarting the service")
        await embedded.stop()
    return {
        "reads": latency_figures(reads) | {"count": len(reads)},
        "writes": latency_figures(writes) | {"count": len(writes)},
        "other_answers": other,
        "seconds_to_2xx_after_restart": recovered,
    }


# --- supervised -----------------------------------------------------------------------------


async def _supervised(kills: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-supervised-") as scratch:
        data_dir = Path(scratch) / "data"
        port = free_port()
        command = [sys.executable, "-m", "identity_service", "serve", "--data-dir", str(data_dir), "--port", str(port)]
        environment = {k: v for k, v in os.environ.items() if k != "MONGODB_URI"}
        process = await asyncio.create_subprocess_exec(
            *command, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        base = f"http://127.0.0.1:{port}"
        recoveries: list[float] = []
        try:
            async with httpx.AsyncClient(base_url=base, timeout=30) as client:
                while True:
                    try:
                        if (await client.get("/readyz")).status_code == 200:
                            break
                    except httpx.TransportError:
                        pass
                    await asyncio.sleep(0.1)
                state = json.loads((data_dir / "secantusd.json").read_text())
                store = MongoStore(f"mongodb://127.0.0.1:{state['port']}/?directConnection=true", "identity")
                tenant = await seed_tenant(store, "supervised")
                await store.close()
                client.headers["Authorization"] = f"Bearer {tenant.scim_token}"
                user_id = await _user(client, "survivor")
                for _ in range(kills):
                    state = json.loads((data_dir / "secantusd.json").read_text())
                    os.kill(int(state["pid"]), signal.SIGKILL)
                    killed = time.monotonic()
                    while True:
                        try:
                            if (await client.get(f"/scim/v2/Users/{user_id}")).status_code == 200:
                                break
                        except httpx.TransportError:
                            pass
                        if time.monotonic() - killed > 60:
                            raise RuntimeError("the service did not serve again within 60 s")
                        await asyncio.sleep(0.05)
                    recoveries.append(time.monotonic() - killed)
                    await asyncio.sleep(1)
        finally:
            process.terminate()
            await asyncio.wait_for(process.wait(), timeout=30)
    print_table(
        "Embedded database killed with SIGKILL: time until a SCIM read answers 200 again",
        ["kill", "seconds"],
        [(i + 1, r) for i, r in enumerate(recoveries)],
    )
    return {"seconds_to_serve_again": recoveries}


# --- stall ----------------------------------------------------------------------------------


async def _config_limit(client: httpx.AsyncClient, *path: str, default: int) -> int:
    """A limit the service declares in /ServiceProviderConfig, or ``default`` when it names none."""
    value: Any = (await client.get("/scim/v2/ServiceProviderConfig")).json()
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    return int(value) if isinstance(value, int) else default


async def _stall(db: Database, elements: int, rounds: int) -> dict[str, Any]:
    store = MongoStore(db.uri, db.name)
    greedy, quiet = await seed_tenant(store, "greedy"), await seed_tenant(store, "quiet")
    # 100 users, each in 100 groups: the widest page the GraphQL node limit admits.
    members = await bulk_users(store, greedy.id, range(100), "greedy.example")
    for group_id in await bulk_groups(store, greedy.id, [f"wide-{i:03d}" for i in range(100)]):
        await bulk_memberships(store, greedy.id, group_id, members)
    await store.close()
    with service(db, scim_rate_limit_per_second="0") as running:
        base = running.base_url
        scim = {"Authorization": f"Bearer {greedy.scim_token}", "Content-Type": "application/scim+json"}
        async with (
            httpx.AsyncClient(base_url=base, headers=scim, timeout=120) as heavy,
            httpx.AsyncClient(
                base_url=base, headers={"Authorization": f"Bearer {quiet.scim_token}"}, timeout=120
            ) as reader,
            httpx.AsyncClient(base_url=base, timeout=120) as prober,
        ):
            target = await _user(heavy, "target")
            quiet_user = await _user(reader, "quiet")
            max_operations = await _config_limit(heavy, "bulk", "maxOperations", default=1000)
            worst = _worst_requests(target, elements, max_operations)
            probe_latencies: list[float] = []
            read_latencies: list[float] = []
            running_load = True

            async def poll(client: httpx.AsyncClient, path: str, into: list[float]) -> None:
                while running_load:
                    started = time.perf_counter()
                    await client.get(path)
                    into.append((time.perf_counter() - started) * 1000)
                    await asyncio.sleep(0.02)

            pollers = [
                asyncio.create_task(poll(prober, "/healthz", probe_latencies)),
                asyncio.create_task(poll(reader, f"/scim/v2/Users/{quiet_user}", read_latencies)),
            ]
            heavy_rows = []
            graphql = {"Authorization": f"Bearer {greedy.api_key}", "Content-Type": "application/json"}
            for name, method, path, body in [*worst, _widest_graphql_query()]:
                took: list[float] = []
                statuses: set[int] = set()
                headers = graphql if path == "/graphql" else scim
                for _ in range(rounds):
                    started = time.perf_counter()
                    response = await heavy.request(method, path, content=json.dumps(body), headers=headers)
                    took.append((time.perf_counter() - started) * 1000)
                    statuses.add(response.status_code)
                heavy_rows.append((name, ",".join(map(str, sorted(statuses))), max(took)))
            running_load = False
            await asyncio.gather(*pollers)
            lag = (await prober.get("/healthz")).json().get("eventLoopLag", {})
    print_table("The largest requests the limits allow", ["request", "statuses", "slowest ms"], heavy_rows)
    probe, read = latency_figures(probe_latencies), latency_figures(read_latencies)
    print_table(
        "Meanwhile",
        ["client", "requests", "p50 ms", "p99 ms", "max ms"],
        [
            ("/healthz poller", len(probe_latencies), probe["p50_ms"], probe["p99_ms"], probe["max_ms"]),
            ("other tenant's GET user", len(read_latencies), read["p50_ms"], read["p99_ms"], read["max_ms"]),
        ],
    )
    print(f"longest event-loop stall the service measured: {lag.get('maxMs')} ms")
    return {
        "heavy": [{"request": r[0], "statuses": r[1], "slowest_ms": r[2]} for r in heavy_rows],
        "healthz": probe,
        "other_tenant_read": read,
        "max_loop_stall_ms": lag.get("maxMs"),
    }


def _worst_requests(user_id: str, elements: int, max_operations: int) -> list[tuple[str, str, str, Any]]:
    roles = [{"value": f"role-{i:06d}", "display": f"Role {i}"} for i in range(elements)]
    patch = {"schemas": [PATCH_URN], "Operations": [{"op": "add", "path": "roles", "value": roles}]}
    clear = {"schemas": [PATCH_URN], "Operations": [{"op": "remove", "path": "roles"}]}
    terms = " or ".join(f'userName eq "u{i:05d}"' for i in range(100))
    search = {"schemas": [SEARCH_URN], "filter": terms, "count": 200}
    bulk = {
        "schemas": [BULK_URN],
        "Operations": [
            {
                "method": "POST",
                "path": "/Users",
                "bulkId": f"b{i}",
                "data": {"schemas": [USER_URN], "userName": f"bulk{i}"},
            }
            for i in range(max_operations)
        ],
    }
    over = [{"value": f"role-{i:06d}"} for i in range(4 * elements)]
    refused = {"schemas": [PATCH_URN], "Operations": [{"op": "add", "path": "roles", "value": over}]}
    # Groups that each name the next as a member, listed first to last: every reference waits
    # for a later operation, the order that made reference resolution quadratic.
    chained = {
        "schemas": [BULK_URN],
        "Operations": [
            {
                "method": "POST",
                "path": "/Groups",
                "bulkId": f"g{i}",
                "data": {
                    "displayName": f"chain{i}",
                    **({"members": [{"value": f"bulkId:g{i + 1}"}]} if i < max_operations - 1 else {}),
                },
            }
            for i in range(max_operations)
        ],
    }
    return [
        (f"PATCH add {elements:,} roles", "PATCH", f"/scim/v2/Users/{user_id}", patch),
        (f"PATCH add {4 * elements:,} roles (over the limit)", "PATCH", f"/scim/v2/Users/{user_id}", refused),
        ("PATCH remove all roles", "PATCH", f"/scim/v2/Users/{user_id}", clear),
        ("POST .search, 100 or-terms", "POST", "/scim/v2/Users/.search", search),
        (f"POST /Bulk, {max_operations:,} creates", "POST", "/scim/v2/Bulk", bulk),
        (f"POST /Bulk, {max_operations:,} groups chained backwards", "POST", "/scim/v2/Bulk", chained),
    ]


def _widest_graphql_query() -> tuple[str, str, str, Any]:
    """Two aliases of 100 users with 100 groups each: 2 x (100 + 100 x 100) = 20,200 nodes, under
    the default limit of 25,000 (a third alias would be refused before running)."""
    page = "users(first: 100) { nodes { id userName groups(first: 100) { nodes { id displayName memberCount } } } }"
    return ("GraphQL, 20,200 nodes", "POST", "/graphql", {"query": f"{{ a: {page} b: {page} }}"})


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--part", default="outage,supervised,stall")
    parser.add_argument("--seconds", type=float, default=8.0, help="how long requests are sent during the outage")
    parser.add_argument("--kills", type=int, default=3, help="how often the supervised database is killed")
    parser.add_argument("--elements", type=int, default=10_000, help="roles in the largest PATCH")
    parser.add_argument("--rounds", type=int, default=3, help="how often each large request is sent")
    arguments = parser.parse_args()
    parts = set(arguments.part.split(","))
    figures: dict[str, Any] = {}
    if "outage" in parts:
        figures["outage"] = asyncio.run(_outage(arguments.seconds))
    if "supervised" in parts:
        figures["supervised"] = asyncio.run(_supervised(arguments.kills))
    if "stall" in parts:
        with database() as db:
            figures["stall"] = asyncio.run(_stall(db, arguments.elements, arguments.rounds))
    write_results("faults", figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
