"""What the console's settings change: whether it is served, and pages without an activity log."""

from __future__ import annotations

from identity_service.app import create_app
from identity_store.domain.credentials import IssuedSecret
from identity_store.mongo import MongoStore
from tests.admin_console.conftest import Browser, browser_on, console_settings


async def test_a_disabled_console_is_not_served(database_uri: str, database_name: str, store: MongoStore) -> None:
    application = create_app(console_settings(database_uri, database_name, console_enabled=False))
    async with application.router.lifespan_context(application), browser_on(application) as http:
        assert (await http.get("/admin/login")).status_code == 404


async def test_without_an_activity_log_the_health_and_activity_pages_say_so(
    database_uri: str, database_name: str, store: MongoStore, admin: IssuedSecret
) -> None:
    application = create_app(console_settings(database_uri, database_name, activity_log=False))
    async with application.router.lifespan_context(application), browser_on(application) as http:
        browser = Browser(http)
        await browser.sign_in(admin.secret)
        for page in ("/admin/health", "/admin/activity"):
            response = await browser.get(page)
            assert response.status_code == 200
            assert "keeps no activity log" in response.text
        assert (await browser.get("/admin/activity/0123456789abcdef")).status_code == 404


async def test_sessions_last_the_configured_minutes(
    database_uri: str, database_name: str, store: MongoStore, admin: IssuedSecret
) -> None:
    application = create_app(console_settings(database_uri, database_name, console_session_minutes=30))
    async with application.router.lifespan_context(application), browser_on(application) as http:
        response = await Browser(http).sign_in(admin.secret)
        assert "Max-Age=1800" in response.headers["set-cookie"]
