"""Group size independence: member changes and group reads cost the same at 10 and 100,000 members.

Runs the real service in its own process (see ``harness.service``) against the embedded database
(or ``MONGODB_URI``) and measures through SCIM over HTTP, for each group size:

* PATCH add one member, PATCH remove one member (Entra's request shapes);
* GET the group with ``excludedAttributes=members``;
* GET /Groups filtered by displayName with ``excludedAttributes=members`` (Entra's match query);
* GET the group with its members (and their display names), streamed above 1,000 members: its
  latency grows with the members, so it is timed ``--member-repeat`` times, and reported with
  the service's peak resident memory while it sends the group (sampled every 10 ms).

It prints latency (p50/p95) and database commands per request (PyMongo command monitoring inside
the service), the ratio largest/smallest group, and each target with whether it holds, and writes
the figures as JSON. It asserts nothing: run it by hand (see benchmarks/README.md).

    .venv/bin/python benchmarks/group_size.py [--sizes 10,1000,10000,100000] [--repeat 40] [--member-repeat 3]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import harness
import httpx

from identity_store.domain.resources import now
from identity_store.mongo import MongoStore

PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
TARGET_RATIO = 1.2


async def prepare(db: harness.Database, sizes: list[int]) -> tuple[harness.Tenant, dict[int, str]]:
    """A tenant, its token, and for each size a group with that many members (bulk-loaded)."""
    store = MongoStore(db.uri, db.name, operation_timeout_seconds=600)
    try:
        await store.create_indexes()
        tenant = await harness.seed_tenant(store, "bench-group-size")
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
            # Synthetic member ids: the measured requests never read the other members.
            await harness.bulk_memberships(store, tenant.id, group_id, [f"bulk-{i:06d}" for i in range(size)])
            groups[size] = group_id
        return tenant, groups
    finally:
        await store.close()


def warm_up(client: httpx.Client, group_id: str) -> None:
    """Unmeasured requests first, so no size pays for connection set-up and first-call caches."""
    user = client.post("/Users", json={"schemas": [harness.USER_URN], "userName": "warm-up"})
    member = [{"value": user.json()["id"]}]
    for _ in range(10):
        for op in ("Add", "Remove"):
            body = {"schemas": [PATCH], "Operations": [{"op": op, "path": "members", "value": member}]}
            client.patch(f"/Groups/{group_id}", json=body)
        client.get(f"/Groups/{group_id}", params={"excludedAttributes": "members"})


def measure(
    service: harness.Service, repeat: int, requests: dict[int, Callable[[int], httpx.Response]]
) -> dict[int, dict[str, float]]:
    """Time one request kind at every size, the sizes interleaved within each repetition.

    Interleaving spreads any drift in the machine's load evenly over the sizes, so the ratio
    between them measures the group size and not the moment.
    """
    latencies: dict[int, list[float]] = {size: [] for size in requests}
    commands: dict[int, list[int]] = {size: [] for size in requests}
    for i in range(repeat):
        for size, request in requests.items():
            service.reset_commands()
            started = time.perf_counter()
            response = request(i)
            latencies[size].append((time.perf_counter() - started) * 1000)
            commands[size].append(service.commands().total())
            if response.status_code >= 400:
                raise RuntimeError(f"{response.status_code}: {response.text[:300]}")
    figures: dict[int, dict[str, float]] = {}
    for size in requests:
        figures[size] = {
            **harness.latency_figures(latencies[size]),
            "commands": statistics.median(commands[size]),
            "commands_max": max(commands[size]),
        }
    return figures


@contextmanager
def peak_rss(service: harness.Service) -> Iterator[list[int]]:
    """The service's largest resident memory while the block runs, sampled every 10 ms."""
    peak = [service.rss_bytes()]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.01):
            peak[0] = max(peak[0], service.rss_bytes())

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        yield peak
    finally:
        done.set()
        sampler.join()
        peak[0] = max(peak[0], service.rss_bytes())


def measure_with_members(
    service: harness.Service, client: httpx.Client, groups: dict[int, str], repeat: int
) -> dict[int, dict[str, float]]:
    """GET each group with its members ``repeat`` times: latency (whole body received), commands,
    the service's resident memory before and at its peak while sending, and the body's size."""
    latencies: dict[int, list[float]] = {size: [] for size in groups}
    commands: dict[int, list[int]] = {size: [] for size in groups}
    peaks: dict[int, int] = dict.fromkeys(groups, 0)
    before: dict[int, int] = {}
    sizes: dict[int, int] = {}
    for _ in range(repeat):
        for size, group_id in groups.items():
            service.reset_commands()
            before.setdefault(size, service.rss_bytes())
            with peak_rss(service) as peak:
                started = time.perf_counter()
                response = client.get(f"/Groups/{group_id}")
                latencies[size].append((time.perf_counter() - started) * 1000)
            commands[size].append(service.commands().total())
            peaks[size] = max(peaks[size], peak[0])
            if response.status_code >= 400 or len(response.json().get("members", [])) != size:
                raise RuntimeError(f"{response.status_code}: {response.text[:300]}")
            sizes[size] = len(response.content)
    return {
        size: {
            **harness.latency_figures(latencies[size]),
            "commands": statistics.median(commands[size]),
            "commands_max": max(commands[size]),
            "rss_before_mib": before[size] / 2**20,
            "rss_peak_mib": peaks[size] / 2**20,
            "body_mib": sizes[size] / 2**20,
        }
        for size in groups
    }


def run(sizes: list[int], repeat: int, member_repeat: int) -> dict[str, object]:
    results: dict[str, dict[int, dict[str, float]]] = {}
    with harness.database() as db:
        tenant, groups = asyncio.run(prepare(db, sizes))
        with (
            harness.service(db, scim_rate_limit_per_second="0") as service,
            httpx.Client(
                base_url=f"{service.base_url}/scim/v2",
                headers={"Authorization": f"Bearer {tenant.scim_token}"},
                timeout=600,
            ) as client,
        ):
            user_ids = []
            for i in range(repeat):
                created = client.post("/Users", json={"schemas": [harness.USER_URN], "userName": f"bench{i}"})
                user_ids.append(created.json()["id"])
            warm_up(client, groups[min(groups)])

            def patch(op: str, group_id: str) -> Callable[[int], httpx.Response]:
                def request(i: int) -> httpx.Response:
                    member = [{"value": user_ids[i]}]
                    body = {"schemas": [PATCH], "Operations": [{"op": op, "path": "members", "value": member}]}
                    return client.patch(f"/Groups/{group_id}", json=body)

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
                results[name] = measure(service, repeat, requests)
                print(f"  measured {name}", flush=True)
            with_members = measure_with_members(service, client, groups, member_repeat)
            print("  measured GET group with members", flush=True)
    return {"results": results, "with_members": with_members, "database": db.label}


def report(figures: dict[str, object], sizes: list[int]) -> list[tuple[str, str, bool]]:
    smallest, largest = min(sizes), max(sizes)
    results = figures["results"]
    assert isinstance(results, dict)
    rows = []
    targets = []
    for name, by_size in results.items():
        cells = [
            f"{by_size[s]['p50_ms']:.1f} / {by_size[s]['p95_ms']:.1f} ms, {by_size[s]['commands']:g}" for s in sizes
        ]
        ratio = by_size[largest]["p50_ms"] / by_size[smallest]["p50_ms"]
        # The usual count (median): the token cache's re-check every 30 s adds two commands to
        # whichever request happens to come then, at any size.
        same_commands = len({by_size[s]["commands"] for s in sizes}) == 1
        rows.append([name, *cells, f"{ratio:.2f}"])
        targets.append(
            (f"{name}: p50 {largest:,}/{smallest:,} at most {TARGET_RATIO}", f"{ratio:.2f}", ratio <= TARGET_RATIO)
        )
        counts = "/".join(f"{by_size[s]['commands']:g}" for s in sizes)
        targets.append((f"{name}: commands do not grow with group size", counts, same_commands))
    harness.print_table(
        f"Group size independence ({figures['database']}): p50 / p95 latency, database commands per request",
        ["operation", *[f"{s:,} members" for s in sizes], f"p50 {largest:,}/{smallest:,}"],
        rows,
    )
    with_members = figures["with_members"]
    assert isinstance(with_members, dict)
    harness.print_table(
        "GET /Groups/{id} with members: p50 / max latency, commands, service RSS before / peak while sending, body",
        [
            "members",
            "p50 ms",
            "max ms",
            "ms per 1,000 members",
            "commands",
            "RSS before MiB",
            "RSS peak MiB",
            "body MiB",
        ],
        [
            [
                f"{s:,}",
                f"{with_members[s]['p50_ms']:.1f}",
                f"{with_members[s]['max_ms']:.1f}",
                f"{with_members[s]['p50_ms'] * 1000 / s:.1f}",
                f"{with_members[s]['commands']:g}",
                f"{with_members[s]['rss_before_mib']:.1f}",
                f"{with_members[s]['rss_peak_mib']:.1f}",
                f"{with_members[s]['body_mib']:.2f}",
            ]
            for s in sizes
        ],
    )
    harness.print_targets(targets)
    return targets


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10,1000,10000,100000")
    parser.add_argument("--repeat", type=int, default=40)
    parser.add_argument("--member-repeat", type=int, default=3)
    arguments = parser.parse_args()
    sizes = [int(s) for s in arguments.sizes.split(",")]
    figures = run(sizes, arguments.repeat, arguments.member_repeat)
    targets = report(figures, sizes)
    harness.write_results(
        "group_size",
        {
            **figures,
            "sizes": sizes,
            "repeat": arguments.repeat,
            "member_repeat": arguments.member_repeat,
            "targets": targets,
        },
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
