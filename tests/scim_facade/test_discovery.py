"""Discovery endpoints (RFC 7644 §4) tell the truth about the service."""

from __future__ import annotations

from typing import Any

import httpx

from scim_facade.request_limits import LIMITS, LIMITS_URN, MAX_TOKEN_LENGTH, enforced_limits
from tests.scim_facade.conftest import BASE, ENTERPRISE_URN, GROUP_URN, USER_URN


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


#: RFC 7643 §8.6's two ResourceType representations, but for the enterprise extension's
#: ``required``: the example's ``true`` is the example's provider; this one accepts users without it.
_RFC_RESOURCE_TYPES: list[dict[str, Any]] = [
    {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
        "id": "User",
        "name": "User",
        "endpoint": "/Users",
        "description": "User Account",
        "schema": USER_URN,
        "schemaExtensions": [{"schema": ENTERPRISE_URN, "required": False}],
        "meta": {"location": f"{BASE}/ResourceTypes/User", "resourceType": "ResourceType"},
    },
    {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
        "id": "Group",
        "name": "Group",
        "endpoint": "/Groups",
        "description": "Group",
        "schema": GROUP_URN,
        "meta": {"location": f"{BASE}/ResourceTypes/Group", "resourceType": "ResourceType"},
    },
]


async def test_resource_types_are_those_of_rfc_7643_section_8_6(client: httpx.AsyncClient) -> None:
    """RFC 7643 §6, §8.6: one ResourceType per endpoint, User with the optional enterprise extension."""
    body = (await client.get("/ResourceTypes")).json()
    assert body["totalResults"] == 2
    assert body["Resources"] == _RFC_RESOURCE_TYPES


async def test_one_resource_type_is_served_at_its_location(client: httpx.AsyncClient) -> None:
    """RFC 7644 §4: /ResourceTypes/{id} is the one resource type, where its meta.location says."""
    for expected in _RFC_RESOURCE_TYPES:
        response = await client.get(f"/ResourceTypes/{expected['id']}")
        assert response.status_code == 200
        assert response.json() == expected


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
    body = (await client.get("/ServiceProviderConfig")).json()
    assert LIMITS_URN in body["schemas"]
    assert body[LIMITS_URN] == {
        **LIMITS,
        "maxPayloadSize": 1_048_576,
        "maxRequestsPerSecondPerTenant": 100.0,
        "maxRequestBurstPerTenant": 200,
    }
    assert body[LIMITS_URN]["maxValuesPerAttribute"] == 10_000
    assert body[LIMITS_URN]["maxJsonDepth"] == 32
    assert body[LIMITS_URN]["maxTokenLength"] == 16_384


def test_the_request_rate_is_declared_only_when_it_is_limited() -> None:
    """A deployment that turns rate limiting off (rate 0) declares no rate it does not enforce."""
    limits = enforced_limits(max_payload_size=1000, rate_limit_per_second=0, rate_limit_burst=200)
    assert "maxRequestsPerSecondPerTenant" not in limits
    assert "maxRequestBurstPerTenant" not in limits
    assert limits["maxPayloadSize"] == 1000


async def test_a_token_longer_than_the_declared_maximum_is_refused(client: httpx.AsyncClient) -> None:
    """The declared maxTokenLength is enforced: a longer bearer token is a 401."""
    response = await client.get("/Users", headers={"Authorization": "Bearer " + "a" * (MAX_TOKEN_LENGTH + 1)})
    assert response.status_code == 401
