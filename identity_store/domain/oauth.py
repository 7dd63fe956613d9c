"""OAuth 2.0 clients (RFC 6749 §2): who may ask the token endpoint for access tokens, and for how long.

A client belongs to one tenant; the access tokens it obtains act for that tenant. Its secrets are
:class:`~identity_store.domain.credentials.Credential` records of kind ``OAUTH_CLIENT_SECRET``
carrying the client's id, so a client may hold several active secrets at once (rotation), each
with its own expiry and revocation. A disabled client gets no new tokens, and the tokens it
already holds stop working too.

A client may instead (or as well) be *federated* (RFC 7523 §2.2, Entra's workload identity
federation): it then authenticates with a JWT that another issuer signed, whose ``iss``, ``sub``
and ``aud`` must be exactly the ones configured and whose signature must verify with a key from
that issuer's key set (``jwks_url``).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from identity_store.domain.errors import InvalidValue

__all__ = [
    "DEFAULT_TOKEN_LIFETIME",
    "MAX_TOKEN_LIFETIME",
    "MIN_TOKEN_LIFETIME",
    "Federation",
    "OAuthClient",
    "new_client",
]

# Entra's rule for provisioning connectors: access tokens live 60 minutes to 6 hours.
MIN_TOKEN_LIFETIME = timedelta(minutes=60)
MAX_TOKEN_LIFETIME = timedelta(hours=6)
DEFAULT_TOKEN_LIFETIME = MIN_TOKEN_LIFETIME


@dataclass(frozen=True, slots=True, kw_only=True)
class Federation:
    """Which JWTs authenticate the client as client assertions (RFC 7523 §3)."""

    issuer: str
    subject: str
    audience: str
    jwks_url: str

    def __post_init__(self) -> None:
        for name in ("issuer", "subject", "audience"):
            if not getattr(self, name).strip():
                raise InvalidValue(f"a federated client needs its {name}", attribute=name)
        if not self.jwks_url.startswith(("https://", "http://127.0.0.1:", "http://localhost:")):
            raise InvalidValue("the key set URL must be https (or http on loopback)", attribute="jwksUrl")


@dataclass(frozen=True, slots=True, kw_only=True)
class OAuthClient:
    id: str
    tenant_id: str
    name: str
    token_lifetime: timedelta
    created: datetime
    disabled_at: datetime | None = None
    federation: Federation | None = None

    @property
    def enabled(self) -> bool:
        return self.disabled_at is None


def new_client(
    *, tenant_id: str, name: str, created: datetime, token_lifetime: timedelta = DEFAULT_TOKEN_LIFETIME
) -> OAuthClient:
    """A new client with a random id; :class:`InvalidValue` when the lifetime is out of bounds."""
    if not MIN_TOKEN_LIFETIME <= token_lifetime <= MAX_TOKEN_LIFETIME:
        raise InvalidValue(
            "the access-token lifetime must be between 60 minutes and 6 hours", attribute="tokenLifetime"
        )
    if not name.strip():
        raise InvalidValue("a client needs a name", attribute="name")
    return OAuthClient(
        id=f"oc_{secrets.token_hex(12)}",
        tenant_id=tenant_id,
        name=name,
        token_lifetime=token_lifetime,
        created=created,
    )
