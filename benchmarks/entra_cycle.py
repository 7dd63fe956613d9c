"""Entra provisioning cycle at scale: an initial and an incremental cycle over SCIM, with concurrency.

The workload has Entra's request shapes (shared/reference/entra-provisioning.md §1): users with
managers, roles and enterprise attributes; groups created empty and filled by member PATCHes;
then an incremental cycle of attribute changes, renames, manager changes and clears, disables
and re-enables, member additions and removals (also on a 100,000-member group) and, before every
create, the match query (``userName eq`` / ``displayName eq``) that finds nothing.

Requests go to the real service, run in its own process (``harness.service``), from a load
generator holding ``--concurrency`` requests in flight as fast as the service answers (its
capacity); then the incremental cycle runs again at a steady ``--paced`` rate (50 requests/s,
twice Entra's), still at most ``--concurrency`` in flight, to show the latency at such a pace
(measured from when each request was due). The cycle runs in phases, one request
kind each (Entra too reads and matches before it writes, and sets references in a second pass),
so each kind gets its own figures: requests per second, p50/p95/p99 latency, database commands
per request (PyMongo command monitoring inside the service) and CPU time of the service process
per request (from /proc; the database and the load generator are other processes). The
service's resident memory is sampled throughout.

Seeding: ``--users`` real users are provisioned over SCIM in the initial cycle. The large group
needs more members than that, so ``--big-group`` minus ``--users`` extra users and their
memberships are bulk-loaded into the database first, as an import would; the real users join it
over SCIM on top. The per-tenant rate limit is turned off to measure capacity.

    .venv/bin/python benchmarks/entra_cycle.py [--users 10000] [--groups 1000] [--big-group 100000]
                                               [--changes 1000] [--concurrency 8] [--paced 50]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import harness
import httpx

from identity_store.domain.resources import new_id, now
from identity_store.mongo import MongoStore

PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
GROUP_URN = "urn:ietf:params:scim:schemas:core:2.0:Group"
ADSCIM_GROUP = "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"
DOMAIN = "contoso.example"
TARGET_RPS = 25.0
TARGET_P99_MS = 250.0
MEMBERS_PER_PATCH = 50

Request = Callable[[], Awaitable[httpx.Response]]


@dataclass(frozen=True, slots=True, kw_only=True)
class Kind:
    """A request kind and the most database commands it may cost (reads 1, lists 2, writes 3 + 3)."""

    name: str
    budget: int


READ = 1
LIST = 2
# A write: at most three commands of its own, plus what its transaction needs (the event
# sequence, the event, the commit).
WRITE = 3 + 3


@dataclass(slots=True)
class Phase:
    kind: Kind
    cycle: str
    requests: int = 0
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0
    latency: dict[str, float] = field(default_factory=dict)
    commands: dict[str, int] = field(default_factory=dict)
    cpu_seconds: float = 0.0

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def commands_per_request(self) -> float:
        return sum(self.commands.values()) / self.requests if self.requests else 0.0

    @property
    def cpu_ms_per_request(self) -> float:
        return self.cpu_seconds * 1000 / self.requests if self.requests else 0.0


class MemorySampler:
    """The service's resident memory, sampled every ``interval`` seconds in a thread."""

    def __init__(self, pid: int, interval: float = 0.25) -> None:
        self._pid = pid
        self._interval = interval
        self._stop = threading.Event()
        self.peak = 0
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.peak = max(self.peak, harness.rss_bytes(self._pid))
            except (OSError, RuntimeError):
                return
            self._stop.wait(self._interval)

    def __enter__(self) -> MemorySampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


# --- request bodies (Entra's shapes) ---------------------------------------------------------


def create_user_body(number: int) -> dict[str, Any]:
    user_name = f"user{number:06d}@{DOMAIN}"
    return {
        "schemas": [harness.USER_URN, harness.ENTERPRISE_URN],
        "externalId": f"ext-{number:06d}",
        "userName": user_name,
        "active": True,
        "displayName": f"User {number:06d}",
        "title": "Engineer",
        "emails": [{"primary": True, "type": "work", "value": user_name}],
        "meta": {"resourceType": "User"},
        "name": {"formatted": f"User N{number:06d}", "familyName": f"N{number:06d}", "givenName": "User"},
        "preferredLanguage": "en-GB",
        "addresses": [{"type": "work", "locality": "Leeds", "country": "GB", "primary": False}],
        "phoneNumbers": [{"type": "work", "value": f"+44 113 496 {number % 10_000:04d}"}],
        harness.ENTERPRISE_URN: {"department": f"Department {number % 40}", "employeeNumber": str(100_000 + number)},
        "roles": [{"primary": False, "type": "WindowsAzureActiveDirectoryRole", "value": "Reader"}],
    }


def patch(*operations: dict[str, Any]) -> dict[str, Any]:
    return {"schemas": [PATCH], "Operations": list(operations)}


def attribute_change(number: int, round_: int) -> dict[str, Any]:
    """Alternately the default form (one op per path) and the aadOptscim062020 merged form."""
    if number % 2:
        return patch(
            {"op": "Replace", "path": "title", "value": f"Engineer {round_}"},
            {
                "op": "Replace",
                "path": f"{harness.ENTERPRISE_URN}:department",
                "value": f"Department {(number + round_) % 40}",
            },
            {"op": "Replace", "path": 'phoneNumbers[type eq "mobile"].value', "value": f"+44 7700 9{number:05d}"},
        )
    return patch(
        {
            "op": "replace",
            "value": {
                "displayName": f"User {number:06d} ({round_})",
                "name.familyName": f"N{number:06d}-{round_}",
                f"{harness.ENTERPRISE_URN}:employeeNumber": str(200_000 + number),
            },
        },
        {
            "op": "replace",
            "path": "roles",
            "value": [{"value": "Writer", "display": "Writer", "primary": False}],
        },
    )


def create_group_body(number: int) -> dict[str, Any]:
    return {
        "schemas": [GROUP_URN, ADSCIM_GROUP],
        "externalId": new_id(),
        "displayName": f"Group {number:05d}",
        "meta": {"resourceType": "Group"},
    }


def members(op: str, ids: Sequence[str]) -> dict[str, Any]:
    if op == "Add":
        return patch({"op": "Add", "path": "members", "value": [{"$ref": None, "value": i} for i in ids]})
    return patch({"op": "Remove", "path": "members", "value": [{"value": i} for i in ids]})


# --- running phases --------------------------------------------------------------------------


class Cycle:
    def __init__(self, service: harness.Service, client: httpx.AsyncClient, concurrency: int) -> None:
        self.service = service
        self.client = client
        self.concurrency = concurrency
        self.phases: list[Phase] = []
        self.paced: dict[str, Any] = {}
        self._plan: list[tuple[Kind, Sequence[Request]]] | None = None

    async def phase(self, cycle: str, kind: Kind, requests: Sequence[Request]) -> list[httpx.Response]:
        """Run one kind's requests; the responses, in the order of ``requests``.

        While :meth:`mixed_at` collects a plan, the requests are only added to it.
        """
        if self._plan is not None:
            self._plan.append((kind, requests))
            return []
        if not requests:
            return []
        responses: list[httpx.Response | None] = [None] * len(requests)

        def keep(index: int, request: Request) -> Request:
            async def run() -> httpx.Response:
                response = await request()
                responses[index] = response
                return response

            return run

        await asyncio.to_thread(self.service.reset_commands)
        cpu_before = self.service.cpu_seconds()
        latencies, errors, seconds = await harness.run_concurrently(
            [keep(i, r) for i, r in enumerate(requests)], self.concurrency
        )
        cpu = self.service.cpu_seconds() - cpu_before
        commands = await asyncio.to_thread(self.service.commands)
        measured = Phase(
            kind=kind,
            cycle=cycle,
            requests=len(requests),
            errors=list(errors.values()),
            seconds=seconds,
            latency=harness.latency_figures(list(latencies.values())),
            commands=dict(commands),
            cpu_seconds=cpu,
        )
        self.phases.append(measured)
        print(
            f"  {cycle:11} {kind.name:42} {measured.requests:6} req {measured.rps:7.1f}/s "
            f"p99 {measured.latency['p99_ms']:6.1f} ms {measured.commands_per_request:5.2f} cmd "
            f"{measured.cpu_ms_per_request:5.2f} cpu-ms {len(errors)} errors",
            flush=True,
        )
        return [r for r in responses if r is not None]

    async def mixed_at(self, cycle: str, rate: float, seed: int, build: Callable[[], Awaitable[None]]) -> None:
        """Collect the phases ``build`` would run, then send all their requests mixed, in a
        seeded random order, at ``rate`` requests/s (as Entra sends a cycle's requests at its pace).

        Latency is reported per kind; commands and CPU only for the whole, since the kinds overlap.
        """
        self._plan = []
        try:
            await build()
            plan, self._plan = self._plan, None
        finally:
            self._plan = None
        mixed = [(kind, request) for kind, requests in plan for request in requests]
        random.Random(seed).shuffle(mixed)
        await asyncio.to_thread(self.service.reset_commands)
        cpu_before = self.service.cpu_seconds()
        latencies, errors, seconds = await harness.run_concurrently(
            [request for _, request in mixed], self.concurrency, rate
        )
        cpu = self.service.cpu_seconds() - cpu_before
        commands = await asyncio.to_thread(self.service.commands)
        for kind, _ in plan:
            indexes = [i for i, (k, _) in enumerate(mixed) if k is kind]
            self.phases.append(
                Phase(
                    kind=kind,
                    cycle=cycle,
                    requests=len(indexes),
                    errors=[errors[i] for i in indexes if i in errors],
                    seconds=seconds,
                    latency=harness.latency_figures([latencies[i] for i in indexes if i in latencies]),
                )
            )
        self.paced = {
            "cycle": cycle,
            "rate": rate,
            "requests": len(mixed),
            "seconds": seconds,
            "rps": len(mixed) / seconds,
            "commands_per_request": commands.total() / len(mixed),
            "cpu_ms_per_request": cpu * 1000 / len(mixed),
            "errors": len(errors),
            **harness.latency_figures(list(latencies.values())),
        }
        print(
            f"  {cycle}: {len(mixed)} requests mixed in {seconds:.1f} s, p99 {self.paced['p99_ms']:.1f} ms, "
            f"{len(errors)} errors",
            flush=True,
        )


def get(client: httpx.AsyncClient, path: str, **params: str) -> Request:
    return lambda: client.get(path, params=params)


def post(client: httpx.AsyncClient, path: str, body: dict[str, Any]) -> Request:
    return lambda: client.post(path, json=body)


def send_patch(client: httpx.AsyncClient, path: str, body: dict[str, Any]) -> Request:
    return lambda: client.patch(path, json=body)


def manager_of(number: int) -> int | None:
    """A tree ten reports wide: user 0 has no manager, user n reports to user (n - 1) // 10."""
    return None if number == 0 else (number - 1) // 10


async def initial_cycle(run: Cycle, users: int, groups: int, big_group: str) -> tuple[list[str], list[str]]:
    """Match then create every user and group, set managers, fill groups; the ids created."""
    c = run.client
    name = "initial"
    await run.phase(
        name,
        Kind(name="GET /Users?filter=userName eq (no match)", budget=LIST),
        [get(c, "/Users", filter=f'userName eq "user{n:06d}@{DOMAIN}"') for n in range(users)],
    )
    created = await run.phase(
        name, Kind(name="POST /Users", budget=WRITE), [post(c, "/Users", create_user_body(n)) for n in range(users)]
    )
    user_ids = [r.json()["id"] for r in created]
    if len(user_ids) != users:
        raise RuntimeError("some users were not created")
    await run.phase(
        name,
        Kind(name="GET /Groups?filter=displayName eq (no match)", budget=LIST),
        [
            get(c, "/Groups", filter=f'displayName eq "Group {n:05d}"', excludedAttributes="members")
            for n in range(groups)
        ],
    )
    created = await run.phase(
        name, Kind(name="POST /Groups", budget=WRITE), [post(c, "/Groups", create_group_body(n)) for n in range(groups)]
    )
    group_ids = [r.json()["id"] for r in created]
    manager_ops = [
        send_patch(
            c,
            f"/Users/{user_ids[n]}",
            patch({"op": "Add", "path": f"{harness.ENTERPRISE_URN}:manager", "value": user_ids[m]}),
        )
        for n in range(users)
        if (m := manager_of(n)) is not None
    ]
    await run.phase(name, Kind(name="PATCH user manager (set)", budget=WRITE), manager_ops)
    # Each user is in three groups; groups get members in batches, as Entra sends them.
    by_group: dict[str, list[str]] = {g: [] for g in group_ids}
    for n, user_id in enumerate(user_ids):
        for k in range(3):
            by_group[group_ids[(n * 7 + k * 331) % len(group_ids)]].append(user_id)
    member_ops = [
        send_patch(c, f"/Groups/{g}", members("Add", ids[i : i + MEMBERS_PER_PATCH]))
        for g, ids in by_group.items()
        for i in range(0, len(ids), MEMBERS_PER_PATCH)
    ]
    await run.phase(name, Kind(name=f"PATCH group add members (<= {MEMBERS_PER_PATCH})", budget=WRITE), member_ops)
    big_ops = [
        send_patch(c, f"/Groups/{big_group}", members("Add", user_ids[i : i + MEMBERS_PER_PATCH]))
        for i in range(0, len(user_ids), MEMBERS_PER_PATCH)
    ]
    await run.phase(name, Kind(name=f"PATCH big group add members (<= {MEMBERS_PER_PATCH})", budget=WRITE), big_ops)
    return user_ids, group_ids


async def incremental_cycle(
    run: Cycle, user_ids: list[str], group_ids: list[str], big_group: str, changes: int, seed: int, round_: int
) -> None:
    """About ``changes`` changed users, with Entra's mix of requests; ``round_`` numbers the cycle."""
    c = run.client
    name = "incremental"
    rng = random.Random(seed + round_)
    users = len(user_ids)
    numbers = rng.sample(range(1, users), min(changes, users - 1))
    new_users = max(changes // 10, 1)
    new = range(users + (round_ - 1) * new_users, users + round_ * new_users)
    await run.phase(
        name,
        Kind(name="GET /Users?filter=userName eq (no match)", budget=LIST),
        [get(c, "/Users", filter=f'userName eq "user{n:06d}@{DOMAIN}"') for n in new],
    )
    await run.phase(name, Kind(name="POST /Users", budget=WRITE), [post(c, "/Users", create_user_body(n)) for n in new])
    await run.phase(
        name,
        Kind(name="GET /Users/{id}", budget=READ),
        [get(c, f"/Users/{user_ids[n]}") for n in numbers],
    )
    await run.phase(
        name,
        Kind(name="PATCH user attributes", budget=WRITE),
        [send_patch(c, f"/Users/{user_ids[n]}", attribute_change(n, round_)) for n in numbers],
    )
    tenth = max(len(numbers) // 10, 1)
    renamed = numbers[:tenth]
    await run.phase(
        name,
        Kind(name="PATCH user rename (userName)", budget=WRITE),
        [
            send_patch(
                c,
                f"/Users/{user_ids[n]}",
                patch({"op": "Replace", "path": "userName", "value": f"renamed{n:06d}-{round_}@{DOMAIN}"}),
            )
            for n in renamed
        ],
    )
    moved = numbers[tenth : tenth + 2 * tenth]
    await run.phase(
        name,
        Kind(name="PATCH user manager (change)", budget=WRITE),
        [
            send_patch(
                c,
                f"/Users/{user_ids[n]}",
                patch({"op": "Replace", "path": f"{harness.ENTERPRISE_URN}:manager", "value": user_ids[0]}),
            )
            for n in moved
        ],
    )
    cleared = numbers[3 * tenth : 3 * tenth + max(tenth // 2, 1)]
    await run.phase(
        name,
        Kind(name="PATCH user manager (clear)", budget=WRITE),
        [
            send_patch(
                c,
                f"/Users/{user_ids[n]}",
                patch({"op": "replace", "path": f"{harness.ENTERPRISE_URN}:manager", "value": ""}),
            )
            for n in cleared
        ],
    )
    disabled = numbers[4 * tenth : 5 * tenth]
    for kind, value in (("PATCH user disable", "False"), ("PATCH user re-enable", "True")):
        await run.phase(
            name,
            Kind(name=kind, budget=WRITE),
            [
                send_patch(c, f"/Users/{user_ids[n]}", patch({"op": "Replace", "path": "active", "value": value}))
                for n in disabled
            ],
        )
    added_groups = max(changes // 50, 1)
    new_groups = range(len(group_ids) + (round_ - 1) * added_groups, len(group_ids) + round_ * added_groups)
    await run.phase(
        name,
        Kind(name="GET /Groups?filter=displayName eq (no match)", budget=LIST),
        [get(c, "/Groups", filter=f'displayName eq "Group {n:05d}"', excludedAttributes="members") for n in new_groups],
    )
    await run.phase(
        name, Kind(name="POST /Groups", budget=WRITE), [post(c, "/Groups", create_group_body(n)) for n in new_groups]
    )
    changed_groups = rng.sample(group_ids, min(max(changes // 20, 1), len(group_ids)))
    await run.phase(
        name,
        Kind(name="GET /Groups/{id}?excludedAttributes=members", budget=READ),
        [get(c, f"/Groups/{g}", excludedAttributes="members") for g in [*changed_groups, big_group]],
    )
    await run.phase(
        name,
        Kind(name="PATCH group rename (displayName)", budget=WRITE),
        [
            send_patch(
                c, f"/Groups/{g}", patch({"op": "Replace", "path": "displayName", "value": f"Renamed {round_}-{i:05d}"})
            )
            for i, g in enumerate(changed_groups)
        ],
    )
    # Member changes: the same users move in and out of small groups and of the big group.
    batches = [[user_ids[n] for n in numbers[i : i + 5]] for i in range(0, len(numbers) // 2, 5)]
    target = [rng.choice(group_ids) for _ in batches]
    for op in ("Add", "Remove"):
        await run.phase(
            name,
            Kind(name=f"PATCH group {op.lower()} members (<= 5)", budget=WRITE),
            [send_patch(c, f"/Groups/{g}", members(op, b)) for g, b in zip(target, batches, strict=True)],
        )
    outsiders = [user_ids[n] for n in numbers[len(numbers) // 2 :]]
    big_batches = [outsiders[i : i + 5] for i in range(0, len(outsiders), 5)]
    big_batches = big_batches[: len(batches)]  # as many as for the small groups
    await run.phase(
        name,
        Kind(name="PATCH big group remove members (<= 5)", budget=WRITE),
        [send_patch(c, f"/Groups/{big_group}", members("Remove", b)) for b in big_batches],
    )
    await run.phase(
        name,
        Kind(name="PATCH big group add members (<= 5)", budget=WRITE),
        [send_patch(c, f"/Groups/{big_group}", members("Add", b)) for b in big_batches],
    )


async def prepare(db: harness.Database, users: int, big_group_size: int) -> tuple[harness.Tenant, str]:
    """A tenant, and the big group holding ``big_group_size - users`` bulk-loaded users."""
    store = MongoStore(db.uri, db.name, operation_timeout_seconds=600)
    try:
        await store.create_indexes()
        tenant = await harness.seed_tenant(store, "Contoso")
        group_id = new_id()
        at = now()
        await store.database["groups"].insert_one(
            {
                "_id": group_id,
                "tenant": tenant.id,
                "v": 1,
                "created": at,
                "modified": at,
                "attrs": {"displayName": "All Staff", "externalId": new_id()},
                "search": {"displayName": "all staff"},
            }
        )
        extra = max(big_group_size - users, 0)
        if extra:
            started = time.perf_counter()
            ids = await harness.bulk_users(store, tenant.id, range(1_000_000, 1_000_000 + extra), "bulk." + DOMAIN)
            await harness.bulk_memberships(store, tenant.id, group_id, ids)
            print(f"  bulk-loaded {extra:,} users into the big group in {time.perf_counter() - started:.0f} s")
        return tenant, group_id
    finally:
        await store.close()


def run(arguments: argparse.Namespace) -> dict[str, Any]:
    with harness.database() as db:
        tenant, big_group = asyncio.run(prepare(db, arguments.users, arguments.big_group))
        with harness.service(db, scim_rate_limit_per_second="0") as service:
            rest_rss = service.rss_bytes()

            async def drive() -> Cycle:
                limits = httpx.Limits(max_connections=arguments.concurrency * 2)
                async with httpx.AsyncClient(
                    base_url=f"{service.base_url}/scim/v2",
                    headers={"Authorization": f"Bearer {tenant.scim_token}"},
                    timeout=120,
                    limits=limits,
                ) as client:
                    await client.get("/ServiceProviderConfig")  # the token is verified and cached
                    run = Cycle(service, client, arguments.concurrency)
                    user_ids, group_ids = await initial_cycle(run, arguments.users, arguments.groups, big_group)
                    await incremental_cycle(run, user_ids, group_ids, big_group, arguments.changes, arguments.seed, 1)
                    if arguments.paced:
                        # Again, mixed and at a steady pace: the latency a client sending at that rate sees.
                        await run.mixed_at(
                            f"paced {arguments.paced:g}/s",
                            arguments.paced,
                            arguments.seed,
                            lambda: incremental_cycle(
                                run, user_ids, group_ids, big_group, arguments.changes, arguments.seed, 2
                            ),
                        )
                    return run

            with MemorySampler(service.pid) as memory:
                cycle = asyncio.run(drive())
            end_rss = service.rss_bytes()
    return {
        "database": db.label,
        "parameters": vars(arguments),
        "memory": {"rest_bytes": rest_rss, "peak_bytes": memory.peak, "end_bytes": end_rss},
        "paced": cycle.paced,
        "phases": [
            {
                "cycle": p.cycle,
                "kind": p.kind.name,
                "budget": p.kind.budget,
                "requests": p.requests,
                "errors": len(p.errors),
                "error_samples": p.errors[:5],
                "seconds": p.seconds,
                "rps": p.rps,
                **p.latency,
                "commands": p.commands,
                "commands_per_request": p.commands_per_request,
                "cpu_ms_per_request": p.cpu_ms_per_request,
            }
            for p in cycle.phases
        ],
    }


def report(figures: dict[str, Any]) -> list[tuple[str, str, bool]]:
    phases = figures["phases"]
    rows = [
        [
            f"{p['cycle']}: {p['kind']}",
            p["requests"],
            p["rps"] if not p["cycle"].startswith("paced") else "mixed",
            p["p50_ms"],
            p["p95_ms"],
            p["p99_ms"],
            f"{p['commands_per_request']:.2f}" if not p["cycle"].startswith("paced") else "",
            p["budget"],
            f"{p['cpu_ms_per_request']:.2f}" if not p["cycle"].startswith("paced") else "",
            p["errors"],
        ]
        for p in phases
    ]
    harness.print_table(
        f"Entra provisioning cycle ({figures['database']}, concurrency {figures['parameters']['concurrency']})",
        ["request kind", "requests", "req/s", "p50 ms", "p95 ms", "p99 ms", "commands", "budget", "cpu ms", "errors"],
        rows,
    )
    targets: list[tuple[str, str, bool]] = []
    for cycle in ("initial", "incremental"):
        mine = [p for p in phases if p["cycle"] == cycle]
        total = sum(p["requests"] for p in mine)
        seconds = sum(p["seconds"] for p in mine)
        rps = total / seconds if seconds else 0.0
        worst_p99 = max(p["p99_ms"] for p in mine)
        errors = sum(p["errors"] for p in mine)
        cpu = sum(p["cpu_ms_per_request"] * p["requests"] for p in mine) / total
        print(
            f"\n{cycle} cycle: {total:,} requests in {seconds:.1f} s = {rps:.1f} req/s, "
            f"service CPU {cpu:.2f} ms/request"
        )
        targets.append((f"{cycle} cycle: well above {TARGET_RPS:g} requests/s", f"{rps:.1f}/s", rps > 2 * TARGET_RPS))
        targets.append(
            (f"{cycle} cycle: p99 under {TARGET_P99_MS:g} ms (worst kind)", f"{worst_p99:.1f} ms", worst_p99 < 250)
        )
        targets.append((f"{cycle} cycle: no errors", str(errors), errors == 0))
    paced = figures["paced"]
    if paced:
        cycle = paced["cycle"]
        worst_p99 = max(p["p99_ms"] for p in phases if p["cycle"] == cycle)
        print(
            f"\n{cycle} cycle (kinds mixed): {paced['requests']:,} requests in {paced['seconds']:.1f} s = "
            f"{paced['rps']:.1f} req/s, p99 {paced['p99_ms']:.1f} ms, {paced['commands_per_request']:.2f} commands "
            f"and service CPU {paced['cpu_ms_per_request']:.2f} ms per request"
        )
        targets.append(
            (f"{cycle} cycle: keeps the pace", f"{paced['rps']:.1f}/s", paced["rps"] >= 0.95 * paced["rate"])
        )
        targets.append(
            (f"{cycle} cycle: p99 under {TARGET_P99_MS:g} ms (worst kind)", f"{worst_p99:.1f} ms", worst_p99 < 250)
        )
        targets.append((f"{cycle} cycle: no errors", str(paced["errors"]), paced["errors"] == 0))
    for p in phases:
        if p["cycle"] != "incremental":
            continue
        # Judged to one decimal: the token cache re-checks the token every 30 s (two commands),
        # which adds a few hundredths to a phase's average.
        targets.append(
            (
                f"{p['kind']}: at most {p['budget']} commands",
                f"{p['commands_per_request']:.2f}",
                round(p["commands_per_request"], 1) <= p["budget"],
            )
        )
    memory = figures["memory"]
    print(
        f"\nservice memory (RSS): at rest {memory['rest_bytes'] / 2**20:.0f} MiB, "
        f"peak under load {memory['peak_bytes'] / 2**20:.0f} MiB, at the end {memory['end_bytes'] / 2**20:.0f} MiB"
    )
    harness.print_targets(targets)
    return targets


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--groups", type=int, default=1_000)
    parser.add_argument("--big-group", type=int, default=100_000, help="members of the largest group")
    parser.add_argument("--changes", type=int, default=1_000, help="users changed in the incremental cycle")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument(
        "--paced",
        type=float,
        default=50.0,
        help="then a second incremental cycle sent at this many requests/s (0: skip)",
    )
    parser.add_argument("--seed", type=int, default=7)
    arguments = parser.parse_args()
    figures = run(arguments)
    targets = report(figures)
    harness.write_results("entra_cycle", {**figures, "targets": targets})
    return 0


if __name__ == "__main__":
    sys.exit(main())
