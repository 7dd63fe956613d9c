"""A stand-in for Microsoft Entra ID's token issuer: RSA and EC keys, a JWKS endpoint on a real server.

The key set is served over HTTP by uvicorn on a loopback port (``serve_in_thread``) and counts
its fetches, so tests can see when the service refetches keys. It can also misbehave the ways a
hostile or broken key URL does: serve any bytes (``document``), answer late (``delay``), or
trickle its answer one byte at a time (``trickle``), recording whether the reader hung up first.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import json
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Literal

import anyio
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from starlette.applications import Starlette
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from scim_facade.entra_tokens import ENTRA_AUDIENCE, entra_issuer
from tests.servers import serve_in_thread


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


@functools.cache
def _rsa_key(kid: str) -> rsa.RSAPrivateKey:
    """One RSA key per key id for the run: making one takes about 35 ms, and an issuer's keys need
    only differ from each other (each test has an issuer, and a tenant, of its own)."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


class LocalIssuer:
    def __init__(self) -> None:
        self.keys: dict[str, PrivateKey] = {}
        self.published: list[str] = []
        self.fetches = 0
        self.url = ""
        self.entra_tenant_id = str(uuid.uuid4())
        self.document: bytes | None = None
        """When set, served instead of the key set, as it is."""
        self.delay = 0.0
        """Seconds to wait before answering."""
        self.trickle: float | None = None
        """When set, the answer is sent one byte at a time, this many seconds apart."""
        self.trickle_outcome: Literal["finished", "cut off"] | None = None
        self.trickle_ended = threading.Event()

    def add_key(self, kid: str, *, publish: bool = True, kind: Literal["RSA", "EC"] = "RSA") -> None:
        if kind == "RSA":
            self.keys[kid] = _rsa_key(kid)
        else:
            self.keys[kid] = ec.generate_private_key(ec.SECP256R1())
        if publish:
            self.published.append(kid)

    def jwks(self) -> dict[str, Any]:
        keys = []
        for kid in self.published:
            key = self.keys[kid]
            if isinstance(key, rsa.RSAPrivateKey):
                jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
            else:
                jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(key.public_key()))
            keys.append({**jwk, "kid": kid, "use": "sig"})
        return {"keys": keys}

    def body(self) -> bytes:
        return self.document if self.document is not None else json.dumps(self.jwks()).encode()

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
        for name, value in overrides.items():
            if value is None:
                claims.pop(name, None)  # None leaves the claim out
            else:
                claims[name] = value
        return claims

    def token(self, kid: str = "k1", **overrides: Any) -> str:
        """A token signed by ``kid`` (RS256 for an RSA key, ES256 for an EC key), with Entra's
        claims and any ``overrides`` (``None`` leaves a claim out)."""
        return self.signed(kid, kid, **overrides)

    def signed(self, signer: str, kid: str, **overrides: Any) -> str:
        """A token signed by the key ``signer`` but whose header names ``kid``: when the two
        differ in type, the header's ``alg`` does not match the type of the key it names."""
        key = self.keys[signer]
        algorithm = "RS256" if isinstance(key, rsa.RSAPrivateKey) else "ES256"
        return jwt.encode(self.claims(**overrides), key, algorithm=algorithm, headers={"kid": kid})

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


class _KeysEndpoint:
    """The key URL, as a plain ASGI app so that it can trickle and see the reader hang up."""

    def __init__(self, issuer: LocalIssuer) -> None:
        self.issuer = issuer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        issuer = self.issuer
        issuer.fetches += 1
        await anyio.sleep(issuer.delay)
        body = issuer.body()
        headers = [(b"content-type", b"application/json")]
        if issuer.trickle is None:
            headers.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        if issuer.trickle is None:
            await send({"type": "http.response.body", "body": body})
            return
        await self._trickle(receive, send, body, issuer.trickle)

    async def _trickle(self, receive: Receive, send: Send, body: bytes, interval: float) -> None:
        issuer = self.issuer
        hung_up = anyio.Event()

        async def listen() -> None:
            while (await receive())["type"] != "http.disconnect":
                pass
            hung_up.set()

        async with anyio.create_task_group() as group:
            group.start_soon(listen)
            for index in range(len(body)):
                await send({"type": "http.response.body", "body": body[index : index + 1], "more_body": True})
                with anyio.move_on_after(interval):
                    await hung_up.wait()
                if hung_up.is_set():
                    issuer.trickle_outcome = "cut off"
                    break
            else:
                await send({"type": "http.response.body", "body": b""})
                issuer.trickle_outcome = "finished"
            group.cancel_scope.cancel()
        issuer.trickle_ended.set()


@contextmanager
def local_issuer() -> Iterator[LocalIssuer]:
    """An issuer with one published key, ``k1``, whose key set is served while the context lasts."""
    issuer = LocalIssuer()
    issuer.add_key("k1")
    with serve_in_thread(Starlette(routes=[Route("/discovery/keys", _KeysEndpoint(issuer))])) as base_url:
        issuer.url = f"{base_url}/discovery/keys"
        yield issuer
