"""One tenant's load on 1 and on 2 workers: does ``identity-store serve --workers N`` scale it?

Runs the real command line, ``identity-store serve --workers N``, on one database (the embedded
SecantusDB flushing its log at every commit, or ``MONGODB_URI``), the SCIM rate limit off, as
``peer.py`` runs ours, its log at the default level (a JSON line per request, to a file; the
workers' request lines are how the launcher knows each is ready). One tenant, a fresh
service per worker count; for each number of requests in flight, ``--requests`` ``POST /Users``
(Entra-shaped users), then as many ``GET /Users?filter=userName eq "..."`` over the users just
created. For each: requests/s, p50/p99, errors, what ``/metrics`` (summed over the workers) says
of the transactions (the aborted ones: a write that lost the race for the tenant's event
sequence to a writer of another worker, or a write conflict, and ran again; and the database
commands that failed), CPU per request of the service processes, of the database and of this
load generator, how busy the machine's cores were (others' work included: the figure to read
the rest against, and how many cores other processes than ours took meanwhile), and how the
service's CPU was split over its workers. Then the scaling factor, 2 workers over 1.

The events are numbered in each write's transaction, or with ``--numbering sequencer`` by
stamping rounds (``IDENTITY_EVENT_NUMBERING``; the README's architecture section).

    .venv/bin/python benchmarks/scaling.py [--requests 600] [--concurrency 8,16] [--workers 1,2]
        [--numbering transaction|sequencer]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import urlparse

import harness
import httpx
from harness import Served

from identity_store.mongo import MongoStore

Request = Callable[[], Awaitable[httpx.Response]]


@dataclass(frozen=True, slots=True)
class Figures:
    workers: int
    concurrency: int
    kind: str
    requests: int
    per_second: float
    p50_ms: float
    p99_ms: float
    errors: int
    aborted_transactions: float
    failed_commands: float
    service_cpu_ms: float
    database_cpu_ms: float | None
    client_cpu_ms: float
    machine_busy: float
    others_cores: float
    worker_cpu_split: str


async def measure(
    served: Served,
    database_pid: int | None,
    label: tuple[int, int, str],
    requests: Sequence[Request],
    concurrency: int,
) -> Figures:
    pids = served.pids()[1:] or served.pids()
    before = served.metrics()
    worker_cpu = [harness.cpu_seconds(pid) for pid in pids]
    service_cpu = served.cpu_seconds()
    database_cpu = harness.cpu_seconds(database_pid) if database_pid else 0.0
    client_cpu = harness.cpu_seconds(os.getpid())
    machine = harness.machine_jiffies()
    latencies, errors, wall = await harness.run_concurrently(requests, concurrency)
    machine_busy = harness.machine_busy(machine, harness.machine_jiffies())
    client_used = harness.cpu_seconds(os.getpid()) - client_cpu
    database_used = harness.cpu_seconds(database_pid) - database_cpu if database_pid else None
    service_used = served.cpu_seconds() - service_cpu
    worker_used = [harness.cpu_seconds(pid) - cpu for pid, cpu in zip(pids, worker_cpu, strict=True)]
    after = served.metrics()

    def grown(name: str, **labels: str) -> float:
        return harness.metric_sum(after, name, **labels) - harness.metric_sum(before, name, **labels)

    figures = harness.latency_figures(list(latencies.values()))
    total = sum(worker_used) or 1.0
    workers, in_flight, kind = label
    return Figures(
        workers=workers,
        concurrency=in_flight,
        kind=kind,
        requests=len(requests),
        per_second=len(requests) / wall,
        p50_ms=figures["p50_ms"],
        p99_ms=figures["p99_ms"],
        errors=len(errors),
        aborted_transactions=grown("identity_database_commands_total", command="abortTransaction"),
        failed_commands=grown("identity_database_commands_total", outcome="failed"),
        service_cpu_ms=service_used * 1000 / len(requests),
        database_cpu_ms=None if database_used is None else database_used * 1000 / len(requests),
        client_cpu_ms=client_used * 1000 / len(requests),
        machine_busy=machine_busy,
        # What the rest of the machine used meanwhile: the cores busy less ours (service, database, client).
        others_cores=machine_busy * (os.cpu_count() or 1)
        - (service_used + (database_used or 0.0) + client_used) / wall,
        worker_cpu_split=" / ".join(f"{used / total:.0%}" for used in worker_used),
    )


async def load(
    served: Served, token: str, database_pid: int | None, *, workers: int, concurrency: int, requests: int
) -> list[Figures]:
    run = f"{workers}w{concurrency}c{int(time.time())}"
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(
        base_url=f"{served.base_url}/scim/v2", headers=headers, limits=limits, timeout=60
    ) as http:
        # Warm-up, not measured, opening the pool's connections one more at a time while the
        # others are busy, as a client's load grows. Workers share one listening socket and a
        # worker that wakes accepts every connection waiting: connections opened all at once
        # would all go to one worker; opened while the workers are busy, they go to the idle one.
        for width in range(1, concurrency + 1):
            warm = [_create(http, n, f"warm{width}{run}") for n in range(4 * width)]
            await harness.run_concurrently(warm, width)
        creates = [_create(http, n, run) for n in range(requests)]
        created = await measure(served, database_pid, (workers, concurrency, "POST /Users"), creates, concurrency)
        names = [f"user{n:06d}.{run}@example.com" for n in range(requests)]
        matches = [_match(http, name) for name in names]
        kind = 'GET /Users?filter=userName eq "..."'
        matched = await measure(served, database_pid, (workers, concurrency, kind), matches, concurrency)
    return [created, matched]


def _create(http: httpx.AsyncClient, number: int, run: str) -> Request:
    return lambda: http.post("/Users", json=harness.entra_user_body(number, run))


def _match(http: httpx.AsyncClient, user_name: str) -> Request:
    return lambda: http.get("/Users", params={"filter": f'userName eq "{user_name}"'})


async def seed(uri: str, name: str) -> str:
    store = MongoStore(uri, name)
    try:
        return (await harness.seed_tenant(store, "scaling")).scim_token
    finally:
        await store.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=600, help="requests of each kind per cell (default 600)")
    parser.add_argument("--concurrency", default="8,16", help="requests in flight, comma-separated (default 8,16)")
    parser.add_argument("--workers", default="1,2", help="worker counts, comma-separated (default 1,2)")
    harness.add_numbering_option(parser, "who numbers the events (IDENTITY_EVENT_NUMBERING; default transaction)")
    arguments = parser.parse_args()
    in_flight = [int(c) for c in arguments.concurrency.split(",")]
    worker_counts = [int(w) for w in arguments.workers.split(",")]
    print(f"{harness.machine()}; load average {harness.load_average()}")
    results: list[Figures] = []
    with harness.database() as db:
        token = asyncio.run(seed(db.uri, db.name))
        port = urlparse(db.uri).port
        database_pid = harness.process_listening_on(port) if port is not None else None
        for workers in worker_counts:
            with (
                tempfile.TemporaryDirectory(prefix="bench-scaling-") as folder,
                harness.serve(
                    db,
                    Path(folder),
                    workers=workers,
                    scim_rate_limit_per_second="0",
                    event_numbering=arguments.numbering,
                ) as served,
            ):
                for concurrency in in_flight:
                    results += asyncio.run(
                        load(
                            served,
                            token,
                            database_pid,
                            workers=workers,
                            concurrency=concurrency,
                            requests=arguments.requests,
                        )
                    )
        label = f"{db.label}, events numbered by {arguments.numbering}"
    print_tables(results, label)
    harness.write_results(
        "scaling",
        {"database": label, "requests": arguments.requests, "figures": [asdict(f) for f in results]},
    )
    return 0


def print_tables(results: Sequence[Figures], label: str) -> None:
    harness.print_table(
        f"One tenant, identity-store serve --workers N ({label}, log flushed at commit, rate limit off)",
        [
            "workers",
            "in flight",
            "request",
            "n",
            "req/s",
            "p50 ms",
            "p99 ms",
            "errors",
            "aborted txns",
            "failed cmds",
            "service CPU ms/req",
            "db CPU ms/req",
            "client CPU ms/req",
            "machine busy",
            "others' cores",
            "CPU by worker",
        ],
        [
            (
                f.workers,
                f.concurrency,
                f.kind,
                f.requests,
                f.per_second,
                f.p50_ms,
                f.p99_ms,
                f.errors,
                int(f.aborted_transactions),
                int(f.failed_commands),
                f.service_cpu_ms,
                "-" if f.database_cpu_ms is None else f.database_cpu_ms,
                f.client_cpu_ms,
                f"{f.machine_busy:.0%}",
                f"{f.others_cores:.2f}",
                f.worker_cpu_split,
            )
            for f in results
        ],
    )
    by_cell = {(f.workers, f.concurrency, f.kind): f for f in results}
    rows = []
    for f in results:
        if f.workers == 1:
            continue
        one = by_cell.get((1, f.concurrency, f.kind))
        if one is not None:
            rows.append(
                (
                    f.kind,
                    f.concurrency,
                    f.workers,
                    one.per_second,
                    f.per_second,
                    f"{f.per_second / one.per_second:.2f}x",
                )
            )
    harness.print_table(
        "Scaling factor", ["request", "in flight", "workers", "1 worker req/s", "N workers req/s", "factor"], rows
    )
    print("\nMarkdown:\n")
    columns = ["workers", "in flight", "request", "req/s", "p50 ms", "p99 ms", "errors", "aborted txns"]
    columns += ["service CPU ms/req", "db CPU ms/req", "client CPU ms/req", "machine busy"]
    columns += ["others' cores", "CPU by worker"]
    print("| " + " | ".join(columns) + " |")
    print("|" + " --- |" * len(columns))
    for f in results:
        database = "-" if f.database_cpu_ms is None else f"{f.database_cpu_ms:.1f}"
        print(
            f"| {f.workers} | {f.concurrency} | {f.kind} | {f.per_second:.1f} | {f.p50_ms:.1f} | {f.p99_ms:.1f} | "
            f"{f.errors} | {int(f.aborted_transactions)} | {f.service_cpu_ms:.1f} | {database} | "
            f"{f.client_cpu_ms:.1f} | {f.machine_busy:.0%} | {f.others_cores:.2f} | {f.worker_cpu_split} |"
        )
    print("\n| request | in flight | 1 worker req/s | 2 workers req/s | factor |")
    print("| --- | --- | --- | --- | --- |")
    for kind, concurrency, _workers, slow, fast, factor in rows:
        print(f"| {kind} | {concurrency} | {slow:.1f} | {fast:.1f} | {factor} |")


if __name__ == "__main__":
    sys.exit(main())
