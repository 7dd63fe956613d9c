"""The service as the benchmarks run it: its own process, with its database commands counted.

``create_app`` is wired with a :class:`CommandCounter` (PyMongo command monitoring) and a
:class:`QueryRecorder`, and one route is added in front of the app for the load generator:
``GET /_bench/commands`` answers the counts, the queries (find and aggregate commands, in
MongoDB extended JSON) and the statements (every command's collection and filters) sent since
the last ``DELETE /_bench/commands``, so a benchmark can ask the database to explain exactly
what the service asked. The process listens on loopback only,
so the route is never reachable from elsewhere; the product never serves it.

    .venv/bin/python benchmarks/service.py --port 8123   # MONGODB_URI and IDENTITY_* as for the service
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
from typing import Any

from bson import json_util
from pymongo import monitoring
from starlette.types import ASGIApp, Receive, Scope, Send

from identity_service.app import create_app
from identity_service.http_server import run, server_config
from identity_service.settings import Settings, server_limits
from identity_store.mongo import CommandCounter

COUNTERS_PATH = "/_bench/commands"
_QUERY_FIELDS = ("find", "aggregate", "filter", "projection", "sort", "skip", "limit", "pipeline", "hint")


class QueryRecorder(monitoring.CommandListener):
    """Keeps the last ``keep`` find and aggregate commands, reduced to what shapes their plan, and
    the last ``keep`` commands of any kind as statements: the collection and what selects its
    documents (a write's filters, an insert's tenants), for a benchmark to explain each."""

    def __init__(self, keep: int = 50) -> None:
        self._lock = threading.Lock()
        self._keep = keep
        self.queries: list[dict[str, Any]] = []
        self.statements: list[dict[str, Any]] = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        statement = _statement(event.command_name, event.command)
        with self._lock:
            if statement is not None:
                self.statements = [*self.statements[-self._keep + 1 :], statement]
            if event.command_name in {"find", "aggregate"}:
                query = {k: event.command[k] for k in _QUERY_FIELDS if k in event.command}
                self.queries = [*self.queries[-self._keep + 1 :], query]

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        return None

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        return None

    def reset(self) -> None:
        with self._lock:
            self.queries = []
            self.statements = []


def _statement(name: str, command: Any) -> dict[str, Any] | None:
    """A command as ``{command, collection, filters | pipeline | tenants}``; ``None`` for the
    driver's own (handshakes, sessions) and for a transaction's commit or abort, which select nothing."""
    collection = command.get(name)
    if not isinstance(collection, str) or name in {"commitTransaction", "abortTransaction"}:
        return None
    statement: dict[str, Any] = {"command": name, "collection": collection}
    if name == "find":
        statement["filters"] = [command.get("filter", {})]
        statement["sort"] = command.get("sort")
    elif name == "aggregate":
        statement["pipeline"] = command.get("pipeline", [])
    elif name == "findAndModify":
        statement["filters"] = [command.get("query", {})]
    elif name == "update":
        statement["filters"] = [u.get("q", {}) for u in command.get("updates", ())]
    elif name == "delete":
        statement["filters"] = [d.get("q", {}) for d in command.get("deletes", ())]
    elif name == "insert":
        statement["tenants"] = sorted({str(d.get("tenant")) for d in command.get("documents", ())})
    elif name in {"count", "distinct"}:
        statement["filters"] = [command.get("query", {})]
    else:
        return None
    return statement


def with_counters(app: ASGIApp, counter: CommandCounter, recorder: QueryRecorder) -> ASGIApp:
    """``app`` with the counters route in front of it; everything else (lifespan too) passes through."""

    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != COUNTERS_PATH:
            await app(scope, receive, send)
            return
        if scope["method"] == "DELETE":
            counter.reset()
            recorder.reset()
        queries = json.loads(json_util.dumps(recorder.queries))
        statements = json.loads(json_util.dumps(recorder.statements))
        body = json.dumps({"commands": dict(counter.commands), "queries": queries, "statements": statements}).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    return wrapped


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, required=True)
    arguments = parser.parse_args()
    counter = CommandCounter()
    recorder = QueryRecorder()
    settings = Settings()
    app = with_counters(create_app(settings, command_listeners=[counter, recorder]), counter, recorder)
    config = server_config(
        app, host="127.0.0.1", port=arguments.port, log_level="warning", limits=server_limits(settings)
    )
    config.access_log = False
    run(config)
    return 0


if __name__ == "__main__":
    sys.exit(main())
