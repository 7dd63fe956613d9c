"""SCIM messages as sent (RFC 7644 §3.4.2 ListResponse, §3.12 Error), built without HTTP."""

from __future__ import annotations

import json

from scim_facade.errors import error_body
from scim_facade.responses import list_response

LIST = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"


def test_an_index_page_list_response() -> None:
    """``totalResults``, ``startIndex``, ``itemsPerPage`` and the resources as rendered."""
    body = json.loads(bytes(list_response([{"id": "a", "x-entra": 1}], 5, start_index=3).body))
    assert body == {
        "schemas": [LIST],
        "totalResults": 5,
        "startIndex": 3,
        "itemsPerPage": 1,
        "Resources": [{"id": "a", "x-entra": 1}],
    }


def test_a_cursor_page_has_cursors_and_no_start_index() -> None:
    """RFC 9865 §2: ``nextCursor`` and ``previousCursor`` only when there is such a page."""
    body = json.loads(bytes(list_response([], 0, next_cursor="n.1").body))
    assert body == {"schemas": [LIST], "totalResults": 0, "itemsPerPage": 0, "Resources": [], "nextCursor": "n.1"}


def test_an_error_has_a_string_status_and_scim_type_only_when_given() -> None:
    """RFC 7644 §3.12: ``status`` is a string; ``scimType`` is left out when there is none."""
    assert error_body(409, "taken", scim_type="uniqueness") == {
        "schemas": [ERROR],
        "status": "409",
        "scimType": "uniqueness",
        "detail": "taken",
    }
    assert error_body(404, "no such resource") == {"schemas": [ERROR], "status": "404", "detail": "no such resource"}
