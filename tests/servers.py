"""A real uvicorn server on a free loopback port, run in a thread for the duration of a test."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn
from starlette.types import ASGIApp

from identity_service.http_server import ServerLimits, server_config


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class _Server(uvicorn.Server):
    def install_signal_handlers(self) -> None:
        """The test runner owns the signals."""


@contextmanager
def serve_in_thread(
    app: ASGIApp, *, startup_timeout: float = 60.0, limits: ServerLimits | None = None
) -> Iterator[str]:
    """Serve ``app`` (lifespan included) as ``identity-store serve`` does, with its connection
    bounds (``limits``, or the defaults), and yield its base URL; shut it down afterwards."""
    port = free_port()
    config = server_config(app, host="127.0.0.1", port=port, log_level="warning", limits=limits or ServerLimits())
    server = _Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + startup_timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        if thread.is_alive():  # a server left running would serve (and log) into later tests
            raise RuntimeError("the test server did not stop within 30 s")
