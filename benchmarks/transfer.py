"""Tenant export and import: how long a tenant of N bulk-seeded users takes each way.

Seeds a tenant with N Entra-shaped users (every tenth one managing the next nine), a group
holding all of them, and a SCIM token, straight into the database; then times
:func:`~identity_store.mongo.transfer.export_tenant` to a file and
:func:`~identity_store.mongo.transfer.import_tenant` from it into another database on the same
server, and prints the times, the rates, the file's size and the process's peak memory (the
transfer streams, so that stays flat as N grows). It asserts nothing: run it by hand.

    .venv/bin/python benchmarks/transfer.py [--users 100000]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import resource
import tempfile
import time
from pathlib import Path

import harness
from pymongo.errors import PyMongoError

from identity_store.mongo import MongoStore
from identity_store.mongo.transfer import export_tenant, import_tenant


def main(users: int) -> None:
    with harness.database() as db:
        asyncio.run(measure(db, users))


async def measure(db: harness.Database, users: int) -> None:
    # As the export and import commands open it: patient deadlines for whole-tenant work.
    source = MongoStore(db.uri, db.name, unreachable_seconds=10, operation_timeout_seconds=600)
    target = MongoStore(db.uri, f"{db.name}_target", unreachable_seconds=10, operation_timeout_seconds=600)
    try:
        await source.create_indexes()
        await target.create_indexes()
        tenant = await harness.seed_tenant(source, "bench")
        started = time.perf_counter()
        ids = await harness.bulk_users(
            source,
            tenant.id,
            range(users),
            "bench.example",
            manager_of=lambda p: None if p % 10 == 0 else p - p % 10,
        )
        [group] = await harness.bulk_groups(source, tenant.id, ["Everyone"])
        await harness.bulk_memberships(source, tenant.id, group, ids)
        seeded = time.perf_counter() - started
        with tempfile.TemporaryDirectory(prefix="transfer-") as scratch:
            path = Path(scratch) / "tenant.jsonl"
            started = time.perf_counter()
            with path.open("w") as out:
                await export_tenant(source.database, "bench", out.write, with_credentials=True)
            exported = time.perf_counter() - started
            size = path.stat().st_size
            started = time.perf_counter()
            with path.open() as lines:
                result = await import_tenant(target.database, "bench", lines)
            imported = time.perf_counter() - started
        assert await target.database["users"].count_documents({}) == users  # a sanity check, not a timing one
    finally:
        # Best effort: the embedded database's scratch folder goes anyway, and a failed clean-up
        # must not hide the figures.
        with contextlib.suppress(PyMongoError):
            await target.client.drop_database(f"{db.name}_target")
        await source.close()
        await target.close()
    documents = sum(result.counts.values())
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    harness.print_table(
        f"Tenant transfer, {users:,} users + {users:,} memberships ({db.label}, {harness.machine()})",
        ["step", "seconds", "documents/s"],
        [
            ["seed (bulk insert)", f"{seeded:.1f}", f"{2 * users / seeded:,.0f}"],
            ["export", f"{exported:.1f}", f"{documents / exported:,.0f}"],
            ["import", f"{imported:.1f}", f"{documents / imported:,.0f}"],
        ],
    )
    print(f"file: {size / 1e6:.1f} MB, {documents:,} documents; peak RSS of this process: {peak_mb:.0f} MB")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=100_000)
    main(parser.parse_args().users)
