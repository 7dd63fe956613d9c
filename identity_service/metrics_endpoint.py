"""``GET /metrics``: the Prometheus scrape, and who may read it.

Like every endpoint of the service, it is not open to anyone. With ``IDENTITY_METRICS_TOKEN``
set, a scrape must present it as ``Authorization: Bearer <token>`` (compared in constant time;
401 otherwise). Without one, only a client on this host may read it (the TCP peer's address is
loopback; ``X-Forwarded-For`` is not consulted, since anyone can send it): a sidecar or a local
agent scrapes without configuration, and nothing reaches it from the network by accident. Behind
a reverse proxy on the same host every request is loopback, so set the token there.
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


def may_scrape(*, token: str | None, authorization: str | None, peer: str | None) -> bool:
    """Whether a scrape with ``authorization`` from ``peer`` (the TCP client's address) is let in."""
    if token:
        scheme, _, presented = (authorization or "").partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(presented.strip().encode(), token.encode())
    return _is_loopback(peer)


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
