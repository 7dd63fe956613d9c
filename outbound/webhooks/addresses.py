"""Where a webhook may be sent: HTTPS to a public address, unless a setting allows otherwise.

A subscription's URL is chosen by whoever administers a tenant, and the service sends from inside
the network: without this check a subscription could reach internal services, the loopback
interface or a cloud metadata endpoint (server-side request forgery). The host is resolved and
every address it resolves to must be global.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

__all__ = ["AddressPolicy", "RefusedAddress"]

#: Cloud metadata endpoints not already covered by the link-local and private ranges.
_METADATA = {ipaddress.ip_address("fd00:ec2::254"), ipaddress.ip_address("100.100.100.200")}


class RefusedAddress(ValueError):
    """The URL is not one the service may send to; the message says why."""


@dataclass(frozen=True, slots=True, kw_only=True)
class AddressPolicy:
    #: Plain ``http`` allowed (development and tests only).
    allow_http: bool = False
    #: Private, loopback, link-local and metadata addresses allowed (development and tests only).
    allow_private: bool = False

    def check_form(self, url: str) -> str:
        """The URL's host, when its form is acceptable; else :class:`RefusedAddress`.

        Without resolving: the scheme, the host, and a host that is an address literal or a
        ``localhost`` name (RFC 6761 §6.3) is checked as such. Names are resolved at delivery,
        where the answer counts (it may change after the subscription is made).
        """
        parts = urlsplit(url)
        if parts.scheme not in ("https", "http") or (parts.scheme == "http" and not self.allow_http):
            raise RefusedAddress("a webhook URL must use https")
        if not parts.hostname:
            raise RefusedAddress("a webhook URL needs a host")
        if parts.username or parts.password:
            raise RefusedAddress("a webhook URL may not carry credentials")
        host = parts.hostname
        if not self.allow_private:
            if host == "localhost" or host.endswith(".localhost"):
                raise RefusedAddress(f"the host {host} is a loopback name")
            try:
                literal = ipaddress.ip_address(host)
            except ValueError:
                literal = None
            if literal is not None:
                _refuse_unless_public(host, literal)
        return host

    async def check(self, url: str) -> None:
        """Refuse ``url`` unless its scheme is allowed and every address of its host is."""
        host = self.check_form(url)
        if self.allow_private:
            return
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM)
        except socket.gaierror as error:
            raise RefusedAddress(f"the host {host} does not resolve: {error.strerror}") from None
        for info in infos:
            _refuse_unless_public(host, ipaddress.ip_address(info[4][0]))


def _refuse_unless_public(host: str, address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> None:
    if not address.is_global or address in _METADATA or address.is_multicast:
        raise RefusedAddress(f"the host {host} is or resolves to a non-public address ({address})")
