"""Signing in to the console, the session cookie it sets, and signing out."""

from __future__ import annotations

import re
from http.cookies import SimpleCookie

from starlette.applications import Starlette

from identity_service.app import create_app
from identity_store import CommandBus, RequestContext, Tenant
from identity_store.commands import IssueCredential, RevokeCredential
from identity_store.domain.credentials import CredentialKind, IssuedSecret
from identity_store.mongo import MongoStore
from tests.admin_console.conftest import CLI, Browser, browser_on, console_settings

_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def _session_cookie(set_cookies: list[str]) -> SimpleCookie:
    cookie: SimpleCookie = SimpleCookie()
    for header in set_cookies:
        if header.startswith("console_session="):
            cookie.load(header)
    return cookie


async def test_the_console_sends_a_visitor_without_a_session_to_sign_in(browser: Browser) -> None:
    for page in ("/admin/", "/admin/health", "/admin/activity", "/admin/users", "/admin/groups", "/admin/credentials"):
        response = await browser.get(page)
        assert response.status_code == 303
        assert response.headers["location"] in {"/admin/login", "/admin/health"}


async def test_the_right_secret_signs_in_and_shows_the_admins_tenant(browser: Browser, admin: IssuedSecret) -> None:
    response = await browser.sign_in(admin.secret)

    assert response.status_code == 303
    assert response.headers["location"] == "/admin/health"
    page = await browser.get("/admin/users")
    assert page.status_code == 200
    assert "tenant <strong>acme</strong>" in page.text
    assert "alice" in page.text


async def test_the_session_cookie_is_http_only_strict_scoped_and_lasts_the_session(
    browser: Browser, admin: IssuedSecret
) -> None:
    """Over plain HTTP the cookie cannot be Secure (the browser would drop it); all else holds."""
    response = await browser.sign_in(admin.secret)

    morsel = _session_cookie(response.headers.get_list("set-cookie"))["console_session"]
    assert morsel["httponly"] is True
    assert morsel["samesite"] == "strict"
    assert morsel["path"] == "/admin/"
    assert morsel["max-age"] == str(8 * 3600)
    assert not morsel["secure"]


async def test_the_cookie_is_secure_when_a_trusted_proxy_says_the_request_came_over_tls(
    database_uri: str, database_name: str, store: MongoStore, admin: IssuedSecret
) -> None:
    """Behind a TLS-terminating proxy the request reaches us over HTTP; only a trusted proxy's
    X-Forwarded-Proto makes the cookie Secure (an untrusted header changes nothing)."""
    for trusted, secure in ((True, True), (False, False)):
        application = create_app(console_settings(database_uri, database_name, trust_forwarded=trusted))
        async with application.router.lifespan_context(application), browser_on(application) as http:
            tls = {"X-Forwarded-Proto": "https"}
            form = await http.get("/admin/login", headers=tls)
            # A client over HTTP keeps Secure cookies to itself, so the form's nonce is sent by hand.
            nonce = form.cookies["console_login"]
            http.cookies.clear()
            token = _CSRF.search(form.text)
            assert token is not None
            response = await http.post(
                "/admin/login",
                data={"csrf": token.group(1), "secret": admin.secret},
                headers={**tls, "Cookie": f"console_login={nonce}"},
            )
            assert response.status_code == 303, response.text
            morsel = _session_cookie(response.headers.get_list("set-cookie"))["console_session"]
            assert bool(morsel["secure"]) is secure, f"trust_forwarded={trusted}"


async def test_a_wrong_secret_is_refused_and_sets_no_session(browser: Browser, admin: IssuedSecret) -> None:
    wrong = admin.secret[:-4] + ("AAAA" if not admin.secret.endswith("AAAA") else "BBBB")
    response = await browser.sign_in(wrong)

    assert response.status_code == 401
    assert "not the secret of a console admin credential" in response.text
    assert not _session_cookie(response.headers.get_list("set-cookie"))
    assert (await browser.get("/admin/users")).status_code == 303


async def test_another_kind_of_credential_does_not_sign_in(browser: Browser, bus: CommandBus, tenant: Tenant) -> None:
    """A SCIM token or API key of the tenant is not an admin's: the same refusal as a wrong secret."""
    context = RequestContext(tenant_id=tenant.id, actor=CLI)
    token = await bus.dispatch(context, IssueCredential(kind=CredentialKind.SCIM_TOKEN, name="t", scopes=frozenset()))

    response = await browser.sign_in(token.secret)

    assert response.status_code == 401


async def test_a_revoked_admin_cannot_sign_in(browser: Browser, bus: CommandBus, admin: IssuedSecret) -> None:
    context = RequestContext(tenant_id=admin.credential.tenant_id, actor=CLI)
    await bus.dispatch(context, RevokeCredential(credential_id=admin.credential.id))

    assert (await browser.sign_in(admin.secret)).status_code == 401


async def test_revoking_the_admin_ends_its_open_session_at_the_next_request(
    signed_in: Browser, bus: CommandBus, admin: IssuedSecret
) -> None:
    assert (await signed_in.get("/admin/users")).status_code == 200
    context = RequestContext(tenant_id=admin.credential.tenant_id, actor=CLI)
    await bus.dispatch(context, RevokeCredential(credential_id=admin.credential.id))

    response = await signed_in.get("/admin/users")

    assert response.status_code == 303
    assert response.headers["location"] == "/admin/login"


async def test_signing_out_ends_the_session_and_the_pages_refuse(signed_in: Browser) -> None:
    response = await signed_in.post("/admin/logout")

    assert response.status_code == 303
    assert response.headers["location"] == "/admin/login"
    assert 'console_session=""' in response.headers["set-cookie"]
    for page in ("/admin/health", "/admin/activity", "/admin/users", "/admin/groups", "/admin/credentials"):
        assert (await signed_in.get(page)).status_code == 303


async def test_an_altered_session_cookie_is_no_session(signed_in: Browser, app: Starlette) -> None:
    cookie = signed_in.http.cookies["console_session"]
    version, body, signature = cookie.split(".")
    async with browser_on(app) as other:
        other.cookies.set("console_session", f"{version}.{body}x.{signature}", domain="identity.test", path="/admin/")
        assert (await other.get("/admin/users")).status_code == 303


async def test_every_answer_carries_a_strict_content_security_policy(signed_in: Browser) -> None:
    for page in ("/admin/users", "/admin/login", "/admin/static/console.css"):
        response = await signed_in.get(page)
        policy = response.headers["content-security-policy"]
        assert "default-src 'none'" in policy
        assert "script-src" not in policy  # no script of any origin may run
        assert "frame-ancestors 'none'" in policy
        assert response.headers["cache-control"] == "no-store"
        assert response.headers["x-content-type-options"] == "nosniff"
