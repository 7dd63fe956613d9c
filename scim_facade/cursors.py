"""Cursor pagination (RFC 9865) over the store's keyset pages.

The store's cursor is a position (sort value, id), so pages stay stable while resources are added
or deleted. The facade seals it with what it was issued for: the query it belongs to, the page
size, the direction and an expiry, signed with HMAC-SHA256. A cursor that was tampered with or
belongs to another query is ``invalidCursor``; an old one is ``expiredCursor``; a different count
than the first page's is ``invalidCount`` (RFC 9865 §2.4). The signing key is per process unless
configured, so cursors do not survive a restart (they then read as ``invalidCursor``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from dataclasses import dataclass

from scim_facade.errors import ScimError

__all__ = ["CursorSeal", "OpenedCursor"]


@dataclass(frozen=True, slots=True, kw_only=True)
class OpenedCursor:
    position: str
    backwards: bool


class CursorSeal:
    def __init__(self, key: bytes, *, timeout_seconds: int) -> None:
        self._key = key
        self.timeout_seconds = timeout_seconds

    @staticmethod
    def fingerprint(*parts: str | None) -> str:
        """What a cursor is bound to: the resource type, filter and sort of its query."""
        text = "\x1f".join(p or "" for p in parts)
        return hashlib.sha256(text.encode()).hexdigest()[:24]

    def seal(self, position: str, *, backwards: bool, query: str, count: int) -> str:
        payload = {"p": position, "b": backwards, "q": query, "n": count, "x": int(time.time()) + self.timeout_seconds}
        body = base64.urlsafe_b64encode(json.dumps(payload, separators=(",", ":")).encode()).rstrip(b"=")
        signature = base64.urlsafe_b64encode(hmac.digest(self._key, body, "sha256")[:18])
        return f"{body.decode()}.{signature.decode()}"

    def open(self, cursor: str, *, query: str, count: int) -> OpenedCursor:
        body, _, signature = cursor.partition(".")
        expected = base64.urlsafe_b64encode(hmac.digest(self._key, body.encode(), "sha256")[:18]).decode()
        if not signature or not hmac.compare_digest(signature, expected):
            raise ScimError(400, "the cursor is not one this service issued", scim_type="invalidCursor")
        try:
            payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
            position, backwards, bound, issued_count, expires = (
                str(payload["p"]),
                bool(payload["b"]),
                str(payload["q"]),
                int(payload["n"]),
                int(payload["x"]),
            )
        except (ValueError, KeyError, TypeError):
            raise ScimError(400, "the cursor is not one this service issued", scim_type="invalidCursor") from None
        if bound != query:
            raise ScimError(400, "the cursor belongs to another query", scim_type="invalidCursor")
        if expires < time.time():
            raise ScimError(400, "the cursor has expired; start again", scim_type="expiredCursor")
        if issued_count != count:
            raise ScimError(400, f"count must stay {issued_count} for this cursor", scim_type="invalidCount")
        return OpenedCursor(position=position, backwards=backwards)
