"""The console as deployed: the composed service on the suite's database, reached over HTTP.

Each test gets the whole app (``create_app``, its lifespan run by hand, as ASGITransport runs
none) and a tenant with a console admin credential issued through the command bus, as the
command line issues it. :class:`Browser` is an HTTP client that keeps cookies and reads the
CSRF token out of the page it was given, as a browser holds both.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from admin_console import CONSOLE_SCOPE
from identity_service.app import create_app
from identity_service.settings import Settings
from identity_store import Actor, CommandBus, RequestContext, Tenant
from identity_store.commands import IssueCredential
from identity_store.domain.credentials import CredentialKind, IssuedSecret
from identity_store.mongo import MongoStore

_CSRF = re.compile(r'name="csrf" value="([^"]+)"')

CLI = Actor(credential_id=None, kind="cli")


def console_settings(database_uri: str, database_name: str, **overrides: Any) -> Settings:
    """The service's settings for these tests: no verification caches, so a revocation is seen
    by the next request, and no background workers."""
    values: dict[str, Any] = {
        "mongodb_uri": database_uri,
        "database": database_name,
        "scim_token_cache_seconds": 0,
        "graphql_api_key_cache_seconds": 0,
        "webhook_delivery": False,
        "console_session_secret": "a test key of at least thirty-two characters",
        **overrides,
    }
    return Settings(**values)


async def issue_admin(bus: CommandBus, tenant: Tenant, name: str = "alice") -> IssuedSecret:
    command = IssueCredential(kind=CredentialKind.CONSOLE_ADMIN, name=name, scopes=frozenset({CONSOLE_SCOPE}))
    return await bus.dispatch(RequestContext(tenant_id=tenant.id, actor=CLI), command)


class Browser:
    """An HTTP client with a cookie jar, which remembers the last CSRF token it was shown."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http
        self.csrf: str | None = None

    async def get(self, path: str, **kwargs: Any) -> httpx.Response:
        response = await self.http.get(path, **kwargs)
        self._remember(response)
        return response

    async def post(self, path: str, data: dict[str, Any] | None = None, **kwargs: Any) -> httpx.Response:
        """Post a form as the page does: with the page's CSRF token unless ``data`` names one."""
        form = {"csrf": self.csrf, **(data or {})}
        response = await self.http.post(path, data={k: v for k, v in form.items() if v is not None}, **kwargs)
        self._remember(response)
        return response

    async def sign_in(self, secret: str, **kwargs: Any) -> httpx.Response:
        await self.get("/admin/login", **kwargs)
        response = await self.post("/admin/login", {"secret": secret}, **kwargs)
        if response.status_code == 303:
            await self.get(response.headers["location"], **kwargs)
        return response

    def _remember(self, response: httpx.Response) -> None:
        found = _CSRF.search(response.text)
        if found:
            self.csrf = found.group(1)


@pytest.fixture
def settings(database_uri: str, database_name: str) -> Settings:
    return console_settings(database_uri, database_name)


@pytest.fixture
async def app(settings: Settings, store: MongoStore) -> AsyncIterator[Starlette]:
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def admin(bus: CommandBus, tenant: Tenant) -> IssuedSecret:
    return await issue_admin(bus, tenant)


def browser_on(app: Starlette, address: str = "127.0.0.1") -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(address, 50000))
    return httpx.AsyncClient(transport=transport, base_url="http://identity.test")


@pytest.fixture
async def browser(app: Starlette) -> AsyncIterator[Browser]:
    async with browser_on(app) as http:
        yield Browser(http)


@pytest.fixture
async def signed_in(browser: Browser, admin: IssuedSecret) -> Browser:
    response = await browser.sign_in(admin.secret)
    assert response.status_code == 303, response.text
    return browser
