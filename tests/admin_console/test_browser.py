"""The console in a real browser: Debian's headless Chromium, driven by Playwright, against the
service on a loopback port (uvicorn, the suite's database).

One browser for the module, a fresh context (cookies) per test. The pages run no script, so
what is checked is what an admin sees and does: sign in, every page, a search and a user's
detail, an API key created (its secret shown once) and revoked, signing out, and the health
chart drawn in colour. Skipped, saying why, where ``/usr/bin/chromium`` is not installed
(``.ci/run`` installs it). With ``CONSOLE_SCREENSHOTS=DIR`` each page's screenshot is kept there.
"""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, BrowserContext, Page, async_playwright, expect

from identity_service.app import create_app
from identity_store import CommandBus, CreateGroup, CreateUser, RequestContext, Tenant
from identity_store.commands import IssueCredential
from identity_store.domain.credentials import CredentialKind, IssuedSecret
from identity_store.mongo import MongoStore
from tests.admin_console.conftest import CLI, console_settings, issue_admin
from tests.admin_console.png import colours
from tests.servers import serve_in_thread

CHROMIUM = Path("/usr/bin/chromium")
# Debian's Chromium as a test needs it: no sandbox (root in a container), no GPU, and nothing
# that reaches the network on its own.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
USER_URN = "urn:ietf:params:scim:schemas:core:2.0:User"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed (apt-get install chromium)"),
]


@pytest.fixture(scope="module")
async def chromium() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        await browser.close()


@dataclass(frozen=True, slots=True, kw_only=True)
class Service:
    base_url: str
    admin: IssuedSecret
    token: IssuedSecret

    async def scim(self, method: str, path: str, **kwargs: object) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.token.secret}"}
        async with httpx.AsyncClient(base_url=self.base_url, timeout=30) as http:
            return await http.request(method, f"/scim/v2{path}", headers=headers, **kwargs)  # type: ignore[arg-type]


@pytest.fixture
async def provisioned(store: MongoStore, bus: CommandBus, tenant: Tenant) -> tuple[IssuedSecret, IssuedSecret]:
    """A console admin and Entra's SCIM token, with a user and a group already provisioned."""
    context = RequestContext(tenant_id=tenant.id, actor=CLI)
    admin = await issue_admin(bus, tenant)
    command = IssueCredential(kind=CredentialKind.SCIM_TOKEN, name="entra-provisioning", scopes=frozenset({"scim"}))
    token = await bus.dispatch(context, command)
    ada = await bus.dispatch(context, CreateUser(attributes={"userName": "ada@acme.test", "displayName": "Ada L"}))
    await bus.dispatch(context, CreateGroup(attributes={"displayName": "Engineering"}, member_ids=(ada.id,)))
    return admin, token


@pytest.fixture
def service(database_uri: str, database_name: str, provisioned: tuple[IssuedSecret, IssuedSecret]) -> Iterator[Service]:
    app = create_app(console_settings(database_uri, database_name))
    with serve_in_thread(app) as base_url:
        yield Service(base_url=base_url, admin=provisioned[0], token=provisioned[1])


@pytest.fixture
async def page(chromium: Browser, service: Service) -> AsyncIterator[Page]:
    context: BrowserContext = await chromium.new_context(
        base_url=service.base_url, viewport={"width": 1280, "height": 900}
    )
    opened = await context.new_page()
    problems: list[str] = []
    # A stylesheet or form the policy blocked, or a missing asset, would be reported here.
    opened.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    yield opened
    await context.close()
    assert problems == [], problems


def _screenshots() -> Path | None:
    folder = os.environ.get("CONSOLE_SCREENSHOTS")
    if not folder:
        return None
    Path(folder).mkdir(parents=True, exist_ok=True)
    return Path(folder)


SCREENSHOTS = _screenshots()


async def _screenshot(page: Page, name: str) -> None:
    if SCREENSHOTS is not None:
        await page.wait_for_load_state("load")
        await page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


async def _sign_in(page: Page, service: Service) -> None:
    await page.goto("/admin/health")
    assert page.url.endswith("/admin/login")
    await _screenshot(page, "login")
    await page.fill("#secret", service.admin.secret)
    await page.click("button[type=submit]")
    # "load": the stylesheet has arrived too (a click waits only for the navigation to begin).
    await page.wait_for_url("**/admin/health", wait_until="load")


async def test_an_admin_signs_in_works_through_every_page_and_signs_out(page: Page, service: Service) -> None:
    await _sign_in(page, service)
    assert await page.inner_text("h1") == "Provisioning health"
    assert "tenant acme" in await page.inner_text("header")
    # The console's own stylesheet applied (the policy allows 'self' only).
    background = await page.eval_on_selector("header.top", "e => getComputedStyle(e).backgroundColor")
    assert background == "rgb(29, 35, 48)"
    await _screenshot(page, "health")

    for link, heading in (("Activity", "Activity"), ("Groups", "Groups"), ("Users", "Users")):
        await page.click(f"nav >> text={link}")
        assert await page.inner_text("h1") == heading
        await _screenshot(page, link.lower())

    await page.fill("input[name=q]", "ada")
    await page.press("input[name=q]", "Enter")
    assert "ada@acme.test" in await page.inner_text("#users")
    await page.click("#users >> text=ada@acme.test")
    assert await page.inner_text("h1") == "ada@acme.test"
    assert "Engineering" in await page.inner_text("#groups")
    assert "UserCreated" in await page.inner_text("main")
    await _screenshot(page, "user")
    await page.click("#groups >> text=Engineering")
    assert "Ada L" in await page.inner_text("#members")
    await _screenshot(page, "group")

    await page.click("nav >> text=Credentials")
    await page.check("#api-keys input[value='users:read']")
    await page.click("#api-keys >> text=Create API key")
    secret = await page.inner_text("#secret")
    key_id = await page.inner_text("#credential-id")
    assert secret.startswith(f"isk_{key_id}_")
    await _screenshot(page, "secret-once")
    await page.click("text=Done: back to the credentials")
    assert key_id in await page.inner_text("#api-keys")
    assert secret not in await page.content()
    await _screenshot(page, "credentials")

    graphql = {"query": "{ users(first: 1) { totalCount } }"}
    async with httpx.AsyncClient(base_url=service.base_url, timeout=30) as http:
        bearer = {"Authorization": f"Bearer {secret}"}
        assert (await http.post("/graphql", json=graphql, headers=bearer)).status_code == 200
        await page.click(f"button[aria-label='Revoke graphql {key_id}']")
        await expect(page.locator("#api-keys tr", has_text=key_id)).to_contain_text("revoked")
        assert (await http.post("/graphql", json=graphql, headers=bearer)).status_code == 401

    await page.click("text=Sign out")
    await page.wait_for_url("**/admin/login")
    for refused in ("/admin/health", "/admin/users", "/admin/credentials"):
        await page.goto(refused)
        assert page.url.endswith("/admin/login"), refused
        assert await page.inner_text("h1") == "Sign in"


async def test_the_health_chart_is_drawn_in_colour_after_requests_and_a_failure(page: Page, service: Service) -> None:
    for user_name in ("grace@acme.test", "alan@acme.test"):
        created = await service.scim("POST", "/Users", json={"schemas": [USER_URN], "userName": user_name})
        assert created.status_code == 201
    refused = await service.scim("POST", "/Users", json={"schemas": [USER_URN], "userName": "grace@acme.test"})
    assert refused.status_code == 409

    await _sign_in(page, service)
    for _ in range(100):  # the log is written off the request path, in batches
        if await page.inner_text("#failures") == "1":
            break
        await asyncio.sleep(0.1)
        await page.reload()
    assert await page.inner_text("#requests") == "3"
    await _screenshot(page, "health-after-requests")

    await page.wait_for_load_state("load")  # the bars' colours are the stylesheet's
    shot = colours(await page.locator("#health-chart").screenshot())

    assert len(shot) >= 4, "more than a blank box: background, guides, bars, labels"
    assert any(_near(c, (0x4A, 0x78, 0xD6)) for c in shot), "the successful requests' bar is drawn"
    assert any(_near(c, (0xD6, 0x4A, 0x3A)) for c in shot), "the failed request's bar is drawn"
    assert "uniqueness" in await page.inner_text("#by-scim-type")
    assert re.search(r"409", await page.inner_text("#top-errors"))

    await page.click("#top-errors >> text=409")
    assert await page.inner_text("h1") == "Activity"
    await _screenshot(page, "activity-failed")
    await page.click("#activity tbody tr >> nth=0 >> a >> nth=0")
    assert "User userName is already taken" in await page.inner_text("#record")
    await _screenshot(page, "activity-record")


def _near(colour: tuple[int, int, int], wanted: tuple[int, int, int]) -> bool:
    return all(abs(a - b) <= 8 for a, b in zip(colour, wanted, strict=True))
