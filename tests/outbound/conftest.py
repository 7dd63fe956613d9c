"""The service (a real uvicorn server) with its delivery worker, a receiver, and SCIM credentials."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from contextlib import AbstractContextManager, contextmanager

import httpx
import pytest

from identity_service.app import create_app
from identity_service.settings import Settings
from identity_store import Actor, CommandBus, RequestContext, Tenant
from identity_store.commands import CreateWebhookSubscription, DisableWebhookSubscription
from identity_store.domain.credentials import CredentialKind, issue
from identity_store.domain.resources import now
from identity_store.domain.webhook_urls import WebhookUrlRules
from identity_store.mongo import MongoStore
from identity_store.webhooks import WebhookSubscription
from tests.outbound.receiver import Receiver
from tests.servers import serve_in_thread

USER_URN = "urn:ietf:params:scim:schemas:core:2.0:User"
#: The rules of development and of these tests: plain http and loopback receivers allowed.
LOOPBACK = WebhookUrlRules(allow_http=True, allow_private=True)
OPERATOR = Actor(credential_id=None, kind="cli")
Service = Callable[..., AbstractContextManager[str]]


def loopback_settings(database_uri: str, database_name: str, **overrides: object) -> Settings:
    """Fast polls and short back-off; plain http and loopback allowed, as development does."""
    values: dict[str, object] = {
        "mongodb_uri": database_uri,
        "database": database_name,
        "webhook_allow_http": True,
        "webhook_allow_private_addresses": True,
        "webhook_poll_seconds": 0.05,
        "webhook_backoff_base_seconds": 0.05,
        "webhook_backoff_max_seconds": 0.2,
        "webhook_lease_seconds": 5.0,
        "webhook_timeout_seconds": 2.0,
        **overrides,
    }
    return Settings(**values)  # type: ignore[arg-type]  # pydantic checks the values


@pytest.fixture
def service(database_uri: str, database_name: str) -> Service:
    """Starts the service on the suite's database (settings overridable) and yields its base URL."""

    @contextmanager
    def start(**overrides: object) -> Iterator[str]:
        with serve_in_thread(create_app(loopback_settings(database_uri, database_name, **overrides))) as url:
            yield url

    return start


@pytest.fixture
def receiver() -> Iterator[tuple[Receiver, str]]:
    hooks = Receiver()
    with serve_in_thread(hooks.app()) as url:
        yield hooks, url


async def subscribe(
    store: MongoStore, tenant_id: str, url: str, events: tuple[str, ...] = (), *, rules: WebhookUrlRules = LOOPBACK
) -> WebhookSubscription:
    """A subscription made as the command line makes it (``CreateWebhookSubscription`` on the bus)."""
    bus = CommandBus(store, webhook_urls=rules)
    context = RequestContext(tenant_id=tenant_id, actor=OPERATOR)
    return await bus.dispatch(context, CreateWebhookSubscription(url=url, event_types=events))


async def disable(store: MongoStore, subscription: WebhookSubscription) -> WebhookSubscription:
    context = RequestContext(tenant_id=subscription.tenant_id, actor=OPERATOR)
    return await CommandBus(store).dispatch(context, DisableWebhookSubscription(subscription_id=subscription.id))


async def scim_token(store: MongoStore, tenant: Tenant) -> str:
    issued = issue(
        tenant_id=tenant.id, kind=CredentialKind.SCIM_TOKEN, name="entra", scopes=frozenset({"scim"}), created=now()
    )
    await store.credentials.add(issued.credential)
    return issued.secret


async def create_user(base_url: str, token: str, user_name: str) -> str:
    """A SCIM create (RFC 7644 §3.3) as Entra sends it; the new user's id."""
    async with httpx.AsyncClient(base_url=base_url, headers={"Authorization": f"Bearer {token}"}) as http:
        response = await http.post(
            "/scim/v2/Users",
            json={"schemas": [USER_URN], "userName": user_name, "active": True},
            headers={"Content-Type": "application/scim+json"},
        )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


#: How long a test waits for a delivery before it fails rather than hangs.
PATIENCE_SECONDS = 30.0


async def eventually(check: Callable[[], bool]) -> None:
    """Wait until ``check()`` holds; fail (not hang) if it never does."""
    async with asyncio.timeout(PATIENCE_SECONDS):
        # The receiver runs in another thread's loop: there is no event of this loop to wait on.
        while not check():  # noqa: ASYNC110
            await asyncio.sleep(0.02)


async def eventually_async(check: Callable[[], Awaitable[bool]]) -> None:
    """:func:`eventually` for a check that reads the database."""
    async with asyncio.timeout(PATIENCE_SECONDS):
        while not await check():  # noqa: ASYNC110  # the worker writes from another thread's loop
            await asyncio.sleep(0.02)
