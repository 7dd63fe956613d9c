"""A console page costs a fixed number of database commands, whatever the tenant holds: a list
reads one page, its total, and what it shows beside each row in one read for the page, never
one read per row."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from starlette.applications import Starlette

from identity_service.app import create_app
from identity_service.settings import Settings
from identity_store import CommandBus, CreateGroup, CreateUser, RequestContext, Tenant
from identity_store.domain.credentials import IssuedSecret
from identity_store.mongo import CommandCounter, MongoStore
from tests.admin_console.conftest import CLI, Browser, browser_on


@pytest.fixture
def counter() -> CommandCounter:
    return CommandCounter()


@pytest.fixture
async def counted_app(settings: Settings, store: MongoStore, counter: CommandCounter) -> AsyncIterator[Starlette]:
    application = create_app(settings, command_listeners=[counter])
    async with application.router.lifespan_context(application):
        yield application


async def _provision(bus: CommandBus, tenant: Tenant, start: int, count: int) -> None:
    context = RequestContext(tenant_id=tenant.id, actor=CLI)
    for n in range(start, start + count):
        user = await bus.dispatch(context, CreateUser(attributes={"userName": f"user{n:03}@acme.test"}))
        await bus.dispatch(context, CreateGroup(attributes={"displayName": f"group {n:03}"}, member_ids=(user.id,)))


async def _cost(browser: Browser, counter: CommandCounter, path: str) -> int:
    with counter.counting():
        response = await browser.get(path)
    assert response.status_code == 200
    return counter.total


@pytest.mark.parametrize("page", ["/admin/users", "/admin/groups", "/admin/users?q=user0"])
async def test_a_list_page_costs_the_same_whether_the_tenant_fills_one_page_or_several(
    counted_app: Starlette, counter: CommandCounter, bus: CommandBus, tenant: Tenant, admin: IssuedSecret, page: str
) -> None:
    async with browser_on(counted_app) as http:
        browser = Browser(http)
        await browser.sign_in(admin.secret)
        await _provision(bus, tenant, 0, 30)
        one_page = await _cost(browser, counter, page)
        await _provision(bus, tenant, 30, 60)
        three_pages = await _cost(browser, counter, page)

    assert three_pages == one_page
