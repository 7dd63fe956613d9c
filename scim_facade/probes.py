"""Entra's Test Connection probe, recognised so that a flood never refuses it.

To test the connection (and now and then to confirm the endpoint still works) Entra asks for a
user or group that cannot exist: ``GET /Users?filter=userName eq "<random GUID>"``, on the
matching attribute configured, and ``/Groups`` alike. An admin testing the connection while the
tenant's clients exhaust its rate limit should still see the connection work, so probes take
their tokens from a bucket of their own (:data:`PROBE_RATE` a second, :data:`PROBE_BURST` at
once, far above what a person clicking or Entra's own checks send), which the tenant's other
requests never drain. Entra's other check, reading some user and group, has no shape of its
own and shares the tenant's bucket.
"""

from __future__ import annotations

import re

from starlette.requests import Request

__all__ = ["PROBE_BURST", "PROBE_RATE", "is_probe"]

PROBE_RATE = 10.0
PROBE_BURST = 60

_GUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
#: An attribute path (``userName``, ``emails[type eq "work"].value``, an extension URN's), ``eq``, a GUID.
_PROBE_FILTER = re.compile(rf'\s*[a-z][\w:.$-]*(\[[^\]]*\])?(\.[a-z]\w*)?\s+eq\s+"{_GUID}"\s*', re.IGNORECASE)


def is_probe(request: Request) -> bool:
    """Whether ``request`` has the shape of Entra's Test Connection probe."""
    if request.method != "GET" or not request.url.path.rstrip("/").endswith(("/Users", "/Groups")):
        return False
    return _PROBE_FILTER.fullmatch(request.query_params.get("filter", "")) is not None
