"""One structured log line per SCIM request: who, what, and how it ended.

An admin reads it to see why an Entra provisioning job would be quarantined (404s, 401s, 429s,
5xx); throttling and server errors are warnings, everything else is information.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping

from starlette.requests import Request

__all__ = ["log_request", "outcome"]

request_log = logging.getLogger("scim_facade.requests")


def outcome(status: int) -> str:
    """The kind of ending a status stands for."""
    if status < 400:
        return "ok"
    if status == 429:
        return "throttled"
    if status in (401, 403):
        return "unauthorized"
    return "client_error" if status < 500 else "server_error"


def log_request(
    request: Request,
    operation: str | None,
    status: int,
    who: Mapping[str, str],
    correlation_id: str,
    started: float,
) -> None:
    """Log ``request``, answered with ``status``; ``started`` is its ``time.perf_counter()``."""
    fields = {
        "tenant": who.get("tenant"),
        "credential": who.get("credential"),
        "operation": operation,
        "method": request.method,
        "path": request.url.path,
        "status": status,
        "outcome": outcome(status),
        "duration_ms": round((time.perf_counter() - started) * 1000, 1),
        "request_id": correlation_id,
    }
    level = logging.WARNING if status >= 500 or status == 429 else logging.INFO
    request_log.log(level, json.dumps(fields, sort_keys=True), extra={"scim_request": fields})
