"""A noisy tenant beside a quiet one: how much does a flood move the quiet tenant's latency?

Runs the real command line, ``identity-store serve`` (``--workers``, 1 by default), on one
database (the embedded SecantusDB flushing its log at every commit, or ``MONGODB_URI``), with
every setting at its default: the per-tenant SCIM rate limit is on (100 requests/s, 200 at once).
Two tenants of ``--users`` users each (bulk-loaded). The quiet tenant sends an Entra-like load
at a steady ``--rate`` (20 requests/s: a ``GET /Users?filter=userName eq "..."`` and a
``PATCH /Users/{id}`` replace in turn; latency counted from when each was due, an open loop),
for ``--seconds``, three times: alone, while the noisy tenant floods (``--noisy-concurrency``
requests in flight, each sent as soon as the last answered, ``POST /Users`` and the filter in
turn, from a process of its own), and alone again (the spread of the two lone runs is the machine's noise).

For each run: the quiet tenant's p50/p99 (both kinds, and each), the same requests as the service
timed them (its request log's ``duration_ms``: arrival in the app to the answer sent), a probe
of ``/healthz`` every 100 ms (it does nothing, so its latency is the wait for the event loop),
the loop lag the service logged (its WARNING lines above 100 ms), the mean latency of the
database's find, update and commitTransaction commands as the driver timed them, the commands
sent a second (and the inserts among them), the CPU the service and the database used (and the
noisy client, which shares the machine), and how busy the machine was; for the flood, the noisy
tenant's answers (2xx, 429, other). Then the ratio of the quiet p99 with the flood to alone,
against the goal (at most 1.2).

The noisy client runs at the lowest CPU priority (``os.nice(19)``) unless
``--noisy-priority normal``. A flood comes from the tenant's own machines, not from the service's:
at full speed on this machine the client took 68-98 % of one of its two cores, time the service
and the database would otherwise have had, which measured the machine's sharing rather than the
service's. At the lowest priority it still runs as fast as the cores left over allow, so it still
keeps its requests in flight; its CPU is reported either way.

    .venv/bin/python benchmarks/noisy_tenant.py [--seconds 30] [--rate 20] [--noisy-concurrency 32]
        [--users 200] [--workers 1] [--rate-limit PER_SECOND] [--in-flight PER_TENANT]
        [--noisy-priority lowest|normal]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import random
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from multiprocessing.synchronize import Event as EventType
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import harness
import httpx
from harness import USER_URN, Served

from identity_store.mongo import MongoStore

PATCH_URN = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
GOAL = 1.2
Request = Callable[[], Awaitable[httpx.Response]]


@dataclass(slots=True)
class Run:
    name: str
    quiet: dict[str, float] = field(default_factory=dict)
    quiet_get: dict[str, float] = field(default_factory=dict)
    quiet_patch: dict[str, float] = field(default_factory=dict)
    quiet_server: dict[str, float] = field(default_factory=dict)
    quiet_errors: dict[str, int] = field(default_factory=dict)
    probe: dict[str, float] = field(default_factory=dict)
    loop_warnings: int = 0
    loop_worst_ms: float = 0.0
    #: Mean database command latency as the driver timed it, by command (all tenants' commands).
    command_ms: dict[str, float] = field(default_factory=dict)
    #: Database commands a second, all of them and the inserts (the activity log's among them).
    commands_per_second: float = 0.0
    inserts_per_second: float = 0.0
    service_cpu: float = 0.0
    database_cpu: float | None = None
    machine_busy: float = 0.0
    noisy_answers: dict[str, int] = field(default_factory=dict)
    noisy_per_second: float = 0.0
    #: The flood's own process (the noisy client, on this machine too), in cores.
    flood_cpu: float = 0.0


@dataclass(frozen=True, slots=True)
class Tenants:
    quiet_token: str
    quiet_users: list[tuple[str, str]]
    noisy_token: str
    noisy_users: list[str]


async def seed(uri: str, name: str, users: int) -> Tenants:
    store = MongoStore(uri, name, operation_timeout_seconds=600)
    try:
        quiet = await harness.seed_tenant(store, "quiet")
        noisy = await harness.seed_tenant(store, "noisy")
        quiet_ids = await harness.bulk_users(store, quiet.id, range(users), "quiet.example.com")
        await harness.bulk_users(store, noisy.id, range(users), "noisy.example.com")
    finally:
        await store.close()
    quiet_names = [f"user{n:06d}@quiet.example.com" for n in range(users)]
    noisy_names = [f"user{n:06d}@noisy.example.com" for n in range(users)]
    return Tenants(quiet.scim_token, list(zip(quiet_ids, quiet_names, strict=True)), noisy.scim_token, noisy_names)


def quiet_requests(http: httpx.AsyncClient, tenants: Tenants, run: str, count: int) -> list[Request]:
    """A filter and a PATCH in turn, on users picked at random (the same picks for every run)."""
    picks = random.Random(7)
    requests: list[Request] = []
    for index in range(count):
        user_id, user_name = picks.choice(tenants.quiet_users)
        headers = {"X-Request-Id": f"{run}-{index}"}
        if index % 2 == 0:
            requests.append(_match(http, user_name, headers))
        else:
            requests.append(_rename(http, user_id, run, headers))
    return requests


def _match(http: httpx.AsyncClient, user_name: str, headers: dict[str, str]) -> Request:
    return lambda: http.get("/Users", params={"filter": f'userName eq "{user_name}"'}, headers=headers)


def _rename(http: httpx.AsyncClient, user_id: str, name: str, headers: dict[str, str]) -> Request:
    body = {"schemas": [PATCH_URN], "Operations": [{"op": "replace", "path": "displayName", "value": name}]}
    return lambda: http.patch(f"/Users/{user_id}", json=body, headers=headers)


async def flood(base_url: str, tenants: Tenants, concurrency: int, stop: asyncio.Event) -> tuple[Counter[str], float]:
    """The noisy tenant, ``concurrency`` in flight as fast as answered, until ``stop``."""
    answers: Counter[str] = Counter()
    sent = 0
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    headers = {"Authorization": f"Bearer {tenants.noisy_token}"}
    started = time.perf_counter()
    async with httpx.AsyncClient(base_url=base_url, headers=headers, limits=limits, timeout=60) as http:

        async def one_after_another(lane: int) -> None:
            nonlocal sent
            number = 0
            while not stop.is_set():
                number += 1
                if number % 2:
                    name = f"flood{lane}-{number}-{time.time_ns()}@noisy.example.com"
                    response = await http.post("/Users", json={"schemas": [USER_URN], "userName": name})
                else:
                    name = tenants.noisy_users[number % len(tenants.noisy_users)]
                    response = await http.get("/Users", params={"filter": f'userName eq "{name}"'})
                sent += 1
                status = response.status_code
                answers["2xx" if status < 300 else "429" if status == 429 else str(status)] += 1

        await asyncio.gather(*(one_after_another(lane) for lane in range(concurrency)))
    return answers, sent / (time.perf_counter() - started)


class FloodProcess:
    """The flood in a process of its own: in the quiet tenant's process, its hundreds of requests
    a second would hold the event loop that times the quiet requests, and their latency with it."""

    def __init__(self, base_url: str, tenants: Tenants, concurrency: int, *, lowest_priority: bool) -> None:
        context = multiprocessing.get_context("spawn")
        self._stop = context.Event()
        self._results: multiprocessing.Queue[tuple[dict[str, int], float, float]] = context.Queue()
        self._process = context.Process(
            target=_flood_in_process,
            args=(base_url, tenants, concurrency, self._stop, self._results, lowest_priority),
        )
        self._process.start()

    def finish(self) -> tuple[Counter[str], float, float]:
        """The flood's answers by kind, its requests a second, and the CPU seconds it used."""
        self._stop.set()
        answers, per_second, cpu = self._results.get(timeout=120)
        self._process.join(timeout=30)
        return Counter(answers), per_second, cpu


def _flood_in_process(
    base_url: str,
    tenants: Tenants,
    concurrency: int,
    stop: EventType,
    results: multiprocessing.Queue[tuple[dict[str, int], float, float]],
    lowest_priority: bool,
) -> None:
    if lowest_priority:
        os.nice(19)  # as if it ran elsewhere: the service and the database get the cores first

    async def until_stopped() -> tuple[Counter[str], float]:
        stopping = asyncio.Event()

        async def watch() -> None:
            await asyncio.to_thread(stop.wait)  # the other process's event, waited for on a thread
            stopping.set()

        watching = asyncio.create_task(watch())
        outcome = await flood(base_url, tenants, concurrency, stopping)
        await watching
        return outcome

    answers, per_second = asyncio.run(until_stopped())
    results.put((dict(answers), per_second, time.process_time()))


async def probe(base_url: str, stop: asyncio.Event) -> list[float]:
    """``/healthz`` every 100 ms on a connection of its own: its latency is the event loop's wait."""
    latencies: list[float] = []
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
        while not stop.is_set():
            started = time.perf_counter()
            await http.get("/healthz")
            latencies.append((time.perf_counter() - started) * 1000)
            await asyncio.sleep(0.1)
    return latencies


async def one_run(
    served: Served, tenants: Tenants, name: str, arguments: argparse.Namespace, database_pid: int | None
) -> Run:
    run = Run(name)
    count = int(arguments.seconds * arguments.rate)
    scim = f"{served.base_url}/scim/v2"
    headers = {"Authorization": f"Bearer {tenants.quiet_token}", "Content-Type": "application/scim+json"}
    lines_before = len(served.log.read_text().splitlines())
    metrics_before = served.metrics()
    cpu, machine = served.cpu_seconds(), harness.machine_jiffies()
    database_cpu = harness.cpu_seconds(database_pid) if database_pid else 0.0
    stop = asyncio.Event()
    async with httpx.AsyncClient(base_url=scim, headers=headers, timeout=60) as http:
        probing = asyncio.create_task(probe(served.base_url, stop))
        flooding = (
            FloodProcess(
                scim, tenants, arguments.noisy_concurrency, lowest_priority=arguments.noisy_priority == "lowest"
            )
            if name == "with flood"
            else None
        )
        if flooding is not None:
            await asyncio.sleep(3)  # the flood started and past its burst, at the limiter's pace
        started = time.perf_counter()
        latencies, errors, _wall = await harness.run_concurrently(
            quiet_requests(http, tenants, name.replace(" ", "-"), count), 16, rate=arguments.rate
        )
        wall = time.perf_counter() - started
        stop.set()
        probe_latencies = await probing
        if flooding is not None:
            answers, per_second, flood_cpu = flooding.finish()
            run.noisy_answers = dict(answers)
            run.noisy_per_second = per_second
            run.flood_cpu = flood_cpu / wall
    run.service_cpu = (served.cpu_seconds() - cpu) / wall
    run.database_cpu = (harness.cpu_seconds(database_pid) - database_cpu) / wall if database_pid else None
    run.machine_busy = harness.machine_busy(machine, harness.machine_jiffies())
    metrics_after = served.metrics()
    for command in ("find", "update", "commitTransaction"):

        def grown(name: str, command: str = command) -> float:
            return harness.metric_sum(metrics_after, name, command=command) - harness.metric_sum(
                metrics_before, name, command=command
            )

        calls = grown("identity_database_command_duration_seconds_count")
        run.command_ms[command] = grown("identity_database_command_duration_seconds_sum") * 1000 / calls if calls else 0
    counted = "identity_database_commands_total"
    grown_all = harness.metric_sum(metrics_after, counted) - harness.metric_sum(metrics_before, counted)
    inserts = harness.metric_sum(metrics_after, counted, command="insert") - harness.metric_sum(
        metrics_before, counted, command="insert"
    )
    run.commands_per_second, run.inserts_per_second = grown_all / wall, inserts / wall
    run.quiet = harness.latency_figures(list(latencies.values()))
    run.quiet_get = harness.latency_figures([ms for i, ms in latencies.items() if i % 2 == 0])
    run.quiet_patch = harness.latency_figures([ms for i, ms in latencies.items() if i % 2 == 1])
    run.quiet_errors = dict(Counter(errors.values()))
    run.probe = harness.latency_figures(probe_latencies)
    lines = [json.loads(line) for line in served.log.read_text().splitlines()[lines_before:] if line.startswith("{")]
    prefix = f"{name.replace(' ', '-')}-"
    run.quiet_server = harness.latency_figures(
        [float(line["duration_ms"]) for line in lines if str(line.get("request_id", "")).startswith(prefix)]
    )
    lags = [line for line in lines if line.get("logger") == "identity_service.loop"]
    run.loop_warnings = len(lags)
    run.loop_worst_ms = max((float(str(line["event"]).split()[-2]) for line in lags), default=0.0)
    return run


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=30, help="length of each quiet run (default 30)")
    parser.add_argument("--rate", type=float, default=20, help="the quiet tenant's requests a second (default 20)")
    parser.add_argument("--noisy-concurrency", type=int, default=32, help="the flood's requests in flight (default 32)")
    parser.add_argument("--users", type=int, default=200, help="users of each tenant (default 200)")
    parser.add_argument("--workers", type=int, default=1, help="identity-store serve --workers (default 1)")
    parser.add_argument(
        "--rate-limit", type=float, help="IDENTITY_SCIM_RATE_LIMIT_PER_SECOND for every tenant (default: the service's)"
    )
    parser.add_argument(
        "--in-flight",
        type=int,
        help="IDENTITY_SCIM_TENANT_MAX_IN_FLIGHT, a tenant's requests worked on at once (default: the service's)",
    )
    parser.add_argument(
        "--noisy-priority",
        choices=("lowest", "normal"),
        default="lowest",
        help="the noisy client's CPU priority: lowest (nice 19, as if it ran elsewhere; the default) or normal",
    )
    arguments = parser.parse_args()
    print(f"{harness.machine()}; load average {harness.load_average()}")
    with harness.database() as db, tempfile.TemporaryDirectory(prefix="bench-noisy-") as folder:
        tenants = asyncio.run(seed(db.uri, db.name, arguments.users))
        port = urlparse(db.uri).port
        database_pid = harness.process_listening_on(port) if port is not None else None
        limit = {} if arguments.rate_limit is None else {"scim_rate_limit_per_second": str(arguments.rate_limit)}
        if arguments.in_flight is not None:
            limit["scim_tenant_max_in_flight"] = str(arguments.in_flight)
        with harness.serve(db, Path(folder), workers=arguments.workers, **limit) as served:
            runs = [
                asyncio.run(one_run(served, tenants, name, arguments, database_pid))
                for name in ("alone", "with flood", "alone again")
            ]
        label = db.label
    report(runs, arguments, label)
    harness.write_results(
        "noisy_tenant",
        {"database": label, "arguments": vars(arguments), "runs": [asdict(run) for run in runs]},
    )
    return 0


def report(runs: list[Run], arguments: argparse.Namespace, label: str) -> None:
    def cell(figures: dict[str, float]) -> str:
        return f"{figures['p50_ms']:.1f} / {figures['p99_ms']:.1f}"

    rows: list[tuple[Any, ...]] = [
        (
            run.name,
            cell(run.quiet),
            cell(run.quiet_get),
            cell(run.quiet_patch),
            cell(run.quiet_server),
            " ".join(f"{kind}: {count}" for kind, count in sorted(run.quiet_errors.items())) or "0",
            cell(run.probe),
            f"{run.loop_warnings} (worst {run.loop_worst_ms:.0f} ms)",
            " / ".join(f"{run.command_ms[c]:.1f}" for c in ("find", "update", "commitTransaction")),
            f"{run.commands_per_second:.0f} ({run.inserts_per_second:.0f})",
            f"{run.service_cpu:.0%}",
            "-" if run.database_cpu is None else f"{run.database_cpu:.0%}",
            f"{run.machine_busy:.0%}",
            " ".join(f"{k}: {v:,}" for k, v in sorted(run.noisy_answers.items())) or "-",
            f"{run.noisy_per_second:.0f}" if run.noisy_answers else "-",
            f"{run.flood_cpu:.0%}" if run.noisy_answers else "-",
        )
        for run in runs
    ]
    columns = [
        "run",
        "quiet p50/p99 ms",
        "GET filter",
        "PATCH",
        "as the service timed them",
        "quiet errors",
        "/healthz probe",
        "loop lag warnings",
        "db find / update / commit mean ms",
        "db commands/s (inserts)",
        "service CPU",
        "db CPU",
        "machine busy",
        "noisy answers",
        "noisy req/s",
        "noisy client CPU",
    ]
    title = (
        f"Quiet tenant at {arguments.rate:.0f}/s, noisy tenant {arguments.noisy_concurrency} in flight "
        f"({label}, {arguments.workers} worker(s), rate limit "
        f"{'at its default' if arguments.rate_limit is None else f'{arguments.rate_limit:g}/s'}, "
        f"in flight per tenant {'at its default' if arguments.in_flight is None else arguments.in_flight}, "
        f"noisy client at {arguments.noisy_priority} priority)"
    )
    harness.print_table(title, columns, rows)
    alone = max(runs[0].quiet["p99_ms"], runs[2].quiet["p99_ms"])
    flooded = runs[1].quiet["p99_ms"]
    ratio = flooded / alone
    harness.print_targets(
        [(f"quiet p99 with the flood <= {GOAL}x alone (the worse lone run)", f"{ratio:.2f}x", ratio <= GOAL)]
    )
    print("\nMarkdown:\n")
    print("| " + " | ".join(columns) + " |")
    print("|" + " --- |" * len(columns))
    for row in rows:
        print("| " + " | ".join(str(c) for c in row) + " |")
    print(f"\nquiet p99 with the flood / alone: {ratio:.2f}x (goal <= {GOAL}x); pid {os.getpid()}")


if __name__ == "__main__":
    sys.exit(main())
