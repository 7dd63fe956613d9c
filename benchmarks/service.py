"""The service as the benchmarks run it: its own process, with its database commands counted.

``create_app`` is wired with a :class:`CommandCounter` (PyMongo command monitoring) and a
:class:`QueryRecorder`, and one route is added in front of the app for the load generator:
``GET /_bench/commands`` answers the counts, and the queries (find and aggregate commands, in
MongoDB extended JSON) sent since the last ``DELETE /_bench/commands``, so a benchmark can ask
the database to explain exactly what the service asked. The process listens on loopback only,
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
    """Keeps the last ``keep`` find and aggregate commands, reduced to what shapes their plan."""

    def __init__(self, keep: int = 50) -> None:
        self._lock = threading.Lock()
        self._keep = keep
        self.queries: list[dict[str, Any]] = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if event.command_name not in {"find", "aggregate"}:
            return
        query = {k: event.command[k] for k in _QUERY_FIELDS if k in event.command}
        with self._lock:
            self.queries = [*self.queries[-self._keep + 1 :], query]

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        return None

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        return None

    def reset(self) -> None:
        with self._lock:
            self.queries = []


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
        body = json.dumps({"commands": dict(counter.commands), "queries": queries}).encode()
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
