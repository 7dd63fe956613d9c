"""Console sessions: a signed cookie naming the admin credential, and the session's CSRF token.

The cookie holds ``v1.<payload>.<signature>``: the payload (base64url JSON) names a random
session id, the admin credential, its tenant and the session's end; the signature is
HMAC-SHA256 over it with the console's key, checked in constant time. Nothing is kept on the
server, so any replica sharing the key serves any session, and a restart does not sign anyone
out. The credential itself is read again on every request (:mod:`admin_console.access`), so
revoking it ends its sessions at once; what a signed cookie cannot do is end one copied session
before its time, so the lifetime stays short (8 hours by default).

The CSRF token of a session is HMAC(key, session id): a form must carry its own session's token,
which a page of another site can neither read nor compute. Signing in has no session yet, so the
sign-in form carries the token of a random nonce kept in a short-lived cookie of its own.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass

__all__ = ["LOGIN_COOKIE", "SESSION_COOKIE", "Session", "SessionCookies"]

SESSION_COOKIE = "console_session"
#: The sign-in form's nonce (see the module docstring).
LOGIN_COOKIE = "console_login"

_VERSION = "v1"


@dataclass(frozen=True, slots=True, kw_only=True)
class Session:
    session_id: str
    credential_id: str
    tenant_id: str
    tenant_name: str
    admin_name: str
    #: When the session ends, in seconds since the epoch.
    expires: int


class SessionCookies:
    def __init__(self, key: bytes, *, seconds: int) -> None:
        if len(key) < 32:
            raise ValueError("the console's session key must be at least 32 bytes")
        self._key = key
        self.seconds = seconds

    def new(self, *, credential_id: str, tenant_id: str, tenant_name: str, admin_name: str) -> tuple[Session, str]:
        """A new session (a new id, so a new CSRF token) and its cookie value."""
        session = Session(
            session_id=secrets.token_urlsafe(18),
            credential_id=credential_id,
            tenant_id=tenant_id,
            tenant_name=tenant_name,
            admin_name=admin_name,
            expires=int(time.time()) + self.seconds,
        )
        payload = {
            "s": session.session_id,
            "c": session.credential_id,
            "t": session.tenant_id,
            "n": session.tenant_name,
            "a": session.admin_name,
            "e": session.expires,
        }
        body = _encode(json.dumps(payload, separators=(",", ":")).encode())
        return session, f"{_VERSION}.{body}.{self._sign('session', body)}"

    def read(self, cookie: str | None) -> Session | None:
        """The session a cookie carries, or ``None`` when it is absent, forged, altered or over."""
        if not cookie:
            return None
        version, _, rest = cookie.partition(".")
        body, _, signature = rest.partition(".")
        if version != _VERSION or not _same(signature, self._sign("session", body)):
            return None
        try:
            payload = json.loads(_decode(body))
            session = Session(
                session_id=str(payload["s"]),
                credential_id=str(payload["c"]),
                tenant_id=str(payload["t"]),
                tenant_name=str(payload["n"]),
                admin_name=str(payload["a"]),
                expires=int(payload["e"]),
            )
        except (ValueError, KeyError, TypeError):
            return None
        return session if session.expires > time.time() else None

    def csrf_token(self, session: Session) -> str:
        return self._sign("csrf", session.session_id)

    def csrf_matches(self, session: Session, presented: str | None) -> bool:
        return presented is not None and _same(presented, self.csrf_token(session))

    def login_token(self, nonce: str) -> str:
        return self._sign("login", nonce)

    def login_matches(self, nonce: str | None, presented: str | None) -> bool:
        if not nonce or presented is None:
            return False
        return _same(presented, self.login_token(nonce))

    def _sign(self, purpose: str, value: str) -> str:
        # The purpose keeps one HMAC from standing in for another (a CSRF token is no signature).
        mac = hmac.new(self._key, f"{purpose}\0{value}".encode(), hashlib.sha256)
        return _encode(mac.digest())


def _same(presented: str, expected: str) -> bool:
    """Constant-time equality; as bytes, because a posted value may hold any character."""
    return hmac.compare_digest(presented.encode(), expected.encode())


def _encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
