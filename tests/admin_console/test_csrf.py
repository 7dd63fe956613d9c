"""Every form post carries its session's CSRF token; a forged post changes nothing."""

from __future__ import annotations

import pytest
from starlette.applications import Starlette

from identity_store.domain.credentials import CredentialKind, IssuedSecret
from identity_store.mongo import MongoStore
from tests.admin_console.conftest import Browser, browser_on


async def _api_keys(store: MongoStore, tenant_id: str) -> int:
    return len(await store.credentials.list(tenant_id, kind=CredentialKind.API_KEY))


@pytest.mark.parametrize("token", [None, "", "forged-token"], ids=["no token", "empty token", "wrong token"])
async def test_a_post_without_its_sessions_token_is_refused_and_creates_nothing(
    signed_in: Browser, store: MongoStore, admin: IssuedSecret, token: str | None
) -> None:
    form = {"name": "forged", "scope": "users:read"}
    response = await signed_in.http.post(
        "/admin/credentials/api-keys", data=form | ({"csrf": token} if token is not None else {})
    )

    assert response.status_code == 403
    assert "did not come from your console session" in response.text
    assert await _api_keys(store, admin.credential.tenant_id) == 0


async def test_the_token_of_another_session_is_refused(
    signed_in: Browser, app: Starlette, store: MongoStore, admin: IssuedSecret
) -> None:
    """Two sessions of the same admin have different tokens: one cannot stand in for the other."""
    async with browser_on(app) as http:
        other = Browser(http)
        await other.sign_in(admin.secret)
        assert other.csrf is not None
        assert other.csrf != signed_in.csrf

        response = await signed_in.post("/admin/credentials/api-keys", {"csrf": other.csrf, "scope": "users:read"})

    assert response.status_code == 403
    assert await _api_keys(store, admin.credential.tenant_id) == 0


async def test_the_pages_own_token_is_accepted(signed_in: Browser, store: MongoStore, admin: IssuedSecret) -> None:
    await signed_in.get("/admin/credentials")
    response = await signed_in.post("/admin/credentials/api-keys", {"name": "reporting", "scope": "users:read"})

    assert response.status_code == 200
    assert await _api_keys(store, admin.credential.tenant_id) == 1


async def test_signing_out_needs_the_token_too(signed_in: Browser) -> None:
    """Otherwise any site could sign an admin out."""
    response = await signed_in.http.post("/admin/logout", data={})

    assert response.status_code == 403
    assert (await signed_in.get("/admin/users")).status_code == 200


async def test_a_post_without_a_session_is_refused(browser: Browser, store: MongoStore, admin: IssuedSecret) -> None:
    response = await browser.http.post("/admin/credentials/api-keys", data={"scope": "users:read"})

    assert response.status_code == 403
    assert await _api_keys(store, admin.credential.tenant_id) == 0


async def test_the_sign_in_form_needs_its_own_token(browser: Browser, admin: IssuedSecret) -> None:
    """A page of another site cannot sign a browser in (to the attacker's tenant, say)."""
    response = await browser.http.post("/admin/login", data={"secret": admin.secret})

    assert response.status_code == 403
    assert "console_session=" not in response.headers.get("set-cookie", "")
