"""What each request kind asks the database, and how the database plans it.

One request of each kind Entra and the directory walk send, against the service in its own
process (``benchmarks/service.py`` records every command it sends). Each command's filters, or
its pipeline, are then explained by the database (``queryPlanner``; a write's filter is
explained as the find that selects the same documents), and the table says:

* **plan**: the winning plan's scans, ``IXSCAN index`` or ``IDHACK``, or ``COLLSCAN``;
* **bounds**: read from the selection itself: ``point`` (every field pinned to values), ``both
  sides`` (a range with two ends, as a page of positions is) or ``open`` (then it costs what it
  leaves behind);
* **shard**: whether the command names its collection's shard key prefix by equality
  (:mod:`identity_store.mongo.shard_keys`), so that on a sharded cluster it is routed to the one
  shard holding the tenant, or that the collection stays unsharded.

SecantusDB uses an index only when a query's fields are exactly an index's prefix; MongoDB's
planner considers every index whose prefix the query names and takes the best. A command that
SecantusDB serves from an index is therefore served by MongoDB from that index or a better one,
with the same bounds: the shapes hold on MongoDB. Run against a MongoDB (``MONGODB_URI``) to
see its own plans. The ``$lookup`` stages of a read (a user's manager and groups) are not in
SecantusDB's plans; each matches on the looked-up collection's ``_id`` or membership index.

    .venv/bin/python benchmarks/query_plans.py [--users 10000] [--members 1000] [--numbering sequencer]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Callable
from typing import Any

import harness
import httpx
import pymongo.errors
from harness import ENTERPRISE_URN, USER_URN

from identity_store.mongo import MongoStore
from identity_store.mongo.shard_keys import CROSS_TENANT, SHARD_KEYS

GROUP_URN = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH_URN = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
Document = dict[str, Any]


def bounds_of(condition: Any) -> str:
    """How the selection's range fields are bounded, read from the condition itself (SecantusDB's
    plans name the index but not its bounds): ``point`` when every field is pinned to values,
    ``both sides`` when each range has a lower and an upper end, else ``open``, which costs the
    rest of the index."""
    if not isinstance(condition, dict):
        return "-"
    kinds: set[str] = set()
    for field, value in condition.items():
        if field == "$and":
            kinds.update(bounds_of(part) for part in value)
        elif field.startswith("$"):
            continue
        elif isinstance(value, dict) and any(op in value for op in ("$gt", "$gte", "$lt", "$lte")):
            lower = "$gt" in value or "$gte" in value
            upper = "$lt" in value or "$lte" in value
            kinds.add("both sides" if lower and upper else "open")
    kinds.discard("point")
    kinds.discard("-")
    return "open" if "open" in kinds else "both sides" if kinds else "point"


def plan_of(explained: Document) -> str:
    found = harness.plan_stages(explained)
    plan = [
        f"IXSCAN {index}" if "IXSCAN" in stage else stage
        for stage, index in found
        if "IXSCAN" in stage or stage in {"IDHACK", "EXPRESS", "COLLSCAN", "EXPRESS_IXSCAN"}
    ]
    return ", ".join(dict.fromkeys(plan)) or "no scan reported"


def by_equality(condition: Any, field: str) -> bool:
    """Whether ``condition`` pins ``field`` to one value (at its top level or in a top-level ``$and``)."""
    if not isinstance(condition, dict):
        return False
    if field in condition:
        value = condition[field]
        return not isinstance(value, dict) or set(value) == {"$eq"}
    return any(by_equality(part, field) for part in condition.get("$and", ()))


def targeting(statement: Document) -> str:
    collection = statement["collection"]
    if collection in CROSS_TENANT:
        return "unsharded"
    key = SHARD_KEYS.get(collection)
    if key is None:
        return "?"
    first = next(iter(key))
    if "tenants" in statement:
        return "one shard" if statement["tenants"] and "None" not in statement["tenants"] else "NO TENANT"
    if "pipeline" in statement:
        stages = statement["pipeline"]
        match = stages[0].get("$match") if stages and isinstance(stages[0], dict) else None
        return "one shard" if by_equality(match, first) else "ALL SHARDS"
    return "one shard" if all(by_equality(f, first) for f in statement.get("filters", [])) else "ALL SHARDS"


async def explain(store: MongoStore, statement: Document) -> tuple[str, str]:
    """The plan of one command, and the bounds of what it selects."""
    collection = statement["collection"]
    if statement["command"] == "insert":
        return "insert (unique indexes checked)", "-"
    if "pipeline" in statement:
        pipeline = statement["pipeline"]
        command: Document = {"aggregate": collection, "pipeline": pipeline, "cursor": {}}
        first = pipeline[0].get("$match") if pipeline and isinstance(pipeline[0], dict) else None
    else:
        filters = statement.get("filters") or [{}]
        command = {"find": collection, "filter": filters[0]}
        if statement.get("sort"):
            command["sort"] = statement["sort"]
        first = filters[0]
    try:
        explained = await store.database.command({"explain": command, "verbosity": "queryPlanner"})
    except pymongo.errors.PyMongoError as error:  # a plan the database cannot explain is reported
        return f"not explained: {str(error)[:60]}", bounds_of(first)
    return plan_of(explained), bounds_of(first)


def selects(statement: Document) -> str:
    """The fields a command selects on, values left out: the shape a plan depends on."""
    if "tenants" in statement:
        return f"{len(statement['tenants'])} tenant"
    if "pipeline" in statement:
        stages = statement["pipeline"]
        names = [next(iter(s)) for s in stages if isinstance(s, dict) and s]
        first = stages[0].get("$match", {}) if stages and isinstance(stages[0], dict) else {}
        return f"{sorted(first) if isinstance(first, dict) else first} | {' '.join(names[1:])}"
    filters = statement.get("filters") or [{}]
    shape = sorted(filters[0]) if isinstance(filters[0], dict) else filters[0]
    more = f" (+{len(filters) - 1})" if len(filters) > 1 else ""
    sort = f" sort {list(statement['sort'])}" if statement.get("sort") else ""
    return f"{shape}{more}{sort}"


async def seed(uri: str, name: str, users: int, members: int) -> tuple[harness.Tenant, list[str], str]:
    store = MongoStore(uri, name, operation_timeout_seconds=600)
    try:
        tenant = await harness.seed_tenant(store, "plans")
        other = await harness.seed_tenant(store, "neighbour")
        ids = await harness.bulk_users(store, tenant.id, range(users), "plans.example")
        await harness.bulk_users(store, other.id, range(users), "neighbour.example")
        (group_id,) = await harness.bulk_groups(store, tenant.id, ["Everyone"])
        await harness.bulk_memberships(store, tenant.id, group_id, ids[:members])
    finally:
        await store.close()
    return tenant, ids, group_id


def requests(ids: list[str], group_id: str, users: int) -> list[tuple[str, Callable[[httpx.Client], httpx.Response]]]:
    run = f"{int(time.time())}"
    some, other, gone = ids[len(ids) // 2], ids[-1], ids[-2]
    patch = {"schemas": [PATCH_URN], "Operations": [{"op": "replace", "path": "displayName", "value": "Renamed"}]}

    def members(op: str, member: str) -> Document:
        value: Any = [{"value": member}] if op == "add" else None
        operation = {"op": op, "path": "members" if op == "add" else f'members[value eq "{member}"]'}
        return {"schemas": [PATCH_URN], "Operations": [operation | ({"value": value} if value else {})]}

    user_name = f"user{len(ids) // 2:06d}@plans.example"
    return [
        ("POST /Users", lambda c: c.post("/Users", json={"schemas": [USER_URN], "userName": f"new.{run}@x.example"})),
        ("GET /Users?filter=userName eq", lambda c: c.get("/Users", params={"filter": f'userName eq "{user_name}"'})),
        ("GET /Users?filter=externalId eq", lambda c: c.get("/Users", params={"filter": 'externalId eq "nobody"'})),
        (
            "GET /Users?filter=emails[type eq work and value eq]",
            lambda c: c.get("/Users", params={"filter": f'emails[type eq "work" and value eq "{user_name}"]'}),
        ),
        ("GET /Users/{id}", lambda c: c.get(f"/Users/{some}")),
        ("PATCH /Users/{id} replace", lambda c: c.patch(f"/Users/{some}", json=patch)),
        (
            "PUT /Users/{id}",
            lambda c: c.put(
                f"/Users/{other}",
                json={"schemas": [USER_URN, ENTERPRISE_URN], "userName": f"put.{run}@x.example", "active": True},
            ),
        ),
        (
            f"GET /Users page at {users // 2:,}",
            lambda c: c.get("/Users", params={"startIndex": str(users // 2), "count": "100"}),
        ),
        (
            "GET /Groups?filter=displayName eq",
            lambda c: c.get("/Groups", params={"filter": 'displayName eq "Everyone"', "excludedAttributes": "members"}),
        ),
        (
            "GET /Groups/{id} without members",
            lambda c: c.get(f"/Groups/{group_id}", params={"excludedAttributes": "members"}),
        ),
        ("PATCH /Groups add 1 member", lambda c: c.patch(f"/Groups/{group_id}", json=members("add", other))),
        ("PATCH /Groups remove 1 member", lambda c: c.patch(f"/Groups/{group_id}", json=members("remove", other))),
        ("DELETE /Users/{id}", lambda c: c.delete(f"/Users/{gone}")),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=10_000, help="users in the tenant and in its neighbour")
    parser.add_argument("--members", type=int, default=1_000, help="members of the tenant's group")
    harness.add_numbering_option(
        parser,
        "who numbers a write's events (IDENTITY_EVENT_NUMBERING): with sequencer, a write's commands "
        "include the stamping round it waits for",
    )
    arguments = parser.parse_args()
    print(f"{harness.machine()}; load average {harness.load_average()}")
    figures: dict[str, Any] = {}
    with (
        harness.database() as db,
        harness.service(db, scim_rate_limit_per_second="0", event_numbering=arguments.numbering) as service,
    ):
        tenant, ids, group_id = asyncio.run(seed(db.uri, db.name, arguments.users, arguments.members))
        headers = {"Authorization": f"Bearer {tenant.scim_token}"}
        with httpx.Client(base_url=f"{service.base_url}/scim/v2", headers=headers, timeout=60) as scim:
            scim.get("/Users", params={"count": "1"})  # the token and the tenant's schemas are cached
            recorded: list[tuple[str, int, list[Document]]] = []
            for kind, send in requests(ids, group_id, arguments.users):
                service.reset_commands()
                status = send(scim).status_code
                recorded.append((kind, status, service.statements()))

        async def plans() -> list[tuple[str, int, list[tuple[str, ...]]]]:
            store = MongoStore(db.uri, db.name)
            try:
                out = []
                for kind, status, statements in recorded:
                    rows: list[tuple[str, ...]] = []
                    for statement in statements:
                        plan, ranges = await explain(store, statement)
                        rows.append(
                            (
                                statement["command"],
                                statement["collection"],
                                selects(statement),
                                plan,
                                ranges,
                                targeting(statement),
                            )
                        )
                    out.append((kind, status, rows))
                return out
            finally:
                await store.close()

        explained = asyncio.run(plans())
        label = f"{db.label}, events numbered by {arguments.numbering}"
    print(f"\n{label}, {arguments.users:,} users in the tenant and as many in its neighbour")
    for kind, status, rows in explained:
        harness.print_table(
            f"{kind} ({status}): {len(rows)} commands with a collection",
            ["command", "collection", "selects on", "plan", "bounds", "shard"],
            rows,
        )
        figures[kind] = {
            "status": status,
            "commands": [
                dict(zip(("command", "collection", "selects", "plan", "bounds", "shard"), r, strict=True)) for r in rows
            ],
        }
    scanned = [(k, r) for k, _, rows in explained for r in rows if "COLLSCAN" in r[3]]
    broadcast = [(k, r) for k, _, rows in explained for r in rows if r[5] in {"ALL SHARDS", "NO TENANT", "?"}]
    harness.print_targets(
        [
            ("no collection scan", f"{len(scanned)} scans", not scanned),
            ("every tenant command routed to one shard", f"{len(broadcast)} not", not broadcast),
        ]
    )
    for kind, row in scanned + broadcast:
        print(f"  {kind}: {row}")
    harness.write_results("query_plans", {"database": label, "users": arguments.users, "kinds": figures})
    return 0


if __name__ == "__main__":
    sys.exit(main())
