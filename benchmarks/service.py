"""The service as the benchmarks run it: its own process, with its database commands counted.

``create_app`` is wired with a :class:`CommandCounter` (PyMongo command monitoring), and one route
is added in front of the app for the load generator: ``GET /_bench/commands`` answers the counts
since the last ``DELETE /_bench/commands``. The process listens on loopback only, so the route is
never reachable from elsewhere; the product never serves it.

    .venv/bin/python benchmarks/service.py --port 8123   # MONGODB_URI and IDENTITY_* as for the service
"""

from __future__ import annotations

import argparse
import json
import sys

import uvicorn
from starlette.types import ASGIApp, Receive, Scope, Send

from identity_app import Settings, create_app
from identity_store.mongo import CommandCounter

COUNTERS_PATH = "/_bench/commands"


def with_counters(app: ASGIApp, counter: CommandCounter) -> ASGIApp:
    """``app`` with the counters route in front of it; everything else (lifespan too) passes through."""

    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != COUNTERS_PATH:
            await app(scope, receive, send)
            return
        if scope["method"] == "DELETE":
            counter.reset()
        body = json.dumps({"commands": dict(counter.commands)}).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    return wrapped


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, required=True)
    arguments = parser.parse_args()
    counter = CommandCounter()
    app = with_counters(create_app(Settings(), command_listeners=[counter]), counter)
    uvicorn.run(app, host="127.0.0.1", port=arguments.port, log_level="warning", access_log=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
