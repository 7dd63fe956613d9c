"""Who may see a console page: a signed-in tenant admin, and for a form post, one whose post
carries its session's CSRF token.

:func:`admin_page` wraps every page but signing in. It reads the session cookie, reads the
session's credential again (so a revoked or expired admin is out at its next request), and on
any method but GET and HEAD compares the form's ``csrf`` field with the session's token in
constant time. A page receives a :class:`~admin_console.signed_in.SignedIn`, fixed to the
session's tenant.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from admin_console.admins import still_admin
from admin_console.console import Console, console_of
from admin_console.cookies import clear_cookie
from admin_console.rendering import render
from admin_console.sessions import SESSION_COOKIE, Session
from admin_console.signed_in import SignedIn
from identity_store import NotFound

__all__ = ["admin_page", "database_unavailable", "signed_in_session"]

_SAFE_METHODS = frozenset({"GET", "HEAD"})


Page = Callable[[Request, SignedIn], Awaitable[Response]]


async def signed_in_session(request: Request) -> Session | None:
    """The request's session while its admin credential may still sign in."""
    console = console_of(request)
    session = console.cookies.read(request.cookies.get(SESSION_COOKIE))
    if session is None:
        return None
    if await still_admin(console.store(), session.credential_id, session.tenant_id) is None:
        return None
    return session


def admin_page(page: Page) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        console = console_of(request)
        session = await signed_in_session(request)
        if session is None:
            return _signed_out(request, console)
        signed_in = SignedIn(session=session, console=console)
        if request.method not in _SAFE_METHODS:
            form = await request.form()
            presented = form.get("csrf")
            if not console.cookies.csrf_matches(session, presented if isinstance(presented, str) else None):
                message = "This form did not come from your console session; nothing was changed."
                return render(request, signed_in, "refused.html", {"message": message}, status=403)
        try:
            return await page(request, signed_in)
        except NotFound as error:
            return render(request, signed_in, "refused.html", {"message": str(error)}, status=404)

    endpoint.__name__ = endpoint.__qualname__ = page.__name__
    endpoint.__doc__ = page.__doc__
    return endpoint


def _signed_out(request: Request, console: Console) -> Response:
    """No usable session: a page sends the browser to sign in; a form post is refused outright
    (there is no one to act as, and a redirect would read as success to a script)."""
    base = request.scope.get("root_path", "")
    if request.method in _SAFE_METHODS:
        response: Response = RedirectResponse(f"{base}/login", status_code=303)
    else:
        message = "You are not signed in; nothing was changed."
        response = render(request, None, "refused.html", {"message": message}, status=403)
    if SESSION_COOKIE in request.cookies:
        clear_cookie(response, request, SESSION_COOKIE, trust_forwarded=console.settings.trust_forwarded)
    return response


async def database_unavailable(request: Request, error: Exception) -> Response:
    """Any page, signing in included, while the database does not answer: 503, and nothing done."""
    message = "The database is not answering; try again in a moment."
    return render(request, None, "refused.html", {"message": message}, status=503, headers={"Retry-After": "1"})
