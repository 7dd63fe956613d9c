"""Request errors follow GraphQL over HTTP: a 4xx with a GraphQL error body, never plain text;
client mistakes are logged below ERROR and without traceback, faults at ERROR with one."""

from __future__ import annotations

import json
import logging
from typing import Any

import httpx
import pytest

from graphql_api.auth import Principal
from graphql_api.context import Context
from graphql_api.schema import schema
from identity_store import CommandBus, RequestContext
from identity_store.bootstrap import bootstrap
from identity_store.mongo import MongoStore
from tests.graphql_api.conftest import Call, create_user, gid

VIEWER = '{"query": "{ viewer { name } }"}'


async def _post(client: httpx.AsyncClient, key: str, body: bytes | str, **headers: str) -> httpx.Response:
    return await client.post(
        "/graphql",
        content=body,
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json", **headers},
    )


def _refused(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body: dict[str, Any] = response.json()
    [error] = body["errors"]
    assert error["extensions"]["code"] == code
    assert error["message"]
    return dict(error)


@pytest.mark.parametrize(
    ("body", "why"),
    [
        ("{nope", "not JSON"),
        ("[" * 100_000, "not JSON"),
        ('{"query": NaN}', "not JSON"),
        ('[{"query": "{ viewer { name } }"}]', "batches"),
        ('"{ viewer { name } }"', "JSON object"),
        ('{"query": 123}', "query must be a string"),
        ("{}", "no query"),
        ('{"query": null}', "no query"),
        ('{"query": "{ viewer { name } }", "variables": [1]}', "variables must be an object"),
        ('{"query": "{ viewer { name } }", "variables": "x"}', "variables must be an object"),
        ('{"query": "{ viewer { name } }", "operationName": 5}', "operationName must be a string"),
        ('{"query": "{ viewer { name } }", "extensions": 5}', "extensions must be an object"),
        ('{"query": "{ viewer { name } }", "variables": {"u": "\\ud800"}}', "lone surrogate"),
    ],
)
async def test_a_malformed_body_is_a_400_with_a_graphql_error(
    client: httpx.AsyncClient, key: str, body: str, why: str
) -> None:
    error = _refused(await _post(client, key, body), 400, "BAD_REQUEST")
    assert why in error["message"]


async def test_a_body_that_is_not_utf8_is_a_400(client: httpx.AsyncClient, key: str) -> None:
    _refused(await _post(client, key, '{"query": "{ viewer { name } }"}'.encode("utf-16")), 400, "BAD_REQUEST")


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "application/json; charset=latin-1", ""]
)
async def test_another_content_type_is_a_415(client: httpx.AsyncClient, key: str, content_type: str) -> None:
    _refused(await _post(client, key, VIEWER, **{"Content-Type": content_type}), 415, "UNSUPPORTED_MEDIA_TYPE")


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "PATCH"])
async def test_anything_but_post_is_a_405(client: httpx.AsyncClient, key: str, method: str) -> None:
    response = await client.request(
        method, "/graphql", params={"query": "{ viewer { name } }"}, headers={"Authorization": f"Bearer {key}"}
    )
    _refused(response, 405, "METHOD_NOT_ALLOWED")
    assert response.headers["allow"] == "POST"


async def test_two_operations_without_operation_name_are_refused(client: httpx.AsyncClient, key: str) -> None:
    """GraphQL §6.1 GetOperation: with several operations, operationName must say which one runs."""
    document = (
        'query A { viewer { name } } mutation B { userCreate(input: {userName: "b@example.com"}) { user { id } } }'
    )
    response = await _post(client, key, json.dumps({"query": document}))
    error = _refused(response, 400, "OPERATION_NAME_REQUIRED")
    assert "operationName" in error["message"]
    assert response.json()["data"] is None
    named = await _post(client, key, json.dumps({"query": document, "operationName": "A"}))
    assert named.status_code == 200
    assert named.json()["data"] == {"viewer": {"name": "test-service"}}


async def test_an_unknown_operation_name_is_a_400(client: httpx.AsyncClient, key: str) -> None:
    body = '{"query": "query A { viewer { name } }", "operationName": "B"}'
    _refused(await _post(client, key, body), 400, "BAD_REQUEST")


async def test_two_authorization_headers_are_refused(client: httpx.AsyncClient, key: str) -> None:
    """Which of two credentials counts would be a guess (RFC 6750 §3.1 invalid_request)."""
    for pair in ((f"Bearer {key}", "Bearer junk"), ("Bearer junk", f"Bearer {key}"), (f"Bearer {key}",) * 2):
        response = await client.post(
            "/graphql",
            json={"query": "{ viewer { name } }"},
            headers=[("Authorization", value) for value in pair],
        )
        _refused(response, 400, "BAD_REQUEST")
        assert "invalid_request" in response.headers["www-authenticate"]


async def test_a_forged_global_id_of_another_type_is_not_found(gql: Call, caplog: pytest.LogCaptureFixture) -> None:
    """Ids are opaque: one naming a type that is no User or Group finds nothing, quietly."""
    forged = [gid("Viewer", "x"), gid("Tenant", "x"), gid("Nope", "x"), gid("PageInfo", "")]
    with caplog.at_level(logging.DEBUG):
        body = await gql(
            "query($i: ID!, $ids: [ID!]!) { node(id: $i) { id } nodes(ids: $ids) { id } }",
            {"i": forged[0], "ids": forged},
        )
    assert body == {"data": {"node": None, "nodes": [None] * len(forged)}, "extensions": body["extensions"]}
    assert not [r for r in caplog.records if r.levelno > logging.INFO]


async def test_text_that_is_no_global_id_is_bad_user_input(gql: Call, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG):
        body = await gql('{ nodes(ids: ["@@@", "not-base64!"]) { id } }')
    assert body["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "argument": "ids"}
    assert not [r for r in caplog.records if r.levelno > logging.INFO]


@pytest.mark.parametrize(
    "query",
    [
        "{ viewr { name } }",
        '{ users(first: "x") { nodes { id } } }',
        "{ users(first: 1000) { nodes { id } } }",
        "{ viewer { name }",
        '{ identityEvents(userId: "@@@") { nodes { type } } }',
        '{ user(lookup: {id: "@@@"}) { id } }',
    ],
)
async def test_client_mistakes_are_logged_below_error_without_traceback(
    gql: Call, caplog: pytest.LogCaptureFixture, query: str
) -> None:
    with caplog.at_level(logging.DEBUG):
        body = await gql(query)
    assert body["errors"]
    assert all(e["message"] != "Unexpected error." for e in body["errors"])
    logged = [r for r in caplog.records if r.name.startswith(("graphql_api", "strawberry"))]
    assert logged, "the refusal is logged for operators"
    assert all(r.levelno <= logging.INFO and r.exc_info is None for r in logged)


async def test_a_genuine_fault_is_logged_at_error_with_its_traceback(
    store: MongoStore, caplog: pytest.LogCaptureFixture
) -> None:
    """A principal of a tenant that does not exist is our bug, not the client's."""
    principal = Principal(credential_id="c", name="svc", tenant_id="no-such-tenant", scopes=frozenset())
    with caplog.at_level(logging.INFO):
        result = await schema.execute(
            "{ viewer { tenant { name } } }",
            context_value=Context(store=store, bus=bootstrap(store), request_id="req-7", principal=principal),
        )
    assert result.errors is not None
    assert result.errors[0].message == "Unexpected error."
    [fault] = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert "req-7" in fault.getMessage()
    assert fault.exc_info is not None


async def test_a_refused_request_changes_nothing(
    client: httpx.AsyncClient, key: str, bus: CommandBus, context: RequestContext, gql: Call
) -> None:
    """A mutation in a malformed request is never run."""
    await create_user(bus, context, "kept@example.com")
    mutation = 'mutation { userDelete(id: "x") { deletedId } }'
    for body in (json.dumps([{"query": mutation}]), json.dumps({"query": mutation, "variables": 1})):
        assert (await _post(client, key, body)).status_code == 400
    after = await gql("{ users { nodes { userName } } }")
    assert after["data"]["users"]["nodes"] == [{"userName": "kept@example.com"}]
