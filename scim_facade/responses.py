"""How SCIM answers (RFC 7644 §3): a resource with its ETag (§3.14), 201 with ``Location``
(§3.3), 204 and 304 without a body, ListResponse (§3.4.2), and what ``Prefer`` (RFC 7240) asks.

Every body is ``application/scim+json`` (:class:`~scim_facade.errors.ScimResponse`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

from scim2_models import EnterpriseUser, Group, ListResponse, User
from starlette.requests import Request
from starlette.responses import Response

from scim_facade.errors import ScimResponse
from scim_facade.resources import etag

__all__ = [
    "created",
    "list_response",
    "minimal",
    "no_change",
    "no_content",
    "resource",
    "wants_representation",
]

_ListResponse = ListResponse[User[EnterpriseUser] | Group]


def resource(body: dict[str, Any], version: int) -> Response:
    """200 with one resource and its ETag."""
    return ScimResponse(body, headers={"ETag": etag(version)})


def created(body: dict[str, Any], version: int, location: str) -> Response:
    """201 Created (RFC 7644 §3.3): the resource, its ETag and where it lives."""
    return ScimResponse(body, status_code=201, headers={"ETag": etag(version), "Location": location})


def no_change(version: int) -> Response:
    """304 Not Modified: the client's copy is the current one."""
    return Response(status_code=304, headers={"ETag": etag(version)})


def no_content(version: int) -> Response:
    """204 after a write the client asked no body of; the ETag still tells the new version."""
    return Response(status_code=204, headers={"ETag": etag(version)})


def list_response(
    items: Sequence[dict[str, Any]],
    total: int,
    *,
    start_index: int | None = None,
    next_cursor: str | None = None,
    previous_cursor: str | None = None,
) -> Response:
    """A ListResponse (RFC 7644 §3.4.2): ``startIndex`` for index paging, the cursors of RFC 9865
    for cursor paging (which has no ``startIndex``)."""
    body = dict(_list_head(total, start_index, len(items), next_cursor, previous_cursor))
    # The resources are already rendered (with what Entra sent that RFC 7643 does not define, and
    # the selection applied): parsed back into scim2-models' User and Group they would not stay
    # as rendered, so they are set on the dumped message as they are.
    body["Resources"] = list(items)
    return ScimResponse(body)


@lru_cache(maxsize=1024)
def _list_head(
    total: int, start_index: int | None, items_per_page: int, next_cursor: str | None, previous_cursor: str | None
) -> Mapping[str, Any]:
    """A ListResponse without its resources, as scim2-models renders it. Kept, since it depends on
    these figures only and most lists are one of a few (a filtered lookup: one of one, from 1):
    validating and dumping the model took a twentieth of a filtered GET's CPU. Its lists are
    tuples (the same JSON), so no answer can change another's."""
    message = _ListResponse(
        total_results=total,
        start_index=start_index,
        items_per_page=items_per_page,
        next_cursor=next_cursor,
        previous_cursor=previous_cursor,
    )
    return {key: tuple(value) if isinstance(value, list) else value for key, value in message.model_dump().items()}


def minimal(request: Request) -> bool:
    """RFC 7240: ``Prefer: return=minimal`` asks for no body."""
    return "return=minimal" in request.headers.get("prefer", "").replace(" ", "").casefold()


def wants_representation(request: Request) -> bool:
    """Whether a PATCH on a group asks for a body: ``attributes``, ``excludedAttributes`` or
    ``Prefer: return=representation``."""
    params = request.query_params
    if "attributes" in params or "excludedAttributes" in params:
        return True
    return "return=representation" in request.headers.get("prefer", "").replace(" ", "").casefold()
