"""The admin console's settings, as the composition root passes them (README "Configuration")."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ConsoleSettings"]


@dataclass(frozen=True, slots=True, kw_only=True)
class ConsoleSettings:
    #: Signs session cookies and CSRF tokens (at least 32 bytes); replicas must share it.
    session_key: bytes
    session_seconds: int = 8 * 3600
    #: Read the address and scheme from X-Forwarded-For/-Proto (behind a trusted proxy only).
    trust_forwarded: bool = False
    lockout_failures: int = 5
    lockout_seconds: int = 15 * 60
    #: The scopes an API key may be given (the GraphQL API's and the Shared Signals receiver's).
    api_key_scopes: tuple[str, ...] = ()
