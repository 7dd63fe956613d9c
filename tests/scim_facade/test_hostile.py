"""Hostile and odd requests never produce a 500 (RFC 7644 §3.12: errors are SCIM errors)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from tests.scim_facade.conftest import PATCH_URN, create_group, create_user

ODD_OPERATIONS: list[Any] = [
    {"op": "add", "path": "emails", "value": "str"},
    {"op": "add", "path": "emails", "value": [1, 2]},
    {"op": "replace", "path": "emails[type eq 1].value", "value": "x"},
    {"op": "replace", "path": 'emails[type eq "work"].nothing', "value": "x"},
    {"op": "replace", "path": "name.givenName.deeper", "value": "x"},
    {"op": "replace", "path": "urn:ietf:params:scim:schemas:core:2.0:User:userName", "value": "renamed"},
    {"op": "replace", "path": "meta.version", "value": "x"},
    {"op": "replace", "path": "id", "value": "x"},
    {"op": "remove", "path": "userName"},
    {"op": "add", "path": "", "value": {"title": "t"}},
    {"op": "add", "value": ["not", "an", "object"]},
    {"op": "add", "value": {"unknown": 1}},
    {"op": "add", "path": "userName pr", "value": "x"},
    {"op": "add", "path": 'members[value eq "x"]', "value": "x"},
    {"op": "add", "path": 5, "value": "x"},
    {"op": 5},
    "not an object",
    {"op": "replace", "path": "emails[" + "not (" * 50 + 'type eq "w"' + ")" * 50 + "]", "value": "x"},
    {"op": "replace", "path": "active", "value": "False"},
    {"op": "replace", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager", "value": 7},
    {"op": "replace", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User", "value": "x"},
]

ODD_GROUP_OPERATIONS: list[Any] = [
    {"op": "add", "path": "members", "value": "x"},
    {"op": "add", "path": "members", "value": [{"value": 5}]},
    {"op": "add", "path": "members", "value": [{"no": "value"}]},
    {"op": "replace", "path": 'members[value eq "x"].display', "value": "x"},
    {"op": "remove", "path": 'members[display eq "x"]'},
    {"op": "remove", "path": "members.value"},
    {"op": "add", "value": {"members": "x"}},
    {"op": "replace", "path": "displayName", "value": None},
]


@pytest.mark.parametrize("operation", ODD_OPERATIONS)
async def test_odd_user_patch_operations_are_client_errors(client: httpx.AsyncClient, operation: Any) -> None:
    """A PATCH the service cannot apply is a 4xx SCIM error, or applies; it is never a 500."""
    user = await create_user(client, "odd")
    response = await client.patch(f"/Users/{user['id']}", json={"schemas": [PATCH_URN], "Operations": [operation]})
    assert response.status_code in {200, 400, 409}, response.text
    assert response.headers["content-type"].startswith("application/scim+json")


@pytest.mark.parametrize("operation", ODD_GROUP_OPERATIONS)
async def test_odd_group_patch_operations_are_client_errors(client: httpx.AsyncClient, operation: Any) -> None:
    """A group PATCH the service cannot apply is a 4xx SCIM error; it is never a 500."""
    group = await create_group(client, "odd")
    response = await client.patch(f"/Groups/{group['id']}", json={"schemas": [PATCH_URN], "Operations": [operation]})
    assert response.status_code in {200, 400, 409}, response.text


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
_user_keys = st.sampled_from(
    [
        "userName",
        "name",
        "emails",
        "active",
        "schemas",
        "groups",
        "password",
        "externalId",
        "title",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
        "meta",
        "id",
        "x509Certificates",
    ]
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.dictionaries(_user_keys, _json, max_size=5))
async def test_generated_user_bodies_never_give_a_500(client: httpx.AsyncClient, body: dict[str, Any]) -> None:
    """Whatever JSON object is posted as a User, the answer is 201 or a 4xx SCIM error."""
    response = await client.post("/Users", json=body)
    assert response.status_code in {201, 400, 409}, (body, response.text)
    if response.status_code == 201:
        await client.delete(f"/Users/{response.json()['id']}")
