"""Bearer authentication (RFC 7644 §2, RFC 6750): the token names the tenant.

Three kinds of bearer token are accepted:

- a long-lived secret (``scim_...``): it carries its credential id; the record is fetched by that
  id and the secret checked against the stored SHA-256 digest in constant time, then its expiry
  and revocation;
- an access token from our token endpoint (:mod:`access_tokens`): signature, ``iss``, ``aud``,
  ``exp`` and ``nbf`` are checked, then its OAuth client must still exist and be enabled;
- a JWT that Microsoft Entra ID issued (:mod:`entra_tokens`), for the tenant linked to its Entra
  tenant.

Verified tokens are cached in process for ``cache_seconds`` (30 by default), but never past their
own expiry, keyed by the digest of the token, so a request normally costs no database round trip
and no signature check. The price is that a revocation (or a disabled client, or a removed Entra
link) takes effect within that many seconds, not instantly; set it to 0 to check every request.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import jwt

from identity_store import NotFound, Store, Tenant
from identity_store.domain.credentials import CacheCounts, CredentialKind, VerifiedSecrets, parse_secret
from scim_facade.access_tokens import AccessTokens
from scim_facade.entra_tokens import EntraTokens
from scim_facade.errors import ScimError
from scim_facade.request_limits import MAX_TOKEN_LENGTH

__all__ = ["INVALID_TOKEN_CHALLENGE", "Authenticated", "TokenVerifier"]

_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="scim"'}
#: The challenge of a 401 for a token that was sent and is not one (RFC 6750 §3.1).
INVALID_TOKEN_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="scim", error="invalid_token"'}


@dataclass(frozen=True, slots=True, kw_only=True)
class Authenticated:
    """Who a verified token belongs to: a credential (or OAuth client, or Entra tenant) and its tenant."""

    credential_id: str
    kind: str
    tenant: Tenant
    expires_at: datetime | None = None
    #: The credential's name, for the activity log (an Entra tenant has none).
    name: str | None = None


def _unauthorized(detail: str) -> ScimError:
    return ScimError(401, detail, headers=INVALID_TOKEN_CHALLENGE)


class TokenVerifier:
    def __init__(
        self,
        store: Store,
        *,
        cache_seconds: float = 30.0,
        access_tokens: AccessTokens | None = None,
        entra_tokens: EntraTokens | None = None,
        cache_counts: CacheCounts | None = None,
    ) -> None:
        self._store = store
        self._verified: VerifiedSecrets[Authenticated] = VerifiedSecrets(cache_seconds, counts=cache_counts)
        #: The cache's hits and misses (the service's metrics read them).
        self.cache_counts = self._verified.counts
        self._access_tokens = access_tokens
        self._entra_tokens = entra_tokens

    async def verify(self, authorization: str | None) -> Authenticated:
        """The credential and tenant of ``Authorization: Bearer <token>``; 401 otherwise."""
        if not authorization:
            raise ScimError(401, "authentication required: send Authorization: Bearer <token>", headers=_CHALLENGE)
        scheme, _, token = authorization.partition(" ")
        token = token.strip()
        if scheme.casefold() != "bearer" or not token:
            raise ScimError(401, "the Authorization header must carry a Bearer token", headers=_CHALLENGE)
        if len(token) > MAX_TOKEN_LENGTH:
            raise _unauthorized("the token is not valid")
        cached = self._verified.get(token)
        if cached is not None:
            return cached
        if token.count(".") == 2:
            verified = await self._verify_jwt(token)
        else:
            verified = await self._verify_secret(token, datetime.now(UTC))
        self._verified.put(token, verified, verified.expires_at)
        return verified

    async def _verify_secret(self, token: str, at: datetime) -> Authenticated:
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
        tenant = await self._tenant(credential.tenant_id)
        return Authenticated(
            credential_id=credential.id,
            kind="scim-token",
            tenant=tenant,
            expires_at=credential.expires_at,
            name=credential.name,
        )

    async def _verify_jwt(self, token: str) -> Authenticated:
        try:
            if self._access_tokens is not None and self._access_tokens.is_ours(token):
                return await self._verify_access_token(self._access_tokens, token)
            if self._entra_tokens is not None and self._entra_tokens.claims_entra_issuer(token):
                claims = await self._entra_tokens.verify(token)
                try:
                    tenant = await self._store.tenants.by_entra_tenant(claims.entra_tenant_id)
                except NotFound:
                    raise _unauthorized("the token's Entra tenant is not linked to a tenant here") from None
                return Authenticated(
                    credential_id=f"entra:{claims.entra_tenant_id}",
                    kind="entra-token",
                    tenant=tenant,
                    expires_at=claims.expires_at,
                )
        except jwt.ExpiredSignatureError:
            raise _unauthorized("the token has expired") from None
        except jwt.PyJWTError:
            raise _unauthorized("the token is not valid") from None
        raise _unauthorized("the token is not valid")

    async def _verify_access_token(self, access_tokens: AccessTokens, token: str) -> Authenticated:
        claims = access_tokens.verify(token)
        try:
            client = await self._store.oauth_clients.get(claims.client_id)
        except NotFound:
            raise _unauthorized("the token's OAuth client no longer exists") from None
        if not client.enabled or client.tenant_id != claims.tenant_id:
            raise _unauthorized("the token's OAuth client is disabled")
        tenant = await self._tenant(client.tenant_id)
        return Authenticated(
            credential_id=client.id, kind="oauth-client", tenant=tenant, expires_at=claims.expires_at, name=client.name
        )

    async def _tenant(self, tenant_id: str) -> Tenant:
        try:
            return await self._store.tenants.get(tenant_id)
        except NotFound:
            raise _unauthorized("the token's tenant no longer exists") from None
