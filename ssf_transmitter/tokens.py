"""Security Event Tokens (RFC 8417) signed with the service's key, and the JWKS that verifies them.

Header ``typ: secevent+jwt`` (RFC 8417 §2.3) and ``kid``, the key's RFC 7638 thumbprint, which
is also its ``kid`` in ``/.well-known/jwks.json``. A SET carries no ``exp`` (RFC 8417 §2.2).
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

__all__ = ["SetSigner"]

# RFC 7638 §3.2: the members of the thumbprint input, per key type.
_THUMBPRINT_MEMBERS = {"EC": ("crv", "kty", "x", "y"), "RSA": ("e", "kty", "n")}


class SetSigner:
    """Signs SETs with one private key (PEM: RSA 2048+ or EC P-256, as for access tokens)."""

    def __init__(self, private_key_pem: bytes, *, issuer: str) -> None:
        key = serialization.load_pem_private_key(private_key_pem, password=None)
        public: dict[str, Any]
        if isinstance(key, rsa.RSAPrivateKey):
            self._algorithm = "RS256"
            public = RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
        elif isinstance(key, ec.EllipticCurvePrivateKey) and isinstance(key.curve, ec.SECP256R1):
            self._algorithm = "ES256"
            public = ECAlgorithm.to_jwk(key.public_key(), as_dict=True)
        else:
            raise ValueError("the signing key must be RSA or EC P-256")
        self._key = key
        members = {name: public[name] for name in _THUMBPRINT_MEMBERS[public["kty"]]}
        digest = hashlib.sha256(json.dumps(members, separators=(",", ":"), sort_keys=True).encode()).digest()
        self.key_id = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
        self._public_jwk = {**public, "kid": self.key_id, "use": "sig", "alg": self._algorithm}
        self.issuer = issuer

    def jwks(self) -> dict[str, Any]:
        """The JWK Set (RFC 7517 §5) with the public half of the key only."""
        return {"keys": [dict(self._public_jwk)]}

    def sign(
        self, *, jti: str, audience: str, events: dict[str, Any], sub_id: dict[str, Any] | None, txn: str | None
    ) -> str:
        """A SET (RFC 8417 §2); ``sub_id`` per SSF 1.0 §4.1 / RFC 9493, ``txn`` the correlation id."""
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "aud": audience,
            "iat": int(time.time()),
            "jti": jti,
            "events": events,
        }
        if sub_id is not None:
            claims["sub_id"] = sub_id
        if txn is not None:
            claims["txn"] = txn
        return jwt.encode(
            claims, self._key, algorithm=self._algorithm, headers={"typ": "secevent+jwt", "kid": self.key_id}
        )
