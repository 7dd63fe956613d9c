"""The Shared Signals transmitter as deployed (a uvicorn server) and a receiver (another one).

The service and the receiver run on loopback ports; tests seed tenants and credentials through
the suite's ``store`` (the same database) and speak to the service over HTTP as a receiver would.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from identity_service.app import create_app
from identity_service.settings import Settings
from identity_store import Tenant
from identity_store.domain.credentials import CredentialKind, issue
from identity_store.domain.resources import now
from identity_store.mongo import MongoStore
from scim_facade import generate_signing_key
from tests.servers import serve_in_thread

SCIM_USER = "urn:ietf:params:scim:schemas:core:2.0:User"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


@asynccontextmanager
async def serving(app: Starlette) -> AsyncIterator[str]:
    """``app`` on a uvicorn server in a thread, started and stopped off this event loop."""
    server = serve_in_thread(app)
    base_url = await asyncio.to_thread(server.__enter__)
    try:
        yield base_url
    finally:
        await asyncio.to_thread(server.__exit__, None, None, None)


@dataclass
class Receiver:
    """A push receiver (RFC 8935): keeps every SET it is sent, answers 202 unless told to fail."""

    url: str = ""
    received: list[str] = field(default_factory=list)
    authorizations: list[str | None] = field(default_factory=list)
    failing: bool = False
    #: Requests answered with a failure (503) while ``failing``.
    refused: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def app(self) -> Starlette:
        async def events(request: Request) -> Response:
            body = (await request.body()).decode()
            if self.failing:
                with self._lock:
                    self.refused += 1
                return Response(status_code=503)
            if request.headers.get("content-type") != "application/secevent+jwt":
                return Response(status_code=415)
            with self._lock:
                self.received.append(body)
                self.authorizations.append(request.headers.get("authorization"))
            return Response(status_code=202)

        return Starlette(routes=[Route("/events", events, methods=["POST"])])

    async def wait_for(self, count: int, *, within: float = 30.0) -> list[str]:
        """The SETs received once there are at least ``count`` (a bound only so a failure cannot hang)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        # Polled, not an asyncio.Event: the receiver appends from its own server thread and loop.
        while len(self.received) < count and loop.time() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.02)
        return list(self.received)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    receiver = Receiver()
    async with serving(receiver.app()) as base_url:
        receiver.url = f"{base_url}/events"
        yield receiver


@pytest.fixture
def settings(database_uri: str, database_name: str, store: MongoStore) -> Settings:
    """The service's settings: a signing key, and plain-HTTP push allowed (loopback receivers)."""
    return Settings(
        mongodb_uri=database_uri,
        database=database_name,
        oauth_signing_key=generate_signing_key().decode(),
        ssf_allow_insecure_push=True,
        ssf_allow_private_push=True,
        ssf_push_interval_seconds=0.05,
        # A failing receiver is tried again within a tenth of a second: outages in tests are short.
        ssf_retry_base_seconds=0.02,
        ssf_retry_max_seconds=0.1,
        scim_token_cache_seconds=0,
    )


@pytest.fixture
async def service(settings: Settings) -> AsyncIterator[str]:
    """The service's base URL."""
    async with serving(create_app(settings)) as base_url:
        yield base_url


MakeSecret = Callable[..., Awaitable[str]]


@pytest.fixture
def make_secret(store: MongoStore, tenant: Tenant) -> MakeSecret:
    async def make(kind: CredentialKind, *scopes: str, tenant_id: str | None = None) -> str:
        issued = issue(
            tenant_id=tenant_id or tenant.id, kind=kind, name="receiver", scopes=frozenset(scopes), created=now()
        )
        await store.credentials.add(issued.credential)
        return issued.secret

    return make


@pytest.fixture
async def ssf_key(make_secret: MakeSecret) -> str:
    return await make_secret(CredentialKind.API_KEY, "ssf:manage")


@pytest.fixture
async def scim_token(make_secret: MakeSecret) -> str:
    return await make_secret(CredentialKind.SCIM_TOKEN, "scim")


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=30) as client:
        yield client


async def entra_creates_user(http: httpx.AsyncClient, service: str, token: str, user_name: str) -> str:
    response = await http.post(
        f"{service}/scim/v2/Users",
        json={"schemas": [SCIM_USER], "userName": user_name, "active": True},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def entra_deactivates(http: httpx.AsyncClient, service: str, token: str, user_id: str) -> None:
    """What Entra sends when a user is disabled: PATCH replace active with the string "False"."""
    response = await http.patch(
        f"{service}/scim/v2/Users/{user_id}",
        json={"schemas": [PATCH_OP], "Operations": [{"op": "Replace", "path": "active", "value": "False"}]},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code in (200, 204), response.text
