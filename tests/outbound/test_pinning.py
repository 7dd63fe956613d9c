"""A delivery connects to the address its check vetted: a name cannot answer the check with a public
address and the connection with a private one (DNS rebinding).

The delivery worker runs on the suite's database and sends to a real receiver on loopback; the
names are answered by a resolver given to the address policy, as the event loop's ``getaddrinfo``
would answer them, except that the answer changes between questions.
"""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from urllib.parse import urlsplit

import httpcore
import pytest
from standardwebhooks.webhooks import Webhook

from identity_store import CommandBus, CreateUser, RequestContext, Tenant
from identity_store.domain.webhook_urls import IPAddress, WebhookUrlRules
from identity_store.mongo import MongoStore
from identity_store.mongo.webhooks import MongoWebhooks
from outbound.webhooks import AddressPolicy, Backoff, DeliverySettings, RefusedAddress, WebhookWorker
from tests.outbound.conftest import OPERATOR, eventually, eventually_async, subscribe
from tests.outbound.receiver import Receiver

#: A public address (is_global), standing for the receiver's host on the internet.
PUBLIC = ipaddress.ip_address("93.184.215.14")
LOOPBACK = ipaddress.ip_address("127.0.0.1")


class Rebinding:
    """A name server whose answer changes: ``first`` to the first question, ``then`` to every later one."""

    def __init__(self, first: IPAddress, then: IPAddress) -> None:
        self.first, self.then = first, then
        self.asked: list[str] = []

    async def __call__(self, host: str) -> Sequence[IPAddress]:
        self.asked.append(host)
        return [self.first if len(self.asked) == 1 else self.then]


class Internet(httpcore.AsyncNetworkBackend):
    """The network as these tests have it: the host at :data:`PUBLIC` is the receiver on loopback,
    every other address is reached as it is; each connection is recorded with its address."""

    def __init__(self) -> None:
        self.connected: list[str] = []
        self._real = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109  # httpcore's backend interface takes it so
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        self.connected.append(host)
        target = str(LOOPBACK) if host == str(PUBLIC) else host
        return await self._real.connect_tcp(target, port, timeout=timeout, local_address=local_address)

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109  # httpcore's backend interface takes it so
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("no unix sockets here")

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


def _settings(policy: AddressPolicy) -> DeliverySettings:
    return DeliverySettings(
        poll_seconds=0.05,
        lease_seconds=5.0,
        timeout_seconds=2.0,
        backoff=Backoff(base_seconds=0.05, max_seconds=0.2),
        policy=policy,
    )


@asynccontextmanager
async def delivering(store: MongoStore, policy: AddressPolicy, network: Internet | None = None) -> AsyncIterator[None]:
    """The delivery worker running on ``store`` for the duration of the block."""
    worker = WebhookWorker(store, MongoWebhooks(store.database), _settings(policy), network=network)
    task = asyncio.create_task(worker.run())
    try:
        yield
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def _create_user(store: MongoStore, tenant: Tenant, user_name: str) -> str:
    context = RequestContext(tenant_id=tenant.id, actor=OPERATOR)
    return (await CommandBus(store).dispatch(context, CreateUser(attributes={"userName": user_name}))).id


async def test_the_connection_goes_to_the_checked_public_address_not_the_private_one_answered_later(
    store: MongoStore, tenant: Tenant, receiver: tuple[Receiver, str]
) -> None:
    """The name answers a public address to the first question and the loopback address afterwards.
    The delivery connects to the public address the check vetted, asking the name once; the next
    delivery's check hears the loopback answer and refuses it: no connection ever goes there."""
    hooks, hooks_url = receiver
    port = urlsplit(hooks_url).port
    rebinding = Rebinding(first=PUBLIC, then=LOOPBACK)
    network = Internet()
    policy = AddressPolicy(allow_http=True, resolver=rebinding)
    subscription = await subscribe(
        store, tenant.id, f"http://hooks.example.com:{port}/hook", ("UserCreated",), rules=policy.rules
    )
    webhooks = MongoWebhooks(store.database)
    async with delivering(store, policy, network):
        first = await _create_user(store, tenant, "ada@example.com")
        await eventually(lambda: len(hooks.accepted()) >= 1)
        assert rebinding.asked == ["hooks.example.com"]
        await _create_user(store, tenant, "grace@example.com")

        async def refused() -> bool:
            return any(a.outcome == "refused" for a in await webhooks.attempts(subscription.id))

        await eventually_async(refused)
    assert network.connected == [str(PUBLIC)]
    [delivery] = hooks.all()
    assert delivery.headers["host"] == f"hooks.example.com:{port}"
    assert Webhook(subscription.secret).verify(delivery.body, delivery.headers)["data"]["aggregateId"] == first
    refusals = [a for a in await webhooks.attempts(subscription.id) if a.outcome == "refused"]
    assert all("non-public address (127.0.0.1)" in (a.error or "") for a in refusals)


async def test_the_client_resolves_nothing_itself(
    store: MongoStore, tenant: Tenant, receiver: tuple[Receiver, str]
) -> None:
    """A name only the policy's resolver knows (``.invalid`` never resolves, RFC 6761 §6.4) is
    delivered to: the HTTP client connected to the vetted address without asking the system."""
    hooks, hooks_url = receiver
    port = urlsplit(hooks_url).port
    rebinding = Rebinding(first=LOOPBACK, then=ipaddress.ip_address("10.255.255.1"))
    policy = AddressPolicy(allow_http=True, allow_private=True, resolver=rebinding)
    await subscribe(store, tenant.id, f"http://hooks.rebinding.invalid:{port}/hook", ("UserCreated",))
    async with delivering(store, policy):
        await _create_user(store, tenant, "ada@example.com")
        await eventually(lambda: len(hooks.accepted()) >= 1)
    assert rebinding.asked == ["hooks.rebinding.invalid"]
    assert hooks.accepted()[0].headers["host"] == f"hooks.rebinding.invalid:{port}"


async def test_every_address_of_a_name_must_be_allowed() -> None:
    """A name answering a public and a private address is refused: the connection could go to either."""

    async def both(host: str) -> Sequence[IPAddress]:
        return [PUBLIC, ipaddress.ip_address("10.1.2.3")]

    with pytest.raises(RefusedAddress, match=r"non-public address \(10\.1\.2\.3\)"):
        await AddressPolicy(resolver=both).check("https://hooks.example.com/in")


async def test_the_check_returns_the_addresses_it_vetted() -> None:
    """The vetted addresses are the resolver's, in its order; an address literal is not resolved."""
    second = ipaddress.ip_address("2606:2800:21f:cb07:6820:80da:af6b:8b2c")

    async def two(host: str) -> Sequence[IPAddress]:
        return [PUBLIC, second]

    policy = AddressPolicy(resolver=two)
    assert (await policy.check("https://hooks.example.com/in")).addresses == (PUBLIC, second)
    assert (await policy.check(f"https://{PUBLIC}/in")).addresses == (PUBLIC,)
    assert WebhookUrlRules().allows(PUBLIC)
