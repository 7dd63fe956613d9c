"""Authenticating API keys: ``Authorization: Bearer <key>`` over HTTP, ``connection_params`` over WebSocket.

A key is one of the store's credentials of kind :attr:`CredentialKind.API_KEY`; its secret is
kept only as a digest. The tenant comes from the credential, never from the request.

Verified keys are cached in process for ``cache_seconds`` (30 by default, as for SCIM tokens),
keyed by the digest of the secret and never past the key's expiry, so a query normally costs no
database round trip for authentication. The price is that a revocation takes effect within that
many seconds; set it to 0 to check every request against the database.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from identity_store import NotFound, Store
from identity_store.domain.credentials import CacheCounts, CredentialKind, VerifiedSecrets, parse_secret

__all__ = ["ApiKeys", "Principal", "authenticate", "bearer_token"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Principal:
    """The authenticated caller: an API key of one tenant, with its scopes."""

    credential_id: str
    name: str
    tenant_id: str
    scopes: frozenset[str]
    expires_at: datetime | None = None


def bearer_token(authorization: object) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` value (the scheme is case-insensitive)."""
    if not isinstance(authorization, str):
        return None
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.casefold() != "bearer" or not token.strip():
        return None
    return token.strip()


async def authenticate(store: Store, secret: str | None) -> Principal | None:
    """The principal of a valid, unexpired, unrevoked API key; ``None`` for anything else."""
    if secret is None:
        return None
    credential_id = parse_secret(secret)
    if credential_id is None:
        return None
    try:
        credential = await store.credentials.get(credential_id)
    except NotFound:
        return None
    if (
        credential.kind is not CredentialKind.API_KEY
        or not credential.usable_at(datetime.now(UTC))
        or not credential.matches(secret)
    ):
        return None
    return Principal(
        credential_id=credential.id,
        name=credential.name,
        tenant_id=credential.tenant_id,
        scopes=credential.scopes,
        expires_at=credential.expires_at,
    )


class ApiKeys:
    """:func:`authenticate` behind a short in-process cache of verified keys."""

    def __init__(self, *, cache_seconds: float = 30.0, cache_counts: CacheCounts | None = None) -> None:
        self._verified: VerifiedSecrets[Principal] = VerifiedSecrets(cache_seconds, counts=cache_counts)
        #: The cache's hits and misses (the service's metrics read them).
        self.cache_counts = self._verified.counts

    async def authenticate(self, store: Store, secret: str | None) -> Principal | None:
        if secret is None:
            return None
        cached = self._verified.get(secret)
        if cached is not None:
            return cached
        verified = await authenticate(store, secret)
        if verified is not None:
            self._verified.put(secret, verified, verified.expires_at)
        return verified
