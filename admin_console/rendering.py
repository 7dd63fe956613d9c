"""Rendering a page: its template with what the layout needs (the console's base path, the
signed-in admin and the session's CSRF token for the forms), autoescaped."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse

from admin_console.console import console_of
from admin_console.signed_in import SignedIn

__all__ = ["render"]


def render(
    request: Request,
    signed_in: SignedIn | None,
    template: str,
    context: Mapping[str, Any],
    *,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
) -> HTMLResponse:
    layout = {
        "base": request.scope.get("root_path", ""),
        "session": signed_in.session if signed_in is not None else None,
        "csrf": signed_in.csrf if signed_in is not None else None,
        "path": request.url.path,
        "now": datetime.now(UTC),
    }
    return console_of(request).templates.TemplateResponse(
        request, template, {**layout, **context}, status_code=status, headers=dict(headers or {})
    )
