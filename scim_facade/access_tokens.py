"""The access tokens the token endpoint issues: signed JWTs shaped like RFC 9068.

Header ``typ: at+jwt``; claims ``iss``, ``sub`` and ``client_id`` (the OAuth client), ``aud``,
``iat``, ``nbf``, ``exp``, ``jti`` and ``tenant`` (the tenant the client belongs to). The signing
key is an RSA (RS256) or P-256 EC (ES256) private key; only that one algorithm is accepted when
a token comes back, so neither ``alg: none`` nor an HMAC made with the public key can pass.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

__all__ = ["AccessTokenClaims", "AccessTokens", "generate_signing_key"]

_LEEWAY_SECONDS = 30


@dataclass(frozen=True, slots=True, kw_only=True)
class AccessTokenClaims:
    client_id: str
    tenant_id: str
    expires_at: datetime


def generate_signing_key() -> bytes:
    """A new P-256 private key as PKCS#8 PEM."""
    key = ec.generate_private_key(ec.SECP256R1())
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


class AccessTokens:
    """Issues and verifies access tokens with one private key (PEM)."""

    def __init__(self, private_key_pem: bytes, *, issuer: str, audience: str) -> None:
        key = serialization.load_pem_private_key(private_key_pem, password=None)
        if isinstance(key, rsa.RSAPrivateKey) and key.key_size >= 2048:
            self._algorithm = "RS256"
        elif isinstance(key, ec.EllipticCurvePrivateKey) and isinstance(key.curve, ec.SECP256R1):
            self._algorithm = "ES256"
        else:
            raise ValueError("the OAuth signing key must be RSA (2048 bits or more) or EC P-256")
        self._private_key = key
        self._public_key = key.public_key()
        self.issuer = issuer
        self.audience = audience

    def issue(self, *, client_id: str, tenant_id: str, issued_at: datetime, lifetime: timedelta) -> str:
        claims = {
            "iss": self.issuer,
            "sub": client_id,
            "client_id": client_id,
            "aud": self.audience,
            "iat": issued_at,
            "nbf": issued_at,
            "exp": issued_at + lifetime,
            "jti": secrets.token_urlsafe(16),
            "tenant": tenant_id,
        }
        return jwt.encode(claims, self._private_key, algorithm=self._algorithm, headers={"typ": "at+jwt"})

    def is_ours(self, token: str) -> bool:
        """Whether the token claims our issuer (unverified; only to pick the verifier)."""
        try:
            claims = jwt.decode(token, options={"verify_signature": False})
        except jwt.InvalidTokenError:
            return False
        return claims.get("iss") == self.issuer

    def verify(self, token: str) -> AccessTokenClaims:
        """The token's client, tenant and expiry; :class:`jwt.InvalidTokenError` when it is not valid."""
        claims = jwt.decode(
            token,
            self._public_key,
            algorithms=[self._algorithm],
            audience=self.audience,
            issuer=self.issuer,
            leeway=_LEEWAY_SECONDS,
            options={"require": ["exp", "iat", "nbf", "iss", "aud", "sub", "tenant"]},
        )
        if jwt.get_unverified_header(token).get("typ") != "at+jwt":
            raise jwt.InvalidTokenError("not an access token")
        return AccessTokenClaims(
            client_id=str(claims["sub"]),
            tenant_id=str(claims["tenant"]),
            expires_at=datetime.fromtimestamp(int(claims["exp"]), tz=UTC),
        )
