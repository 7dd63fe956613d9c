"""Bearer-token authentication (RFC 7644 §2, RFC 6750): the token names the tenant.

The presented secret carries its credential id; the record is fetched by that id and the secret
checked against the stored SHA-256 digest in constant time, then its expiry and revocation.

Verified tokens are cached in process for ``cache_seconds`` (30 by default), keyed by the
digest of the secret, so a request normally costs no database round trip for authentication.
The price is that a revocation takes effect within that many seconds, not instantly; set it to
0 to check every request against the database.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime

from identity_store import NotFound, Store, Tenant
from identity_store.domain.credentials import Credential, CredentialKind, digest, parse_secret
from scim_facade.errors import ScimError

__all__ = ["Authenticated", "TokenVerifier"]

_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="scim"'}
_MAX_CACHED = 10_000


@dataclass(frozen=True, slots=True, kw_only=True)
class Authenticated:
    """Who a verified token belongs to."""

    credential: Credential
    tenant: Tenant


def _unauthorized(detail: str) -> ScimError:
    return ScimError(401, detail, headers=_CHALLENGE)


class TokenVerifier:
    def __init__(self, store: Store, *, cache_seconds: float = 30.0) -> None:
        self._store = store
        self._cache_seconds = cache_seconds
        self._cache: dict[str, tuple[float, Authenticated]] = {}

    async def verify(self, authorization: str | None) -> Authenticated:
        """The credential and tenant of ``Authorization: Bearer <token>``; 401 otherwise."""
        if not authorization:
            raise _unauthorized("authentication required: send Authorization: Bearer <token>")
        scheme, _, token = authorization.partition(" ")
        token = token.strip()
        if scheme.casefold() != "bearer" or not token:
            raise _unauthorized("the Authorization header must carry a Bearer token")
        key = digest(token)
        cached = self._cache.get(key)
        at = datetime.now(UTC)
        if cached is not None and cached[0] > time.monotonic() and cached[1].credential.usable_at(at):
            return cached[1]
        self._cache.pop(key, None)
        credential_id = parse_secret(token)
        if credential_id is None:
            raise _unauthorized("the token is not valid")
        try:
            credential = await self._store.credentials.get(credential_id)
        except NotFound:
            raise _unauthorized("the token is not valid") from None
        if credential.kind is not CredentialKind.SCIM_TOKEN or not credential.matches(token):
            raise _unauthorized("the token is not valid")
        if not credential.usable_at(at):
            raise _unauthorized("the token has expired or was revoked")
        try:
            tenant = await self._store.tenants.get(credential.tenant_id)
        except NotFound:
            raise _unauthorized("the token's tenant no longer exists") from None
        verified = Authenticated(credential=credential, tenant=tenant)
        if self._cache_seconds > 0:
            if len(self._cache) >= _MAX_CACHED:
                self._cache.clear()
            self._cache[key] = (time.monotonic() + self._cache_seconds, verified)
        return verified
