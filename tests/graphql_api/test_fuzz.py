"""Property: no request to /graphql, however hostile, gets a 5xx, a body that is no GraphQL
response, a masked fault, or changes the tenant when it is refused.

Documents are built from the schema itself: random fields of the root types (queries and
mutations), nested a random depth (past the depth limit too), with arguments of hostile values
inline or as variables: huge and negative numbers, wrong types, lone surrogates (sent as raw
``"\\ud800"`` escapes in the JSON text), long strings, forged and real global ids, huge page sizes.
Some bodies are not GraphQL requests at all.

The normal run sends a few hundred requests; ``IDENTITY_GRAPHQL_FUZZ_EXAMPLES=10000`` runs the
long one (see README), which prints the requests sent and the statuses seen.
"""

from __future__ import annotations

import json
import logging
import os
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLUnionType,
    get_named_type,
)
from hypothesis import HealthCheck, given, settings, strategies as st

from graphql_api.schema import schema
from identity_store import CommandBus, RequestContext, Tenant
from identity_store.mongo import MongoStore
from identity_store.ports import EventLog
from tests.graphql_api.conftest import create_group, create_user, gid

EXAMPLES = int(os.environ.get("IDENTITY_GRAPHQL_FUZZ_EXAMPLES", "300"))
GRAPHQL = schema._schema


class _Enum(str):
    """An enum value, written bare in a document."""


class _Recorder(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


_SURROGATES = st.text(st.characters(codec=None, categories=["Cs"]), min_size=1, max_size=3)
_STRINGS = (
    st.text(max_size=12)
    | _SURROGATES
    | st.builds(lambda a, b: a + b, st.text(max_size=4), _SURROGATES)
    | st.sampled_from(["", " ", "x" * 5000, "\x00", '{"$gt": ""}', "$where", 'userName eq "a"', "a\u202eb", "🦄"])
)
_INTS = st.sampled_from([0, -1, 1, 20, 100, 101, 2**31 - 1, 2**31, -(2**31) - 1, 10**30]) | st.integers()
_ANY: st.SearchStrategy[Any] = st.recursive(
    st.none() | st.booleans() | _INTS | st.floats(allow_nan=False) | _STRINGS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=6,
)


def _ids(known: list[str]) -> st.SearchStrategy[str]:
    forged = st.builds(
        gid, st.sampled_from(["User", "Group", "Viewer", "Tenant", "PageInfo", "Nope", ""]), st.text(max_size=10)
    )
    garbage = st.sampled_from(["@@@", "not-base64!", "", "==", "VXNlcjo=", "Og=="]) | st.text(max_size=10)
    return st.sampled_from(known) | forged | garbage


def _value(kind: GraphQLInputType, ids: st.SearchStrategy[str], depth: int = 0) -> st.SearchStrategy[Any]:
    """A value for an input of ``kind``: mostly of its type, sometimes of any type at all."""
    wrong = _ANY
    if isinstance(kind, GraphQLNonNull):
        return _value(kind.of_type, ids, depth)
    if isinstance(kind, GraphQLList):
        return st.lists(_value(kind.of_type, ids, depth + 1), max_size=4 if depth else 120) | wrong
    if isinstance(kind, GraphQLEnumType):
        return st.sampled_from([_Enum(n) for n in kind.values]) | st.just(_Enum("NOT_A_VALUE")) | wrong
    if isinstance(kind, GraphQLInputObjectType):
        if depth > 2:
            return st.just({})
        fields = {name: _value(f.type, ids, depth + 1) for name, f in kind.fields.items()}
        return st.fixed_dictionaries({}, optional=fields) | wrong
    assert isinstance(kind, GraphQLScalarType)
    typed: dict[str, st.SearchStrategy[Any]] = {
        "Int": _INTS,
        "Float": st.floats(allow_nan=False),
        "String": _STRINGS,
        "Boolean": st.booleans(),
        "ID": ids,
        "DateTime": st.sampled_from(["2026-01-01T00:00:00Z", "yesterday", "9999-99-99"]),
        "JSON": _ANY,
    }
    return st.one_of(typed.get(kind.name, _ANY), wrong) if kind.name != "ID" else ids | wrong


def _literal(value: Any) -> str:
    """``value`` as a GraphQL literal (strings as JSON strings: the escapes are the same)."""
    if isinstance(value, _Enum):
        return str(value)
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value) if isinstance(value, float) else str(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(_literal(v) for v in value) + "]"
    assert isinstance(value, dict)
    return "{" + ", ".join(f"{k}: {_literal(v)}" for k, v in value.items() if k.isidentifier()) + "}"


def _jsonable(value: Any) -> Any:
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    return str(value) if isinstance(value, _Enum) else value


@st.composite
def _document(draw: st.DrawFn, ids: st.SearchStrategy[str]) -> tuple[str, dict[str, Any]]:
    """A query or mutation over random fields of the schema, with its variables."""
    variables: dict[str, Any] = {}
    declared: list[str] = []

    def arguments(field: GraphQLField) -> str:
        given = []
        for name, argument in field.args.items():
            required = isinstance(argument.type, GraphQLNonNull)
            if not required and not draw(st.booleans()):
                continue
            value = draw(_value(argument.type, ids))
            if draw(st.booleans()):
                variable = f"v{len(variables)}"
                variables[variable] = _jsonable(value)
                declared.append(f"${variable}: {argument.type}")
                given.append(f"{name}: ${variable}")
            else:
                given.append(f"{name}: {_literal(value)}")
        return f"({', '.join(given)})" if given else ""

    def selection(parent: GraphQLObjectType | GraphQLInterfaceType | GraphQLUnionType, depth: int) -> str:
        if isinstance(parent, GraphQLUnionType) or depth > 12:
            kinds = parent.types if isinstance(parent, GraphQLUnionType) else []
            fragments = [f"... on {k.name} {{ __typename }}" for k in kinds[:1]]
            return "{ __typename " + " ".join(fragments) + " }"
        names = draw(st.lists(st.sampled_from(sorted(parent.fields)), min_size=1, max_size=3 if depth < 2 else 1))
        parts = []
        for name in dict.fromkeys(names):
            field = parent.fields[name]
            named = get_named_type(field.type)
            below = ""
            if isinstance(named, GraphQLObjectType | GraphQLInterfaceType | GraphQLUnionType):
                below = " " + selection(named, depth + 1)
            parts.append(f"{name}{arguments(field)}{below}")
        if isinstance(parent, GraphQLInterfaceType) and draw(st.booleans()):
            parts.append("... on User { userName } ... on Group { displayName }")
        return "{ " + " ".join(parts) + " }"

    mutation = draw(st.integers(0, 3)) == 0
    root = GRAPHQL.mutation_type if mutation else GRAPHQL.query_type
    assert root is not None
    body = selection(root, 0)
    header = f"({', '.join(declared)})" if declared else ""
    return f"{'mutation' if mutation else 'query'} F{header} {body}", variables


@st.composite
def _request(draw: st.DrawFn, ids: st.SearchStrategy[str]) -> bytes:
    """The raw JSON text of a request body: mostly a document, sometimes not a GraphQL request."""
    kind = draw(st.integers(0, 9))
    if kind == 0:
        return json.dumps(draw(_ANY)).encode()  # any JSON at all (a batch, a number, a bad query)
    if kind == 1:
        return draw(st.binary(max_size=64))
    query, variables = draw(_document(ids))
    body: dict[str, Any] = {"query": query, "variables": variables}
    if kind == 2:
        body["operationName"] = draw(st.sampled_from(["F", "G", None, 5]))
    # json.dumps escapes a lone surrogate as the raw text "\ud800", as a hostile client sends it.
    return json.dumps(body).encode()


def _assert_graphql_response(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code < 500, response.text
    assert response.headers["content-type"].startswith("application/json"), response.text
    body = response.json()
    assert isinstance(body, dict), body
    assert "data" in body or "errors" in body, body
    for error in body.get("errors") or ():
        assert isinstance(error["message"], str), body
        assert error["message"] != "Unexpected error.", body  # a masked fault is a bug of ours
    if response.status_code != 200:
        assert body["errors"], body
        assert all(isinstance(e["extensions"]["code"], str) for e in body["errors"]), body
    return body


@dataclass(frozen=True, slots=True, kw_only=True)
class _Fuzzed:
    key: str
    ids: st.SearchStrategy[str]
    events: EventLog
    statuses: Counter[int]
    faults: _Recorder


@pytest.fixture
async def fuzzed(
    make_key: Callable[..., Awaitable[str]], store: MongoStore, tenant: Tenant, bus: CommandBus, context: RequestContext
) -> AsyncIterator[_Fuzzed]:
    """A tenant with a user in a group, a key with every scope, and a record of what was seen."""
    key = await make_key("users:read", "groups:read", "write", "write:provisioned", "events:subscribe")
    ada = await create_user(bus, context, "ada@example.com")
    team = await create_group(bus, context, "Team", (ada.id,))
    foreign = await store.tenants.create("globex")
    ids = _ids([gid("User", ada.id), gid("Group", team.id), gid("User", foreign.id), gid("Group", "0" * 32)])
    faults = _Recorder()
    logging.getLogger().addHandler(faults)
    seen = _Fuzzed(key=key, ids=ids, events=store.tenant(tenant.id).events, statuses=Counter(), faults=faults)
    try:
        yield seen
    finally:
        logging.getLogger().removeHandler(faults)
    five = sum(n for status, n in seen.statuses.items() if status >= 500)
    print(
        f"\nGraphQL fuzz: {seen.statuses.total()} requests, {five} 5xx, statuses {dict(sorted(seen.statuses.items()))}"
    )


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=st.data())
async def test_no_request_gets_a_5xx_or_changes_the_tenant_when_refused(
    client: httpx.AsyncClient, fuzzed: _Fuzzed, data: st.DataObject
) -> None:
    body = data.draw(_request(fuzzed.ids), label="body")
    before = await fuzzed.events.last_sequence()
    response = await client.post(
        "/graphql", content=body, headers={"Authorization": f"Bearer {fuzzed.key}", "Content-Type": "application/json"}
    )
    fuzzed.statuses[response.status_code] += 1
    answer = _assert_graphql_response(response)
    # Refused: a request error, or a document refused before execution (validation, cost, auth:
    # errors without a path). A field error during execution is not a refusal: mutation fields
    # run one after another (GraphQL §6.2.2), so those before it stand even when null propagates
    # to data.
    executed = any("path" in error for error in answer.get("errors", []))
    if response.status_code != 200 or (answer.get("data") is None and not executed):
        assert await fuzzed.events.last_sequence() == before, "a refused request changed the tenant"
    assert not fuzzed.faults.records, [r.getMessage() for r in fuzzed.faults.records]
