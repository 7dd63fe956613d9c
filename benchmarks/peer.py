"""Our service beside scim2-server, the same Entra-shaped load on both in one run.

Each server runs in its own process on loopback: ours (``benchmarks/service.py``, the embedded
database flushing its log at every commit, rate limit off) and scim2-server's ASGI application
with its in-memory storage under uvicorn (``benchmarks/peer_server.py``). For each request kind
the same requests go to both, ``--concurrency`` in flight: requests per second, p50/p99, the
server process's CPU time per request (read from ``/proc``; the load generator and our database
are other processes), and for ours the database commands per request. Then the ratios, ours
over theirs, and the targets.

scim2-server is not a dependency of the project: install the benchmark-only extra first
(``.venv/bin/pip install -e '.[peer]'``), or point ``--peer-python`` at an interpreter that has
it. Nothing is installed by this script.

    .venv/bin/python benchmarks/peer.py [--requests 1000] [--concurrency 8] [--group-members 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import harness
import httpx
from harness import Service

from identity_store.mongo import MongoStore

PEER_SERVER = Path(__file__).resolve().parent / "peer_server.py"
GROUP_URN = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH_URN = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
Request = Callable[[httpx.AsyncClient], Awaitable[httpx.Response]]


@dataclass(slots=True)
class Server:
    """One server under load: where it answers, how to read its CPU time and its commands."""

    name: str
    base_url: str
    headers: dict[str, str]
    pid: int
    ours: Service | None = None

    def cpu_seconds(self) -> float:
        return harness.cpu_seconds(self.pid)

    def reset_commands(self) -> None:
        if self.ours is not None:
            self.ours.reset_commands()

    def commands(self) -> int | None:
        return None if self.ours is None else sum(self.ours.commands().values())


@dataclass(frozen=True, slots=True)
class Figures:
    kind: str
    requests: int
    per_second: float
    p50_ms: float
    p99_ms: float
    cpu_ms: float
    commands: float | None
    errors: int


@contextmanager
def peer(python: str) -> Iterator[Server]:
    port = harness.free_port()
    process = subprocess.Popen([python, str(PEER_SERVER), "--port", str(port)])
    base_url = f"http://127.0.0.1:{port}/v2"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise SystemExit(
                    f"scim2-server did not start (status {process.returncode}): install the peer extra, "
                    "pip install -e '.[peer]', or give --peer-python"
                )
            try:
                httpx.get(f"{base_url}/ServiceProviderConfig", timeout=2)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise SystemExit("scim2-server did not answer within 60 s") from None
                time.sleep(0.1)
        yield Server("scim2-server", base_url, {}, process.pid)
    finally:
        process.terminate()
        process.wait(timeout=30)


async def measure(
    server: Server, client: httpx.AsyncClient, kind: str, requests: Sequence[Request], concurrency: int
) -> tuple[Figures, list[httpx.Response]]:
    """Send ``requests`` with ``concurrency`` in flight; the figures, and the responses in order."""
    responses: list[httpx.Response | None] = [None] * len(requests)
    latencies: list[float] = []
    errors = 0
    queue = list(reversed(range(len(requests))))

    async def worker() -> None:
        nonlocal errors
        while queue:
            index = queue.pop()
            started = time.perf_counter()
            response = await requests[index](client)
            latencies.append((time.perf_counter() - started) * 1000)
            responses[index] = response
            if response.status_code >= 400:
                errors += 1

    server.reset_commands()
    cpu_before = server.cpu_seconds()
    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    wall = time.perf_counter() - started
    cpu = server.cpu_seconds() - cpu_before
    commands = server.commands()
    figures = harness.latency_figures(latencies)
    done = [r for r in responses if r is not None]
    return (
        Figures(
            kind=kind,
            requests=len(requests),
            per_second=len(requests) / wall,
            p50_ms=figures["p50_ms"],
            p99_ms=figures["p99_ms"],
            cpu_ms=cpu * 1000 / len(requests),
            commands=None if commands is None else commands / len(requests),
            errors=errors,
        ),
        done,
    )


async def load(server: Server, *, requests: int, concurrency: int, members: int) -> list[Figures]:
    """The request kinds, in the order a provisioning cycle meets them, on one server."""
    run = f"{int(time.time())}"
    results: list[Figures] = []
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=server.base_url, headers=server.headers, limits=limits, timeout=60) as http:

        def create(number: int) -> Request:
            return lambda c: c.post("/Users", json=harness.entra_user_body(number, run))

        figures, created = await measure(server, http, "POST /Users", [create(i) for i in range(requests)], concurrency)
        results.append(figures)
        users = [(r.json()["id"], r.json()["userName"]) for r in created if r.status_code == 201]
        if not users:
            raise SystemExit(f"{server.name}: no user was created ({created[0].status_code} {created[0].text[:200]})")

        def match(user_name: str) -> Request:
            return lambda c: c.get("/Users", params={"filter": f'userName eq "{user_name}"'})

        def read(user_id: str) -> Request:
            return lambda c: c.get(f"/Users/{user_id}")

        def patch_user(user_id: str, number: int) -> Request:
            body = {
                "schemas": [PATCH_URN],
                "Operations": [{"op": "replace", "path": "displayName", "value": f"Renamed {number}"}],
            }
            return lambda c: c.patch(f"/Users/{user_id}", json=body)

        picked = [users[i % len(users)] for i in range(requests)]
        for kind, batch in (
            ("GET /Users?filter=userName eq", [match(name) for _, name in picked]),
            ("GET /Users/{id}", [read(user_id) for user_id, _ in picked]),
            ("PATCH /Users/{id} replace", [patch_user(user_id, i) for i, (user_id, _) in enumerate(picked)]),
        ):
            figures, _ = await measure(server, http, kind, batch, concurrency)
            results.append(figures)

        group = await http.post("/Groups", json={"schemas": [GROUP_URN], "displayName": f"peer-{run}"})
        group_id = group.json()["id"]

        def add_member(user_id: str) -> Request:
            body = {
                "schemas": [PATCH_URN],
                "Operations": [{"op": "add", "path": "members", "value": [{"value": user_id}]}],
            }
            return lambda c: c.patch(f"/Groups/{group_id}", json=body)

        adds = [add_member(user_id) for user_id, _ in users[:members]]
        figures, _ = await measure(server, http, f"PATCH /Groups add 1 member, to {len(adds):,}", adds, concurrency)
        results.append(figures)

        def read_group() -> Request:
            return lambda c: c.get(f"/Groups/{group_id}", params={"excludedAttributes": "members"})

        kind = f"GET /Groups/{{id}} without members, {len(adds):,} members"
        figures, _ = await measure(server, http, kind, [read_group() for _ in range(requests)], concurrency)
        results.append(figures)
    return results


def ratios(ours: Sequence[Figures], theirs: Sequence[Figures]) -> list[tuple[Any, ...]]:
    rows = []
    for mine, peer_figures in zip(ours, theirs, strict=True):
        rows.append(
            (
                mine.kind,
                mine.per_second,
                peer_figures.per_second,
                f"{mine.per_second / peer_figures.per_second:.2f}x",
                mine.cpu_ms,
                peer_figures.cpu_ms,
                f"{mine.cpu_ms / peer_figures.cpu_ms:.2f}x" if peer_figures.cpu_ms else "-",
                mine.p99_ms,
                "-" if mine.commands is None else f"{mine.commands:.1f}",
            )
        )
    return rows


async def seed(uri: str, name: str) -> dict[str, str]:
    store = MongoStore(uri, name)
    try:
        tenant = await harness.seed_tenant(store, "peer")
    finally:
        await store.close()
    return {"Authorization": f"Bearer {tenant.scim_token}"}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=1000, help="requests of each kind (default 1000)")
    parser.add_argument("--concurrency", type=int, default=8, help="requests in flight (default 8)")
    parser.add_argument("--group-members", type=int, default=1000, help="members added to the group (default 1000)")
    parser.add_argument("--peer-python", default=sys.executable, help="the interpreter that has scim2-server")
    arguments = parser.parse_args()
    print(f"{harness.machine()}; load average {harness.load_average()}")
    # The peer first: it fails fast without its extra, before our database is loaded.
    size = {"requests": arguments.requests, "concurrency": arguments.concurrency, "members": arguments.group_members}
    with peer(arguments.peer_python) as theirs:
        peer_figures = asyncio.run(load(theirs, **size))
    with harness.database() as db, harness.service(db, scim_rate_limit_per_second="0") as ours_process:
        headers = asyncio.run(seed(db.uri, db.name))
        ours = Server("ours", f"{ours_process.base_url}/scim/v2", headers, ours_process.pid, ours_process)
        our_figures = asyncio.run(load(ours, **size))
        label = db.label
    for server_name, figures in (("ours", our_figures), ("scim2-server", peer_figures)):
        harness.print_table(
            f"{server_name} ({label if server_name == 'ours' else 'in-memory storage'})",
            ["request", "n", "req/s", "p50 ms", "p99 ms", "CPU ms/req", "commands/req", "errors"],
            [
                (f.kind, f.requests, f.per_second, f.p50_ms, f.p99_ms, f.cpu_ms, f.commands or "-", f.errors)
                for f in figures
            ],
        )
    rows = ratios(our_figures, peer_figures)
    harness.print_table(
        f"Ours over scim2-server, {arguments.concurrency} in flight",
        ["request", "ours req/s", "theirs", "ratio", "our CPU ms", "theirs", "ratio", "our p99 ms", "our commands"],
        rows,
    )
    by_kind = dict(zip([f.kind for f in our_figures], zip(our_figures, peer_figures, strict=True), strict=True))
    targets: list[tuple[str, str, bool]] = []
    for kind in ("POST /Users", "GET /Users?filter=userName eq", "GET /Users/{id}", "PATCH /Users/{id} replace"):
        mine, other = by_kind[kind]
        ratio = mine.cpu_ms / other.cpu_ms
        targets.append((f"{kind}: CPU per request <= 0.5x", f"{ratio:.2f}x", ratio <= 0.5))
    for kind in ("POST /Users", "GET /Users?filter=userName eq"):
        mine, other = by_kind[kind]
        ratio = mine.per_second / other.per_second
        targets.append((f"{kind}: throughput >= 1.0x", f"{ratio:.2f}x", ratio >= 1.0))
        targets.append((f"{kind}: p99 < 250 ms", f"{mine.p99_ms:.0f} ms", mine.p99_ms < 250))
    harness.print_targets(targets)
    harness.write_results(
        "peer",
        {
            "database": label,
            "concurrency": arguments.concurrency,
            "ours": [_as_dict(f) for f in our_figures],
            "scim2_server": [_as_dict(f) for f in peer_figures],
        },
    )
    return 0


def _as_dict(figures: Figures) -> dict[str, Any]:
    return {name: getattr(figures, name) for name in Figures.__slots__}


if __name__ == "__main__":
    sys.exit(main())
