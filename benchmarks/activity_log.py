"""The cost of the activity log: service CPU per request and latency, with the log kept and without.

Starts SecantusDB (flushing at commit, as the service runs it) and the real service in its own
process (``benchmarks/service.py``) with ``IDENTITY_ACTIVITY_LOG`` on and off, alternating
``--repeat`` times so a change in the machine's load affects both. Each run sends an Entra-shaped
mix with ``--concurrency`` in flight after a warm-up: a third creates (POST /Users), a third
filtered reads (GET /Users?filter=userName eq), a third refused duplicates (409), so the log
records successes and failures alike. Service CPU is the process's user + system time over the
measured requests (the log's batched writes, done by the same process, included), divided by
their number. The target: at most 0.5 ms of service CPU added per request.

    .venv/bin/python benchmarks/activity_log.py [--requests 1200] [--concurrency 8] [--repeat 2]
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

MODES = {"activity log off": "false", "activity log on": "true"}
WARM_UP = 150


def _user(run: int, number: int) -> dict[str, Any]:
    return {"schemas": [harness.USER_URN], "userName": f"activity{run:02d}-{number:06d}@example.com", "active": True}


async def _seed(uri: str, name: str) -> harness.Tenant:
    store = MongoStore(uri, name)
    try:
        await store.create_indexes()
        return await harness.seed_tenant(store, "Activity")
    finally:
        await store.close()


async def _load(service: harness.Service, token: str, run: int, requests: int, concurrency: int) -> dict[str, float]:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/scim+json"}
    async with httpx.AsyncClient(base_url=f"{service.base_url}/scim/v2", headers=headers, timeout=60) as client:

        def request(number: int) -> Any:
            kind = number % 3
            if kind == 0:
                return lambda: client.post("/Users", json=_user(run, number))
            if kind == 1:
                user_name = f"activity{run:02d}-{number - 1:06d}@example.com"
                return lambda: client.get("/Users", params={"filter": f'userName eq "{user_name}"'})
            return lambda: client.post("/Users", json=_user(run, number - 2))  # a duplicate: 409

        await harness.run_concurrently([request(n) for n in range(WARM_UP)], concurrency)
        await asyncio.sleep(1)  # the warm-up's records written before the measure starts
        cpu_before = service.cpu_seconds()
        latencies, errors, seconds = await harness.run_concurrently(
            [request(n) for n in range(WARM_UP, WARM_UP + requests)], concurrency
        )
        await asyncio.sleep(1)  # the last batch of records written, inside the measure
        cpu = service.cpu_seconds() - cpu_before
    unexpected = [e for e in errors.values() if not e.startswith("409")]
    return {
        "requests_per_s": requests / seconds,
        "cpu_ms_per_request": cpu * 1000 / requests,
        "unexpected_errors": len(unexpected),
        **harness.latency_figures(list(latencies.values())),
    }


def _measure(activity_log: str, run: int, requests: int, concurrency: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="bench-activity-") as scratch:
        embedded = EmbeddedDatabase(Path(scratch) / "db", start_timeout=60)
        uri = asyncio.run(embedded.start())
        try:
            database = harness.Database(uri, "activity", "embedded SecantusDB")
            tenant = asyncio.run(_seed(uri, database.name))
            with harness.service(database, scim_rate_limit_per_second="0", activity_log=activity_log) as service:
                return asyncio.run(_load(service, tenant.scim_token, run, requests, concurrency))
        finally:
            asyncio.run(embedded.stop())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=1200)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=2, help="runs of each mode, alternating")
    arguments = parser.parse_args()
    runs: dict[str, list[dict[str, float]]] = {mode: [] for mode in MODES}
    for run in range(arguments.repeat):
        for mode, setting in MODES.items():
            figures = _measure(setting, run, arguments.requests, arguments.concurrency)
            runs[mode].append(figures)
            print(f"run {run + 1}, {mode}: {figures['cpu_ms_per_request']:.2f} ms CPU/request", flush=True)
    summary = {
        mode: {key: statistics.median(r[key] for r in results) for key in results[0]} for mode, results in runs.items()
    }
    harness.print_table(
        f"Entra-shaped SCIM mix, {arguments.concurrency} in flight, median of {arguments.repeat} runs of "
        f"{arguments.requests} (embedded SecantusDB flushing at commit; {harness.load_average()})",
        ["", "req/s", "service CPU ms/request", "p50 ms", "p99 ms", "unexpected errors"],
        [
            [
                mode,
                s["requests_per_s"],
                s["cpu_ms_per_request"],
                s["p50_ms"],
                s["p99_ms"],
                s["unexpected_errors"],
            ]
            for mode, s in summary.items()
        ],
    )
    off, on = (summary[mode]["cpu_ms_per_request"] for mode in MODES)
    added = on - off
    harness.print_targets([("service CPU added per request ≤ 0.5 ms", f"{added:+.2f} ms", added <= 0.5)])
    harness.write_results("activity_log", {"parameters": vars(arguments), "runs": runs, "summary": summary})
    return 0


if __name__ == "__main__":
    sys.exit(main())
