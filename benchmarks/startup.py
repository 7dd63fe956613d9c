"""Start-up and footprint: `identity-store serve` to /readyz, and the service's resident memory.

Runs the real command line, ``identity-store serve``, on the embedded database with a fresh data
folder (``MONGODB_URI`` is ignored here: the start-up measured includes starting SecantusDB),
``--repeat`` times, and reports the time from launch to the first ``/readyz`` 200. On the last
start it then reports the resident memory (VmRSS) of the service process, not of its database
child: at rest, then after ``--operations`` rounds of Entra's group requests (PATCH add and
remove a member, GET without members, the displayName match query) on a 10-member group, then
on a 100,000-member group, then on the 10-member group again. Service memory must not grow with
group size. (Memory under the provisioning cycle's load is in entra_cycle.py's figures.)

The groups and their members are bulk-loaded into the running service's database.

    .venv/bin/python benchmarks/startup.py [--repeat 3] [--big-group 100000] [--operations 200]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import harness
import httpx

from identity_store.mongo import MongoStore

PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
CLI = Path(sys.executable).parent / "identity-store"
TARGET_GROWTH = 1.10


def launch(data_dir: Path, port: int) -> subprocess.Popen[bytes]:
    environment = {k: v for k, v in os.environ.items() if k != "MONGODB_URI"}
    environment["IDENTITY_LOG_LEVEL"] = "warning"
    return subprocess.Popen(
        [str(CLI), "serve", "--data-dir", str(data_dir), "--port", str(port)],
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def wait_ready(process: subprocess.Popen[bytes], base_url: str, timeout: float = 120) -> float:
    """Seconds from now until /readyz answers 200."""
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        if process.poll() is not None:
            error = process.stderr.read().decode() if process.stderr else ""
            raise RuntimeError(f"identity-store serve exited with {process.returncode}: {error[-500:]}")
        try:
            if httpx.get(f"{base_url}/readyz", timeout=1).status_code == 200:
                return time.perf_counter() - started
        except httpx.TransportError:
            pass
        time.sleep(0.02)
    raise RuntimeError(f"not ready within {timeout:.0f} s")


def stop(process: subprocess.Popen[bytes], data_dir: Path) -> float:
    """Stop the service (SIGINT, as Ctrl-C); seconds until it and its database have exited."""
    state = data_dir / "secantusd.json"
    database_pid = json.loads(state.read_text())["pid"] if state.exists() else None
    started = time.perf_counter()
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    if database_pid is not None:
        for _ in range(600):
            try:
                os.kill(database_pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.05)
        else:
            os.kill(database_pid, signal.SIGKILL)
            raise RuntimeError("the embedded database outlived the service")
    return time.perf_counter() - started


async def seed(uri: str, big_group: int) -> tuple[harness.Tenant, dict[int, str], list[str]]:
    """A tenant, a 10-member and a ``big_group``-member group, and 10 users to move in and out."""
    store = MongoStore(uri, "identity", operation_timeout_seconds=1_800)
    try:
        tenant = await harness.seed_tenant(store, "bench-footprint")
        movers = await harness.bulk_users(store, tenant.id, range(10), "movers.example")
        groups: dict[int, str] = {}
        for size, name in ((10, "Small"), (big_group, "Everyone")):
            [group_id] = await harness.bulk_groups(store, tenant.id, [name])
            members = await harness.bulk_users(store, tenant.id, range(size), f"{name.lower()}.example")
            await harness.bulk_memberships(store, tenant.id, group_id, members)
            groups[size] = group_id
        return tenant, groups, movers
    finally:
        await store.close()


def work(client: httpx.Client, group_id: str, name: str, movers: list[str], rounds: int) -> None:
    for i in range(rounds):
        member = [{"value": movers[i % len(movers)]}]
        for op in ("Add", "Remove"):
            body = {"schemas": [PATCH], "Operations": [{"op": op, "path": "members", "value": member}]}
            client.patch(f"/Groups/{group_id}", json=body).raise_for_status()
        client.get(f"/Groups/{group_id}", params={"excludedAttributes": "members"}).raise_for_status()
        query = {"filter": f'displayName eq "{name}"', "excludedAttributes": "members"}
        client.get("/Groups", params=query).raise_for_status()


def run(arguments: argparse.Namespace) -> dict[str, Any]:
    starts: list[float] = []
    stops: list[float] = []
    memory: dict[str, int] = {}
    for attempt in range(arguments.repeat):
        with tempfile.TemporaryDirectory(prefix="bench-start-") as scratch:
            data_dir = Path(scratch) / "data"
            port = harness.free_port()
            base_url = f"http://127.0.0.1:{port}"
            process = launch(data_dir, port)
            try:
                starts.append(wait_ready(process, base_url))
                print(f"  start {attempt + 1}: ready after {starts[-1]:.2f} s", flush=True)
                if attempt == arguments.repeat - 1:
                    time.sleep(2)
                    memory["at rest"] = harness.rss_bytes(process.pid)
                    port_of_database = json.loads((data_dir / "secantusd.json").read_text())["port"]
                    uri = f"mongodb://127.0.0.1:{port_of_database}/?directConnection=true"
                    tenant, groups, movers = asyncio.run(seed(uri, arguments.big_group))
                    with httpx.Client(
                        base_url=f"{base_url}/scim/v2",
                        headers={"Authorization": f"Bearer {tenant.scim_token}"},
                        timeout=120,
                    ) as client:
                        small, big = groups[10], groups[arguments.big_group]
                        for label, group_id, name in (
                            ("after 10-member group", small, "Small"),
                            (f"after {arguments.big_group:,}-member group", big, "Everyone"),
                            ("after 10-member group again", small, "Small"),
                        ):
                            work(client, group_id, name, movers, arguments.operations)
                            memory[label] = harness.rss_bytes(process.pid)
                            print(f"  {label}: {memory[label] / 2**20:.1f} MiB", flush=True)
            finally:
                stops.append(stop(process, data_dir))
    return {
        "database": "embedded SecantusDB (started by identity-store serve)",
        "parameters": vars(arguments),
        "ready_seconds": starts,
        "stop_seconds": stops,
        "memory_bytes": memory,
    }


def report(figures: dict[str, Any]) -> list[tuple[str, str, bool]]:
    starts = figures["ready_seconds"]
    harness.print_table(
        "Start-up: identity-store serve (fresh data folder) to /readyz 200",
        ["", "seconds"],
        [
            ["each start", ", ".join(f"{s:.2f}" for s in starts)],
            ["median", f"{statistics.median(starts):.2f}"],
            ["stop (service and database exited)", ", ".join(f"{s:.2f}" for s in figures["stop_seconds"])],
        ],
    )
    memory = figures["memory_bytes"]
    harness.print_table(
        "Service process resident memory (VmRSS; the database is another process)",
        ["moment", "MiB"],
        [[k, f"{v / 2**20:.1f}"] for k, v in memory.items()],
    )
    big = figures["parameters"]["big_group"]
    small_rss = memory["after 10-member group"]
    big_rss = memory[f"after {big:,}-member group"]
    growth = big_rss / small_rss
    return _targets(growth, big)


def _targets(growth: float, big: int) -> list[tuple[str, str, bool]]:
    targets = [
        (
            f"memory after {big:,}-member group / after 10-member group at most {TARGET_GROWTH}",
            f"{growth:.3f}",
            growth <= TARGET_GROWTH,
        )
    ]
    harness.print_targets(targets)
    return targets


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3, help="starts, each on a fresh data folder")
    parser.add_argument("--big-group", type=int, default=100_000)
    parser.add_argument("--operations", type=int, default=200, help="rounds of group requests per group")
    arguments = parser.parse_args()
    figures = run(arguments)
    targets = report(figures)
    harness.write_results("startup", {**figures, "targets": targets})
    return 0


if __name__ == "__main__":
    sys.exit(main())
