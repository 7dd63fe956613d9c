"""What a request says about where it came from: its address and whether it arrived over TLS.

Behind a reverse proxy every request comes from the proxy, over whatever the proxy speaks to us.
With ``trust_forwarded`` (only behind a proxy that sets these headers itself) the address is the
last ``X-Forwarded-For`` entry, the one the trusted proxy appended (earlier entries are the
client's to invent), and the scheme is ``X-Forwarded-Proto``'s.
"""

from __future__ import annotations

from starlette.requests import Request

__all__ = ["client_address", "over_tls"]


def client_address(request: Request, *, trust_forwarded: bool) -> str:
    if trust_forwarded:
        forwarded = request.headers.getlist("x-forwarded-for")
        last = forwarded[-1].rsplit(",", 1)[-1].strip() if forwarded else ""
        if last:
            return last
    return request.client.host if request.client is not None else "unknown"


def over_tls(request: Request, *, trust_forwarded: bool) -> bool:
    if trust_forwarded:
        proto = request.headers.get("x-forwarded-proto")
        if proto:
            return proto.rsplit(",", 1)[-1].strip().casefold() == "https"
    return request.url.scheme == "https"
