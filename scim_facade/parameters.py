"""Request parameters: list and search parameters (RFC 7644 §3.4.2, §3.4.3), ``attributes``
and ``excludedAttributes`` (§3.4.2.5), the resource id of the path, and the conditional
headers ``If-Match`` / ``If-None-Match`` (§3.14, RFC 7232 §3).

GET carries list parameters in the query and POST ``.search`` in a SearchRequest body; both are
read by :func:`list_parameters`. The body is read by hand rather than by scim2-models'
``SearchRequest``: it must take ``count`` and ``startIndex`` as strings as well as numbers and
``attributes`` as a comma-separated string as well as a list (as query parameters are), and a
filter or ``sortBy`` it refuses must get this facade's own ``scimType`` and detail.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from scim2_models import SearchRequest
from starlette.requests import Request

from identity_store import DomainError
from identity_store.domain.filters import META_PATHS
from scim_facade.errors import ScimError
from scim_facade.filters import split_urn
from scim_facade.request_limits import MAX_ATTRIBUTE_NAMES, check_text, valid_id
from scim_facade.resources import ResourceKind, Selection, parse_etag, selection

__all__ = [
    "SEARCH_REQUEST",
    "ListParameters",
    "chosen",
    "expected_version",
    "list_parameters",
    "not_modified",
    "resource_id",
    "sort_path",
    "sortable",
]

SEARCH_REQUEST = str(SearchRequest.__schema__)
# What a sealed cursor is made of (base64url and a dot); anything else was not issued here.
_CURSOR = re.compile(r"[A-Za-z0-9_=.-]{0,4096}")
_INTEGER = re.compile(r"[+-]?[0-9]{1,10}")


@dataclass(frozen=True, slots=True, kw_only=True)
class ListParameters:
    """What a list or search asks for; ``count`` is clamped to ``max_results``, ``raw_count`` not."""

    filter: str | None = None
    sort_by: str | None = None
    descending: bool = False
    start_index: int = 1
    count: int | None = None
    raw_count: int | None = None
    cursor: str | None = None
    chosen: Selection = field(default_factory=Selection)


def list_parameters(
    query: Mapping[str, Any], body: Mapping[str, Any] | None, kind: ResourceKind | None, *, max_results: int
) -> ListParameters:
    """Query parameters (GET), or a SearchRequest ``body`` (POST .search, RFC 7644 §3.4.3) when given.

    ``kind`` resolves ``attributes``; ``None`` (a root search) leaves the selection empty."""
    if body is not None:
        schemas = body.get("schemas")
        if schemas is not None and (
            not isinstance(schemas, list) or SEARCH_REQUEST.casefold() not in {str(s).casefold() for s in schemas}
        ):
            raise ScimError(400, f"a search body must name {SEARCH_REQUEST}", scim_type="invalidSyntax")
        raw: Mapping[str, Any] = body
    else:
        raw = query
    filter_text = _optional_str(raw, "filter")
    sort_by = _optional_str(raw, "sortBy")
    order = (_optional_str(raw, "sortOrder") or "ascending").casefold()
    if order not in {"ascending", "descending"}:
        raise ScimError(400, "sortOrder must be ascending or descending", scim_type="invalidValue")
    start_index = max(_optional_int(raw, "startIndex") or 1, 1)
    raw_count = count = _optional_int(raw, "count")
    if count is not None:
        count = min(max(count, 0), max_results)
    cursor = raw.get("cursor")
    if cursor is not None and (not isinstance(cursor, str) or _CURSOR.fullmatch(cursor) is None):
        raise ScimError(400, "cursor must be a cursor this service issued", scim_type="invalidCursor")
    attributes = _names(raw, "attributes")
    excluded = _names(raw, "excludedAttributes")
    picked = selection(attributes, excluded, kind.schema) if kind is not None else Selection()
    return ListParameters(
        filter=filter_text,
        sort_by=sort_by,
        descending=order == "descending",
        start_index=start_index,
        count=count,
        raw_count=raw_count,
        cursor=cursor,
        chosen=picked,
    )


def chosen(query: Mapping[str, Any], kind: ResourceKind) -> Selection:
    """``attributes`` / ``excludedAttributes`` of a request on one resource (RFC 7644 §3.9)."""
    return selection(_names(query, "attributes"), _names(query, "excludedAttributes"), kind.schema)


def resource_id(request: Request) -> str:
    """The resource id in the path; one no resource could have (a CR/LF, a lone surrogate, a
    kilobyte of text) is a 404 here, so it never reaches the store."""
    value = request.path_params["id"]
    assert isinstance(value, str)
    if not valid_id(value):
        raise ScimError(404, "no such resource")
    return value


def expected_version(header: str | None) -> int | None:
    """If-Match (RFC 7644 §3.14, RFC 7232 §3.1): the version the write is conditional on.

    ``None`` (no header, or ``*``) makes the write unconditional; a header naming none of our
    versions is 412."""
    if header is None or header.strip() == "*":
        return None
    for candidate in header.split(","):
        version = parse_etag(candidate)
        if version is not None:
            return version
    raise ScimError(412, "If-Match names no version of this resource")


def not_modified(header: str | None, version: int) -> bool:
    """If-None-Match (RFC 7232 §3.2): whether ``version`` is one the client already has."""
    if header is None:
        return False
    if header.strip() == "*":
        return True
    return any(parse_etag(candidate) == version for candidate in header.split(","))


def sort_path(kind: ResourceKind, sort_by: str | None) -> tuple[str, ...] | None:
    """The domain path ``sortBy`` names (RFC 7644 §3.4.2.3); 400 ``invalidValue`` for none."""
    if not sort_by:
        return None
    try:
        names = split_urn(sort_by.strip(), kind.schema)
        folded = tuple(n.casefold() for n in names)
        for meta_path in META_PATHS:
            if folded == tuple(p.casefold() for p in meta_path):
                return meta_path
        return kind.schema.resolve(names)[0]
    except DomainError as error:  # InvalidPath: no such attribute; InvalidValue: an unknown URN
        raise ScimError(400, f"cannot sort by {sort_by!r}: {error.message}", scim_type="invalidValue") from None


def sortable(kind: ResourceKind, sort_by: str | None) -> bool:
    """Whether ``kind`` can be sorted by ``sort_by``."""
    try:
        sort_path(kind, sort_by)
    except ScimError:
        return False
    return True


def _optional_str(raw: Mapping[str, Any], name: str) -> str | None:
    value = raw.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ScimError(400, f"{name} must be a string", scim_type="invalidValue")
    return value


def _optional_int(raw: Mapping[str, Any], name: str) -> int | None:
    value = raw.get(name)
    if value is None or value == "":
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    # ASCII digits only: str.isdigit() also takes "²" and other digits int() refuses.
    if isinstance(value, str) and _INTEGER.fullmatch(value.strip()) is not None:
        return int(value)
    raise ScimError(400, f"{name} must be an integer", scim_type="invalidValue")


def _names(raw: Mapping[str, Any], name: str) -> list[str] | None:
    value = raw.get(name)
    if value is None:
        return None
    if isinstance(value, str):
        names = value.split(",", MAX_ATTRIBUTE_NAMES)
    elif isinstance(value, list) and all(isinstance(v, str) for v in value):
        names = value
    else:
        raise ScimError(400, f"{name} must be a list of attribute names", scim_type="invalidValue")
    if len(names) > MAX_ATTRIBUTE_NAMES:
        raise ScimError(400, f"{name} may name at most {MAX_ATTRIBUTE_NAMES} attributes", scim_type="tooMany")
    return [check_text(name, n) for n in names]
