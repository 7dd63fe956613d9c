"""The admin console as one ASGI app, to be mounted (at ``/admin``) by the composition root.

Server-rendered pages, no script: every page is a template (:mod:`admin_console.rendering`)
behind :func:`~admin_console.access.admin_page`, every asset is served from ``static/`` by the
console itself, and every answer carries :mod:`admin_console.headers`.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from pathlib import Path

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from admin_console import activity, credentials, groups, health, login, users
from admin_console.access import database_unavailable
from admin_console.console import HOME, TEMPLATES, Console
from admin_console.headers import SecurityHeaders
from admin_console.lockout import Lockout
from admin_console.sessions import SessionCookies
from admin_console.settings import ConsoleSettings
from identity_store import CommandBus, Store, StoreTimeout, StoreUnavailable
from identity_store.activity import ActivityLog

__all__ = ["admin_console", "random_session_key"]

STATIC = Path(__file__).resolve().parent / "static"


def random_session_key() -> bytes:
    """A key for one process's sessions, when none is configured (they end when it stops)."""
    return secrets.token_bytes(32)


def admin_console(
    store: Callable[[], Store],
    bus: Callable[[], CommandBus],
    activity_log: Callable[[], ActivityLog | None],
    settings: ConsoleSettings,
) -> Starlette:
    """The console over the store (for reads), the bus (for every change) and the activity log;
    each is looked up per request because the composition root opens them in its lifespan."""
    templates = Jinja2Templates(directory=TEMPLATES)
    console = Console(
        store=store,
        bus=bus,
        activity=activity_log,
        settings=settings,
        cookies=SessionCookies(settings.session_key, seconds=settings.session_seconds),
        lockout=Lockout(failures=settings.lockout_failures, seconds=settings.lockout_seconds),
        templates=templates,
    )

    async def home(request: Request) -> Response:
        return RedirectResponse(f"{request.scope.get('root_path', '')}{HOME}", status_code=303)

    app = Starlette(
        routes=[
            Route("/", home),
            Route("/login", login.login_form, methods=["GET"]),
            Route("/login", login.sign_in, methods=["POST"]),
            Route("/logout", login.logout, methods=["POST"]),
            Route("/health", health.health),
            Route("/activity", activity.activity),
            Route("/activity/{record_id}", activity.activity_detail),
            Route("/users", users.users),
            Route("/users/{user_id}", users.user_detail),
            Route("/groups", groups.groups),
            Route("/groups/{group_id}", groups.group_detail),
            Route("/credentials", credentials.credentials),
            Route("/credentials/scim-tokens", credentials.create_scim_token, methods=["POST"]),
            Route("/credentials/api-keys", credentials.create_api_key, methods=["POST"]),
            Route("/credentials/oauth-clients", credentials.create_client, methods=["POST"]),
            Route("/credentials/oauth-clients/{client_id}/secrets", credentials.create_client_secret, methods=["POST"]),
            Route("/credentials/oauth-clients/{client_id}/disable", credentials.disable_client, methods=["POST"]),
            Route("/credentials/{kind}/{credential_id}/revoke", credentials.revoke, methods=["POST"]),
            Mount("/static", StaticFiles(directory=STATIC), name="static"),
        ],
        middleware=[Middleware(SecurityHeaders)],
        exception_handlers={StoreUnavailable: database_unavailable, StoreTimeout: database_unavailable},
    )
    app.state.console = console
    return app
