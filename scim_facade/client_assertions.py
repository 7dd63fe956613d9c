"""JWT client assertions (RFC 7523 §2.2, §3): Entra's workload identity federation.

Instead of a secret, the client posts ``client_assertion_type =
urn:ietf:params:oauth:client-assertion-type:jwt-bearer`` and ``client_assertion``, a JWT that
another issuer (Entra) signed. It authenticates a client configured with a
:class:`~identity_store.domain.oauth.Federation` when ``iss``, ``sub`` and ``aud`` are exactly
the configured ones (§3 items 1-3), ``exp`` has not passed and ``nbf`` has (items 4-5, with a
small leeway), the signature verifies with a key from the issuer's key set (RS256 or ES256
only, item 9), and its ``jti`` has not been seen before by this process (item 7; replays are
refused per instance, and the assertion may live at most ten minutes, which bounds the rest).
"""

from __future__ import annotations

import time

import jwt

from identity_store.domain.oauth import Federation
from scim_facade.jwks import KeySets

__all__ = ["JWT_BEARER", "ClientAssertions"]

JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
_ALGORITHMS = ("RS256", "ES256")
_LEEWAY_SECONDS = 60
_MAX_LIFETIME_SECONDS = 600
_MAX_SEEN = 100_000


class ClientAssertions:
    def __init__(self, key_sets: KeySets) -> None:
        self._key_sets = key_sets
        self._seen: dict[str, float] = {}

    async def verify(self, assertion: str, federation: Federation) -> None:
        """Return when the assertion authenticates the federated client; :class:`jwt.PyJWTError` otherwise."""
        header = jwt.get_unverified_header(assertion)
        algorithm, kid = header.get("alg"), header.get("kid")
        if algorithm not in _ALGORITHMS:
            raise jwt.InvalidAlgorithmError("client assertions are signed with RS256 or ES256")
        if not isinstance(kid, str):
            raise jwt.InvalidTokenError("the assertion names no signing key")
        key = await self._key_sets.for_url(federation.jwks_url).key(kid)
        if key is None:
            raise jwt.InvalidTokenError("the assertion's signing key is not in the issuer's key set")
        claims = jwt.decode(
            assertion,
            key.key,
            algorithms=[str(algorithm)],
            audience=federation.audience,
            issuer=federation.issuer,
            leeway=_LEEWAY_SECONDS,
            options={"require": ["exp", "iss", "sub", "aud"]},
        )
        if claims["sub"] != federation.subject:
            raise jwt.InvalidTokenError("the assertion's subject is not the client's")
        expires = float(claims["exp"])
        if expires - time.time() > _MAX_LIFETIME_SECONDS + _LEEWAY_SECONDS:
            raise jwt.InvalidTokenError("the assertion lives too long")
        self._remember(str(claims.get("jti") or assertion), expires)

    def _remember(self, jti: str, expires: float) -> None:
        now = time.time()
        if len(self._seen) >= _MAX_SEEN:
            self._seen = {j: e for j, e in self._seen.items() if e + _LEEWAY_SECONDS > now}
        if jti in self._seen and self._seen[jti] + _LEEWAY_SECONDS > now:
            raise jwt.InvalidTokenError("the assertion was already used")
        self._seen[jti] = expires
