"""A property over the whole SCIM surface: whatever a client sends, the service never fails (5xx),
every refusal is a SCIM Error (RFC 7644 §3.12, ``application/scim+json``), nothing under
``/scim/v2`` redirects, and a refused request leaves the tenant's users and groups as they were.

Requests are drawn by hypothesis: POST/PUT/PATCH/GET/DELETE on Users and Groups, ``.search``,
Bulk, filters, query parameters and headers, filled with hostile values (lone surrogates, numbers
beyond 64 bits or in odd Unicode digits, deep nesting, huge ETags, control characters in ids,
bulkId references, oversized lists). The normal run sends a few hundred; set
``SCIM_FUZZ_EXAMPLES`` (e.g. 10000) for a long run, with ``-s`` to see the tally printed.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from starlette.applications import Starlette

from identity_service.app import create_app
from identity_service.settings import Settings
from identity_store.domain.credentials import IssuedSecret
from identity_store.mongo import MongoStore
from tests.scim_facade.conftest import ERROR_URN, GROUP_URN, PATCH_URN, SIGNING_KEY, USER_URN, client_for

EXAMPLES = int(os.environ.get("SCIM_FUZZ_EXAMPLES", "300"))
BULK_URN = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
SEARCH_URN = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
ENTERPRISE_URN = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"

#: Placeholders put in generated JSON and replaced in its text by what json.dumps cannot write.
_SURROGATE = "<lone-surrogate>"
_HUGE = "<huge-number>"
_RAW_NUMBERS = ["1e999", "-1e999", "9" * 40, "-" + "9" * 25, "1" + "0" * 4400, "1E400"]

TALLY: Counter[str] = Counter()

# --- hostile values -------------------------------------------------------------------------

_NASTY_STRINGS = [
    "",
    " ",
    _SURROGATE,
    f"a{_SURROGATE}b",
    _HUGE,
    "\x00",
    "a\r\nb",
    "\u2028",
    "²",
    "١٢٣",
    "9" * 30,
    'W/"' + "9" * 5000 + '"',
    "bulkId:nope",
    "bulkId:u1",
    "a" * 3000,
    '"',
    "\\",
    "urn:ietf:params:scim:schemas:core:2.0:User:userName",
    f"{ENTERPRISE_URN}:manager",
    "True",
    "false",
    "{",
    '{"value": "[[[[[[[[[[["}',
    "{" * 2000,
    "😀",
    "%00",
    "../..",
]
_strings = st.sampled_from(_NASTY_STRINGS) | st.text(max_size=12)
_numbers = st.integers(min_value=-(2**70), max_value=2**70) | st.floats() | st.sampled_from([0, -1, 2**63, 2**63 - 1])
_scalars = st.none() | st.booleans() | _numbers | _strings
_values = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_strings, inner, max_size=4),
    max_leaves=12,
)

_ATTRIBUTES = [
    "userName",
    "displayName",
    "name",
    "name.givenName",
    "emails",
    "roles",
    "active",
    "title",
    "externalId",
    "members",
    "groups",
    "password",
    "meta",
    "id",
    "schemas",
    ENTERPRISE_URN,
    f"{ENTERPRISE_URN}:manager",
    f"{ENTERPRISE_URN}:department",
    "x509Certificates",
]
_attribute_names = st.sampled_from(_ATTRIBUTES) | _strings
_OPERATORS = ["eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le", "pr", "EQ", "xx"]


@st.composite
def _filters(draw: st.DrawFn) -> str:
    """Filters from plausible to broken: comparisons with hostile literals, nesting, sheer size."""
    kind = draw(st.integers(min_value=0, max_value=6))
    if kind == 0:
        return draw(_strings)
    if kind == 1:
        terms = draw(st.integers(min_value=1, max_value=150))
        return " or ".join(f'userName eq "u{i}"' for i in range(terms))
    if kind == 2:
        depth = draw(st.integers(min_value=1, max_value=200))
        return "not (" * depth + 'userName eq "x"' + ")" * depth
    name = draw(_attribute_names)
    op = draw(st.sampled_from(_OPERATORS))
    literal = draw(
        st.sampled_from(["1" + "0" * 25, "1e999", '"\\ud800"', '"\\udfff x"', "true", "null", '"a"', "-0", "²"])
        | _strings.map(json.dumps)
    )
    text = f"{name} pr" if op == "pr" else f"{name} {op} {literal}"
    if kind == 4:
        text = f"emails[{text}]"
    if kind == 5:
        text = f"{text} and ({text} or not ({text}))"
    return text


_filter_text = _filters()


@st.composite
def _patch_operation(draw: st.DrawFn) -> Any:
    if draw(st.integers(min_value=0, max_value=15)) == 0:
        return draw(_values)
    path = draw(
        st.none()
        | _attribute_names
        | _filter_text.map(lambda f: f"emails[{f}].value")
        | _filter_text.map(lambda f: f"members[{f}]")
        | st.sampled_from(['members[value eq "bulkId:u1"]', "roles", 'emails[type eq "work"].value'])
    )
    operation: dict[str, Any] = {"op": draw(st.sampled_from(["add", "replace", "remove", "Add", "x", 5]))}
    if path is not None:
        operation["path"] = path
    if draw(st.booleans()):
        operation["value"] = draw(
            _values
            | st.lists(st.builds(lambda v: {"value": v}, _strings), max_size=30)
            | st.integers(min_value=0, max_value=12_000).map(lambda n: [{"value": f"r{i}"} for i in range(n)])
        )
    return operation


def _nested(depth: int) -> Any:
    value: Any = "deep"
    for _ in range(depth):
        value = [value] if depth % 2 else {"a": value}
    return value


_deep = st.integers(min_value=20, max_value=600).map(_nested)


@st.composite
def _user_body(draw: st.DrawFn) -> Any:
    # Mostly well-formed around one hostile part, so the requests reach past the first check.
    schemas = [[USER_URN]] * 4 + [[USER_URN, ENTERPRISE_URN], "x", []]
    body: dict[str, Any] = {"schemas": draw(st.sampled_from(schemas))}
    body["userName"] = draw(st.text(min_size=1, max_size=10).map(lambda t: f"fuzz-{t}") | _strings | _values)
    body.update(draw(st.dictionaries(_attribute_names, _scalars | _values | _deep, max_size=3)))
    return body


@st.composite
def _group_body(draw: st.DrawFn) -> Any:
    name = st.text(min_size=1, max_size=10).map(lambda t: f"fuzz-{t}") | _strings | _values
    body: dict[str, Any] = {"schemas": [GROUP_URN], "displayName": draw(name)}
    body["members"] = draw(
        st.lists(st.builds(lambda v: {"value": v}, _strings | st.just("{user}")), max_size=5) | _values
    )
    return body


@st.composite
def _search_body(draw: st.DrawFn) -> Any:
    body: dict[str, Any] = {}
    if draw(st.booleans()):
        body["schemas"] = draw(st.sampled_from([[SEARCH_URN], ["x"], "x"]))
    keys = st.sampled_from(["filter", "startIndex", "count", "attributes", "excludedAttributes", "sortBy", "cursor"])
    for key in draw(st.lists(keys, max_size=4, unique=True)):
        body[key] = draw(_filter_text if key == "filter" else _values)
    return body


@st.composite
def _bulk_body(draw: st.DrawFn) -> Any:
    operations: list[Any] = []
    for i in range(draw(st.integers(min_value=0, max_value=6))):
        method = draw(st.sampled_from(["POST", "PUT", "PATCH", "DELETE", "GET", "post", 5]))
        path = draw(st.sampled_from(["/Users", "/Groups", "/Users/{user}", "/Users/bulkId:b0", "//Users//x", "x"]))
        data = draw(
            _user_body()
            | _group_body()
            | st.builds(
                lambda ops: {"schemas": [PATCH_URN], "Operations": ops}, st.lists(_patch_operation(), max_size=3)
            )
            | _deep
            | _values
        )
        operation: dict[str, Any] = {"method": method, "path": path, "bulkId": f"b{i}", "data": data}
        if draw(st.booleans()):
            operation["version"] = draw(_values)
        operations.append(operation)
    body: dict[str, Any] = {"schemas": [BULK_URN], "Operations": operations}
    if draw(st.booleans()):
        body["failOnErrors"] = draw(_values)
    return body


_ids = st.sampled_from(["{user}", "{group}", "a%0D%0Ab", "%00", "x" * 400, "", "/", "%E2%80%A8", "..", "{user}/"])


@dataclass(frozen=True, slots=True, kw_only=True)
class Request:
    method: str
    path: str
    params: dict[str, str]
    headers: list[tuple[bytes, bytes]]
    body: str | None


def _text(body: Any, draw: st.DrawFn) -> str:
    """JSON text of ``body`` with the placeholders made hostile (a lone-surrogate escape, a raw
    number no 64-bit store keeps); sometimes not JSON at all."""
    text = json.dumps(body).replace(_SURROGATE, "\\ud800")
    text = text.replace(json.dumps(_HUGE), draw(st.sampled_from(_RAW_NUMBERS)))
    if draw(st.integers(min_value=0, max_value=30)) == 0:
        return text[: len(text) // 2]
    return text


@st.composite
def requests(draw: st.DrawFn) -> Request:
    kind = draw(st.sampled_from(["user", "group", "list", "search", "root", "bulk", "odd"]))
    method, path, body = "GET", "/Users", None
    if kind in {"user", "group"}:
        method = draw(st.sampled_from(["POST", "PUT", "PATCH", "GET", "DELETE"]))
        collection = "/Users" if kind == "user" else "/Groups"
        target = draw(_ids) if method != "DELETE" else draw(_ids.filter(lambda i: "{" not in i))
        path = collection if method == "POST" else f"{collection}/{target}"
        if method in {"POST", "PUT"}:
            body = draw(_user_body() if kind == "user" else _group_body())
        elif method == "PATCH":
            body = {"schemas": [PATCH_URN], "Operations": draw(st.lists(_patch_operation(), max_size=4))}
    elif kind == "list":
        path = draw(st.sampled_from(["/Users", "/Groups"]))
    elif kind in {"search", "root"}:
        method, path = (
            "POST",
            draw(st.sampled_from(["/Users/.search", "/Groups/.search"])) if kind == "search" else "/.search",
        )
        body = draw(_search_body())
    elif kind == "bulk":
        method, path, body = "POST", "/Bulk", draw(_bulk_body())
    else:
        method = draw(st.sampled_from(["GET", "POST", "OPTIONS", "TRACE", "PATCH"]))
        path = draw(st.sampled_from(["/", "", "/Users/", "/Users//", "//", "/Me", "/Schemas/x%0Ay", "/Bulk/", "/x"]))
    names = st.sampled_from(
        ["filter", "startIndex", "count", "attributes", "excludedAttributes", "sortBy", "sortOrder", "cursor"]
    )
    params = {
        name: draw(
            _filter_text if name == "filter" else _strings.filter(lambda s: _SURROGATE not in s and _HUGE not in s)
        )
        for name in draw(st.lists(names, max_size=3, unique=True))
    }
    headers: list[tuple[bytes, bytes]] = []
    header_values = st.sampled_from(
        ['W/"' + "9" * 10_000 + '"', 'W/"²"', "*", 'W/"1"', '"1", W/"x"' * 200, "W/", 'W/"99999999999999999999"']
    )
    for header in draw(
        st.lists(
            st.sampled_from(["if-match", "if-none-match", "prefer", "content-type", "auth"]), max_size=2, unique=True
        )
    ):
        if header == "auth":
            headers.append((b"authorization", b"Bearer garbage"))
        elif header == "prefer":
            headers.append((b"prefer", draw(st.sampled_from([b"return=minimal", b"return=representation"]))))
        elif header == "content-type":
            headers.append(
                (
                    b"content-type",
                    draw(
                        st.sampled_from([b"application/json", b"text/plain", b"application/scim+json; charset=latin-1"])
                    ),
                )
            )
        else:
            headers.append((header.encode(), draw(header_values).encode()))
    return Request(
        method=method, path=path, params=params, headers=headers, body=None if body is None else _text(body, draw)
    )


# --- the property ---------------------------------------------------------------------------


@dataclass(slots=True)
class Tenant:
    """The tenant the fuzzer works on: a user and a group to aim at, and the last state seen."""

    client: httpx.AsyncClient
    user_id: str
    group_id: str
    state: Any = None

    async def snapshot(self) -> Any:
        users = await self.client.get("/Users", params={"count": "200", "sortBy": "userName"})
        groups = await self.client.get("/Groups", params={"count": "200", "sortBy": "displayName"})
        assert users.status_code == 200
        assert groups.status_code == 200
        return users.json(), groups.json()


@pytest.fixture
def unthrottled(store: MongoStore, database_uri: str, database_name: str) -> Starlette:
    """The app with rate limiting off: the fuzzer sends far more than a tenant's burst."""
    built = create_app(
        Settings(
            mongodb_uri=database_uri,
            database=database_name,
            scim_token_cache_seconds=0,
            scim_rate_limit_per_second=0,
            oauth_signing_key=SIGNING_KEY,
        )
    )
    built.state.store = store
    return built


@pytest.fixture
async def tenant(unthrottled: Starlette, token: IssuedSecret) -> AsyncIterator[Tenant]:
    async with client_for(unthrottled, token.secret) as client:
        user = await client.post("/Users", json={"schemas": [USER_URN], "userName": "fuzz-target"})
        group = await client.post(
            "/Groups",
            json={"schemas": [GROUP_URN], "displayName": "fuzz-group", "members": [{"value": user.json()["id"]}]},
        )
        yield Tenant(client=client, user_id=user.json()["id"], group_id=group.json()["id"])
    if os.environ.get("SCIM_FUZZ_EXAMPLES"):
        print(
            f"\nSCIM fuzz: {TALLY['requests']} requests, {TALLY['5xx']} 5xx, by status: "
            + ", ".join(f"{k}={v}" for k, v in sorted(TALLY.items()) if k.isdigit())
        )


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
    ],
)
@given(request=requests())
async def test_no_request_fails_and_every_refusal_changes_nothing(tenant: Tenant, request: Request) -> None:
    """Any request: no 5xx, no redirect, a SCIM Error for every refusal, and no change when refused."""
    path = request.path.replace("{user}", tenant.user_id).replace("{group}", tenant.group_id)
    body = None if request.body is None else request.body.replace("{user}", tenant.user_id)
    if tenant.state is None:
        tenant.state = await tenant.snapshot()
    headers = list(request.headers)
    if body is not None and not any(name == b"content-type" for name, _ in headers):
        headers.append((b"content-type", b"application/scim+json"))
    url = httpx.URL(str(tenant.client.base_url).rstrip("/") + path, params=request.params)
    response = await tenant.client.request(request.method, url, headers=headers, content=body)
    TALLY["requests"] += 1
    TALLY[str(response.status_code)] += 1
    # 501 is the designed answer of /Me (RFC 7644 §3.11 lets a provider not support it).
    failed = response.status_code >= 500 and response.status_code != 501
    TALLY["5xx"] += failed
    assert not failed, (request, response.text)
    assert response.status_code not in {301, 302, 303, 307, 308}, (request, response.headers)
    if response.status_code < 400:
        tenant.state = None  # it may have changed; read it again before the next refusal
        return
    assert response.headers["content-type"].startswith("application/scim+json"), (request, response.text)
    error = response.json()
    assert error["schemas"] == [ERROR_URN], error
    assert error["status"] == str(response.status_code), error
    assert await tenant.snapshot() == tenant.state, ("a refused request changed the tenant", request)
