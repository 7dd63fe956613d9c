"""Hostile and odd requests never produce a 500 (RFC 7644 §3.12: errors are SCIM errors)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from starlette.applications import Starlette

from identity_store.domain.credentials import IssuedSecret
from scim_facade.request_limits import MAX_JSON_DEPTH
from tests.scim_facade.conftest import (
    BASE,
    ERROR_URN,
    GROUP_URN,
    PATCH_URN,
    USER_URN,
    client_for,
    create_group,
    create_user,
    patch_body,
)

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


# --- classes of hostile input, each answered with its SCIM error ----------------------------

MARK = "<surrogate>"


def _hostile_json(value: Any, *, number: str | None = None) -> str:
    """JSON text of ``value`` with each MARK turned into a lone-surrogate escape (valid JSON, not
    text) and each ``"<number>"`` into the raw number ``number``."""
    text = json.dumps(value).replace(MARK, "\\ud800x")
    return text if number is None else text.replace('"<number>"', number)


def _raw(client: httpx.AsyncClient, method: str, url: str, text: str) -> Any:
    return client.request(method, url, content=text.encode(), headers={"Content-Type": "application/scim+json"})


def _assert_scim_error(response: httpx.Response, status: int, scim_type: str | None = None) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/scim+json")
    body = response.json()
    assert body["schemas"] == [ERROR_URN]
    assert body["status"] == str(status)
    if scim_type is not None:
        assert body.get("scimType") == scim_type, body


async def _users(client: httpx.AsyncClient) -> list[Any]:
    listed = await client.get("/Users")
    assert listed.status_code == 200
    resources: list[Any] = listed.json()["Resources"]
    return resources


BULK_URN = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
SURROGATE_BODIES: list[tuple[str, str, Any]] = [
    ("POST", "/Users", {"schemas": [USER_URN], "userName": MARK}),
    ("POST", "/Users", {"schemas": [USER_URN], "userName": "ok", MARK: 1}),
    ("PUT", "/Users/{id}", {"schemas": [USER_URN], "userName": "ok", "title": MARK}),
    ("PATCH", "/Users/{id}", patch_body({"op": "replace", "path": "title", "value": MARK})),
    ("PATCH", "/Users/{id}", patch_body({"op": "add", "path": f'emails[value eq "{MARK}"].type', "value": "w"})),
    ("POST", "/Users/.search", {"filter": f'userName eq "{MARK}"'}),
    ("POST", "/.search", {"filter": 'userName eq "a"', "attributes": [MARK]}),
    ("POST", "/Groups", {"schemas": [GROUP_URN], "displayName": "g", "members": [{"value": MARK}]}),
    (
        "POST",
        "/Bulk",
        {
            "schemas": [BULK_URN],
            "Operations": [{"method": "POST", "path": "/Users", "bulkId": "b", "data": {"userName": MARK}}],
        },
    ),
]


@pytest.mark.parametrize(("method", "path", "text"), SURROGATE_BODIES)
async def test_lone_surrogates_in_bodies_are_400_invalid_value(
    client: httpx.AsyncClient, method: str, path: str, text: Any
) -> None:
    """RFC 8259 §8.2: a string with a lone surrogate is not text; it is refused, and nothing is written."""
    user = await create_user(client, "ok")
    before = await _users(client)
    response = await _raw(client, method, path.format(id=user["id"]), _hostile_json(text))
    _assert_scim_error(response, 400, "invalidValue")
    assert await _users(client) == before


@pytest.mark.parametrize(
    "filter_text",
    [
        'userName eq "\\ud800"',
        'emails[value eq "\\udfff"]',
        'title sw "a\\ud83d"',
    ],
)
async def test_lone_surrogates_in_filters_are_400_invalid_filter(client: httpx.AsyncClient, filter_text: str) -> None:
    """A filter comparing with a lone surrogate (a JSON escape in its string) is invalidFilter."""
    response = await client.get("/Users", params={"filter": filter_text})
    _assert_scim_error(response, 400, "invalidFilter")
    response = await client.get("/Groups", params={"filter": filter_text.replace("userName", "displayName")})
    assert response.status_code == 400


_ODD_USER = {"schemas": [USER_URN], "userName": "n", "x": "<number>"}
NUMBER_CASES = [
    ("/Users/.search", {"startIndex": "<number>"}, "1" + "0" * 30, "invalidValue"),
    ("/Users/.search", {"count": "<number>"}, "-" + "9" * 20, "invalidValue"),
    ("/Users", _ODD_USER, "1e999", "invalidValue"),
    ("/Users", _ODD_USER, "9" * 5000, "invalidValue"),
    ("/Users", _ODD_USER, "NaN", "invalidSyntax"),
    ("/Users", _ODD_USER, "-Infinity", "invalidSyntax"),
]


@pytest.mark.parametrize(("path", "body", "number", "scim_type"), NUMBER_CASES)
async def test_numbers_beyond_64_bits_or_not_finite_are_400(
    client: httpx.AsyncClient, path: str, body: Any, number: str, scim_type: str
) -> None:
    """Numbers the store cannot keep (beyond int64, infinite, NaN) are refused before any work."""
    before = await _users(client)
    _assert_scim_error(await _raw(client, "POST", path, _hostile_json(body, number=number)), 400, scim_type)
    assert await _users(client) == before


@pytest.mark.parametrize(
    "params",
    [
        {"startIndex": "²"},
        {"count": "١٢"},  # Arabic-Indic digits: isdigit() is true, they are not SCIM integers
        {"startIndex": "9" * 40},
        {"count": "1e3"},
        {"filter": "title eq 100000000000000000000000"},
        {"filter": "title eq 1e999"},
        {"attributes": ",".join(["userName"] * 101)},
        {"excludedAttributes": "\x00"},
        {"cursor": "é"},
    ],
)
async def test_odd_query_parameters_are_400(client: httpx.AsyncClient, params: dict[str, str]) -> None:
    """Numbers in odd Unicode digits or out of range, overlong name lists and foreign cursors are 400s."""
    _assert_scim_error(await client.get("/Users", params=params), 400)


@pytest.mark.parametrize(
    "if_match",
    ['W/"' + "9" * 10_000 + '"', 'W/"²"', 'W/"99999999999999999999"', 'W/"1"' + ", x" * 1000],
)
async def test_huge_or_odd_etags_name_no_version(client: httpx.AsyncClient, if_match: str) -> None:
    """An If-Match naming no version of ours (ten thousand nines, superscripts) is 412; nothing changes."""
    user = await create_user(client, "etag")
    response = await client.put(
        f"/Users/{user['id']}",
        json={"schemas": [USER_URN], "userName": "renamed"},
        headers=[(b"If-Match", if_match.encode())],
    )
    if if_match.startswith('W/"1"'):
        assert response.status_code == 200  # one candidate names the current version
        return
    _assert_scim_error(response, 412)
    assert (await client.get(f"/Users/{user['id']}")).json()["userName"] == "etag"


def _nested(depth: int) -> Any:
    value: Any = "x"
    for _ in range(depth):
        value = {"a": value}
    return value


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/Users", {"schemas": [USER_URN], "userName": "deep", "name": _nested(40)}),
        ("/Users/.search", {"filter": "userName pr", "x": _nested(100)}),
        (
            "/Bulk",
            {
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
                "Operations": [{"method": "POST", "path": "/Users", "bulkId": "d", "data": _nested(500)}],
            },
        ),
    ],
)
async def test_deep_nesting_in_any_body_is_400_invalid_syntax(
    client: httpx.AsyncClient, path: str, body: dict[str, Any]
) -> None:
    """Bodies nested deeper than the declared maximum are refused, Bulk data included."""
    before = await _users(client)
    _assert_scim_error(await client.post(path, json=body), 400, "invalidSyntax")
    assert await _users(client) == before


async def test_bodies_nested_to_the_limit_are_read(client: httpx.AsyncClient) -> None:
    """The limit is a depth, not a ban: a body at the declared depth is read (here: an unknown attribute)."""
    body = {"schemas": [USER_URN], "userName": "deep", "x": _nested(MAX_JSON_DEPTH - 2)}
    response = await client.post("/Users", json=body)
    assert response.status_code == 201, response.text


@pytest.mark.parametrize(
    "path",
    ["/Users/a%0D%0Ab", "/Users/a%00b", "/Groups/%E2%80%A8x", "/Users/" + "a" * 300, "/Users/a%2Fb"],
)
async def test_ids_no_resource_could_have_are_scim_404s(client: httpx.AsyncClient, path: str) -> None:
    """CR/LF, NUL and other odd characters in a path id name nothing: a SCIM 404, never text/plain."""
    for method in ("GET", "PUT", "PATCH", "DELETE"):
        response = await client.request(method, path, json={"schemas": [USER_URN], "userName": "x"})
        assert response.status_code in {404, 405}, (method, path, response.text)
        assert response.headers["content-type"].startswith("application/scim+json")


@pytest.mark.parametrize("path", ["/Users/", "/Users//", "/Groups//x", "//Users", "", "/", "/Users/x/"])
async def test_empty_segments_and_trailing_slashes_are_scim_404s(client: httpx.AsyncClient, path: str) -> None:
    """No redirect under /scim/v2: an empty segment or a trailing slash is a SCIM 404."""
    response = await client.get(BASE + path)
    _assert_scim_error(response, 404)


async def test_two_authorization_headers_are_refused(app: Starlette, token: IssuedSecret) -> None:
    """Two Authorization headers are ambiguous: 401 with a SCIM error and a challenge, even if one is valid."""
    async with client_for(app, None) as anonymous:
        for pair in ((f"Bearer {token.secret}", "Bearer garbage"), ("Bearer garbage", f"Bearer {token.secret}")):
            headers = [("Authorization", pair[0]), ("Authorization", pair[1])]
            response = await anonymous.get("/Users", headers=headers)
            _assert_scim_error(response, 401)
            assert 'error="invalid_token"' in response.headers["www-authenticate"]
        assert (await anonymous.get("/Users", headers={"Authorization": f"Bearer {token.secret}"})).status_code == 200


async def test_a_bulk_operation_with_a_foreign_version_is_refused(client: httpx.AsyncClient) -> None:
    """A Bulk ``version`` that is not an ETag string is a per-operation 400, not a failed request."""
    user = await create_user(client, "bulkv")
    body = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
        "Operations": [{"method": "DELETE", "path": f"/Users/{user['id']}", "version": 7}],
    }
    response = await client.post("/Bulk", json=body)
    assert response.status_code == 200
    assert response.json()["Operations"][0]["status"] == "400"
    assert (await client.get(f"/Users/{user['id']}")).status_code == 200


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH"])
async def test_a_write_with_a_bad_attributes_parameter_writes_nothing(client: httpx.AsyncClient, method: str) -> None:
    """Parameters are read before the write: ``attributes=<unknown>`` is a 400 and the tenant is unchanged."""
    user = await create_user(client, "params")
    before = await _users(client)
    url = "/Users" if method == "POST" else f"/Users/{user['id']}"
    body = (
        patch_body({"op": "replace", "path": "title", "value": "t"})
        if method == "PATCH"
        else {"schemas": [USER_URN], "userName": "written"}
    )
    response = await client.request(method, url, params={"attributes": "noSuchAttribute"}, json=body)
    _assert_scim_error(response, 400, "invalidValue")
    assert await _users(client) == before
