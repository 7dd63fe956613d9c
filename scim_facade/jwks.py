"""A JSON Web Key Set fetched from a URL and cached by key id (RFC 7517 §5).

Keys are looked up by ``kid``. An unknown ``kid`` refetches the set, since it usually means the
issuer rotated its keys, but at most once every ``min_refetch_seconds``, so tokens with made-up
key ids cannot turn into a stream of requests to the key URL. The whole set is also refetched
when it is older than ``max_age_seconds``, so a key the issuer withdrew stops being trusted.
Concurrent misses share one fetch.

A fetch has one deadline, ``timeout_seconds``, for all of it: connecting, the headers and every
read of the body. A per-read timeout would let a server that trickles a byte at a time hold the
requests waiting on it for as long as it likes. The fetch runs on the event loop (httpx) and is
cancelled at the deadline, so nothing keeps reading behind the caller's back.

The key set is untrusted input: a body that is not JSON, deeper than JSON nesting allows, larger
than ``_MAX_BYTES``, or not shaped like RFC 7517 §5 (``keys`` an array of objects whose members
are strings) is refused as a whole and logged as one WARNING line; the keys known before stay in
use. Within a good set, a key with members of the wrong type is skipped, and the skipped keys
are named in one WARNING line. Only RSA and EC signing keys are kept. :func:`verification_key` then refuses a key whose
type does not match the token's ``alg`` (an ES256 header naming an RSA key, or the reverse).
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import ssl
import time
from typing import Any

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa

__all__ = ["KeySet", "KeySets", "MalformedKeySet", "verification_key"]

log = logging.getLogger("scim_facade.jwks")

_MAX_BYTES = 1_048_576
_MAX_KEYS = 100
# RFC 7517 §4 and RFC 7518 §6: the members we read are strings; ``key_ops`` and ``x5c`` arrays.
_STRING_MEMBERS = ("kty", "kid", "use", "alg", "n", "e", "crv", "x", "y")
_ARRAY_MEMBERS = ("key_ops", "x5c")


class MalformedKeySet(ValueError):
    """The document at the key URL is not a usable JWK Set."""


def verification_key(key: jwt.PyJWK, algorithm: str) -> Any:
    """The public key to check an ``algorithm`` signature with; :class:`jwt.InvalidAlgorithmError`
    when the key is not of that algorithm's type (RFC 8725 §3.1: the key decides, not the header).
    """
    public = key.key
    if algorithm == "RS256" and isinstance(public, rsa.RSAPublicKey):
        return public
    if (
        algorithm == "ES256"
        and isinstance(public, ec.EllipticCurvePublicKey)
        and isinstance(public.curve, ec.SECP256R1)
    ):
        return public
    raise jwt.InvalidAlgorithmError(f"the signing key is not an {algorithm} key")


class KeySet:
    def __init__(
        self,
        url: str,
        *,
        min_refetch_seconds: float = 60.0,
        max_age_seconds: float = 86_400.0,
        timeout_seconds: float = 5.0,
    ) -> None:
        if not url.startswith(("https://", "http://")):
            raise ValueError(f"the key set URL must be http(s): {url!r}")
        self.url = url
        self._min_refetch = min_refetch_seconds
        self._max_age = max_age_seconds
        self._timeout = timeout_seconds
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at: float | None = None
        self._attempted_at: float | None = None
        self._lock = asyncio.Lock()

    async def key(self, kid: str) -> jwt.PyJWK | None:
        """The key with that id, fetching the set if it is unknown (rate-limited); ``None`` if none."""
        key = self._keys.get(kid)
        if key is not None and not self._stale():
            return key
        async with self._lock:
            key = self._keys.get(kid)
            if key is not None and not self._stale():
                return key  # another request fetched it meanwhile
            if self._attempted_at is not None and time.monotonic() - self._attempted_at < self._min_refetch:
                return key
            self._attempted_at = time.monotonic()
            try:
                async with asyncio.timeout(self._timeout):
                    body = await self._fetch()
                keys, skipped = _parse(body)
            except TimeoutError:
                log.warning("could not fetch the key set at %s: no complete answer within %ss", self.url, self._timeout)
                return key
            except (httpx.HTTPError, httpx.InvalidURL, OSError) as error:
                log.warning("could not fetch the key set at %s: %s", self.url, error or type(error).__name__)
                return key
            except MalformedKeySet as error:
                log.warning("refused the key set at %s: %s", self.url, error)
                return key
            if skipped:
                log.warning("skipped malformed keys in the key set at %s: %s", self.url, "; ".join(skipped))
            self._keys = keys
            self._fetched_at = time.monotonic()
            return self._keys.get(kid)

    def _stale(self) -> bool:
        return self._fetched_at is None or time.monotonic() - self._fetched_at > self._max_age

    async def _fetch(self) -> bytes:
        body = bytearray()
        async with (
            httpx.AsyncClient(verify=_tls(), timeout=self._timeout, follow_redirects=False) as http,
            http.stream("GET", self.url, headers={"Accept": "application/json"}) as response,
        ):
            if response.status_code != 200:
                raise MalformedKeySet(f"the key URL answered {response.status_code}")
            async for chunk in response.aiter_bytes():
                body.extend(chunk)
                if len(body) > _MAX_BYTES:
                    raise MalformedKeySet(f"the key set is larger than {_MAX_BYTES} bytes")
        return bytes(body)


@functools.cache
def _tls() -> ssl.SSLContext:
    """The trusted certificates (``SSL_CERT_FILE`` and ``SSL_CERT_DIR`` honoured, as httpx does),
    loaded once a process instead of at every fetch: loading them takes about 15 ms."""
    return httpx.create_ssl_context()


def _parse(body: bytes) -> tuple[dict[str, jwt.PyJWK], list[str]]:
    """The RSA and EC signing keys of a JWK Set document, and why each malformed key was skipped;
    :class:`MalformedKeySet` if the document is not a JWK Set at all."""
    try:
        document = json.loads(body)
    except RecursionError:
        raise MalformedKeySet("the key set is nested too deeply") from None
    except ValueError as error:  # also UnicodeDecodeError
        raise MalformedKeySet(f"the key set is not JSON: {error}") from None
    entries = document.get("keys") if isinstance(document, dict) else None
    if not isinstance(entries, list):
        raise MalformedKeySet('the key set has no "keys" array')
    if len(entries) > _MAX_KEYS:
        raise MalformedKeySet(f"the key set has more than {_MAX_KEYS} keys")
    keys: dict[str, jwt.PyJWK] = {}
    skipped: list[str] = []
    for index, entry in enumerate(entries):
        problem = _malformed(entry)
        if problem is not None:
            skipped.append(f"key {index}: {problem}")
            continue
        if "kid" not in entry or entry.get("kty") not in ("RSA", "EC") or entry.get("use", "sig") != "sig":
            continue  # not a signing key we could use (RFC 7517 §4.2: "enc" keys never verify)
        try:
            keys[entry["kid"]] = jwt.PyJWK(entry)
        except (jwt.PyJWTError, ValueError, TypeError) as error:
            skipped.append(f"key {entry['kid'][:64]!r}: {error}")
    return keys, skipped


def _malformed(entry: Any) -> str | None:
    if not isinstance(entry, dict):
        return "not an object"
    for name in _STRING_MEMBERS:
        if name in entry and not isinstance(entry[name], str):
            return f'"{name}" is not a string'
    for name in _ARRAY_MEMBERS:
        if name in entry and not isinstance(entry[name], list):
            return f'"{name}" is not an array'
    return None


class KeySets:
    """One :class:`KeySet` per URL, made on first use (for clients that each name their issuer's keys)."""

    def __init__(
        self, *, min_refetch_seconds: float = 60.0, timeout_seconds: float = 5.0, max_sets: int = 1_000
    ) -> None:
        self._min_refetch = min_refetch_seconds
        self._timeout = timeout_seconds
        self._max_sets = max_sets
        self._sets: dict[str, KeySet] = {}

    def for_url(self, url: str) -> KeySet:
        found = self._sets.get(url)
        if found is None:
            if len(self._sets) >= self._max_sets:
                self._sets.clear()
            found = self._sets[url] = KeySet(url, min_refetch_seconds=self._min_refetch, timeout_seconds=self._timeout)
        return found
