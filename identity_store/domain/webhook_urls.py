"""Which URLs a tenant may subscribe to webhooks: HTTPS to a public address, unless a setting allows otherwise.

A subscription's URL is chosen by whoever administers a tenant, and the service sends from inside
the network: without this rule a subscription could reach internal services, the loopback
interface or a cloud metadata endpoint (server-side request forgery). The handler that creates a
subscription applies :meth:`WebhookUrlRules.host` to the URL's form (no resolving: a name's
addresses may change after the subscription is made); the delivery worker applies it again and
checks every address the host resolves to with :meth:`WebhookUrlRules.allows`, then connects to
exactly those (:mod:`outbound.webhooks.addresses`).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from urllib.parse import urlsplit

from identity_store.domain.errors import InvalidValue

__all__ = ["MAX_URL_LENGTH", "IPAddress", "WebhookUrlRules", "literal_address"]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

#: The longest URL accepted: what browsers and most servers handle, and a bound on what every
#: WebhookSubscribed event repeats.
MAX_URL_LENGTH = 2048

#: Cloud metadata endpoints not already covered by the link-local and private ranges.
_METADATA = {ipaddress.ip_address("fd00:ec2::254"), ipaddress.ip_address("100.100.100.200")}


@dataclass(frozen=True, slots=True, kw_only=True)
class WebhookUrlRules:
    #: Plain ``http`` allowed (development and tests only).
    allow_http: bool = False
    #: Private, loopback, link-local and metadata addresses allowed (development and tests only).
    allow_private: bool = False

    def host(self, url: str) -> str:
        """The URL's host, when its form is acceptable; else :class:`InvalidValue` on ``url``.

        The scheme, the host, and a host that is an address literal or a ``localhost`` name
        (RFC 6761 §6.3) is checked as such.
        """
        if len(url) > MAX_URL_LENGTH:
            raise _refused(f"a webhook URL may have at most {MAX_URL_LENGTH} characters")
        parts = urlsplit(url)
        if parts.scheme not in ("https", "http") or (parts.scheme == "http" and not self.allow_http):
            raise _refused("a webhook URL must use https")
        try:
            parts.port  # noqa: B018  # read for its check: a port that is no number raises
        except ValueError:
            raise _refused("a webhook URL's port must be a number from 0 to 65535") from None
        if not parts.hostname:
            raise _refused("a webhook URL needs a host")
        if parts.username or parts.password:
            raise _refused("a webhook URL may not carry credentials")
        host = parts.hostname
        if not self.allow_private:
            if host == "localhost" or host.endswith(".localhost"):
                raise _refused(f"the host {host} is a loopback name")
            literal = literal_address(host)
            if literal is not None and not self.allows(literal):
                raise _refused(_non_public(host, literal))
        return host

    def allows(self, address: IPAddress) -> bool:
        """Whether a delivery may connect to ``address``."""
        return self.allow_private or (address.is_global and not address.is_multicast and address not in _METADATA)

    def refusal(self, host: str, address: IPAddress) -> str:
        """Why ``host`` may not be sent to, when it resolved to ``address`` (which :meth:`allows` refuses)."""
        return _non_public(host, address)


def literal_address(host: str) -> IPAddress | None:
    """The address a host names literally (``203.0.113.7``, ``::1``), or ``None`` for a name."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def _non_public(host: str, address: IPAddress) -> str:
    return f"the host {host} is or resolves to a non-public address ({address})"


def _refused(message: str) -> InvalidValue:
    return InvalidValue(message, attribute="url")
