"""SCIM error responses (RFC 7644 §3.12): every failure becomes an ``Error`` message.

Domain errors are rendered with the HTTP status and ``scimType`` of RFC 7644 Table 9; errors
the facade itself finds (bad JSON, an unknown filter attribute, a missing token) are raised as
:class:`ScimError`. ``status`` is a string, as §3.12 requires, and every response, errors
included, is ``application/scim+json``.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Mapping
from typing import Any

from scim2_models import Error
from starlette.responses import Response

from identity_store import (
    DomainError,
    Forbidden,
    InvalidPath,
    InvalidValue,
    NoTarget,
    NotFound,
    StoreUnavailable,
    Uniqueness,
    VersionConflict,
)

__all__ = [
    "ERROR_SCHEMA",
    "SCIM_MEDIA_TYPE",
    "ScimError",
    "ScimResponse",
    "error_body",
    "error_response",
    "from_domain",
    "scim_json",
]

log = logging.getLogger("scim_facade")

SCIM_MEDIA_TYPE = "application/scim+json"
ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"


class ScimResponse(Response):
    """A JSON body served as ``application/scim+json`` (RFC 7644 §8.1)."""

    media_type = SCIM_MEDIA_TYPE

    def render(self, content: Any) -> bytes:
        return scim_json(content)


def scim_json(content: Any) -> bytes:
    """``content`` as the compact UTF-8 JSON every SCIM body is."""
    text = json.dumps(content, ensure_ascii=False, separators=(",", ":"))
    try:
        return text.encode()
    except UnicodeEncodeError:
        # A lone surrogate echoed in a detail: escaped, the body is still JSON (and never a 500).
        return json.dumps(content, separators=(",", ":")).encode()


class ScimError(Exception):
    """A failure the facade reports as it stands: status, optional scimType, detail."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        scim_type: str | None = None,
        headers: Mapping[str, str] | None = None,
        fixed: bool = False,
    ) -> None:
        """``fixed``: the detail is a constant (nothing of the request in it), so the rendered body
        is kept and reused: a refusal answered hundreds of times a second is built once."""
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.scim_type = scim_type
        self.headers = dict(headers or {})
        self.fixed = fixed

    def body(self) -> dict[str, Any]:
        """The Error message alone, as a Bulk operation's ``response`` carries it (§3.7.3)."""
        return error_body(self.status, self.detail, scim_type=self.scim_type)

    def response(self) -> Response:
        if self.fixed:
            body = _rendered(self.status, self.detail, self.scim_type)
            return Response(body, status_code=self.status, headers=self.headers, media_type=SCIM_MEDIA_TYPE)
        return error_response(self.status, self.detail, scim_type=self.scim_type, headers=self.headers)


def error_body(status: int, detail: str, *, scim_type: str | None = None) -> dict[str, Any]:
    """The Error message of RFC 7644 §3.12, as scim2-models serialises it (``status`` a string)."""
    dumped: dict[str, Any] = Error(status=status, detail=detail, scim_type=scim_type).model_dump()
    return dumped


@functools.cache
def _rendered(status: int, detail: str, scim_type: str | None) -> bytes:
    """A fixed Error's body; only constant details reach here, so the cache stays a handful."""
    return scim_json(error_body(status, detail, scim_type=scim_type))


def error_response(
    status: int, detail: str, *, scim_type: str | None = None, headers: Mapping[str, str] | None = None
) -> ScimResponse:
    body = error_body(status, detail, scim_type=scim_type)
    return ScimResponse(body, status_code=status, headers=dict(headers or {}))


def from_domain(error: DomainError, *, if_match: bool = False) -> ScimError:
    """The SCIM rendering of a domain error (RFC 7644 §3.12, Table 9).

    A version conflict is 412 when the client named the version it expected (If-Match,
    §3.14) and 409 otherwise: the client did not ask for a precondition, the write conflicted.
    """
    match error:
        case NotFound():
            return ScimError(404, error.message)
        case Uniqueness():
            return ScimError(409, error.message, scim_type="uniqueness")
        case VersionConflict():
            return ScimError(412 if if_match else 409, error.message)
        case NoTarget():
            return ScimError(400, error.message, scim_type="noTarget")
        case InvalidPath():
            return ScimError(400, error.message, scim_type="invalidPath")
        case InvalidValue():
            return ScimError(400, error.message, scim_type="mutability" if error.mutability else "invalidValue")
        case Forbidden():
            return ScimError(403, error.message)
        case StoreUnavailable():
            return ScimError(503, error.message, headers={"Retry-After": str(error.retry_after)})
    log.error("unmapped domain error %s", type(error).__name__)
    return ScimError(500, "the request could not be completed")
