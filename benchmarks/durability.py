"""The cost of durability: SCIM creates/s with the embedded database's log flushed at commit, and without.

The service always starts SecantusDB with ``--sync-on-commit`` (a write answered 201 survives the
database being killed; see ``identity_store/mongo/embedded.py``). This starts SecantusDB itself,
both ways, each in a fresh folder, points the real service (``benchmarks/service.py``, its own
process) at it with ``MONGODB_URI``, and sends ``--creates`` SCIM ``POST /Users`` with
``--concurrency`` in flight as fast as the service answers, after a short warm-up. Runs alternate
between the two modes ``--repeat`` times, so a change in the machine's load affects both.

    .venv/bin/python benchmarks/durability.py [--creates 1000] [--concurrency 8] [--repeat 2]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

import harness
import httpx

from identity_store.mongo import EmbeddedDatabase, MongoStore

MODES = {"flushed at commit (--sync-on-commit)": True, "buffered (no flag)": False}
WARM_UP = 50


def _body(run: int, number: int) -> dict[str, Any]:
    user_name = f"durable{run:02d}-{number:06d}@example.com"
    return {
        "schemas": [harness.USER_URN],
        "userName": user_name,
        "externalId": f"ext-{run}-{number}",
        "displayName": f"User {number}",
        "emails": [{"type": "work", "value": user_name, "primary": True}],
        "active": True,
    }


async def _seed(uri: str, name: str) -> harness.Tenant:
    store = MongoStore(uri, name)
    try:
        await store.create_indexes()
        return await harness.seed_tenant(store, "Durable")
    finally:
        await store.close()


async def _load(base_url: str, token: str, run: int, creates: int, concurrency: int) -> dict[str, float]:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/scim+json"}
    async with httpx.AsyncClient(base_url=f"{base_url}/scim/v2", headers=headers, timeout=60) as client:

        def post(number: int) -> Any:
            return lambda: client.post("/Users", json=_body(run, number))

        await harness.run_concurrently([post(n) for n in range(WARM_UP)], concurrency)
        latencies, errors, seconds = await harness.run_concurrently(
            [post(n) for n in range(WARM_UP, WARM_UP + creates)], concurrency
        )
    return {
        "creates_per_s": creates / seconds,
        "errors": len(errors),
        **harness.latency_figures(list(latencies.values())),
    }


def _measure(sync_on_commit: bool, run: int, creates: int, concurrency: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="bench-durability-") as scratch:
        embedded = EmbeddedDatabase(Path(scratch) / "db", start_timeout=60, sync_on_commit=sync_on_commit)
        uri = asyncio.run(embedded.start())
        try:
            database = harness.Database(uri, "durability", "embedded SecantusDB")
            tenant = asyncio.run(_seed(uri, database.name))
            with harness.service(database, scim_rate_limit_per_second="0") as service:
                return asyncio.run(_load(service.base_url, tenant.scim_token, run, creates, concurrency))
        finally:
            asyncio.run(embedded.stop())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--creates", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=2, help="runs of each mode, alternating")
    arguments = parser.parse_args()
    runs: dict[str, list[dict[str, float]]] = {mode: [] for mode in MODES}
    for run in range(arguments.repeat):
        for mode, sync_on_commit in MODES.items():
            figures = _measure(sync_on_commit, run, arguments.creates, arguments.concurrency)
            runs[mode].append(figures)
            print(f"run {run + 1}, {mode}: {figures['creates_per_s']:.1f} creates/s", flush=True)
    summary = {
        mode: {
            "creates_per_s": statistics.median(r["creates_per_s"] for r in results),
            "p50_ms": statistics.median(r["p50_ms"] for r in results),
            "p99_ms": statistics.median(r["p99_ms"] for r in results),
            "errors": sum(int(r["errors"]) for r in results),
        }
        for mode, results in runs.items()
    }
    harness.print_table(
        f"SCIM POST /Users, {arguments.concurrency} in flight, median of {arguments.repeat} runs of "
        f"{arguments.creates} (embedded SecantusDB, the service in its own process)",
        ["log", "creates/s", "p50 ms", "p99 ms", "errors"],
        [[mode, s["creates_per_s"], s["p50_ms"], s["p99_ms"], s["errors"]] for mode, s in summary.items()],
    )
    flushed, buffered = (summary[mode]["creates_per_s"] for mode in MODES)
    print(f"\nthroughput with the log flushed at commit: {flushed / buffered:.0%} of buffered")
    harness.write_results("durability", {"parameters": vars(arguments), "runs": runs, "summary": summary})
    return 0


if __name__ == "__main__":
    sys.exit(main())
