"""Bulk operations (RFC 7644 §3.7)."""

from __future__ import annotations

from typing import Any

import httpx
from starlette.applications import Starlette

from identity_service.app import create_app
from identity_service.settings import Settings
from identity_store.domain.credentials import IssuedSecret
from identity_store.mongo import MongoStore
from tests.scim_facade.conftest import GROUP_URN, PATCH_URN, USER_URN, client_for, create_user

BULK_URN = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"


def bulk(*operations: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"schemas": [BULK_URN], "Operations": list(operations), **extra}


async def test_a_user_created_and_added_to_a_group_in_one_request(client: httpx.AsyncClient) -> None:
    """RFC 7644 §3.7.2: "bulkId:<id>" refers to a resource created earlier in the same request,
    even when the referring operation comes first."""
    response = await client.post(
        "/Bulk",
        json=bulk(
            {
                "method": "POST",
                "path": "/Groups",
                "bulkId": "g",
                "data": {"schemas": [GROUP_URN], "displayName": "Bulkers", "members": [{"value": "bulkId:u"}]},
            },
            {"method": "POST", "path": "/Users", "bulkId": "u", "data": {"schemas": [USER_URN], "userName": "bulky"}},
        ),
    )
    assert response.status_code == 200
    body = response.json()
    assert body["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:BulkResponse"]
    statuses = {o["bulkId"]: o for o in body["Operations"]}
    assert statuses["u"]["status"] == "201"
    assert statuses["g"]["status"] == "201"
    user_id = statuses["u"]["location"].rsplit("/", 1)[1]
    group = (await client.get(statuses["g"]["location"].split("/scim/v2")[1])).json()
    assert [m["value"] for m in group["members"]] == [user_id]


async def test_patch_and_delete_by_bulk_id_path(client: httpx.AsyncClient) -> None:
    """RFC 7644 §3.7.2: a path may name a resource by bulkId; PATCH and DELETE work in bulk."""
    existing = await create_user(client, "to-delete")
    response = await client.post(
        "/Bulk",
        json=bulk(
            {"method": "POST", "path": "/Users", "bulkId": "a", "data": {"userName": "patched"}},
            {
                "method": "PATCH",
                "path": "/Users/bulkId:a",
                "data": {"schemas": [PATCH_URN], "Operations": [{"op": "add", "path": "title", "value": "T"}]},
            },
            {"method": "DELETE", "path": f"/Users/{existing['id']}"},
        ),
    )
    operations = response.json()["Operations"]
    assert [o["status"] for o in operations] == ["201", "200", "204"]
    assert operations[1]["version"] == 'W/"2"'
    assert (await client.get(f"/Users/{existing['id']}")).status_code == 404


async def test_errors_are_reported_per_operation(client: httpx.AsyncClient) -> None:
    """RFC 7644 §3.7.3: a failed operation carries its status and a SCIM error response."""
    await create_user(client, "dup")
    response = await client.post(
        "/Bulk",
        json=bulk(
            {"method": "POST", "path": "/Users", "bulkId": "x", "data": {"userName": "dup"}},
            {"method": "POST", "path": "/Users", "bulkId": "y", "data": {"userName": "fresh"}},
        ),
    )
    first, second = response.json()["Operations"]
    assert first["status"] == "409"
    assert first["response"]["scimType"] == "uniqueness"
    assert second["status"] == "201"


async def test_fail_on_errors_stops_after_that_many_errors(client: httpx.AsyncClient) -> None:
    """RFC 7644 §3.7.3: failOnErrors=1 stops processing after the first error."""
    response = await client.post(
        "/Bulk",
        json=bulk(
            {"method": "POST", "path": "/Users", "bulkId": "x", "data": {"userName": 1}},
            {"method": "POST", "path": "/Users", "bulkId": "y", "data": {"userName": "never"}},
            failOnErrors=1,
        ),
    )
    assert [o["status"] for o in response.json()["Operations"]] == ["400"]
    found = (await client.get("/Users", params={"filter": 'userName eq "never"'})).json()
    assert found["totalResults"] == 0


async def test_an_unresolvable_bulk_id_is_409(client: httpx.AsyncClient) -> None:
    """RFC 7644 §3.7.2: a reference no operation creates fails that operation."""
    response = await client.post(
        "/Bulk",
        json=bulk({"method": "PATCH", "path": "/Users/bulkId:nothing", "data": {"schemas": [PATCH_URN]}}),
    )
    assert response.json()["Operations"][0]["status"] == "409"


async def test_more_operations_than_max_operations_is_413(
    store: MongoStore, database_uri: str, database_name: str, token: IssuedSecret
) -> None:
    """RFC 7644 §3.7.4: exceeding maxOperations is 413 with a SCIM error."""
    app: Starlette = create_app(Settings(mongodb_uri=database_uri, database=database_name))
    app.state.store = store
    operations = [
        {"method": "POST", "path": "/Users", "bulkId": str(i), "data": {"userName": f"b{i}"}} for i in range(1001)
    ]
    async with client_for(app, token.secret) as scim:
        response = await scim.post("/Bulk", json=bulk(*operations))
    assert response.status_code == 413
    assert response.json()["status"] == "413"


async def test_a_payload_above_max_payload_size_is_413(client: httpx.AsyncClient) -> None:
    """RFC 7644 §3.7.4: exceeding maxPayloadSize is 413."""
    big = {"method": "POST", "path": "/Users", "bulkId": "x", "data": {"userName": "x" * 1_100_000}}
    assert (await client.post("/Bulk", json=bulk(big))).status_code == 413


async def test_a_body_without_the_bulk_schema_is_400(client: httpx.AsyncClient) -> None:
    """RFC 7644 §3.7: the body names the BulkRequest schema."""
    response = await client.post("/Bulk", json={"Operations": []})
    assert response.status_code == 400
