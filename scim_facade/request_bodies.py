"""Reading a SCIM request body (RFC 7644 §3.1, §8.1): media type, size, then the strict JSON reader.

The size is checked against ``Content-Length`` before anything is read and again while the body
streams in, so a body past the limit is refused without being held in memory.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from scim_facade.errors import ScimError
from scim_facade.request_limits import parse_json

__all__ = ["ACCEPTED_MEDIA", "read_body"]

# A body sent without a Content-Type is read as JSON too.
ACCEPTED_MEDIA = frozenset({"application/scim+json", "application/json", ""})


async def read_body(request: Request, limit: int) -> dict[str, Any]:
    """The JSON object of the request body; 415, 413 (over ``limit`` bytes) or 400 otherwise."""
    media = request.headers.get("content-type", "").split(";")[0].strip().casefold()
    if media not in ACCEPTED_MEDIA:
        raise ScimError(415, "send application/scim+json or application/json")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise ScimError(413, f"the body exceeds {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise ScimError(413, f"the body exceeds {limit} bytes")
        chunks.append(chunk)
    parsed = parse_json(b"".join(chunks))
    if not isinstance(parsed, dict):
        raise ScimError(400, "the body must be a JSON object", scim_type="invalidSyntax")
    return parsed
