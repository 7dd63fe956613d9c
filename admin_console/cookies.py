"""How the console sets its cookies: HttpOnly, SameSite=Strict, scoped to the console's path,
and Secure whenever the request came over TLS (directly, or by a trusted proxy's word)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from admin_console.forwarded import over_tls

__all__ = ["clear_cookie", "set_cookie"]


def set_cookie(
    response: Response, request: Request, name: str, value: str, *, seconds: int, trust_forwarded: bool
) -> None:
    response.set_cookie(
        name,
        value,
        max_age=seconds,
        path=_path(request),
        secure=over_tls(request, trust_forwarded=trust_forwarded),
        httponly=True,
        samesite="strict",
    )


def clear_cookie(response: Response, request: Request, name: str, *, trust_forwarded: bool) -> None:
    response.delete_cookie(
        name,
        path=_path(request),
        secure=over_tls(request, trust_forwarded=trust_forwarded),
        httponly=True,
        samesite="strict",
    )


def _path(request: Request) -> str:
    return f"{request.scope.get('root_path', '')}/"
