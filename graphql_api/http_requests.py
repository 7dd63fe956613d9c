"""A GraphQL-over-HTTP request: what makes one well formed, and the error body when it is not.

Following the GraphQL over HTTP specification (the ``application/json`` request, §5): a POST
whose body is a JSON object with a string ``query`` and optional ``variables`` (an object),
``operationName`` (a string) and ``extensions`` (an object). Anything else is a *request error*:
answered with a 4xx and the usual ``{"errors": [{"message", "extensions": {"code"}}]}`` body,
never plain text, before anything is parsed as GraphQL or executed.

=====  ========================  ===================================================
 400   BAD_REQUEST               not UTF-8, not JSON, not an object (a batch array),
                                 a lone surrogate, a member of the wrong type
 405   METHOD_NOT_ALLOWED        anything but POST (GET only for the development IDE)
 411   LENGTH_REQUIRED           a body without Content-Length
 413   PAYLOAD_TOO_LARGE         a body over the limit
 415   UNSUPPORTED_MEDIA_TYPE    a Content-Type other than application/json (UTF-8)
=====  ========================  ===================================================

Lone surrogates (``"\\ud800"``) are valid JSON escapes but no Unicode text: nothing could store or
compare them, so they are refused here rather than deep in the database driver.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from starlette.responses import JSONResponse
from strawberry.http import GraphQLRequestData
from strawberry.http.parse_content_type import parse_content_type

__all__ = ["RequestError", "error_response", "parse_body"]


class RequestError(Exception):
    """A request refused before GraphQL sees it; :meth:`response` renders it."""

    def __init__(self, status: int, code: str, message: str, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = dict(headers or {})

    def response(self) -> JSONResponse:
        return error_response(self.status, self.code, self.message, self.headers)


def error_response(status: int, code: str, message: str, headers: Mapping[str, str] | None = None) -> JSONResponse:
    """The GraphQL error body of a request refused with ``status``."""
    body = {"data": None, "errors": [{"message": message, "extensions": {"code": code}}]}
    return JSONResponse(body, status_code=status, headers=dict(headers or {}))


def _bad(message: str) -> RequestError:
    return RequestError(400, "BAD_REQUEST", message)


def _reject_constant(name: str) -> object:
    raise ValueError(f"{name} is not JSON")


def parse_body(content_type: str | None, body: bytes) -> GraphQLRequestData:
    """The operation a POST body asks for; :class:`RequestError` when it is not well formed."""
    media_type, parameters = parse_content_type(content_type or "")
    charset = parameters.get("charset", "utf-8").lower()
    if media_type.lower() != "application/json" or charset not in ("utf-8", "utf8"):
        raise RequestError(415, "UNSUPPORTED_MEDIA_TYPE", "send the operation as application/json (UTF-8)")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise _bad("the body is not UTF-8") from None
    try:
        data = json.loads(text, parse_constant=_reject_constant)
    except (ValueError, RecursionError):  # JSONDecodeError, NaN, an integer of too many digits, deep nesting
        raise _bad("the body is not JSON") from None
    try:
        json.dumps(data, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise _bad("the body holds a lone surrogate (\\ud800-\\udfff): it is not Unicode text") from None
    if isinstance(data, list):
        raise _bad("batches are not accepted: send one operation per request")
    if not isinstance(data, dict):
        raise _bad("the body must be a JSON object with a query")
    query, variables = data.get("query"), data.get("variables")
    operation_name, extensions = data.get("operationName"), data.get("extensions")
    if query is None:
        raise _bad("the body has no query")
    if not isinstance(query, str):
        raise _bad("query must be a string")
    if not isinstance(variables, dict | None):
        raise _bad("variables must be an object")
    if not isinstance(operation_name, str | None):
        raise _bad("operationName must be a string")
    if not isinstance(extensions, dict | None):
        raise _bad("extensions must be an object")
    return GraphQLRequestData(
        query=query, variables=variables, operation_name=operation_name, extensions=extensions, protocol="http"
    )
