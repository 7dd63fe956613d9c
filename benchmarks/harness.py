"""What the benchmarks share: a database, the service in its own process, seeding, figures.

* :func:`database` gives a MongoDB URI and a fresh database name: the embedded SecantusDB started
  in a temporary folder (and stopped afterwards), or ``MONGODB_URI`` when it is set.
* :func:`service` runs the real service (``benchmarks/service.py``: ``create_app`` under uvicorn)
  as a child process on a free loopback port. :class:`Service` reads that process's database
  commands (PyMongo command monitoring inside it), its CPU time and its resident memory from
  ``/proc``; the load generator and the database are other processes and are not counted.
* :func:`serve` runs the command line itself, ``identity-store serve`` (``--workers`` included);
  :class:`Served` reads the CPU time of the parent and its workers, and ``/metrics``.
* :func:`seed_tenant` and :func:`bulk_users` prepare data directly in the database, as an import
  would, so the measured requests start from the state wanted without waiting for HTTP.
* :func:`latency_figures`, :func:`print_table` and :func:`write_results` report.

Nothing here asserts: benchmarks print what they measure, and say which targets hold.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import math
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from bson import json_util

from identity_store.domain.credentials import CredentialKind, issue
from identity_store.domain.groups import Group
from identity_store.domain.memberships import Membership, MemberType
from identity_store.domain.resources import Meta, new_id, now
from identity_store.domain.schema import GROUP_SCHEMA, USER_SCHEMA
from identity_store.domain.users import User
from identity_store.mongo import EmbeddedDatabase, MongoStore
from identity_store.mongo.documents import MEMBER_COUNT, group_to_document, membership_to_document, user_to_document
from identity_store.mongo.positions import POS, SEQUENCES

__all__ = [
    "ENTERPRISE_URN",
    "RESULTS",
    "USER_URN",
    "Database",
    "Served",
    "Service",
    "Tenant",
    "bulk_groups",
    "bulk_memberships",
    "bulk_users",
    "cpu_seconds",
    "database",
    "entra_user_attributes",
    "entra_user_body",
    "free_port",
    "latency_figures",
    "load_average",
    "machine",
    "machine_busy",
    "machine_jiffies",
    "metric_sum",
    "percentile",
    "plan_stages",
    "print_table",
    "print_targets",
    "process_listening_on",
    "rss_bytes",
    "run_concurrently",
    "seed_tenant",
    "serve",
    "service",
    "write_results",
]

RESULTS = Path(__file__).resolve().parent / "results"
SERVICE = Path(__file__).resolve().parent / "service.py"
USER_URN = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE_URN = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


# --- the database ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Database:
    uri: str
    name: str
    label: str


@contextmanager
def database() -> Iterator[Database]:
    """``MONGODB_URI`` when set, else an embedded SecantusDB in a temporary folder; a fresh database."""
    name = f"bench_{int(time.time())}_{os.getpid()}"
    uri = os.environ.get("MONGODB_URI")
    if uri is not None:
        yield Database(uri, name, "MongoDB (MONGODB_URI)")
        asyncio.run(_drop(uri, name))
        return
    with tempfile.TemporaryDirectory(prefix="bench-") as scratch:
        embedded = EmbeddedDatabase(Path(scratch) / "db", start_timeout=60)
        uri = asyncio.run(embedded.start())
        try:
            yield Database(uri, name, "embedded SecantusDB")
        finally:
            asyncio.run(embedded.stop())


async def _drop(uri: str, name: str) -> None:
    store = MongoStore(uri, name, operation_timeout_seconds=600)
    try:
        await store.client.drop_database(name)
    finally:
        await store.close()


# --- query plans ----------------------------------------------------------------------------


def plan_stages(plan: Any) -> list[tuple[str, str | None]]:
    """Every (stage, indexName) in an explain document, wherever it is nested."""
    found: list[tuple[str, str | None]] = []
    if isinstance(plan, dict):
        stage = plan.get("stage")
        if isinstance(stage, str):
            found.append((stage, plan.get("indexName")))
        for key, value in plan.items():
            if key != "rejectedPlans":
                found.extend(plan_stages(value))
    elif isinstance(plan, list):
        for item in plan:
            found.extend(plan_stages(item))
    return found


# --- the service process --------------------------------------------------------------------


class Service:
    """The service process: its address, database commands, CPU time and memory."""

    def __init__(self, process: subprocess.Popen[bytes], base_url: str) -> None:
        self.process = process
        self.base_url = base_url
        self._control = httpx.Client(base_url=base_url, timeout=30)

    @property
    def pid(self) -> int:
        return self.process.pid

    def reset_commands(self) -> None:
        self._control.delete("/_bench/commands").raise_for_status()

    def commands(self) -> Counter[str]:
        """Database commands the service sent since the last reset, by command name."""
        response = self._control.get("/_bench/commands")
        response.raise_for_status()
        return Counter(response.json()["commands"])

    def queries(self) -> list[dict[str, Any]]:
        """The find and aggregate commands sent since the last reset (extended JSON decoded)."""
        response = self._control.get("/_bench/commands")
        response.raise_for_status()
        return [json_util.loads(json.dumps(q)) for q in response.json()["queries"]]

    def statements(self) -> list[dict[str, Any]]:
        """Every command sent since the last reset: its collection and what selects its documents
        (``benchmarks/service.py``, ``_statement``), extended JSON decoded."""
        response = self._control.get("/_bench/commands")
        response.raise_for_status()
        return [json_util.loads(json.dumps(s)) for s in response.json()["statements"]]

    def cpu_seconds(self) -> float:
        """User + system CPU time of the service process (not of the database or this process)."""
        return cpu_seconds(self.pid)

    def rss_bytes(self) -> int:
        return rss_bytes(self.pid)

    def close(self) -> None:
        self._control.close()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of one process so far, from ``/proc/<pid>/stat``."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS


def rss_bytes(pid: int) -> int:
    """Resident memory of one process (VmRSS), in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


def machine_jiffies() -> tuple[int, int]:
    """CPU time of the whole machine so far, in clock ticks: (busy, all), from ``/proc/stat``."""
    fields = [int(f) for f in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle and iowait
    return sum(fields) - idle, sum(fields)


def machine_busy(before: tuple[int, int], after: tuple[int, int]) -> float:
    """How busy the machine's cores were between two :func:`machine_jiffies` (0 to 1)."""
    busy, total = after[0] - before[0], after[1] - before[1]
    return busy / total if total else float("nan")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def service(db: Database, **settings: str) -> Iterator[Service]:
    """The service (create_app under uvicorn) in a child process on loopback, until the block ends.

    ``settings`` are extra ``IDENTITY_*`` variables (``scim_rate_limit_per_second="0"``).
    """
    port = free_port()
    environment = {
        **os.environ,
        "MONGODB_URI": db.uri,
        "IDENTITY_DATABASE": db.name,
        **{f"IDENTITY_{key.upper()}": value for key, value in settings.items()},
    }
    process = subprocess.Popen([sys.executable, str(SERVICE), "--port", str(port)], env=environment)
    base_url = f"http://127.0.0.1:{port}"
    running = Service(process, base_url)
    try:
        _until_ready(process, base_url)
        yield running
    finally:
        running.close()
        _stop(process, 30)


class Served:
    """``identity-store serve`` as its own process: its address, its processes' CPU, its metrics."""

    def __init__(self, process: subprocess.Popen[bytes], base_url: str, log: Path) -> None:
        self.process = process
        self.base_url = base_url
        self.log = log

    def pids(self) -> list[int]:
        """The parent and its children that serve (workers), not the multiprocessing tracker."""
        parent = self.process.pid
        children = Path(f"/proc/{parent}/task/{parent}/children").read_text().split()
        workers = [int(c) for c in children if b"spawn_main" in Path(f"/proc/{c}/cmdline").read_bytes()]
        return [parent, *workers]

    def cpu_seconds(self) -> float:
        """User + system CPU time of the parent and its workers so far."""
        return sum(cpu_seconds(pid) for pid in self.pids())

    def metrics(self) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
        """``/metrics`` (summed over the workers by the service), by sample name and labels."""
        from prometheus_client.parser import text_string_to_metric_families

        text = httpx.get(f"{self.base_url}/metrics", timeout=30).text
        return {
            (sample.name, frozenset(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(text)
            for sample in family.samples
        }


def _stop(process: subprocess.Popen[bytes], seconds: float) -> None:
    """SIGTERM, then SIGKILL if the process is still there after ``seconds``."""
    process.terminate()
    try:
        process.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def add_numbering_option(parser: argparse.ArgumentParser, help_text: str) -> None:
    """``--numbering``: who numbers a write's events (IDENTITY_EVENT_NUMBERING), ``transaction`` by default."""
    parser.add_argument("--numbering", choices=("transaction", "sequencer"), default="transaction", help=help_text)


def metric_sum(metrics: Mapping[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str) -> float:
    """The sum of the samples called ``name`` whose labels include ``labels``."""
    wanted = set(labels.items())
    return sum(value for (sample, have), value in metrics.items() if sample == name and wanted <= have)


def process_listening_on(port: int) -> int | None:
    """The pid of a process whose command line says ``--port <port>`` (the embedded database)."""
    needle = f"--port\0{port}\0".encode()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if needle in (entry / "cmdline").read_bytes():
                    return int(entry.name)
            except OSError:
                continue
    return None


@contextmanager
def serve(db: Database, folder: Path, *, workers: int = 1, **settings: str) -> Iterator[Served]:
    """``identity-store serve --workers N`` on ``db``, on a free loopback port, until the block ends.

    ``settings`` are extra ``IDENTITY_*`` variables; its log lines go to ``folder/serve.log``.
    """
    port = free_port()
    environment = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("IDENTITY_", "PROMETHEUS_"))},
        "MONGODB_URI": db.uri,
        "IDENTITY_DATABASE": db.name,
        "IDENTITY_DATA_DIR": str(folder / "data"),
        **{f"IDENTITY_{key.upper()}": value for key, value in settings.items()},
    }
    log = folder / "serve.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "identity_service", "serve", "--port", str(port), "--workers", str(workers)],
            env=environment,
            stdout=output,
            stderr=subprocess.STDOUT,
            cwd=Path(__file__).resolve().parent.parent,  # this checkout's code, not another's
        )
    running = Served(process, f"http://127.0.0.1:{port}", log)
    try:
        _until_ready(process, running.base_url)
        # /readyz answers once one worker is ready; wait for each of the others before measuring.
        _until_every_worker_is_ready(running, workers)
        yield running
    finally:
        _stop(process, 60)


def _until_every_worker_is_ready(served: Served, workers: int) -> None:
    """Until ``workers`` processes have answered ``/readyz`` 200 (their request lines say which):
    a worker may start while another holds the migrations' lease, and wait behind its gate."""
    ready: set[int] = set()
    deadline = time.monotonic() + 120
    for round_ in itertools.count():
        ids = [f"ready-{round_}-{n}" for n in range(4 * workers)]
        asyncio.run(_readyz_at_once(served.base_url, ids))
        time.sleep(0.1)
        for line in served.log.read_text().splitlines():
            if line.startswith("{") and '"/readyz"' in line:
                record = json.loads(line)
                if record.get("request_id") in ids and record.get("status") == 200:
                    ready.add(record["pid"])
        if len(ready) >= workers:
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"{len(ready)} of {workers} workers were ready within 120 s")


async def _readyz_at_once(base_url: str, ids: Sequence[str]) -> None:
    """A /readyz for each id at once, each on a connection of its own (so spread over the workers)."""
    no_reuse = httpx.Limits(max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=base_url, limits=no_reuse, timeout=30) as http:
        await asyncio.gather(*(http.get("/readyz", headers={"X-Request-Id": i}) for i in ids))


def _until_ready(process: subprocess.Popen[bytes], base_url: str) -> None:
    deadline = time.monotonic() + 120
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"the service exited with status {process.returncode}")
        try:
            if httpx.get(f"{base_url}/readyz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError("the service did not become ready within 120 s")
        time.sleep(0.1)


# --- seeding --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Tenant:
    id: str
    scim_token: str
    api_key: str


async def seed_tenant(store: MongoStore, name: str) -> Tenant:
    """A tenant with a SCIM token and a GraphQL API key that may read everything."""
    tenant = await store.tenants.create(name)
    token = issue(
        tenant_id=tenant.id, kind=CredentialKind.SCIM_TOKEN, name="bench", scopes=frozenset({"scim"}), created=now()
    )
    key = issue(
        tenant_id=tenant.id,
        kind=CredentialKind.API_KEY,
        name="bench",
        scopes=frozenset({"users:read", "groups:read"}),
        created=now(),
    )
    await store.credentials.add(token.credential)
    await store.credentials.add(key.credential)
    return Tenant(tenant.id, token.secret, key.secret)


def entra_user_attributes(number: int, domain: str, *, manager_id: str | None = None) -> dict[str, Any]:
    """A user as Entra provisions it with the default mappings (stored attribute names)."""
    user_name = f"user{number:06d}@{domain}"
    enterprise: dict[str, Any] = {"department": f"Department {number % 40}", "employeeNumber": str(100_000 + number)}
    if manager_id is not None:
        enterprise["manager"] = {"value": manager_id}
    return {
        "userName": user_name,
        "externalId": f"ext-{number:06d}",
        "active": True,
        "displayName": f"User {number:06d}",
        "title": "Engineer",
        "name": {"givenName": "User", "familyName": f"N{number:06d}", "formatted": f"User N{number:06d}"},
        "emails": [{"type": "work", "value": user_name, "primary": True}],
        "roles": [{"value": "Reader", "display": "Reader", "primary": False}],
        "enterprise": enterprise,
    }


def entra_user_body(number: int, run: str) -> dict[str, Any]:
    """A user as Entra creates it (default mappings); the same body for our service and for scim2-server."""
    user_name = f"user{number:06d}.{run}@example.com"
    return {
        "schemas": [USER_URN, ENTERPRISE_URN],
        "externalId": f"ext-{run}-{number:06d}",
        "userName": user_name,
        "active": True,
        "displayName": f"User {number:06d}",
        "title": "Engineer",
        "name": {"givenName": "User", "familyName": f"N{number:06d}", "formatted": f"User N{number:06d}"},
        "emails": [{"type": "work", "value": user_name, "primary": True}],
        ENTERPRISE_URN: {"department": f"Department {number % 40}", "employeeNumber": str(100_000 + number)},
    }


async def bulk_users(
    store: MongoStore,
    tenant_id: str,
    numbers: Sequence[int],
    domain: str,
    *,
    manager_of: Callable[[int], int | None] | None = None,
    batch: int = 2_000,
) -> list[str]:
    """Insert users (Entra-shaped attributes) straight into the database; their ids, in order.

    ``manager_of`` maps a position in ``numbers`` to the position of that user's manager.
    """
    at = now()
    ids = [new_id() for _ in numbers]
    documents = []
    for position, (user_id, number) in enumerate(zip(ids, numbers, strict=True)):
        manager = manager_of(position) if manager_of is not None else None
        user = User(
            id=user_id,
            tenant_id=tenant_id,
            attributes=entra_user_attributes(number, domain, manager_id=ids[manager] if manager is not None else None),
            meta=Meta(created=at, last_modified=at, version=1),
        )
        documents.append(user_to_document(user, USER_SCHEMA))
    await _insert_in_creation_order(store, tenant_id, "users", documents, batch)
    return ids


async def _insert_in_creation_order(
    store: MongoStore, tenant_id: str, kind: str, documents: list[dict[str, Any]], batch: int
) -> None:
    """Insert ``documents`` at the tenant's next creation positions and count them, as the write
    path would (identity_store.mongo.positions)."""
    counter = await store.database[SEQUENCES].find_one({"_id": tenant_id}) or {}
    first = int((counter.get(kind) or {}).get("next", 0))
    for offset, document in enumerate(documents):
        document[POS] = first + offset
    for start in range(0, len(documents), batch):
        await store.database[kind].insert_many(documents[start : start + batch], ordered=False)
    await store.database[SEQUENCES].update_one(
        {"_id": tenant_id}, {"$inc": {f"{kind}.next": len(documents), f"{kind}.live": len(documents)}}, upsert=True
    )


async def bulk_groups(store: MongoStore, tenant_id: str, names: Sequence[str], *, batch: int = 2_000) -> list[str]:
    """Insert groups (no members) straight into the database; their ids, in order."""
    at = now()
    groups = [
        Group(
            id=new_id(),
            tenant_id=tenant_id,
            attributes={"displayName": name, "externalId": new_id()},
            meta=Meta(created=at, last_modified=at, version=1),
        )
        for name in names
    ]
    documents = [group_to_document(g, GROUP_SCHEMA) for g in groups]
    await _insert_in_creation_order(store, tenant_id, "groups", documents, batch)
    return [g.id for g in groups]


async def bulk_memberships(
    store: MongoStore, tenant_id: str, group_id: str, member_ids: Sequence[str], *, batch: int = 5_000
) -> None:
    """Insert memberships of users in a group straight into the database, and count them on the group."""
    at = now()
    documents = [
        membership_to_document(
            tenant_id, Membership(group_id=group_id, member_id=m, member_type=MemberType.USER, added_at=at)
        )
        for m in member_ids
    ]
    for start in range(0, len(documents), batch):
        await store.database["memberships"].insert_many(documents[start : start + batch], ordered=False)
    await store.database["groups"].update_one(
        {"_id": group_id, "tenant": tenant_id}, {"$inc": {MEMBER_COUNT: len(documents)}}
    )


# --- load -----------------------------------------------------------------------------------


async def run_concurrently(
    requests: Sequence[Callable[[], Awaitable[httpx.Response]]], concurrency: int, rate: float | None = None
) -> tuple[dict[int, float], dict[int, str], float]:
    """Send the requests with at most ``concurrency`` in flight.

    Returns the latency (ms) and the error of each request by its index, and the wall time (s).
    With ``rate``, request ``i`` is due ``i / rate`` seconds after the start (an open loop, as a
    client with its own pace sends), and its latency counts from when it was due, so time spent
    waiting for a free slot is counted too.
    """
    latencies: dict[int, float] = {}
    errors: dict[int, str] = {}
    queue = list(reversed(list(enumerate(requests))))
    started = time.perf_counter()

    async def worker() -> None:
        while queue:
            index, request = queue.pop()
            due = started + index / rate if rate else time.perf_counter()
            if rate:
                await asyncio.sleep(max(due - time.perf_counter(), 0))
            try:
                response = await request()
            except httpx.HTTPError as error:
                errors[index] = f"{type(error).__name__}: {error}"
                continue
            latencies[index] = (time.perf_counter() - due) * 1000
            if response.status_code >= 400:
                errors[index] = f"{response.status_code} {response.request.method} {response.request.url.path}"

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies, errors, time.perf_counter() - started


# --- figures --------------------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float:
    """The nearest-rank percentile (q in 0..100) of ``values``."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(math.ceil(q / 100 * len(ordered)) - 1, 0)
    return ordered[min(rank, len(ordered) - 1)]


def latency_figures(latencies: Sequence[float]) -> dict[str, float]:
    return {
        "p50_ms": percentile(latencies, 50),
        "p95_ms": percentile(latencies, 95),
        "p99_ms": percentile(latencies, 99),
        "max_ms": max(latencies) if latencies else float("nan"),
    }


def machine() -> str:
    model = "unknown CPU"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (
        f"{platform.machine()}, {os.cpu_count()} cores ({model}), {memory:.0f} GiB, Python {platform.python_version()}"
    )


def load_average() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


def print_table(title: str, headers: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    """A plain table on stdout, columns as wide as their widest cell."""
    cells = [[str(h) for h in headers], *[[_cell(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    print(f"\n{title}")
    for index, row in enumerate(cells):
        print("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True))))
        if index == 0:
            print("  ".join("-" * w for w in widths))


def print_targets(targets: Sequence[tuple[str, str, bool]]) -> None:
    """Each target, the figure it was judged on, and whether it holds."""
    print_table("Targets", ["target", "measured", "holds"], [(t, m, "yes" if ok else "NO") for t, m, ok in targets])


def _cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:,.1f}" if abs(value) < 100 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def write_results(name: str, figures: Mapping[str, Any]) -> Path:
    """``benchmarks/results/<name>.json`` with the figures, the machine, the database and the date."""
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.json"
    document = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "load_average_at_end": load_average(),
        **figures,
    }
    path.write_text(json.dumps(document, indent=2, default=str))
    print(f"\nwritten to {path}")
    return path
