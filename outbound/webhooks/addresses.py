"""Where a webhook may be sent: HTTPS to a public address, unless a setting allows otherwise.

The rule itself is the domain's (:mod:`identity_store.domain.webhook_urls`), applied when a
subscription is made; here it is applied again at every delivery, where the host is resolved and
every address it resolves to must be allowed. :meth:`AddressPolicy.check` returns the addresses
it vetted, and the delivery connects to one of exactly those (:mod:`outbound.webhooks.pinning`):
resolving the name again when connecting would let it answer a public address to the check and
a private one to the connection (DNS rebinding).
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from identity_store.domain.errors import InvalidValue
from identity_store.domain.webhook_urls import IPAddress, WebhookUrlRules, literal_address

__all__ = ["AddressPolicy", "RefusedAddress", "Resolver", "Vetted", "system_resolver"]

#: Resolves a host name to its addresses (raising :class:`socket.gaierror` when it cannot).
Resolver = Callable[[str], Awaitable[Sequence[IPAddress]]]


class RefusedAddress(ValueError):
    """The URL is not one the service may send to; the message says why."""


async def system_resolver(host: str) -> list[IPAddress]:
    """The host's addresses, as the event loop's ``getaddrinfo`` answers, in its order, once each."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM)
    found: list[IPAddress] = []
    for info in infos:
        # An IPv6 answer may carry a zone (fe80::1%eth0); ip_address reads it.
        address = literal_address(str(info[4][0]))
        if address is not None and address not in found:
            found.append(address)
    return found


@dataclass(frozen=True, slots=True, kw_only=True)
class Vetted:
    """A URL's host and the addresses it resolved to, every one allowed: where a delivery may connect."""

    host: str
    addresses: tuple[IPAddress, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class AddressPolicy:
    #: Plain ``http`` allowed (development and tests only).
    allow_http: bool = False
    #: Private, loopback, link-local and metadata addresses allowed (development and tests only).
    allow_private: bool = False
    #: How host names are resolved: once per delivery, by the check only.
    resolver: Resolver = system_resolver

    @property
    def rules(self) -> WebhookUrlRules:
        """The domain's rule for subscription URLs under these settings (the command bus applies it)."""
        return WebhookUrlRules(allow_http=self.allow_http, allow_private=self.allow_private)

    def check_form(self, url: str) -> str:
        """The URL's host, when its form is acceptable; else :class:`RefusedAddress`."""
        try:
            return self.rules.host(url)
        except InvalidValue as error:
            raise RefusedAddress(error.message) from None

    async def check(self, url: str) -> Vetted:
        """The addresses ``url`` may be sent to: every address of its host, each allowed; else
        :class:`RefusedAddress`. A name is resolved even when private addresses are allowed, so
        that a delivery always connects to what was resolved here."""
        host = self.check_form(url)
        literal = literal_address(host)
        if literal is not None:
            return Vetted(host=host, addresses=(literal,))
        try:
            addresses = tuple(await self.resolver(host))
        except socket.gaierror as error:
            raise RefusedAddress(f"the host {host} does not resolve: {error.strerror}") from None
        if not addresses:
            raise RefusedAddress(f"the host {host} has no address")
        rules = self.rules
        for address in addresses:
            # Every address, not only the first: the connection may be made to any of them.
            if not rules.allows(address):
                raise RefusedAddress(rules.refusal(host, address))
        return Vetted(host=host, addresses=addresses)
