"""A flood of wrong secrets at the token endpoint, and what another tenant's SCIM requests see.

One tenant's OAuth client is sent ``--flood`` wrong secrets, ``--concurrency`` in flight, as fast
as the service answers; meanwhile another tenant reads ``/Users`` at a steady ``--paced`` rate.
Printed: the flood's rate and its answers by status (429s are the throttle), and the paced SCIM
latency (p50/p95/p99) alone first, then during the flood. Run it once with the default limits and
once with ``--no-throttle`` (every limit 0) to compare.

    .venv/bin/python benchmarks/token_flood.py [--flood 3000] [--concurrency 8] [--paced 20] [--no-throttle]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import sys
from collections import Counter

import httpx
from harness import database, latency_figures, print_table, run_concurrently, seed_tenant, service

from identity_store.domain.credentials import CredentialKind, issue
from identity_store.domain.oauth import new_client
from identity_store.domain.resources import now
from identity_store.mongo import MongoStore
from scim_facade import generate_signing_key


async def _seed(uri: str, name: str) -> tuple[str, str]:
    store = MongoStore(uri, name)
    try:
        await store.create_indexes()
        flooded = await seed_tenant(store, "flooded")
        reader = await seed_tenant(store, "reader")
        client = new_client(tenant_id=flooded.id, name="bench", created=now())
        await store.oauth_clients.add(client)
        secret = issue(
            tenant_id=flooded.id,
            kind=CredentialKind.OAUTH_CLIENT_SECRET,
            name="bench",
            scopes=frozenset({"scim"}),
            created=now(),
            client_id=client.id,
        )
        await store.credentials.add(secret.credential)
        return client.id, reader.scim_token
    finally:
        await store.close()


async def _run(base_url: str, client_id: str, scim_token: str, args: argparse.Namespace) -> None:
    wrong = base64.b64encode(f"{client_id}:scim_000000000000000000000000_wrong".encode()).decode()
    seconds = args.flood / 300
    paced = int(args.paced * seconds)
    async with (
        httpx.AsyncClient(base_url=base_url, timeout=30) as flood,
        httpx.AsyncClient(base_url=base_url, timeout=30, headers={"Authorization": f"Bearer {scim_token}"}) as scim,
    ):
        reads = [lambda: scim.get("/scim/v2/Users?count=10") for _ in range(paced)]
        alone, _, _ = await run_concurrently(reads, 4, rate=args.paced)
        statuses: Counter[int] = Counter()

        async def guess() -> httpx.Response:
            response = await flood.post(
                "/oauth2/token", data={"grant_type": "client_credentials"}, headers={"Authorization": f"Basic {wrong}"}
            )
            statuses[response.status_code] += 1
            return response

        flooding = asyncio.create_task(run_concurrently([guess] * args.flood, args.concurrency))
        during, _, _ = await run_concurrently(reads, 4, rate=args.paced)
        _, _, wall = await flooding
    print_table(
        f"Flood of {args.flood} wrong secrets ({'no throttle' if args.no_throttle else 'default limits'})",
        ["figure", "value"],
        [("token requests/s", args.flood / wall), *((f"answered {s}", n) for s, n in sorted(statuses.items()))],
    )
    print_table(
        f"Another tenant's SCIM reads at {args.paced}/s",
        ["when", "p50_ms", "p95_ms", "p99_ms", "max_ms"],
        [
            (label, *latency_figures(list(figures.values())).values())
            for label, figures in (("alone", alone), ("during the flood", during))
        ],
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--flood", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--paced", type=float, default=20)
    parser.add_argument("--no-throttle", action="store_true")
    args = parser.parse_args()
    limits = (
        {"oauth_rate_limit_per_client_per_second": "0", "oauth_rate_limit_per_address_per_second": "0"}
        if args.no_throttle
        else {}
    )
    with database() as db:
        client_id, scim_token = asyncio.run(_seed(db.uri, db.name))
        with service(db, oauth_signing_key=generate_signing_key().decode(), **limits) as running:
            asyncio.run(_run(running.base_url, client_id, scim_token, args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
