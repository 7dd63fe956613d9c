"""Discovery endpoints (RFC 7644 §4) tell the truth about the service."""

from __future__ import annotations

import httpx

from tests.scim_facade.conftest import ENTERPRISE_URN, GROUP_URN, USER_URN


async def test_service_provider_config_declares_what_is_supported(client: httpx.AsyncClient) -> None:
    """RFC 7643 §5: patch, bulk (with its limits), filter (with maxResults), sort and etag."""
    response = await client.get("/ServiceProviderConfig")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/scim+json")
    body = response.json()
    assert body["patch"] == {"supported": True}
    assert body["filter"]["supported"] is True
    assert body["filter"]["maxResults"] == 200
    assert body["sort"]["supported"] is True
    assert body["etag"]["supported"] is True
    assert body["bulk"] == {"supported": True, "maxOperations": 1000, "maxPayloadSize": 1_048_576}
    assert body["authenticationSchemes"][0]["type"] == "oauthbearertoken"


async def test_the_declared_max_results_is_enforced(client: httpx.AsyncClient) -> None:
    """RFC 7644 §3.4.2.4: a count above the server maximum gets at most that many."""
    body = (await client.get("/Users", params={"count": "100000"})).json()
    assert body["itemsPerPage"] <= 200


async def test_resource_types_list_users_and_groups(client: httpx.AsyncClient) -> None:
    """RFC 7643 §6: one ResourceType per endpoint, User with the enterprise extension."""
    body = (await client.get("/ResourceTypes")).json()
    by_name = {r["name"]: r for r in body["Resources"]}
    assert by_name["User"]["endpoint"] == "/Users"
    assert by_name["User"]["schema"] == USER_URN
    assert by_name["User"]["schemaExtensions"] == [{"schema": ENTERPRISE_URN, "required": False}]
    assert by_name["Group"]["schema"] == GROUP_URN
    single = await client.get("/ResourceTypes/User")
    assert single.json()["id"] == "User"


async def test_schemas_describe_attributes_with_their_characteristics(client: httpx.AsyncClient) -> None:
    """RFC 7643 §7: every attribute with mutability, returned, uniqueness and caseExact."""
    body = (await client.get("/Schemas")).json()
    assert {s["id"] for s in body["Resources"]} == {USER_URN, ENTERPRISE_URN, GROUP_URN}
    user = (await client.get(f"/Schemas/{USER_URN}")).json()
    attributes = {a["name"]: a for a in user["attributes"]}
    assert attributes["userName"]["uniqueness"] == "server"
    assert attributes["userName"]["required"] is True
    assert attributes["userName"]["caseExact"] is False
    assert attributes["password"]["mutability"] == "writeOnly"
    assert attributes["password"]["returned"] == "never"
    assert attributes["groups"]["mutability"] == "readOnly"
    assert "enterprise" not in attributes
    enterprise = (await client.get(f"/Schemas/{ENTERPRISE_URN}")).json()
    assert "manager" in {a["name"] for a in enterprise["attributes"]}


async def test_unknown_schema_is_404(client: httpx.AsyncClient) -> None:
    """RFC 7644 §4: a schema the service does not have is 404."""
    assert (await client.get("/Schemas/urn:example:nothing")).status_code == 404


async def test_service_provider_config_declares_the_request_limits(client: httpx.AsyncClient) -> None:
    """The limits RFC 7643 §5 has no attribute for are declared in a named extension, as enforced."""
    from scim_facade.request_limits import LIMITS, LIMITS_URN

    body = (await client.get("/ServiceProviderConfig")).json()
    assert LIMITS_URN in body["schemas"]
    assert body[LIMITS_URN] == dict(LIMITS)
    assert body[LIMITS_URN]["maxValuesPerAttribute"] == 10_000
    assert body[LIMITS_URN]["maxJsonDepth"] == 32
