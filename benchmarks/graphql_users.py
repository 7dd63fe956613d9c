"""GraphQL: a page of users with their manager, their groups and each group's member count.

    query($n: Int!) {
      users(first: $n) { nodes { id userName manager { userName } groups { nodes { displayName memberCount } } } }
    }

For tenants of several sizes (``--tenants``, users bulk-loaded with a manager each and three
group memberships each, among ``--groups`` groups) and several page sizes (``--pages``), one
request at a time through the real service: latency (p50/p95) and database round trips per
query, counted inside the service. The DataLoaders batch every level of the query, so the round
trips must be the same whatever the number of users in the tenant, and the queries the same
whatever the page size (a large page's related records may take a further batch, ``getMore``,
of the same query).

    .venv/bin/python benchmarks/graphql_users.py [--tenants 100,1000,10000] [--pages 10,50,100] [--repeat 30]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from typing import Any

import harness
import httpx

from identity_store.mongo import MongoStore

QUERY = """query($n: Int!) {
  users(first: $n) { nodes { id userName manager { userName } groups { nodes { displayName memberCount } } } }
}"""
DOMAIN = "tailspin.example"


async def prepare(db: harness.Database, sizes: list[int], groups: int) -> dict[int, harness.Tenant]:
    store = MongoStore(db.uri, db.name, operation_timeout_seconds=1_800)
    try:
        await store.create_indexes()
        tenants: dict[int, harness.Tenant] = {}
        for size in sizes:
            tenant = await harness.seed_tenant(store, f"bench-graphql-{size}")
            user_ids = await harness.bulk_users(
                store, tenant.id, range(size), DOMAIN, manager_of=lambda p: None if p == 0 else (p - 1) // 10
            )
            group_ids = await harness.bulk_groups(store, tenant.id, [f"Guild {n:04d}" for n in range(groups)])
            by_group: dict[str, list[str]] = {g: [] for g in group_ids}
            for position, user_id in enumerate(user_ids):
                for k in range(3):
                    by_group[group_ids[(position + k * 7) % groups]].append(user_id)
            for group_id, members in by_group.items():
                await harness.bulk_memberships(store, tenant.id, group_id, sorted(set(members)))
            tenants[size] = tenant
        return tenants
    finally:
        await store.close()


def run(arguments: argparse.Namespace) -> dict[str, Any]:
    sizes = [int(s) for s in arguments.tenants.split(",")]
    pages = [int(p) for p in arguments.pages.split(",")]
    figures: dict[str, Any] = {}
    with harness.database() as db:
        tenants = asyncio.run(prepare(db, sizes, arguments.groups))
        with harness.service(db) as service:
            for size, tenant in tenants.items():
                with httpx.Client(
                    base_url=service.base_url, headers={"Authorization": f"Bearer {tenant.api_key}"}, timeout=120
                ) as client:
                    for page in pages:
                        body = {"query": QUERY, "variables": {"n": page}}
                        client.post("/graphql", json=body)  # warm-up
                        latencies: list[float] = []
                        commands: list[int] = []
                        by_name: dict[str, int] = {}
                        for _ in range(arguments.repeat):
                            service.reset_commands()
                            started = time.perf_counter()
                            response = client.post("/graphql", json=body)
                            latencies.append((time.perf_counter() - started) * 1000)
                            counted = service.commands()
                            commands.append(counted.total())
                            by_name = dict(counted)
                            payload = response.json()
                            if response.status_code != 200 or payload.get("errors"):
                                raise RuntimeError(f"{response.status_code}: {response.text[:300]}")
                            if len(payload["data"]["users"]["nodes"]) != min(page, size):
                                raise RuntimeError("the page is not full")
                        figures[f"{size}/{page}"] = {
                            "tenant_users": size,
                            "page": page,
                            **harness.latency_figures(latencies),
                            "commands_median": int(statistics.median(commands)),
                            "commands_max": max(commands),
                            "commands_min": min(commands),
                            "commands": by_name,
                        }
                        print(f"  measured {size:,} users, page {page}", flush=True)
    return {"database": db.label, "parameters": vars(arguments), "queries": figures}


def report(figures: dict[str, Any]) -> list[tuple[str, str, bool]]:
    queries = figures["queries"]
    rows = [
        [
            f"{q['tenant_users']:,}",
            q["page"],
            q["p50_ms"],
            q["p95_ms"],
            q["commands_median"],
            q["commands_max"],
            ", ".join(f"{k} {v}" for k, v in sorted(q["commands"].items())),
        ]
        for q in queries.values()
    ]
    harness.print_table(
        f"GraphQL users with manager, groups and member counts ({figures['database']})",
        ["tenant users", "page", "p50 ms", "p95 ms", "round trips", "max", "by command (last request)"],
        rows,
    )
    targets: list[tuple[str, str, bool]] = []
    pages = sorted({q["page"] for q in queries.values()})
    for page in pages:
        mine = [q for q in queries.values() if q["page"] == page]
        # The median: the API key is trusted for 30 s, then read again by whichever request comes
        # next; that one read every 30 s is not a cost of the query (it shows in the max column).
        counts = [q["commands_median"] for q in mine]
        targets.append(
            (
                f"page of {page}: round trips do not grow with tenant size",
                " / ".join(str(c) for c in counts),
                len(set(counts)) == 1,
            )
        )
    largest = max(q["tenant_users"] for q in queries.values())
    at_largest = [q for q in queries.values() if q["tenant_users"] == largest]
    # A getMore is a further batch of a query already sent (more than 101 documents), not a new query.
    distinct = [sum(n for name, n in q["commands"].items() if name != "getMore") for q in at_largest]
    targets.append(
        (
            f"{largest:,} users: queries (getMore aside) do not grow with page size",
            " / ".join(str(c) for c in distinct),
            len(set(distinct)) == 1,
        )
    )
    harness.print_targets(targets)
    return targets


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tenants", default="100,1000,10000", help="users in each tenant")
    parser.add_argument("--pages", default="10,50,100", help="page sizes (first:)")
    parser.add_argument("--groups", type=int, default=20, help="groups per tenant; each user is in three")
    parser.add_argument("--repeat", type=int, default=30)
    arguments = parser.parse_args()
    figures = run(arguments)
    targets = report(figures)
    harness.write_results("graphql_users", {**figures, "targets": targets})
    return 0


if __name__ == "__main__":
    sys.exit(main())
