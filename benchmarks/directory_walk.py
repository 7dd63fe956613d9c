"""Directory walks: any page of the unfiltered user list costs what the first one does.

Entra's account discovery lists every user with ``startIndex``/``count`` (100 a page). With
``--users`` users bulk-loaded (at their creation positions, as the migration gives them), the
real service in its own process (see ``harness.service``), on the embedded database (or
``MONGODB_URI``), through SCIM and GraphQL over HTTP:

* ``GET /Users?startIndex=s&count=100`` at the first, middle and last page: p50/p99 latency,
  database commands, and for each users query the service sent, the database's ``explain``
  (executionStats: documents and keys examined; the plan's stages);
* the same pages by RFC 9865 cursor (``cursor=``) and by the GraphQL users connection in
  creation order (``orderBy: {field: CREATION}``, ``first: 100`` and ``after``);
* the whole walk (every page, 100 a page) by index, by cursor and by GraphQL: its time, pages,
  and whether every user came exactly once.

It prints the figures, the last/first ratio per kind of page and each target with whether it
holds, and writes the figures as JSON. It asserts nothing: run it by hand (benchmarks/README.md).

    .venv/bin/python benchmarks/directory_walk.py [--users 100000] [--repeat 30] [--count 100]
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
from pymongo import MongoClient

from identity_store.mongo import MongoStore

DOMAIN = "contoso.example"
TARGET_RATIO = 2.0
TARGET_P99_MS = 1000.0
GRAPHQL_PAGE = """query($n: Int!, $after: String) {
  users(first: $n, after: $after, orderBy: {field: CREATION}) {
    totalCount nodes { id userName } pageInfo { hasNextPage endCursor }
  }
}"""


async def prepare(db: harness.Database, users: int) -> harness.Tenant:
    store = MongoStore(db.uri, db.name, operation_timeout_seconds=1_800)
    try:
        await store.create_indexes()
        tenant = await harness.seed_tenant(store, "bench-directory-walk")
        started = time.monotonic()
        await harness.bulk_users(store, tenant.id, range(users), DOMAIN)
        print(f"  loaded {users:,} users in {time.monotonic() - started:.0f} s", flush=True)
        return tenant
    finally:
        await store.close()


def examined(client: MongoClient[dict[str, Any]], database: str, query: dict[str, Any]) -> dict[str, Any]:
    """The database's executionStats of one recorded users query: documents and keys examined,
    and the stages of its plan."""
    if "find" in query:
        command = {k: v for k, v in query.items() if k in {"find", "filter", "projection", "sort", "limit", "skip"}}
    else:
        command = {"aggregate": query["aggregate"], "pipeline": query["pipeline"], "cursor": {}}
    try:
        result = client[database].command("explain", command, verbosity="executionStats")
    except Exception as error:  # a server without explain: say so in the figures
        return {"error": str(error)}
    # An aggregate's explain gives its one query's executionStats twice (in its $cursor stage and
    # at the top): the largest figures are the query's.
    docs = keys = 0
    stages: list[str] = []

    def walk(node: Any) -> None:
        nonlocal docs, keys
        if isinstance(node, dict):
            if isinstance(node.get("executionStats"), dict):
                stats = node["executionStats"]
                docs = max(docs, int(stats.get("totalDocsExamined", 0)))
                keys = max(keys, int(stats.get("totalKeysExamined", 0)))
            stage = node.get("stage")
            if isinstance(stage, str) and node.get("indexName"):
                stages.append(f"{stage} {node['indexName']}")
            elif isinstance(stage, str):
                stages.append(stage)
            for key, value in node.items():
                if key not in {"rejectedPlans", "executionStats"}:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(result)
    condition = query.get("filter") or query.get("pipeline", [{}])[0].get("$match", {})
    return {"docs": docs, "keys": keys, "stages": list(dict.fromkeys(stages)), "pos": str(condition.get("pos"))}


def measure(
    service: harness.Service, mongo: MongoClient[dict[str, Any]], database: str, repeat: int, request: Callable[[], int]
) -> dict[str, Any]:
    """``request`` ``repeat`` times (it returns how many resources it got): latency, commands, plans."""
    latencies = []
    returned = 0
    for _ in range(repeat):
        service.reset_commands()
        started = time.perf_counter()
        returned = request()
        latencies.append((time.perf_counter() - started) * 1000)
    commands = service.commands()
    plans = [examined(mongo, database, q) for q in service.queries() if q.get("find", q.get("aggregate")) == "users"]
    return {
        **harness.latency_figures(latencies),
        "commands": sum(commands.values()),
        "by_command": dict(commands),
        "returned": returned,
        "plans": plans,
    }


def run(users: int, repeat: int, count: int) -> dict[str, Any]:
    results: dict[str, Any] = {}
    with harness.database() as db:
        tenant = asyncio.run(prepare(db, users))
        with (
            harness.service(db, scim_rate_limit_per_second="0") as service,
            MongoClient[dict[str, Any]](db.uri) as mongo,
        ):
            scim = httpx.Client(
                base_url=f"{service.base_url}/scim/v2",
                headers={"Authorization": f"Bearer {tenant.scim_token}"},
                timeout=120,
            )
            graphql = httpx.Client(
                base_url=service.base_url, headers={"Authorization": f"Bearer {tenant.api_key}"}, timeout=120
            )

            def index_page(start: int) -> Callable[[], int]:
                def request() -> int:
                    response = scim.get("/Users", params={"startIndex": start, "count": count})
                    response.raise_for_status()
                    return len(response.json().get("Resources", []))

                return request

            def cursor_page(cursor: str) -> Callable[[], int]:
                def request() -> int:
                    response = scim.get("/Users", params={"cursor": cursor, "count": count})
                    response.raise_for_status()
                    return len(response.json().get("Resources", []))

                return request

            def graphql_page(after: str | None) -> Callable[[], int]:
                def request() -> int:
                    response = graphql.post(
                        "/graphql", json={"query": GRAPHQL_PAGE, "variables": {"n": count, "after": after}}
                    )
                    response.raise_for_status()
                    return len(response.json()["data"]["users"]["nodes"])

                return request

            for _ in range(5):  # connections, caches, first-call costs
                index_page(1)()
                graphql_page(None)()

            # The walks first: they also give the cursors of the middle and last pages.
            walks: dict[str, Any] = {}
            seen: list[str] = []
            started = time.perf_counter()
            start, total, pages = 1, 1, 0
            while start <= total:
                body = scim.get("/Users", params={"startIndex": start, "count": count, "attributes": "id"}).json()
                seen += [r["id"] for r in body.get("Resources", [])]
                total, start, pages = body["totalResults"], start + count, pages + 1
            walks["index"] = _walk(started, pages, seen, users)
            print(f"  walked by index: {walks['index']}", flush=True)

            cursors: list[str] = [""]
            seen = []
            started = time.perf_counter()
            cursor: str | None = ""
            while cursor is not None:
                body = scim.get("/Users", params={"cursor": cursor, "count": count, "attributes": "id"}).json()
                seen += [r["id"] for r in body.get("Resources", [])]
                cursor = body.get("nextCursor")
                if cursor is not None:
                    cursors.append(cursor)
            walks["cursor"] = _walk(started, len(cursors), seen, users)
            print(f"  walked by cursor: {walks['cursor']}", flush=True)

            afters: list[str | None] = [None]
            seen = []
            started = time.perf_counter()
            after: str | None = None
            while True:
                response = graphql.post(
                    "/graphql", json={"query": GRAPHQL_PAGE, "variables": {"n": count, "after": after}}
                )
                connection = response.json()["data"]["users"]
                seen += [n["id"] for n in connection["nodes"]]
                if not connection["pageInfo"]["hasNextPage"]:
                    break
                after = connection["pageInfo"]["endCursor"]
                afters.append(after)
            walks["graphql"] = _walk(started, len(afters), seen, users)
            print(f"  walked by GraphQL: {walks['graphql']}", flush=True)

            last_start = max(users - count + 1, 1)
            positions = {"first": 0, "middle": len(cursors) // 2, "last": len(cursors) - 1}
            kinds: dict[str, dict[str, Callable[[], int]]] = {
                "index": {
                    "first": index_page(1),
                    "middle": index_page(positions["middle"] * count + 1),
                    "last": index_page(last_start),
                },
                "cursor": {name: cursor_page(cursors[at]) for name, at in positions.items()},
                "graphql": {name: graphql_page(afters[min(at, len(afters) - 1)]) for name, at in positions.items()},
            }
            for kind, pages_of in kinds.items():
                results[kind] = {}
                for name, request in pages_of.items():
                    results[kind][name] = measure(service, mongo, db.name, repeat, request)
                    print(f"  measured {kind} {name}", flush=True)
            results["walks"] = walks
    return {"results": results, "database": db.label, "users": users, "count": count, "repeat": repeat}


def _walk(started: float, pages: int, seen: list[str], users: int) -> dict[str, Any]:
    return {
        "seconds": time.perf_counter() - started,
        "pages": pages,
        "returned": len(seen),
        "distinct": len(set(seen)),
        "every_user_once": len(seen) == len(set(seen)) == users,
    }


def report(figures: dict[str, Any]) -> list[tuple[str, str, bool]]:
    results = figures["results"]
    rows = []
    targets: list[tuple[str, str, bool]] = []
    for kind in ("index", "cursor", "graphql"):
        for name in ("first", "middle", "last"):
            cell = results[kind][name]
            plans = cell["plans"]
            docs = "/".join(str(p.get("docs", "?")) for p in plans)
            keys = "/".join(str(p.get("keys", "?")) for p in plans)
            rows.append(
                [
                    kind,
                    name,
                    f"{cell['p50_ms']:.1f}",
                    f"{cell['p99_ms']:.1f}",
                    f"{cell['commands']:g}",
                    docs,
                    keys,
                    cell["returned"],
                ]
            )
        ratio = results[kind]["last"]["p50_ms"] / results[kind]["first"]["p50_ms"]
        worst = max(results[kind][n]["p99_ms"] for n in ("first", "middle", "last"))
        targets.append(
            (f"{kind}: last page p50 at most {TARGET_RATIO}x the first", f"{ratio:.2f}", ratio <= TARGET_RATIO)
        )
        targets.append((f"{kind}: p99 per page under {TARGET_P99_MS:.0f} ms", f"{worst:.1f} ms", worst < TARGET_P99_MS))
    harness.print_table(
        f"Directory walk, {figures['users']:,} users ({figures['database']}), {figures['count']} a page: "
        "latency (ms), commands, documents / keys examined per users query",
        ["paging", "page", "p50 ms", "p99 ms", "commands", "docs examined", "keys examined", "returned"],
        rows,
    )
    walks = results["walks"]
    harness.print_table(
        "Whole walks",
        ["paging", "seconds", "pages", "returned", "every user once"],
        [[k, f"{w['seconds']:.1f}", w["pages"], w["returned"], w["every_user_once"]] for k, w in walks.items()],
    )
    for kind, walk in walks.items():
        targets.append(
            (f"{kind}: the walk returns every user exactly once", str(walk["returned"]), walk["every_user_once"])
        )
    for kind in ("index", "cursor", "graphql"):
        for plan in results[kind]["last"]["plans"]:
            print(f"  {kind} last page plan: pos {plan.get('pos')}: {', '.join(plan.get('stages', []))}")
    harness.print_targets(targets)
    return targets


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--count", type=int, default=100)
    arguments = parser.parse_args()
    figures = run(arguments.users, arguments.repeat, arguments.count)
    targets = report(figures)
    harness.write_results("directory_walk", {**figures, "targets": targets})
    return 0


if __name__ == "__main__":
    sys.exit(main())
