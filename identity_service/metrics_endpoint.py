"""``GET /metrics``: the Prometheus scrape, and who may read it.

Like every endpoint of the service, it is not open to anyone. With ``IDENTITY_METRICS_TOKEN``
set, a scrape must present it as ``Authorization: Bearer <token>`` (compared in constant time;
401 otherwise). Without one, only a client on this host may read it: its address is loopback and
the request was not forwarded (no ``Forwarded`` or ``X-Forwarded-For`` header). A sidecar or a
local agent scrapes without configuration, and nothing reaches it from the network by accident:
a request relayed by a proxy on this host comes from loopback too, but carries the header the
proxy adds (and uvicorn, which trusts a local proxy's ``X-Forwarded-For``, gives the app the
address it names). A proxy that adds no such header makes everyone local: set the token there.
"""

from __future__ import annotations

import hmac
import ipaddress

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from identity_service.metrics import ServiceMetrics

__all__ = ["METRICS_PATH", "may_scrape", "metrics_route"]

METRICS_PATH = "/metrics"
_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="metrics"'}


def may_scrape(*, token: str | None, authorization: str | None, peer: str | None, forwarded: bool = False) -> bool:
    """Whether a scrape with ``authorization`` from ``peer`` (the client's address), ``forwarded``
    by a proxy or not, is let in (see the module's docstring)."""
    if token:
        scheme, _, presented = (authorization or "").partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(presented.strip().encode(), token.encode())
    return not forwarded and _is_loopback(peer)


def _is_loopback(peer: str | None) -> bool:
    if peer is None:
        return False
    try:
        return ipaddress.ip_address(peer.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


def metrics_route(metrics: ServiceMetrics, *, token: str | None) -> Route:
    async def scrape(request: Request) -> Response:
        authorizations = request.headers.getlist("authorization")
        allowed = len(authorizations) <= 1 and may_scrape(
            token=token,
            authorization=authorizations[0] if authorizations else None,
            peer=request.client.host if request.client is not None else None,
            forwarded="forwarded" in request.headers or "x-forwarded-for" in request.headers,
        )
        if not allowed:
            if token:
                return PlainTextResponse("a valid metrics token is required\n", status_code=401, headers=_CHALLENGE)
            return PlainTextResponse(
                "metrics are served to this host only; set IDENTITY_METRICS_TOKEN to scrape from elsewhere\n",
                status_code=403,
            )
        body, content_type = metrics.exposition()
        return Response(body, media_type=content_type)

    return Route(METRICS_PATH, scrape, methods=["GET"])
