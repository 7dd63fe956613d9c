"""A JSON Web Key Set fetched from a URL and cached by key id (RFC 7517 §5).

Keys are looked up by ``kid``. An unknown ``kid`` refetches the set, since it usually means the
issuer rotated its keys, but at most once every ``min_refetch_seconds``, so tokens with made-up
key ids cannot turn into a stream of requests to the key URL. The whole set is also refetched
when it is older than ``max_age_seconds``, so a key the issuer withdrew stops being trusted.
The fetch runs in a worker thread, never on the event loop, and concurrent misses share one fetch.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import urllib.request
from typing import Any

import jwt

__all__ = ["KeySet", "KeySets"]

log = logging.getLogger("scim_facade.jwks")

_MAX_BYTES = 1_048_576


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
                document = await asyncio.to_thread(self._fetch)
            except (OSError, ValueError) as error:
                log.warning("could not fetch the key set at %s: %s", self.url, error)
                return key
            self._keys = _parse(document)
            self._fetched_at = time.monotonic()
            return self._keys.get(kid)

    def _stale(self) -> bool:
        return self._fetched_at is None or time.monotonic() - self._fetched_at > self._max_age

    def _fetch(self) -> Any:
        request = urllib.request.Request(self.url, headers={"Accept": "application/json"})  # noqa: S310 - scheme checked in __init__
        with urllib.request.urlopen(request, timeout=self._timeout) as response:  # noqa: S310 - scheme checked in __init__
            return json.loads(response.read(_MAX_BYTES))


def _parse(document: Any) -> dict[str, jwt.PyJWK]:
    keys: dict[str, jwt.PyJWK] = {}
    for entry in document.get("keys", []) if isinstance(document, dict) else []:
        if not isinstance(entry, dict) or not isinstance(entry.get("kid"), str):
            continue
        try:
            keys[entry["kid"]] = jwt.PyJWK(entry)
        except jwt.PyJWTError:
            continue  # a key type or algorithm we do not use
    return keys


class KeySets:
    """One :class:`KeySet` per URL, made on first use (for clients that each name their issuer's keys)."""

    def __init__(self, *, min_refetch_seconds: float = 60.0, max_sets: int = 1_000) -> None:
        self._min_refetch = min_refetch_seconds
        self._max_sets = max_sets
        self._sets: dict[str, KeySet] = {}

    def for_url(self, url: str) -> KeySet:
        found = self._sets.get(url)
        if found is None:
            if len(self._sets) >= self._max_sets:
                self._sets.clear()
            found = self._sets[url] = KeySet(url, min_refetch_seconds=self._min_refetch)
        return found
