"""The uvicorn server the service runs as: its configuration, bounds included (see
:mod:`connections`), and :func:`run`."""

from __future__ import annotations

import gc
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import uvicorn
from starlette.types import ASGIApp

from identity_service.connections import bounded_protocol

__all__ = ["ServerLimits", "ServiceConfig", "run", "server_config"]


@dataclass(frozen=True, slots=True, kw_only=True)
class ServerLimits:
    header_seconds: float = 10.0
    body_seconds: float = 30.0
    keep_alive_seconds: int = 5
    max_connections: int = 1000
    #: Largest request head (request line and headers) h11 buffers before answering 400.
    max_head_bytes: int = 16_384


class ServiceConfig(uvicorn.Config):
    """uvicorn's configuration, with the bounded h11 protocol made when the server loads.

    With several workers uvicorn hands this object to each worker process by pickling it. The
    bounded protocol is a class made for its limits (:func:`bounded_protocol`), which pickling
    cannot carry, so the limits travel and the class is made in the process that serves.
    """

    def __init__(self, app: ASGIApp | Callable[[], ASGIApp], *, limits: ServerLimits, **options: Any) -> None:
        super().__init__(app, http="h11", **options)
        self.limits = limits

    def load(self) -> None:
        self.http = bounded_protocol(
            header_seconds=self.limits.header_seconds,
            body_seconds=self.limits.body_seconds,
            max_connections=self.limits.max_connections,
        )
        super().load()


def server_config(
    app: ASGIApp | Callable[[], ASGIApp],
    *,
    host: str,
    port: int,
    log_level: str,
    limits: ServerLimits,
    workers: int = 1,
) -> ServiceConfig:
    """The configuration of ``app``; with ``workers`` above 1, ``app`` is the factory each worker
    calls (it must pickle: a module-level function, or a partial of one)."""
    return ServiceConfig(
        app,
        limits=limits,
        factory=workers > 1,
        workers=workers,
        host=host,
        port=port,
        log_level=log_level,
        # uvicorn's records go to the root logger, rendered as every other (identity_service.json_logs),
        # and its access lines are replaced by the service's own request line (identity_service.request_log).
        log_config=None,
        access_log=False,
        lifespan="on",
        timeout_keep_alive=limits.keep_alive_seconds,
        h11_max_incomplete_event_size=limits.max_head_bytes,
    )


def run(config: uvicorn.Config) -> None:
    """Serve until stopped, with what start-up built frozen out of the garbage collector's way.

    Everything built so far (modules, schemas, the app) lives as long as the process, yet each
    full collection walked all of it, about 150,000 objects: 75-90 ms of CPU with the event loop
    held, every thousand requests or so. Frozen, a full collection walks only what came since.
    """
    gc.freeze()
    uvicorn.Server(config).run()
