"""Hostile request sizes: the answer time of the largest requests the SCIM limits allow (and of
one over them), and how long ``/healthz`` waits meanwhile, so a stalled event loop shows.

Runs the real service in its own process (``harness.service``, rate limiting off) against the
embedded database (or ``MONGODB_URI``), and sends, each once:

* PATCH adding N roles to one user (N up to the 10,000 allowed, then 40,000: refused);
* a Bulk request of 1000 group POSTs, each naming the next one's bulkId (worst order);
* a filter of 100 terms.

It prints the answer time, status and the longest ``/healthz`` wait. It asserts nothing.

    .venv/bin/python benchmarks/hostile.py
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import harness
import httpx

from identity_store.mongo import MongoStore

PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
BULK = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
USER = "urn:ietf:params:scim:schemas:core:2.0:User"


async def _probe(client: httpx.AsyncClient, stop: asyncio.Event) -> float:
    """The longest time /healthz took to answer while ``stop`` is unset."""
    longest = 0.0
    while not stop.is_set():
        started = time.perf_counter()
        await client.get("/healthz")
        longest = max(longest, time.perf_counter() - started)
        await asyncio.sleep(0.02)
    return longest


async def _measure(client: httpx.AsyncClient, method: str, url: str, body: Any) -> tuple[int, float, float]:
    stop = asyncio.Event()
    probe = asyncio.create_task(_probe(client, stop))
    started = time.perf_counter()
    response = await client.request(method, url, json=body)
    elapsed = time.perf_counter() - started
    stop.set()
    return response.status_code, elapsed, await probe


async def run(service: harness.Service, token: str) -> list[list[object]]:
    rows: list[list[object]] = []
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=service.base_url, headers=headers, timeout=300) as client:
        for n in (1_000, 5_000, 10_000, 40_000):
            created = await client.post("/scim/v2/Users", json={"schemas": [USER], "userName": f"roles{n}"})
            user_id = created.json()["id"]
            roles = [{"value": f"role-{i}"} for i in range(n)]
            body = {"schemas": [PATCH], "Operations": [{"op": "add", "path": "roles", "value": roles}]}
            status, elapsed, wait = await _measure(client, "PATCH", f"/scim/v2/Users/{user_id}", body)
            rows.append([f"PATCH add {n} roles", status, f"{elapsed:.2f}", f"{wait:.3f}"])
        operations = [
            {
                "method": "POST",
                "path": "/Groups",
                "bulkId": f"g{i}",
                "data": {
                    "displayName": f"chain{i}",
                    **({"members": [{"value": f"bulkId:g{i + 1}"}]} if i < 999 else {}),
                },
            }
            for i in range(1000)
        ]
        status, elapsed, wait = await _measure(
            client, "POST", "/scim/v2/Bulk", {"schemas": [BULK], "Operations": operations}
        )
        rows.append(["Bulk 1000 POSTs, reverse references", status, f"{elapsed:.2f}", f"{wait:.3f}"])
        terms = " or ".join(f'userName eq "u{i}"' for i in range(100))
        status, elapsed, wait = await _measure(client, "POST", "/scim/v2/Users/.search", {"filter": terms})
        rows.append(["filter of 100 terms", status, f"{elapsed:.2f}", f"{wait:.3f}"])
    return rows


def main() -> None:
    with harness.database() as db:
        store = MongoStore(db.uri, db.name, operation_timeout_seconds=600)

        async def prepare() -> harness.Tenant:
            try:
                await store.create_indexes()
                return await harness.seed_tenant(store, "hostile")
            finally:
                await store.close()

        tenant = asyncio.run(prepare())
        with harness.service(db, scim_rate_limit_per_second="0") as service:
            rows = asyncio.run(run(service, tenant.scim_token))
        harness.print_table(
            f"Hostile sizes ({db.label}; {harness.machine()})",
            ["request", "status", "answer s", "longest /healthz s"],
            rows,
        )


if __name__ == "__main__":
    main()
