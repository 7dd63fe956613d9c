"""JWT client assertions (RFC 7523 §2.2, §3): Entra's workload identity federation.

Instead of a secret, the client posts ``client_assertion_type =
urn:ietf:params:oauth:client-assertion-type:jwt-bearer`` and ``client_assertion``, a JWT that
another issuer (Entra) signed. It authenticates a client configured with a
:class:`~identity_store.domain.oauth.Federation` when:

- ``iss``, ``sub`` and ``aud`` are exactly the configured ones (§3 items 1-3);
- ``exp`` has not passed and ``nbf``, if present, has (items 4-5, with a small leeway);
- ``iat`` is present and not in the future (item 6), and the assertion's whole lifetime,
  ``exp - iat``, is at most ten minutes. The lifetime is what bounds a replay window: checking
  only the time left would accept an assertion minted hours ago that still has minutes to run;
- the signature verifies with a key from the issuer's key set, RS256 with an RSA key or ES256
  with a P-256 key (item 9; the key's type must match the header's ``alg``, RFC 8725 §3.1);
- ``jti`` is present and has not been used before for this client by this process (item 7).

Replays are recognised by ``(client, jti)``, never by the assertion's text: an ES256 signature
``(r, s)`` is just as valid as ``(r, n - s)``, so the same assertion can be re-sent as different
text. The memory of used ``jti`` values holds each one until its assertion expires, and at most
``_MAX_SEEN`` of them; when it is full of live entries new assertions are refused (fail closed)
rather than letting an old one be replayed.
"""

from __future__ import annotations

import logging
import time

import jwt

from identity_store.domain.oauth import Federation
from scim_facade.jwks import KeySets, verification_key

__all__ = ["JWT_BEARER", "ClientAssertions"]

log = logging.getLogger("scim_facade.oauth")

JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
_ALGORITHMS = ("RS256", "ES256")
_LEEWAY_SECONDS = 60
_MAX_LIFETIME_SECONDS = 600
_MAX_SEEN = 100_000
_MAX_JTI_LENGTH = 256


class ClientAssertions:
    def __init__(self, key_sets: KeySets, *, max_seen: int = _MAX_SEEN) -> None:
        self._key_sets = key_sets
        self._max_seen = max_seen
        self._seen: dict[tuple[str, str], float] = {}

    async def verify(self, assertion: str, federation: Federation, *, client_id: str) -> None:
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
            verification_key(key, str(algorithm)),
            algorithms=[str(algorithm)],
            audience=federation.audience,
            issuer=federation.issuer,
            leeway=_LEEWAY_SECONDS,
            options={"require": ["exp", "iat", "jti", "iss", "sub", "aud"]},
        )
        if claims["sub"] != federation.subject:
            raise jwt.InvalidTokenError("the assertion's subject is not the client's")
        # PyJWT checked exp, and that iat is not in the future (with the leeway), after int(): which
        # also takes "123" or true. RFC 7519 §2 NumericDate is a JSON number.
        expires, issued = _numeric_date(claims, "exp"), _numeric_date(claims, "iat")
        if expires - issued > _MAX_LIFETIME_SECONDS:
            raise jwt.InvalidTokenError(f"the assertion lives longer than {_MAX_LIFETIME_SECONDS} seconds")
        jti = claims["jti"]
        if not isinstance(jti, str) or not 0 < len(jti) <= _MAX_JTI_LENGTH:
            raise jwt.InvalidTokenError("the assertion's jti must be a non-empty string")
        self._remember((client_id, jti), expires + _LEEWAY_SECONDS)

    def _remember(self, used: tuple[str, str], until: float) -> None:
        now = time.time()
        seen_until = self._seen.get(used)
        if seen_until is not None and seen_until > now:
            raise jwt.InvalidTokenError("the assertion was already used")
        if used not in self._seen and len(self._seen) >= self._max_seen:
            self._seen = {j: u for j, u in self._seen.items() if u > now}
            if len(self._seen) >= self._max_seen:
                log.warning(
                    "refused a client assertion: %d assertions in flight is the most remembered", len(self._seen)
                )
                raise jwt.InvalidTokenError("too many assertions in flight; retry later")
        self._seen[used] = until


def _numeric_date(claims: dict[str, object], name: str) -> float:
    value = claims[name]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise jwt.InvalidTokenError(f"the assertion's {name} is not a number")
    return float(value)
