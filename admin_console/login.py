"""Signing in with a console admin's secret, and signing out.

The form takes the secret alone: it names its credential (``ica_<id>_<secret>``), so there is
no user name to type or to enumerate. Before the secret is looked at, the sign-in form's own
CSRF token is checked (no one can sign a browser in to their tenant from another site), then
the lockout (:mod:`admin_console.lockout`): a locked address or credential is answered 429
with ``Retry-After`` and the secret is not checked at all. Every wrong secret gets the same
answer, whatever was wrong with it.
"""

from __future__ import annotations

import math
import secrets

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from admin_console.access import admin_page, signed_in_session
from admin_console.admins import admin_by_secret
from admin_console.console import HOME, console_of
from admin_console.cookies import clear_cookie, set_cookie
from admin_console.forwarded import client_address
from admin_console.rendering import render
from admin_console.sessions import LOGIN_COOKIE, SESSION_COOKIE
from admin_console.signed_in import SignedIn
from identity_store.domain.credentials import parse_secret

__all__ = ["login_form", "logout", "sign_in"]

#: How long the sign-in form may stay open before it must be loaded again.
_LOGIN_FORM_SECONDS = 30 * 60
_WRONG = "That is not the secret of a console admin credential, or it has been revoked or has expired."


async def login_form(request: Request) -> Response:
    base = request.scope.get("root_path", "")
    if await signed_in_session(request) is not None:
        return RedirectResponse(f"{base}{HOME}", status_code=303)
    return _form(request, error=None, status=200)


async def sign_in(request: Request) -> Response:
    console = console_of(request)
    settings = console.settings
    form = await request.form()
    token, secret = form.get("csrf"), form.get("secret")
    if not console.cookies.login_matches(request.cookies.get(LOGIN_COOKIE), token if isinstance(token, str) else None):
        return _form(request, error="The sign-in form had expired; please sign in again.", status=403)
    presented = secret.strip() if isinstance(secret, str) else ""
    keys = [f"address:{client_address(request, trust_forwarded=settings.trust_forwarded)}"]
    credential_id = parse_secret(presented)
    if credential_id is not None:
        keys.append(f"credential:{credential_id}")
    retry_after = console.lockout.retry_after(keys)
    if retry_after is not None:
        minutes = math.ceil(retry_after / 60)
        error = f"Too many failed sign-ins; try again in {minutes} minute{'s' if minutes != 1 else ''}."
        return _form(request, error=error, status=429, headers={"Retry-After": str(math.ceil(retry_after))})
    store = console.store()
    credential = await admin_by_secret(store, presented) if presented else None
    if credential is None:
        console.lockout.failed(keys)
        return _form(request, error=_WRONG, status=401)
    console.lockout.succeeded(keys[1:])
    tenant = await store.tenants.get(credential.tenant_id)
    _, cookie = console.cookies.new(
        credential_id=credential.id, tenant_id=tenant.id, tenant_name=tenant.name, admin_name=credential.name
    )
    response = RedirectResponse(f"{request.scope.get('root_path', '')}{HOME}", status_code=303)
    set_cookie(
        response,
        request,
        SESSION_COOKIE,
        cookie,
        seconds=console.cookies.seconds,
        trust_forwarded=settings.trust_forwarded,
    )
    clear_cookie(response, request, LOGIN_COOKIE, trust_forwarded=settings.trust_forwarded)
    return response


@admin_page
async def logout(request: Request, signed_in: SignedIn) -> Response:
    response = RedirectResponse(f"{request.scope.get('root_path', '')}/login", status_code=303)
    clear_cookie(response, request, SESSION_COOKIE, trust_forwarded=signed_in.console.settings.trust_forwarded)
    return response


def _form(request: Request, *, error: str | None, status: int, headers: dict[str, str] | None = None) -> Response:
    """The sign-in form with a fresh nonce (its cookie) and the nonce's token (its hidden field)."""
    console = console_of(request)
    nonce = secrets.token_urlsafe(18)
    context = {"error": error, "login_token": console.cookies.login_token(nonce)}
    response = render(request, None, "login.html", context, status=status, headers=headers)
    set_cookie(
        response,
        request,
        LOGIN_COOKIE,
        nonce,
        seconds=_LOGIN_FORM_SECONDS,
        trust_forwarded=console.settings.trust_forwarded,
    )
    return response
