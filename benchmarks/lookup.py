"""Lookup at scale: Entra's match queries and GraphQL lookups in tenants of 100,000 users.

Two tenants of ``--users`` users each (the same userNames in both, so the unique index must be
per tenant), each user in one of ``--groups`` groups, and a small tenant of ``--small`` users,
all bulk-loaded into the database. Then, through the real service over HTTP, one request at a
time, on users picked at random from both large tenants:

* SCIM: ``userName eq``, ``externalId eq``, ``emails[type eq "work"].value eq`` (Entra's user
  match queries) and ``displayName eq`` on /Groups with ``excludedAttributes=members``;
* GraphQL: ``user(lookup: {userName})`` and ``users(filter: {email})``.

For each: latency (p50/p95/p99), database commands per request (inside the service; the median,
and the most, which includes the token check the cache repeats every 30 s), the same in the
small tenant (commands must not grow with tenant size), and the plan of every query the
service sent for it: the benchmark records the find/aggregate commands in the service and asks
the database to explain them through PyMongo, reporting IXSCAN (with the index) or COLLSCAN.
A lookup kind stops after ``--max-seconds`` (a collection scan of 200,000 users is slow); the
figures say how many lookups were made.

    .venv/bin/python benchmarks/lookup.py [--users 100000] [--groups 1000] [--small 1000] [--repeat 200]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import time
from collections.abc import Callable
from typing import Any

import harness
import httpx
from pymongo import MongoClient

from identity_store.mongo import MongoStore

DOMAIN = "fabrikam.example"
TARGET_TENANT_RATIO = 1.2


async def prepare(db: harness.Database, users: int, groups: int, small: int) -> dict[str, harness.Tenant]:
    store = MongoStore(db.uri, db.name, operation_timeout_seconds=1_800)
    try:
        await store.create_indexes()
        tenants: dict[str, harness.Tenant] = {}
        for name, size, group_count in (("first", users, groups), ("second", users, groups), ("small", small, 10)):
            started = time.perf_counter()
            tenant = await harness.seed_tenant(store, f"bench-lookup-{name}")
            group_ids = await harness.bulk_groups(store, tenant.id, [f"Team {n:05d}" for n in range(group_count)])
            user_ids = await harness.bulk_users(store, tenant.id, range(size), DOMAIN)
            for index, group_id in enumerate(group_ids):
                await harness.bulk_memberships(store, tenant.id, group_id, user_ids[index::group_count])
            tenants[name] = tenant
            print(f"  tenant {name}: {size:,} users, {group_count:,} groups in {time.perf_counter() - started:.0f} s")
        return tenants
    finally:
        await store.close()


# --- plans -----------------------------------------------------------------------------------


def explain(client: MongoClient[dict[str, Any]], database: str, query: dict[str, Any]) -> str:
    """``collection: IXSCAN index`` or ``collection: COLLSCAN`` for one recorded command."""
    if "find" in query:
        collection = query["find"]
        command = {k: v for k, v in query.items() if k in {"find", "filter", "projection", "sort", "limit", "skip"}}
    else:
        collection = query["aggregate"]
        command = {"aggregate": collection, "pipeline": query["pipeline"], "cursor": {}}
    result = client[database].command("explain", command, verbosity="queryPlanner")
    found = harness.plan_stages(result)
    scans = [f"IXSCAN {index}" for stage, index in found if "IXSCAN" in stage or stage in {"IDHACK", "EXPRESS"}]
    if any(stage == "COLLSCAN" for stage, _ in found):
        scans.append("COLLSCAN")
    return f"{collection}: {', '.join(dict.fromkeys(scans)) or 'no scan reported'}"


# --- requests --------------------------------------------------------------------------------

GRAPHQL_USER = "query($u: String!) { user(lookup: {userName: $u}) { id userName } }"
GRAPHQL_EMAIL = "query($e: String!) { users(first: 10, filter: {email: $e}) { nodes { id userName } } }"


def lookups(
    base_url: str, tenant: harness.Tenant
) -> tuple[httpx.Client, httpx.Client, dict[str, Callable[[int], httpx.Response]]]:
    scim = httpx.Client(
        base_url=f"{base_url}/scim/v2", headers={"Authorization": f"Bearer {tenant.scim_token}"}, timeout=120
    )
    graphql = httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {tenant.api_key}"}, timeout=120)

    def user_name(n: int) -> str:
        return f"user{n:06d}@{DOMAIN}"

    requests: dict[str, Callable[[int], httpx.Response]] = {
        "SCIM userName eq": lambda n: scim.get("/Users", params={"filter": f'userName eq "{user_name(n)}"'}),
        "SCIM externalId eq": lambda n: scim.get("/Users", params={"filter": f'externalId eq "ext-{n:06d}"'}),
        "SCIM emails[type eq work].value eq": lambda n: scim.get(
            "/Users", params={"filter": f'emails[type eq "work"].value eq "{user_name(n)}"'}
        ),
        "SCIM group displayName eq": lambda n: scim.get(
            "/Groups", params={"filter": f'displayName eq "Team {n % 10:05d}"', "excludedAttributes": "members"}
        ),
        "GraphQL user(lookup: {userName})": lambda n: graphql.post(
            "/graphql", json={"query": GRAPHQL_USER, "variables": {"u": user_name(n)}}
        ),
        "GraphQL users(filter: {email})": lambda n: graphql.post(
            "/graphql", json={"query": GRAPHQL_EMAIL, "variables": {"e": user_name(n)}}
        ),
    }
    return scim, graphql, requests


def found_one(response: httpx.Response) -> bool:
    body = response.json()
    if "totalResults" in body:
        return bool(body["totalResults"] == 1)
    data = body.get("data") or {}
    if "user" in data:
        return data["user"] is not None
    return len((data.get("users") or {}).get("nodes", [])) == 1


def measure(
    service: harness.Service, requests: Callable[[int], httpx.Response], numbers: list[int], seconds: float
) -> tuple[list[float], list[int], int]:
    """Latencies, commands and misses of lookups of ``numbers``; stops early after ``seconds``."""
    latencies: list[float] = []
    commands: list[int] = []
    misses = 0
    deadline = time.monotonic() + seconds
    for n in numbers:
        if time.monotonic() > deadline and latencies:
            break
        service.reset_commands()
        started = time.perf_counter()
        response = requests(n)
        latencies.append((time.perf_counter() - started) * 1000)
        commands.append(service.commands().total())
        if response.status_code != 200 or not found_one(response):
            misses += 1
    return latencies, commands, misses


def run(arguments: argparse.Namespace) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    with harness.database() as db:
        tenants = asyncio.run(prepare(db, arguments.users, arguments.groups, arguments.small))
        rng = random.Random(arguments.seed)
        client: MongoClient[dict[str, Any]] = MongoClient(db.uri)
        with harness.service(db) as service, client:
            clients = {name: lookups(service.base_url, tenant) for name, tenant in tenants.items()}
            try:
                for kind in clients["first"][2]:
                    # Warm up: the token or key check and first-call caches are not measured.
                    for name in tenants:
                        clients[name][2][kind](0)
                    large_numbers = [rng.randrange(arguments.users) for _ in range(arguments.repeat)]
                    halves = {"first": large_numbers[::2], "second": large_numbers[1::2]}
                    large_latencies: list[float] = []
                    large_commands: list[int] = []
                    misses = 0
                    for name, numbers in halves.items():
                        latencies, commands, missed = measure(
                            service, clients[name][2][kind], numbers, arguments.max_seconds / 2
                        )
                        large_latencies += latencies
                        large_commands += commands
                        misses += missed
                    small_numbers = [rng.randrange(arguments.small) for _ in range(arguments.repeat // 2)]
                    small_latencies, small_commands, small_misses = measure(
                        service, clients["small"][2][kind], small_numbers, arguments.max_seconds / 2
                    )
                    service.reset_commands()
                    clients["first"][2][kind](large_numbers[0])
                    plans = [explain(client, db.name, q) for q in service.queries()]
                    figures[kind] = {
                        "large": {
                            **harness.latency_figures(large_latencies),
                            "lookups": len(large_latencies),
                            "commands_max": max(large_commands),
                            "commands_median": sorted(large_commands)[len(large_commands) // 2],
                            "misses": misses,
                        },
                        "small": {
                            **harness.latency_figures(small_latencies),
                            "commands_max": max(small_commands),
                            "commands_median": sorted(small_commands)[len(small_commands) // 2],
                            "misses": small_misses,
                        },
                        "plans": plans,
                    }
                    print(f"  measured {kind}", flush=True)
            finally:
                for scim, graphql, _ in clients.values():
                    scim.close()
                    graphql.close()
    return {"database": db.label, "parameters": vars(arguments), "lookups": figures}


def report(figures: dict[str, Any]) -> list[tuple[str, str, bool]]:
    parameters = figures["parameters"]
    rows = []
    targets: list[tuple[str, str, bool]] = []
    for kind, f in figures["lookups"].items():
        large, small = f["large"], f["small"]
        rows.append(
            [
                kind,
                large["lookups"],
                large["p50_ms"],
                large["p95_ms"],
                large["p99_ms"],
                f"{large['commands_median']} ({large['commands_max']})",
                small["p50_ms"],
                f"{small['commands_median']} ({small['commands_max']})",
                "; ".join(dict.fromkeys(f["plans"])),
            ]
        )
        indexed = all("COLLSCAN" not in p for p in f["plans"])
        ratio = large["p50_ms"] / small["p50_ms"]
        targets.append((f"{kind}: every query uses an index", "yes" if indexed else "COLLSCAN", indexed))
        targets.append(
            (
                f"{kind}: commands do not grow with tenant size",
                f"{small['commands_median']} -> {large['commands_median']}",
                large["commands_median"] <= small["commands_median"],
            )
        )
        budget = 2 if kind.startswith("SCIM") else 1
        usual = large["commands_median"]
        targets.append((f"{kind}: at most {budget} database command(s)", str(usual), usual <= budget))
        targets.append(
            (
                f"{kind}: p50 {parameters['users']:,}-user / {parameters['small']:,}-user tenant "
                f"at most {TARGET_TENANT_RATIO}",
                f"{ratio:.2f}",
                ratio <= TARGET_TENANT_RATIO,
            )
        )
        if large["misses"] or small["misses"]:
            targets.append((f"{kind}: every lookup finds its one user", str(large["misses"] + small["misses"]), False))
    harness.print_table(
        f"Lookups ({figures['database']}; "
        f"two tenants of {parameters['users']:,} users, one of {parameters['small']:,})",
        ["lookup", "n", "p50 ms", "p95 ms", "p99 ms", "commands (max)", "small p50", "small cmds", "plans"],
        rows,
    )
    harness.print_targets(targets)
    return targets


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=100_000, help="users in each of the two large tenants")
    parser.add_argument("--groups", type=int, default=1_000, help="groups in each large tenant")
    parser.add_argument("--small", type=int, default=1_000, help="users in the small tenant")
    parser.add_argument("--repeat", type=int, default=200, help="lookups of each kind in the large tenants")
    parser.add_argument(
        "--max-seconds", type=float, default=120, help="time limit per lookup kind (a scan can be slow)"
    )
    parser.add_argument("--seed", type=int, default=11)
    arguments = parser.parse_args()
    figures = run(arguments)
    targets = report(figures)
    harness.write_results("lookup", {**figures, "targets": targets})
    return 0


if __name__ == "__main__":
    sys.exit(main())
