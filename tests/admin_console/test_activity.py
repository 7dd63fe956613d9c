"""The health and activity pages, over the activity log the service fills as Entra's SCIM
requests are answered (written off the request path, so the tests wait for the records)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from identity_store import CommandBus, RequestContext, Tenant
from identity_store.activity import ActivityFilter
from identity_store.commands import IssueCredential
from identity_store.domain.credentials import CredentialKind, IssuedSecret
from identity_store.mongo import MongoStore
from identity_store.mongo.activity import MongoActivityLog
from tests.admin_console.conftest import CLI, Browser

USER_URN = "urn:ietf:params:scim:schemas:core:2.0:User"


class Entra:
    """Entra ID's side: SCIM requests with the tenant's token."""

    def __init__(self, app: Starlette, token: IssuedSecret) -> None:
        self._http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://identity.test")
        self.token = token

    async def scim(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.token.secret}", **kwargs.pop("headers", {})}
        return await self._http.request(method, f"/scim/v2{path}", headers=headers, **kwargs)

    async def create_user(self, user_name: str, **kwargs: Any) -> httpx.Response:
        return await self.scim("POST", "/Users", json={"schemas": [USER_URN], "userName": user_name}, **kwargs)

    async def aclose(self) -> None:
        await self._http.aclose()


@pytest.fixture
async def entra(app: Starlette, bus: CommandBus, tenant: Tenant) -> AsyncIterator[Entra]:
    command = IssueCredential(kind=CredentialKind.SCIM_TOKEN, name="entra-provisioning", scopes=frozenset({"scim"}))
    token = await bus.dispatch(RequestContext(tenant_id=tenant.id, actor=CLI), command)
    client = Entra(app, token)
    yield client
    await client.aclose()


async def _page_once(browser: Browser, path: str, expected: str) -> httpx.Response:
    """The page once it shows ``expected`` (the log is written in batches half a second apart)."""
    for _ in range(100):
        page = await browser.get(path)
        if expected in page.text:
            break
        await asyncio.sleep(0.1)
    return page


async def test_health_counts_the_hours_requests_and_failures_and_names_the_top_error(
    signed_in: Browser, entra: Entra
) -> None:
    assert (await entra.create_user("ada@acme.test")).status_code == 201
    assert (await entra.create_user("ada@acme.test")).status_code == 409
    assert (await entra.scim("GET", "/Users")).status_code == 200

    page = await _page_once(signed_in, "/admin/health", '<strong id="requests">3</strong>')

    assert '<strong id="failures">1</strong>' in page.text
    top = page.text[page.text.index('id="by-scim-type"') :]
    assert "<td>uniqueness</td><td>1</td>" in top
    assert "409" in page.text[page.text.index('id="top-errors"') :]
    assert "Last successful Entra request" in page.text
    assert re.search(r'<rect class="failed" [^>]*height="[1-9]', page.text), "the failure is drawn"
    assert re.search(r'<rect class="ok" [^>]*height="[1-9]', page.text), "the successes are drawn"


async def test_the_activity_list_filters_by_outcome_and_status_and_opens_a_request(
    signed_in: Browser, entra: Entra
) -> None:
    created = await entra.create_user("ada@acme.test")
    refused = await entra.create_user("ada@acme.test", headers={"X-Request-Id": "entra-cycle-7"})
    assert refused.status_code == 409

    everything = await _page_once(signed_in, "/admin/activity", '<span class="tag bad">409</span>')
    failed = await signed_in.get("/admin/activity", params={"outcome": "failed"})
    by_status = await signed_in.get("/admin/activity", params={"status": "201"})

    assert everything.text.count('<span class="tag good">201</span>') == 1
    assert everything.text.count('<span class="tag bad">409</span>') == 1
    assert "201</span>" not in failed.text
    assert "409</span>" in failed.text
    assert "409</span>" not in by_status.text
    assert f'href="/admin/users/{created.json()["id"]}"' in by_status.text

    [record_id] = re.findall(r'href="/admin/activity/([0-9a-f]+)"', failed.text)
    detail = await signed_in.get(f"/admin/activity/{record_id}")
    assert detail.status_code == 200
    assert "entra-cycle-7" in detail.text
    assert "uniqueness" in detail.text
    assert refused.json()["detail"] in detail.text
    assert "User ada@acme.test (not written)" in detail.text  # the name the refused body gave


async def test_the_activity_list_filters_by_credential_and_time(signed_in: Browser, entra: Entra) -> None:
    await entra.create_user("ada@acme.test")
    await _page_once(signed_in, "/admin/activity", '<span class="tag good">201</span>')

    mine = await signed_in.get("/admin/activity", params={"credential": entra.token.credential.id})
    other = await signed_in.get("/admin/activity", params={"credential": "no-such-credential"})
    future = await signed_in.get("/admin/activity", params={"since": "2999-01-01T00:00"})
    wrong = await signed_in.get("/admin/activity", params={"since": "yesterday"})

    assert "201</span>" in mine.text
    assert "No requests match." in other.text
    assert "No requests match." in future.text
    assert "is not a time" in wrong.text


async def test_another_tenants_request_is_not_found(
    signed_in: Browser, app: Starlette, bus: CommandBus, store: MongoStore
) -> None:
    other = await store.tenants.create("globex")
    command = IssueCredential(kind=CredentialKind.SCIM_TOKEN, name="globex-entra", scopes=frozenset({"scim"}))
    token = await bus.dispatch(RequestContext(tenant_id=other.id, actor=CLI), command)
    globex = Entra(app, token)
    try:
        await globex.create_user("hank@globex.test")
    finally:
        await globex.aclose()

    log = MongoActivityLog(store.database)
    for _ in range(100):
        page = await log.find(other.id, ActivityFilter(), first=1)
        if page.records:
            break
        await asyncio.sleep(0.1)
    [record] = page.records

    assert (await signed_in.get(f"/admin/activity/{record.id}")).status_code == 404
    assert "globex-entra" not in (await signed_in.get("/admin/activity")).text
