"""What every page of the console reaches: the store, the bus, the activity log and the console's
own parts (session cookies, lockout, templates), built once per app and found from the request."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from starlette.requests import Request
from starlette.templating import Jinja2Templates

from admin_console.lockout import Lockout
from admin_console.sessions import SessionCookies
from admin_console.settings import ConsoleSettings
from identity_store import CommandBus, Store
from identity_store.activity import ActivityLog

__all__ = ["HOME", "Console", "console_of"]

#: Where signing in lands, below the console's path.
HOME = "/health"

TEMPLATES = Path(__file__).resolve().parent / "templates"


@dataclass(frozen=True, slots=True, kw_only=True)
class Console:
    store: Callable[[], Store]
    bus: Callable[[], CommandBus]
    #: ``None`` while the service keeps no activity log (IDENTITY_ACTIVITY_LOG off).
    activity: Callable[[], ActivityLog | None]
    settings: ConsoleSettings
    cookies: SessionCookies
    lockout: Lockout
    templates: Jinja2Templates


def console_of(request: Request) -> Console:
    found = getattr(request.app.state, "console", None)
    if not isinstance(found, Console):
        raise RuntimeError("the admin console's app carries no Console")
    return found
