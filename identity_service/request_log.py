"""One log line per HTTP request: the :class:`~identity_service.request_reports.RequestReport`
observer that writes it.

The line is what an admin reads to see why Entra would quarantine a provisioning job (401s,
404s, 409s, 429s, 5xx) and what to look up next: the request id the client saw, the trace id,
the tenant and credential, the operation and resource, and the SCIM ``scimType`` and
``detail`` the client was answered with. Throttling and server errors are warnings (the fault
itself is logged at ERROR, with its traceback, where it happened); everything else is
information, a client's mistakes included.
"""

from __future__ import annotations

import logging
from typing import Any

from identity_service.request_reports import RequestReport
from identity_store.activity import outcome_of

__all__ = ["log_request", "request_fields"]

log = logging.getLogger("identity_service.requests")


def request_fields(report: RequestReport) -> dict[str, Any]:
    """The request line's fields (``None`` ones left out)."""
    activity = report.activity
    fields: dict[str, Any] = {
        "method": report.method,
        "path": report.path,
        "status": report.status,
        "outcome": str(outcome_of(report.status)),
        "duration_ms": round(report.duration_seconds * 1000, 1),
        "request_id": report.request_id,
        "trace_id": report.trace_id,
        "client_address": report.client_address,
        "database_commands": report.database_commands,
        "front_end": str(report.front_end) if report.front_end is not None else None,
    }
    if activity is not None:
        fields |= {
            "tenant": activity.tenant_id,
            "credential_id": activity.credential_id,
            "operation": activity.operation,
            "resource_type": activity.resource_type,
            "resource_id": activity.resource_id,
            # Named as SCIM names it (RFC 7644 §3.12), so it can be searched for as clients see it.
            "scimType": activity.scim_type,
            "detail": activity.detail,
        }
    return {key: value for key, value in fields.items() if value is not None}


def log_request(report: RequestReport) -> None:
    """The observer: one line for ``report``."""
    level = logging.WARNING if report.status >= 500 or report.status == 429 else logging.INFO
    if log.isEnabledFor(level):
        log.log(level, "%s %s %d", report.method, report.path, report.status, extra=request_fields(report))
