"""Where a webhook may be sent: HTTPS to a public address, unless a setting allows otherwise.

The rule itself is the domain's (:mod:`identity_store.domain.webhook_urls`), applied when a
subscription is made; here it is applied again at every delivery, where the host is resolved and
every address it resolves to must be allowed.
"""

from __future__ import annotations

import asyncio
import socket
from dataclasses import dataclass

from identity_store.domain.errors import InvalidValue
from identity_store.domain.webhook_urls import IPAddress, WebhookUrlRules, literal_address

__all__ = ["AddressPolicy", "RefusedAddress"]


class RefusedAddress(ValueError):
    """The URL is not one the service may send to; the message says why."""


@dataclass(frozen=True, slots=True, kw_only=True)
class AddressPolicy:
    #: Plain ``http`` allowed (development and tests only).
    allow_http: bool = False
    #: Private, loopback, link-local and metadata addresses allowed (development and tests only).
    allow_private: bool = False

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

    async def check(self, url: str) -> None:
        """Refuse ``url`` unless its scheme is allowed and every address of its host is."""
        host = self.check_form(url)
        if self.allow_private:
            return
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM)
        except socket.gaierror as error:
            raise RefusedAddress(f"the host {host} does not resolve: {error.strerror}") from None
        rules = self.rules
        for info in infos:
            address: IPAddress | None = literal_address(str(info[4][0]))
            if address is None or not rules.allows(address):
                raise RefusedAddress(rules.refusal(host, address) if address else f"the host {host} has no address")
