"""A stand-in for Microsoft Entra ID's token issuer: RSA keys, a JWKS endpoint on a real server.

The key set is served over HTTP by uvicorn on a loopback port (``serve_in_thread``) and counts
its fetches, so tests can see when the service refetches keys.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from scim_facade.entra_tokens import ENTRA_AUDIENCE, entra_issuer
from tests.servers import serve_in_thread


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class LocalIssuer:
    def __init__(self) -> None:
        self.keys: dict[str, rsa.RSAPrivateKey] = {}
        self.published: list[str] = []
        self.fetches = 0
        self.url = ""
        self.entra_tenant_id = str(uuid.uuid4())

    def add_key(self, kid: str, *, publish: bool = True) -> None:
        self.keys[kid] = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        if publish:
            self.published.append(kid)

    def jwks(self) -> dict[str, Any]:
        keys = []
        for kid in self.published:
            jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.keys[kid].public_key()))
            keys.append({**jwk, "kid": kid, "use": "sig", "kty": "RSA"})
        return {"keys": keys}

    def claims(self, *, tid: str | None = None, **overrides: Any) -> dict[str, Any]:
        tid = tid or self.entra_tenant_id
        at = int(time.time())
        claims: dict[str, Any] = {
            "aud": ENTRA_AUDIENCE,
            "iss": entra_issuer(tid),
            "iat": at - 60,
            "nbf": at - 60,
            "exp": at + 3600,
            "tid": tid,
            "oid": str(uuid.uuid4()),
            "appid": str(uuid.uuid4()),
            "ver": "1.0",
        }
        claims.update(overrides)
        return claims

    def token(self, kid: str = "k1", **overrides: Any) -> str:
        """An RS256 token signed by ``kid``, with Entra's claims and any ``overrides``."""
        return jwt.encode(self.claims(**overrides), self.keys[kid], algorithm="RS256", headers={"kid": kid})

    def unsigned(self, kid: str = "k1") -> str:
        """``alg: none``: no signature at all."""
        header = _b64(json.dumps({"alg": "none", "typ": "JWT", "kid": kid}).encode())
        return f"{header}.{_b64(json.dumps(self.claims()).encode())}."

    def hmac_with_public_key(self, kid: str = "k1") -> str:
        """HS256 with the public key's PEM as the shared secret: the algorithm-confusion attack."""
        public = (
            self.keys[kid]
            .public_key()
            .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        )
        header = _b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": kid}).encode())
        signing_input = f"{header}.{_b64(json.dumps(self.claims()).encode())}"
        signature = hmac.new(public, signing_input.encode(), hashlib.sha256).digest()
        return f"{signing_input}.{_b64(signature)}"


@contextmanager
def local_issuer() -> Iterator[LocalIssuer]:
    """An issuer with one published key, ``k1``, whose key set is served while the context lasts."""
    issuer = LocalIssuer()
    issuer.add_key("k1")

    async def keys(request: Request) -> JSONResponse:
        issuer.fetches += 1
        return JSONResponse(issuer.jwks())

    with serve_in_thread(Starlette(routes=[Route("/discovery/keys", keys)])) as base_url:
        issuer.url = f"{base_url}/discovery/keys"
        yield issuer
