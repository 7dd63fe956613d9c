"""Lockout: after five wrong secrets an address, or a credential, is refused for fifteen minutes,
answered 429 without the secret being looked at."""

from __future__ import annotations

from starlette.applications import Starlette

from admin_console.lockout import Lockout
from identity_service.app import create_app
from identity_store import CommandBus, Tenant
from identity_store.domain.credentials import IssuedSecret
from identity_store.mongo import CommandCounter, MongoStore
from tests.admin_console.conftest import Browser, browser_on, console_settings, issue_admin


def _wrong(secret: str) -> str:
    """The same credential id with another secret part."""
    return secret[:-6] + ("zzzzzz" if not secret.endswith("zzzzzz") else "yyyyyy")


async def test_five_wrong_secrets_lock_the_credential_even_against_the_right_one(
    browser: Browser, admin: IssuedSecret
) -> None:
    for _ in range(5):
        assert (await browser.sign_in(_wrong(admin.secret))).status_code == 401

    refused = await browser.sign_in(admin.secret)

    assert refused.status_code == 429
    assert 840 < int(refused.headers["retry-after"]) <= 900
    assert "Too many failed sign-ins" in refused.text
    assert "console_session=" not in refused.headers.get("set-cookie", "")


async def test_a_locked_credential_stays_locked_from_another_address(
    database_uri: str, database_name: str, store: MongoStore, admin: IssuedSecret
) -> None:
    application = create_app(console_settings(database_uri, database_name, trust_forwarded=True))
    async with application.router.lifespan_context(application), browser_on(application) as http:
        browser = Browser(http)
        for attempt in range(5):
            await browser.sign_in(_wrong(admin.secret), headers={"X-Forwarded-For": f"198.51.100.{attempt}"})

        refused = await browser.sign_in(admin.secret, headers={"X-Forwarded-For": "203.0.113.9"})

        assert refused.status_code == 429


async def test_five_failures_from_one_address_lock_the_address_for_every_credential(
    app: Starlette, bus: CommandBus, tenant: Tenant, admin: IssuedSecret
) -> None:
    """Guesses spread over many credentials are still counted against the address they come from."""
    others = [await issue_admin(bus, tenant, f"admin-{n}") for n in range(5)]
    async with browser_on(app, "192.0.2.7") as http:
        browser = Browser(http)
        for other in others:
            assert (await browser.sign_in(_wrong(other.secret))).status_code == 401
        assert (await browser.sign_in(admin.secret)).status_code == 429
    async with browser_on(app, "192.0.2.8") as http:
        assert (await Browser(http).sign_in(admin.secret)).status_code == 303


async def test_a_lock_is_answered_without_reading_the_credential(
    database_uri: str, database_name: str, store: MongoStore, admin: IssuedSecret
) -> None:
    """While locked, the database is not asked about the presented secret at all."""
    counter = CommandCounter()
    application = create_app(console_settings(database_uri, database_name), command_listeners=[counter])
    async with application.router.lifespan_context(application), browser_on(application) as http:
        browser = Browser(http)
        for _ in range(5):
            await browser.sign_in(_wrong(admin.secret))
        await browser.get("/admin/login")

        with counter.counting() as commands:
            refused = await browser.post("/admin/login", {"secret": admin.secret})

        assert refused.status_code == 429
        assert commands.get("find", 0) == 0


def test_failures_are_forgotten_once_the_window_has_passed() -> None:
    now = [0.0]
    lockout = Lockout(failures=3, seconds=60, clock=lambda: now[0])
    lockout.failed(["k"])
    lockout.failed(["k"])
    now[0] = 61.0
    lockout.failed(["k"])

    assert lockout.retry_after(["k"]) is None


def test_a_lock_opens_after_its_time() -> None:
    now = [0.0]
    lockout = Lockout(failures=2, seconds=60, clock=lambda: now[0])
    lockout.failed(["k"])
    lockout.failed(["k"])
    assert lockout.retry_after(["k"]) == 60
    now[0] = 59.0
    assert lockout.retry_after(["k", "other"]) == 1
    now[0] = 60.0
    assert lockout.retry_after(["k"]) is None


def test_a_success_clears_the_failures_of_its_key() -> None:
    lockout = Lockout(failures=2, seconds=60, clock=lambda: 0.0)
    lockout.failed(["k"])
    lockout.succeeded(["k"])
    lockout.failed(["k"])

    assert lockout.retry_after(["k"]) is None


def test_a_flood_of_keys_keeps_memory_bounded_and_locks_in_place() -> None:
    lockout = Lockout(failures=1, seconds=60, clock=lambda: 0.0, max_keys=10)
    lockout.failed(["locked"])
    for n in range(100):
        lockout.failed([f"address-{n}"])

    assert len(lockout._keys) <= 10
    assert lockout.retry_after(["address-99"]) is not None
