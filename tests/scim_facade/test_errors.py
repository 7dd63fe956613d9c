"""Errors are SCIM Error messages, never 500s (RFC 7644 §3.12, §8.1)."""

from __future__ import annotations

import httpx
import pytest
from starlette.applications import Starlette

from identity_store import Tenant, TenantSettings
from identity_store.mongo import MongoStore
from scim_facade.errors import ScimError
from tests.scim_facade.conftest import ERROR_URN, SCIM_JSON, client_for, create_user


def assert_scim_error(response: httpx.Response, status: int, scim_type: str | None = None) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(SCIM_JSON)
    body = response.json()
    assert body["schemas"] == [ERROR_URN]
    assert body["status"] == str(status)
    if scim_type is not None:
        assert body["scimType"] == scim_type


async def test_malformed_json_is_400_invalid_syntax(client: httpx.AsyncClient) -> None:
    """RFC 7644 §3.12 Table 9: a body that cannot be parsed is invalidSyntax."""
    response = await client.post("/Users", content=b'{"userName": ', headers={"Content-Type": "application/scim+json"})
    assert_scim_error(response, 400, "invalidSyntax")


@pytest.mark.parametrize("body", [b"[]", b'"text"', b"null", b"NaN", b"[" * 100_000])
async def test_non_object_bodies_are_400(client: httpx.AsyncClient, body: bytes) -> None:
    """A body must be a JSON object; anything else is invalidSyntax."""
    response = await client.post("/Users", content=body, headers={"Content-Type": "application/scim+json"})
    assert_scim_error(response, 400, "invalidSyntax")


@pytest.mark.parametrize(
    "body",
    [
        {"userName": 42},
        {"userName": "x", "active": "yes please"},
        {"userName": "x", "emails": "not-a-list-of-objects"},
        {"userName": "x", "name": ["a"]},
        {"userName": "x", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": "x"},
    ],
)
async def test_wrong_types_are_400_invalid_value(client: httpx.AsyncClient, body: dict[str, object]) -> None:
    """RFC 7644 §3.12: a value of the wrong type is invalidValue."""
    assert_scim_error(await client.post("/Users", json=body), 400, "invalidValue")


async def test_a_missing_required_attribute_is_400(client: httpx.AsyncClient) -> None:
    """RFC 7643 §4.1.1: userName is required."""
    assert_scim_error(await client.post("/Users", json={"displayName": "nameless"}), 400, "invalidValue")


async def test_an_unknown_attribute_is_400_invalid_path_for_a_strict_tenant(
    client: httpx.AsyncClient, store: MongoStore, tenant: Tenant
) -> None:
    """A strict-RFC tenant refuses an attribute no schema defines, by name; by default it is
    ignored, as Entra expects (see test_entra_checklist item 11)."""
    await store.tenants.update_settings(tenant.id, TenantSettings(strict_rfc=True))
    assert_scim_error(await client.post("/Users", json={"userName": "x", "favouriteColour": "red"}), 400)


async def test_wrong_schemas_are_400(client: httpx.AsyncClient) -> None:
    """RFC 7643 §3: schemas must name the resource's core schema."""
    body = {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "userName": "x"}
    assert_scim_error(await client.post("/Users", json=body), 400, "invalidSyntax")
    assert_scim_error(await client.post("/Users", json={"schemas": "nope", "userName": "x"}), 400, "invalidSyntax")


async def test_oversized_bodies_are_413(client: httpx.AsyncClient) -> None:
    """RFC 7644 §3.12: a payload above the declared maximum is 413."""
    huge = b'{"userName": "' + b"x" * 2_000_000 + b'"}'
    response = await client.post("/Users", content=huge, headers={"Content-Type": "application/scim+json"})
    assert_scim_error(response, 413)


async def test_other_media_types_are_415(client: httpx.AsyncClient) -> None:
    """RFC 7644 §8.1: requests are application/scim+json or application/json."""
    response = await client.post("/Users", content=b"userName=x", headers={"Content-Type": "text/plain"})
    assert_scim_error(response, 415)


async def test_an_unsupported_method_is_405(client: httpx.AsyncClient) -> None:
    """RFC 7644 §3.12: a method the endpoint does not support is reported as a SCIM error."""
    assert_scim_error(await client.delete("/Users"), 405)


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("OPTIONS", "/Users", "GET, POST"),
        ("OPTIONS", "/Users/some-id", "GET, PUT, PATCH, DELETE"),
        ("TRACE", "/Groups", "GET, POST"),
        ("PUT", "/Groups", "GET, POST"),
        ("GET", "/Bulk", "POST"),
        ("OPTIONS", "/ServiceProviderConfig", "GET"),
        ("PROPFIND", "/Schemas", "GET"),
    ],
)
async def test_any_method_an_endpoint_lacks_is_a_scim_405_with_allow(
    client: httpx.AsyncClient, method: str, path: str, allowed: str
) -> None:
    """RFC 7644 §3.12 and RFC 9110 §15.5.6: 405 as a SCIM Error (application/scim+json), with an
    Allow header listing the methods the endpoint has, whatever the method (OPTIONS included)."""
    response = await client.request(method, path)
    assert_scim_error(response, 405)
    assert response.headers["Allow"] == allowed


async def test_a_405_does_not_need_a_token(app: Starlette) -> None:
    """The methods an endpoint supports are no secret: 405 comes before authentication."""
    async with client_for(app, None) as anonymous:
        response = await anonymous.options("/Users")
    assert_scim_error(response, 405)
    assert response.headers["Allow"] == "GET, POST"


async def test_wrong_parameter_types_are_400(client: httpx.AsyncClient) -> None:
    """startIndex and count are integers (RFC 7644 §3.4.2.4)."""
    assert_scim_error(await client.get("/Users", params={"count": "many"}), 400, "invalidValue")
    assert_scim_error(await client.get("/Users", params={"sortOrder": "sideways"}), 400, "invalidValue")
    assert_scim_error(await client.get("/Users", params={"sortBy": "favouriteColour"}), 400, "invalidValue")


async def test_a_request_id_is_echoed(client: httpx.AsyncClient) -> None:
    """The correlation id of a request comes back in X-Request-Id."""
    response = await client.get("/Users", headers={"X-Request-Id": "abc-123"})
    assert response.headers["X-Request-Id"] == "abc-123"


async def test_immutable_attribute_change_is_400_mutability(client: httpx.AsyncClient) -> None:
    """RFC 7644 §3.5.2 Table 9: changing a read-only attribute is scimType mutability."""
    created = await create_user(client, "mut")
    patch = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "path": "groups", "value": [{"value": "x"}]}],
    }
    assert_scim_error(await client.patch(f"/Users/{created['id']}", json=patch), 400, "mutability")


async def test_an_unreachable_database_is_503_with_retry_after() -> None:
    """RFC 7644 §3.12: 503 when the store is unavailable, with Retry-After, as a SCIM error."""
    from identity_service.app import create_app
    from identity_service.settings import Settings
    from identity_store.mongo import MongoStore
    from tests.scim_facade.conftest import client_for
    from tests.servers import free_port

    uri = f"mongodb://127.0.0.1:{free_port()}/?directConnection=true"
    app = create_app(Settings(mongodb_uri=uri))
    store = MongoStore(uri, "nowhere", unreachable_seconds=0.3, operation_timeout_seconds=1.0)
    app.state.store = store
    try:
        async with client_for(app, "scim_0123456789abcdef01234567_secret") as scim:
            response = await scim.get("/Users")
    finally:
        await store.close()
    assert_scim_error(response, 503)
    assert response.headers["Retry-After"].isdigit()


def test_a_fixed_error_is_rendered_as_any_other() -> None:
    """A refusal's body is built once and reused; it is the same Error message, byte for byte."""
    fixed = ScimError(429, "too many requests; retry later", headers={"Retry-After": "1"}, fixed=True)
    built = ScimError(429, "too many requests; retry later", headers={"Retry-After": "1"})
    for _ in range(2):
        assert fixed.response().body == built.response().body
        assert fixed.response().headers == built.response().headers
