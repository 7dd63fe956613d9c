"""Which push endpoints a receiver may name: not the service's own network, unless allowed.

A stream's ``endpoint_url`` makes this service send requests, so a receiver could point it at
loopback, a private network, a link-local address or a cloud metadata address (server-side
request forgery). Every address the host resolves to is checked when the stream is created or
changed; ``allow_private`` (development, tests) lifts the rule.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket

__all__ = ["refusal"]


def _private(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not ip.is_global or ip.is_multicast


async def refusal(host: str, port: int, *, allow_private: bool) -> str | None:
    """Why a push to ``host`` is refused; ``None`` when it may go there."""
    if allow_private:
        return None
    try:
        addresses = [ipaddress.ip_address(host.strip("[]")).compressed]
    except ValueError:
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError:
            return f"the host {host} does not resolve"
        addresses = [str(info[4][0]) for info in infos]
    if not addresses or any(_private(a) for a in addresses):
        return f"the host {host} is a private, loopback, link-local or metadata address"
    return None
