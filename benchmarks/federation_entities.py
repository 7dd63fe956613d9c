"""Federation: a router resolving many users at once through ``_entities``.

    query($r: [_Any!]!) { _entities(representations: $r) { ... on User { id userName displayName } } }

For batches of ``--batches`` representations (users of one tenant of ``--users``, chosen at
random), by global ``id`` and by ``userName``, one request at a time through the real service:
latency (p50/p95) and database round trips per request, counted inside the service. The loaders
answer each key of a batch with one query, so the queries must not grow with the batch size (a
large answer's further batches of the same cursor, ``getMore``, aside).

    .venv/bin/python benchmarks/federation_entities.py [--users 10000] [--batches 10,100,1000] [--repeat 20]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import time
from typing import Any

import harness
import httpx
from strawberry import relay

from identity_store.mongo import MongoStore

QUERY = "query($r: [_Any!]!) { _entities(representations: $r) { ... on User { id userName displayName } } }"
DOMAIN = "fabrikam.example"


async def prepare(db: harness.Database, users: int) -> tuple[harness.Tenant, list[str]]:
    store = MongoStore(db.uri, db.name, operation_timeout_seconds=1_800)
    try:
        await store.create_indexes()
        tenant = await harness.seed_tenant(store, "bench-federation")
        ids = await harness.bulk_users(store, tenant.id, range(users), DOMAIN)
        return tenant, ids
    finally:
        await store.close()


def run(arguments: argparse.Namespace) -> dict[str, Any]:
    batches = [int(b) for b in arguments.batches.split(",")]
    chooser = random.Random(15)
    figures: dict[str, Any] = {}
    with harness.database() as db:
        tenant, ids = asyncio.run(prepare(db, arguments.users))
        numbered = list(enumerate(ids))
        with (
            harness.service(db) as service,
            httpx.Client(
                base_url=service.base_url, headers={"Authorization": f"Bearer {tenant.api_key}"}, timeout=120
            ) as client,
        ):
            for size in batches:
                for key in ("id", "userName"):
                    latencies: list[float] = []
                    queries: list[int] = []
                    for round_ in range(arguments.repeat + 1):
                        chosen = chooser.sample(numbered, min(size, len(numbered)))
                        representations = [
                            {"__typename": "User", "id": str(relay.GlobalID("User", user_id))}
                            if key == "id"
                            else {"__typename": "User", "userName": f"user{number:06d}@{DOMAIN}"}
                            for number, user_id in chosen
                        ]
                        body = {"query": QUERY, "variables": {"r": representations}}
                        service.reset_commands()
                        started = time.perf_counter()
                        response = client.post("/graphql", json=body)
                        elapsed = (time.perf_counter() - started) * 1000
                        counted = service.commands()
                        payload = response.json()
                        if response.status_code != 200 or payload.get("errors"):
                            raise RuntimeError(f"{response.status_code}: {response.text[:300]}")
                        if None in payload["data"]["_entities"]:
                            raise RuntimeError("a user was not resolved")
                        if round_ == 0:
                            continue  # warm-up (and the API key's first read)
                        latencies.append(elapsed)
                        queries.append(sum(n for name, n in counted.items() if name != "getMore"))
                    figures[f"{size}/{key}"] = {
                        "batch": size,
                        "key": key,
                        **harness.latency_figures(latencies),
                        "queries_median": int(statistics.median(queries)),
                        "queries_max": max(queries),
                    }
                    print(f"  measured {size} by {key}", flush=True)
    return {"database": db.label, "parameters": vars(arguments), "batches": figures}


def report(figures: dict[str, Any]) -> list[tuple[str, str, bool]]:
    rows = [
        [b["batch"], b["key"], b["p50_ms"], b["p95_ms"], b["queries_median"], b["queries_max"]]
        for b in figures["batches"].values()
    ]
    harness.print_table(
        f"Federation _entities: users by key ({figures['database']})",
        ["representations", "key", "p50 ms", "p95 ms", "queries (getMore aside)", "max"],
        rows,
    )
    medians = [b["queries_median"] for b in figures["batches"].values()]
    targets = [("one query per key, whatever the batch size", " / ".join(map(str, medians)), set(medians) == {1})]
    harness.print_targets(targets)
    return targets


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=10_000, help="users in the tenant")
    parser.add_argument("--batches", default="10,100,1000", help="representations per request")
    parser.add_argument("--repeat", type=int, default=20)
    arguments = parser.parse_args()
    figures = run(arguments)
    targets = report(figures)
    harness.write_results("federation_entities", {**figures, "targets": targets})
    return 0


if __name__ == "__main__":
    sys.exit(main())
