"""JWTs that Microsoft Entra ID issues itself, when an admin leaves the Secret Token blank.

Such a token carries ``iss = https://sts.windows.net/<Entra tenant id>/`` and
``aud = 8adf8e6e-67b2-4cf2-a259-e3dc5476c621`` (the audience Entra uses for every non-gallery
app). It is accepted when its RS256 signature verifies with an RSA key from Entra's key set (a
key of another type named by the token's ``kid`` is refused, RFC 8725 §3.1), both of
those claims are exactly right, ``exp`` and ``nbf`` hold (with a small leeway), and the Entra
tenant (``tid``) is linked to a tenant here. Every app in an Entra tenant gets tokens from the
same issuer, so the link is per Entra tenant, and an Entra tenant can be linked to one tenant only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

import jwt

from scim_facade.jwks import KeySet, verification_key

__all__ = ["ENTRA_AUDIENCE", "EntraClaims", "EntraTokens", "entra_issuer"]

ENTRA_AUDIENCE = "8adf8e6e-67b2-4cf2-a259-e3dc5476c621"
_ISSUER_PREFIX = "https://sts.windows.net/"
_GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_LEEWAY_SECONDS = 60


def entra_issuer(entra_tenant_id: str) -> str:
    return f"{_ISSUER_PREFIX}{entra_tenant_id}/"


@dataclass(frozen=True, slots=True, kw_only=True)
class EntraClaims:
    entra_tenant_id: str
    subject: str
    expires_at: datetime


class EntraTokens:
    def __init__(self, keys: KeySet) -> None:
        self._keys = keys

    @staticmethod
    def claims_entra_issuer(token: str) -> bool:
        """Whether the token names an Entra issuer (unverified; only to pick the verifier)."""
        try:
            claims = jwt.decode(token, options={"verify_signature": False})
        except jwt.InvalidTokenError:
            return False
        issuer = claims.get("iss")
        return isinstance(issuer, str) and issuer.startswith(_ISSUER_PREFIX)

    async def verify(self, token: str) -> EntraClaims:
        """The token's Entra tenant; :class:`jwt.InvalidTokenError` unless every check passes."""
        header = jwt.get_unverified_header(token)
        if header.get("alg") != "RS256":
            raise jwt.InvalidAlgorithmError("Entra tokens are signed with RS256")
        kid = header.get("kid")
        if not isinstance(kid, str):
            raise jwt.InvalidTokenError("the token names no signing key")
        unverified = jwt.decode(token, options={"verify_signature": False})
        tid = unverified.get("tid")
        if not isinstance(tid, str) or not _GUID.match(tid):
            raise jwt.InvalidTokenError("the token names no Entra tenant")
        key = await self._keys.key(kid)
        if key is None:
            raise jwt.InvalidTokenError("the token's signing key is not one of Entra's")
        claims = jwt.decode(
            token,
            verification_key(key, "RS256"),
            algorithms=["RS256"],
            audience=ENTRA_AUDIENCE,
            issuer=entra_issuer(tid),
            leeway=_LEEWAY_SECONDS,
            options={"require": ["exp", "nbf", "iss", "aud"]},
        )
        return EntraClaims(
            entra_tenant_id=tid,
            subject=str(claims.get("oid") or claims.get("sub") or ""),
            expires_at=datetime.fromtimestamp(int(claims["exp"]), tz=UTC),
        )
