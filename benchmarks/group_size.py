"""Group size independence: member changes and group reads cost the same at 10 and 100,000 members.

Runs the real service under uvicorn on a loopback port, against the embedded database (or
``MONGODB_URI``), and measures through SCIM over HTTP, for each group size:

* PATCH add one member, PATCH remove one member (Entra's request shapes);
* GET the group with ``excludedAttributes=members``;
* GET /Groups filtered by displayName with ``excludedAttributes=members`` (Entra's match query).

It prints latency (p50/p95) and database commands per request (PyMongo command monitoring inside
the server), and the ratio largest/smallest group, and writes the figures as JSON. It asserts
nothing: run it by hand (see benchmarks/README.md).

    .venv/bin/python benchmarks/group_size.py [--sizes 10,1000,10000,100000] [--repeat 40]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from identity_app import Settings, create_app
from identity_store.domain.credentials import CredentialKind, issue
from identity_store.domain.resources import now
from identity_store.mongo import CommandCounter, EmbeddedDatabase, MongoStore

PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
TARGET_RATIO = 1.2


class _Server(uvicorn.Server):
    def install_signal_handlers(self) -> None:
        """The benchmark owns the signals."""


@contextmanager
def serve(settings: Settings, counter: CommandCounter) -> Iterator[str]:
    app = create_app(settings, command_listeners=[counter])
    server = _Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


async def prepare(uri: str, database: str, sizes: list[int]) -> tuple[str, dict[int, str]]:
    """A tenant, its token, and for each size a group with that many members (bulk-loaded)."""
    store = MongoStore(uri, database, timeout_ms=600_000)
    try:
        await store.create_indexes()
        tenant = await store.tenants.create(f"bench-{database}")
        issued = issue(
            tenant_id=tenant.id, kind=CredentialKind.SCIM_TOKEN, name="bench", scopes=frozenset({"scim"}), created=now()
        )
        await store.credentials.add(issued.credential)
        groups: dict[int, str] = {}
        for size in sizes:
            group_id = f"group-{size}"
            at = now()
            await store.database["groups"].insert_one(
                {
                    "_id": group_id,
                    "tenant": tenant.id,
                    "v": 1,
                    "created": at,
                    "modified": at,
                    "attrs": {"displayName": f"Size {size}"},
                    "search": {"displayName": f"size {size}"},
                }
            )
            batch = [
                {
                    "tenant": tenant.id,
                    "group": group_id,
                    "member": f"bulk-{i:06d}",
                    "type": "User",
                    "added": at,
                    "by": None,
                }
                for i in range(size)
            ]
            for start in range(0, size, 10_000):
                await store.database["memberships"].insert_many(batch[start : start + 10_000], ordered=False)
            groups[size] = group_id
        return issued.secret, groups
    finally:
        await store.close()


def warm_up(client: httpx.Client, group_id: str) -> None:
    """Unmeasured requests first, so no size pays for connection set-up and first-call caches."""
    user = client.post(
        "/Users", json={"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "warm-up"}
    )
    member = [{"value": user.json()["id"]}]
    for _ in range(10):
        for op in ("Add", "Remove"):
            body = {"schemas": [PATCH], "Operations": [{"op": op, "path": "members", "value": member}]}
            client.patch(f"/Groups/{group_id}", json=body, headers={"Prefer": "return=minimal"})
        client.get(f"/Groups/{group_id}", params={"excludedAttributes": "members"})


def measure(
    counter: CommandCounter, repeat: int, requests: dict[int, Callable[[int], httpx.Response]]
) -> dict[int, dict[str, float]]:
    """Time one request kind at every size, the sizes interleaved within each repetition.

    Interleaving spreads any drift in the machine's load evenly over the sizes, so the ratio
    between them measures the group size and not the moment.
    """
    latencies: dict[int, list[float]] = {size: [] for size in requests}
    commands: dict[int, list[int]] = {size: [] for size in requests}
    for i in range(repeat):
        for size, request in requests.items():
            counter.reset()
            started = time.perf_counter()
            response = request(i)
            latencies[size].append((time.perf_counter() - started) * 1000)
            commands[size].append(counter.total)
            if response.status_code >= 400:
                raise RuntimeError(f"{response.status_code}: {response.text[:300]}")
    figures: dict[int, dict[str, float]] = {}
    for size in requests:
        ordered = sorted(latencies[size])
        figures[size] = {
            "p50_ms": statistics.median(ordered),
            "p95_ms": ordered[max(int(len(ordered) * 0.95) - 1, 0)],
            "commands": statistics.median(commands[size]),
            "commands_max": max(commands[size]),
        }
    return figures


def run(sizes: list[int], repeat: int) -> dict[str, Any]:
    uri = os.environ.get("MONGODB_URI")
    embedded: EmbeddedDatabase | None = None
    with tempfile.TemporaryDirectory() as scratch:
        if uri is None:
            embedded = EmbeddedDatabase(Path(scratch) / "db")
            uri = asyncio.run(embedded.start())
        database = f"bench_{int(time.time())}"
        token, groups = asyncio.run(prepare(uri, database, sizes))
        counter = CommandCounter()
        results: dict[str, dict[int, dict[str, float]]] = {}
        try:
            with (
                serve(Settings(mongodb_uri=uri, database=database), counter) as base,
                httpx.Client(
                    base_url=f"{base}/scim/v2", headers={"Authorization": f"Bearer {token}"}, timeout=60
                ) as client,
            ):
                user_ids = []
                for i in range(repeat):
                    created = client.post(
                        "/Users",
                        json={"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": f"bench{i}"},
                    )
                    user_ids.append(created.json()["id"])
                warm_up(client, groups[min(groups)])

                def patch(op: str, group_id: str) -> Callable[[int], httpx.Response]:
                    def request(i: int) -> httpx.Response:
                        member = [{"value": user_ids[i]}]
                        body = {"schemas": [PATCH], "Operations": [{"op": op, "path": "members", "value": member}]}
                        return client.patch(f"/Groups/{group_id}", json=body, headers={"Prefer": "return=minimal"})

                    return request

                def get(group_id: str) -> Callable[[int], httpx.Response]:
                    return lambda i: client.get(f"/Groups/{group_id}", params={"excludedAttributes": "members"})

                def find(size: int) -> Callable[[int], httpx.Response]:
                    query = {"filter": f'displayName eq "Size {size}"', "excludedAttributes": "members"}
                    return lambda i: client.get("/Groups", params=query)

                kinds: dict[str, dict[int, Callable[[int], httpx.Response]]] = {
                    "PATCH add 1 member": {size: patch("Add", g) for size, g in groups.items()},
                    "PATCH remove 1 member": {size: patch("Remove", g) for size, g in groups.items()},
                    "GET group excluding members": {size: get(g) for size, g in groups.items()},
                    "GET /Groups?filter=displayName": {size: find(size) for size in groups},
                }
                for name, requests in kinds.items():
                    results[name] = measure(counter, repeat, requests)
                    print(f"  {name}: {results[name]}", flush=True)
        finally:
            if embedded is not None:
                asyncio.run(embedded.stop())
    return {"results": results, "database": "MONGODB_URI" if os.environ.get("MONGODB_URI") else "embedded SecantusDB"}


def report(figures: dict[str, Any], sizes: list[int]) -> None:
    smallest, largest = min(sizes), max(sizes)
    print(f"\nGroup size independence ({figures['database']}); p50 ms / DB commands per request")
    print(f"{'operation':34}" + "".join(f"{s:>16}" for s in sizes) + f"{'ratio p50':>11}{'target':>9}  holds")
    for name, by_size in figures["results"].items():
        cells = "".join(f"{by_size[s]['p50_ms']:>9.1f}ms/{by_size[s]['commands']:<4g}" for s in sizes)
        ratio = by_size[largest]["p50_ms"] / by_size[smallest]["p50_ms"]
        same_commands = len({by_size[s]["commands_max"] for s in sizes}) == 1
        holds = ratio <= TARGET_RATIO and same_commands
        print(f"{name:34}{cells}{ratio:>11.2f}{TARGET_RATIO:>9}  {'yes' if holds else 'NO'}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10,1000,10000,100000")
    parser.add_argument("--repeat", type=int, default=40)
    parser.add_argument("--output", type=Path, default=Path(__file__).parent / "results" / "group_size.json")
    arguments = parser.parse_args()
    sizes = [int(s) for s in arguments.sizes.split(",")]
    figures = run(sizes, arguments.repeat)
    figures.update(
        sizes=sizes,
        repeat=arguments.repeat,
        date=datetime.now(UTC).isoformat(timespec="seconds"),
        machine=f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
    )
    report(figures, sizes)
    arguments.output.parent.mkdir(parents=True, exist_ok=True)
    arguments.output.write_text(json.dumps(figures, indent=2))
    print(f"\nwritten to {arguments.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
