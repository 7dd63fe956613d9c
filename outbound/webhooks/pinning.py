"""Deliveries connect to the addresses the policy vetted, never to a second resolution of the name.

:class:`AddressPolicy.check <outbound.webhooks.addresses.AddressPolicy.check>` resolves the host
and checks every address. Were the HTTP client then to resolve the name again to connect, a name
under an attacker's control could answer a public address to the check and a private one (the
loopback interface, a metadata endpoint) to the connection: DNS rebinding. So the worker's client
resolves nothing: its network backend connects to the addresses of the delivery in hand
(:func:`pinned`), and refuses to connect when there are none.

Only the TCP connection is redirected. The URL keeps its host, so the ``Host`` header, TLS's
server name (SNI) and the certificate check all name the original host, and the connection pool
keeps connections per host: one host's TLS session is never reused for another that shares an
address. A pooled connection was vetted when it was opened. Proxies from the environment are not
used (a proxy would resolve the name itself).
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import ssl
from collections.abc import Iterable, Iterator

import httpcore
import httpx

from outbound.webhooks.addresses import Vetted

__all__ = ["PinnedNetwork", "pinned", "pinned_client"]

_PINNED: contextvars.ContextVar[Vetted | None] = contextvars.ContextVar("webhook_pinned", default=None)


@contextlib.contextmanager
def pinned(vetted: Vetted) -> Iterator[None]:
    """Within this block (in this task), connections go to ``vetted``'s addresses only."""
    token = _PINNED.set(vetted)
    try:
        yield
    finally:
        _PINNED.reset(token)


class PinnedNetwork(httpcore.AsyncNetworkBackend):
    """Connects to the pinned addresses, in the resolver's order, over ``network`` (the real one by default)."""

    def __init__(self, network: httpcore.AsyncNetworkBackend | None = None) -> None:
        self._network = network or httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109  # httpcore's backend interface takes it so
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        vetted = _PINNED.get()
        if vetted is None:
            raise httpcore.ConnectError(f"no vetted address for {host}: webhook connections are pinned")
        failure: httpcore.ConnectError | httpcore.ConnectTimeout | None = None
        for address in vetted.addresses:
            try:
                return await self._network.connect_tcp(
                    str(address), port, timeout=timeout, local_address=local_address, socket_options=socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as error:
                failure = error
        assert failure is not None  # a Vetted has at least one address
        raise failure

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109  # httpcore's backend interface takes it so
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("webhooks are delivered over TCP only")

    async def sleep(self, seconds: float) -> None:
        await self._network.sleep(seconds)


@functools.cache
def _tls() -> ssl.SSLContext:
    """The system's trusted certificates, loaded once a process: loading them takes about 15 ms,
    and an SSL context may be shared by any number of connections."""
    return httpx.create_ssl_context(trust_env=False)


class _PinnedTransport(httpx.AsyncHTTPTransport):
    def __init__(self, network: httpcore.AsyncNetworkBackend | None) -> None:
        super().__init__(verify=_tls(), trust_env=False)
        # httpx takes no network backend of its own, so its pool is replaced by one that has ours;
        # everything else of the transport (its mapping of errors, its streams) is httpx's.
        limits = httpx.Limits()
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=_tls(),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=PinnedNetwork(network),
        )


def pinned_client(*, timeout: float, network: httpcore.AsyncNetworkBackend | None = None) -> httpx.AsyncClient:
    """The delivery worker's client: pinned connections, no redirects, no proxies from the environment."""
    return httpx.AsyncClient(
        transport=_PinnedTransport(network), timeout=timeout, follow_redirects=False, trust_env=False
    )
