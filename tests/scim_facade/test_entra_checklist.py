"""The Entra ID compatibility checklist (shared reference, section 6), one test per item.

Each test is named by its item number. Where Entra's two request styles differ, the test is
parametrised by ``style``: ``default`` (capitalised ops, one op per path, ``"False"`` strings,
member removal as ``Remove`` with a value array, manager as a bare id) and ``flag``
(``aadOptscim062020``: lower-case ops, path-less replace with dotted and URN keys, real
booleans, ``members[value eq "..."]`` removal). Tests of the strict-RFC tenant setting sit
beside the items whose Entra habit contradicts RFC 7644.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from identity_service.app import create_app
from identity_service.settings import Settings
from identity_store import InvalidValue, Tenant, TenantSettings
from identity_store.mongo import MongoStore
from tests.scim_facade.conftest import (
    ENTERPRISE_URN,
    ERROR_URN,
    GROUP_URN,
    SCIM_JSON,
    USER_URN,
    client_for,
    create_group,
    create_user,
    patch_body,
)
from tests.scim_facade.issuers import local_issuer
from tests.scim_facade.oauth import (
    CLIENT_CREDENTIALS,
    TOKEN_URL,
    add_secret,
    basic,
    create_client as create_oauth_client,
    http,
)

ADSCIM_GROUP = "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"
MANAGER_PATH = f"{ENTERPRISE_URN}:manager"
STYLES = ("default", "flag")


def op(style: str, name: str) -> str:
    """Entra's default style capitalises ops; the flag style sends them in lower case."""
    return name.capitalize() if style == "default" else name.lower()


def boolean(style: str, value: bool) -> object:
    return str(value) if style == "default" else value


async def patch(client: httpx.AsyncClient, path: str, *operations: dict[str, Any]) -> httpx.Response:
    response = await client.patch(path, json=patch_body(*operations))
    assert response.status_code in (200, 204), response.text
    return response


async def get(client: httpx.AsyncClient, path: str, **params: str) -> dict[str, Any]:
    response = await client.get(path, params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def strict(store: MongoStore, tenant: Tenant) -> None:
    await store.tenants.update_settings(tenant.id, TenantSettings(strict_rfc=True))


def entra_user(user_name: str, **extra: object) -> dict[str, object]:
    """A create body shaped like Entra's (section 1.3)."""
    local = user_name.split("@")[0]
    return {
        "schemas": [USER_URN, ENTERPRISE_URN],
        "externalId": local,
        "userName": user_name,
        "active": True,
        "displayName": local.title(),
        "emails": [{"primary": True, "type": "work", "value": user_name}],
        "meta": {"resourceType": "User"},
        "name": {"formatted": local.title(), "familyName": "F", "givenName": "G"},
        ENTERPRISE_URN: {"department": "Treasury", "employeeNumber": "40917"},
        "roles": [],
        **extra,
    }


def empty_list(body: dict[str, Any]) -> None:
    assert body["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:ListResponse"]
    assert body["totalResults"] == 0
    assert body["Resources"] == []


# --- 1-9: transport, auth, queries ----------------------------------------------------------


async def test_item_01_every_response_is_scim_json_and_204_has_no_body(client: httpx.AsyncClient) -> None:
    user = await create_user(client, "item1")
    for response in (
        await client.get(f"/Users/{user['id']}"),
        await client.get("/Users/nope"),
        await client.get("/Users", params={"filter": "bogus ("}),
        await client.post("/Users", content=b"{", headers={"Content-Type": SCIM_JSON}),
    ):
        assert response.headers["content-type"].startswith(SCIM_JSON)
    deleted = await client.delete(f"/Users/{user['id']}")
    assert deleted.status_code == 204
    assert deleted.content == b""


async def test_item_02_missing_or_invalid_tokens_get_401_and_a_valid_one_works_everywhere(
    client: httpx.AsyncClient,
) -> None:
    for headers in ({"Authorization": ""}, {"Authorization": "Bearer wrong"}):
        response = await client.get("/Users", headers=headers)
        assert response.status_code == 401
        assert response.json()["schemas"] == [ERROR_URN]
        assert response.headers["content-type"].startswith(SCIM_JSON)
    for path in ("/Users", "/Groups", "/Schemas", "/ServiceProviderConfig", "/ResourceTypes"):
        assert (await client.get(path)).status_code == 200


async def test_item_03_the_user_probe_gets_an_empty_list(client: httpx.AsyncClient) -> None:
    empty_list(await get(client, "/Users", filter=f'userName eq "{uuid.uuid4()}"'))


async def test_item_04_the_group_probe_gets_an_empty_list(client: httpx.AsyncClient) -> None:
    empty_list(await get(client, "/Groups", excludedAttributes="members", filter=f'displayName eq "{uuid.uuid4()}"'))


async def test_item_05_filter_values_are_decoded_from_plus_and_percent_forms(client: httpx.AsyncClient) -> None:
    await create_user(client, "ines okafor@northwind.example")
    for query in (
        "filter=userName+eq+%22ines+okafor%40northwind.example%22",
        "filter=userName%20eq%20%22ines%20okafor%40northwind.example%22",
        'filter=userName eq "ines okafor@northwind.example"',
    ):
        response = await client.get(f"/Users?{query}")
        assert response.status_code == 200, response.text
        assert response.json()["totalResults"] == 1, query


async def test_item_06_user_name_filter_is_case_insensitive(client: httpx.AsyncClient) -> None:
    user = await create_user(client, "Tomas.Lindqvist@example.net")
    body = await get(client, "/Users", filter='userName eq "tomas.lindqvist@EXAMPLE.net"')
    assert body["totalResults"] == 1
    assert body["Resources"][0]["id"] == user["id"]


async def test_item_07_external_id_filter(client: httpx.AsyncClient) -> None:
    user = await create_user(client, "item7", externalId="7e3d9b52")
    body = await get(client, "/Users", filter='externalId eq "7e3d9b52"')
    assert [r["id"] for r in body["Resources"]] == [user["id"]]


async def test_item_08_entra_work_email_filter_form(client: httpx.AsyncClient) -> None:
    user = await create_user(
        client, "item8", emails=[{"type": "work", "value": "w@x.example"}, {"type": "home", "value": "h@x.example"}]
    )
    for text in ('emails[type eq "work"].value eq "w@x.example"', 'emails[type eq "work" and value eq "w@x.example"]'):
        body = await get(client, "/Users", filter=text)
        assert [r["id"] for r in body["Resources"]] == [user["id"]], text
    empty_list(await get(client, "/Users", filter='emails[type eq "work"].value eq "h@x.example"'))


async def test_item_09_and_filters_and_case_insensitive_names_and_operators(client: httpx.AsyncClient) -> None:
    user = await create_user(client, "item9", externalId="e9")
    await create_user(client, "other9", externalId="e9b")
    body = await get(client, "/Users", filter='USERNAME EQ "item9" AND externalid Eq "e9"')
    assert [r["id"] for r in body["Resources"]] == [user["id"]]
    empty_list(await get(client, "/Users", filter='userName eq "item9" and externalId eq "e9b"'))


# --- 10-15: create and read users -----------------------------------------------------------


async def test_item_10_entra_create_body_returns_201_with_an_id(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/Users", json=entra_user("tomas@northwind.example"), headers={"Content-Type": SCIM_JSON}
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["id"]
    assert body["userName"] == "tomas@northwind.example"
    assert body[ENTERPRISE_URN] == {"department": "Treasury", "employeeNumber": "40917"}
    assert body["emails"] == [{"primary": True, "type": "work", "value": "tomas@northwind.example"}]
    assert response.headers["Location"].endswith(f"/Users/{body['id']}")


async def test_item_11_unknown_attributes_schemas_meta_and_nulls_are_ignored(client: httpx.AsyncClient) -> None:
    body = entra_user(
        "item11@example.net",
        schemas=[USER_URN, ENTERPRISE_URN, "urn:example:unknown:2.0:User"],
        favouriteColour="teal",
        addresses=None,
        phoneNumbers=None,
        title=None,
        meta={"resourceType": "User", "created": "not a date"},
        id="client-chosen",
    )
    body[ENTERPRISE_URN] = {"department": "Treasury", "manager": None, "costCentre": "x"}
    response = await client.post("/Users", json=body)
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["id"] != "client-chosen"
    assert "favouriteColour" not in created
    assert "title" not in created
    assert created[ENTERPRISE_URN] == {"department": "Treasury"}


async def test_item_12_every_default_mapping_attribute_is_accepted(client: httpx.AsyncClient) -> None:
    addresses = [
        {
            "type": "work",
            "streetAddress": "1 Quay",
            "locality": "Oslo",
            "region": "Oslo",
            "postalCode": "0150",
            "country": "NO",
            "formatted": "1 Quay, Oslo",
        },
        {"type": "other", "formatted": "somewhere else"},
    ]
    phones = [
        {"type": "work", "value": "+47 22 00 00 00"},
        {"type": "mobile", "value": "(555) 010-0199"},
        {"type": "fax", "value": "555.0100"},
    ]
    body = entra_user(
        "item12@example.net", addresses=addresses, phoneNumbers=phones, preferredLanguage="nb-NO", title="Clerk"
    )
    response = await client.post("/Users", json=body)
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["addresses"] == addresses
    assert created["phoneNumbers"] == phones
    assert created["preferredLanguage"] == "nb-NO"
    assert created["title"] == "Clerk"
    assert created[ENTERPRISE_URN] == {"department": "Treasury", "employeeNumber": "40917"}


async def test_item_13_duplicate_user_name_in_any_case_is_409_uniqueness(client: httpx.AsyncClient) -> None:
    await create_user(client, "Dup@example.net")
    response = await client.post("/Users", json={"schemas": [USER_URN], "userName": "dup@EXAMPLE.net"})
    assert response.status_code == 409
    assert response.json()["scimType"] == "uniqueness"
    assert (await get(client, "/Users"))["totalResults"] == 1


async def test_item_14_get_returns_values_exactly_as_written(client: httpx.AsyncClient) -> None:
    written = {
        "displayName": "ÅSA von Berg",
        "phoneNumbers": [{"type": "work", "value": "+1 (555) 010-0199 ext. 7"}],
        "title": "  Senior  Clerk ",
        "preferredLanguage": "en-us",
    }
    user = await create_user(client, "MiXeD.Case@Example.net", **written)
    body = await get(client, f"/Users/{user['id']}")
    assert body["userName"] == "MiXeD.Case@Example.net"
    for key, value in written.items():
        assert body[key] == value


async def test_item_15_unknown_user_is_404_with_a_scim_error(client: httpx.AsyncClient) -> None:
    response = await client.get("/Users/does-not-exist")
    assert response.status_code == 404
    body = response.json()
    assert body["schemas"] == [ERROR_URN]
    assert body["status"] == "404"


# --- 16-31: PATCH users -----------------------------------------------------------------------


async def test_item_16_ops_are_case_insensitive_and_unknown_ops_are_400(client: httpx.AsyncClient) -> None:
    user = await create_user(client, "item16")
    url = f"/Users/{user['id']}"
    for name in ("Add", "add", "ADD", "Replace", "replace", "REPLACE"):
        await patch(client, url, {"op": name, "path": "title", "value": name})
        assert (await get(client, url))["title"] == name
    for name in ("Remove", "remove", "REMOVE"):
        await patch(client, url, {"op": "add", "path": "title", "value": "x"})
        await patch(client, url, {"op": name, "path": "title"})
        assert "title" not in await get(client, url)
    response = await client.patch(url, json=patch_body({"op": "Merge", "path": "title", "value": "y"}))
    assert response.status_code == 400
    assert response.json()["scimType"] == "invalidSyntax"


@pytest.mark.parametrize("style", STYLES)
async def test_item_17_replace_user_name_then_find_by_the_new_value(client: httpx.AsyncClient, style: str) -> None:
    user = await create_user(client, "old17@example.net")
    url = f"/Users/{user['id']}"
    if style == "default":
        await patch(client, url, {"op": "Replace", "path": "userName", "value": "new17@example.net"})
    else:
        await patch(client, url, {"op": "replace", "value": {"userName": "new17@example.net"}})
    body = await get(client, "/Users", filter='userName eq "new17@example.net"')
    assert [r["id"] for r in body["Resources"]] == [user["id"]]


@pytest.mark.parametrize("style", STYLES)
async def test_item_18_replace_the_work_email_keeps_the_others(client: httpx.AsyncClient, style: str) -> None:
    user = await create_user(
        client,
        "item18",
        emails=[{"type": "work", "value": "w@x", "primary": True}, {"type": "other", "value": "o@x"}],
    )
    await patch(
        client,
        f"/Users/{user['id']}",
        {"op": op(style, "replace"), "path": 'emails[type eq "work"].value', "value": "w2@x"},
    )
    assert (await get(client, f"/Users/{user['id']}"))["emails"] == [
        {"type": "work", "value": "w2@x", "primary": True},
        {"type": "other", "value": "o@x"},
    ]


@pytest.mark.parametrize("name", ["add", "replace"])
@pytest.mark.parametrize("style", STYLES)
async def test_item_19_add_or_replace_on_a_missing_work_email_creates_it(
    client: httpx.AsyncClient, style: str, name: str
) -> None:
    user = await create_user(client, "item19", emails=[{"type": "other", "value": "o@x"}])
    await patch(
        client, f"/Users/{user['id']}", {"op": op(style, name), "path": 'emails[type eq "work"].value', "value": "w@x"}
    )
    assert (await get(client, f"/Users/{user['id']}"))["emails"] == [
        {"type": "other", "value": "o@x"},
        {"type": "work", "value": "w@x"},
    ]


async def test_item_19_strict_rfc_tenant_refuses_to_create_the_unmatched_element(
    client: httpx.AsyncClient, store: MongoStore, tenant: Tenant
) -> None:
    await strict(store, tenant)
    user = await create_user(client, "item19s")
    response = await client.patch(
        f"/Users/{user['id']}",
        json=patch_body({"op": "replace", "path": 'emails[type eq "work"].value', "value": "w@x"}),
    )
    assert response.status_code == 400
    assert response.json()["scimType"] == "noTarget"
    assert "emails" not in await get(client, f"/Users/{user['id']}")


@pytest.mark.parametrize("style", STYLES)
async def test_item_20_several_ops_on_the_work_address_fill_one_element(client: httpx.AsyncClient, style: str) -> None:
    user = await create_user(client, "item20")
    subs = {"streetAddress": "1 Quay", "locality": "Oslo", "region": "Viken", "postalCode": "0150", "country": "NO"}
    await patch(
        client,
        f"/Users/{user['id']}",
        *({"op": op(style, "add"), "path": f'addresses[type eq "work"].{k}', "value": v} for k, v in subs.items()),
    )
    assert (await get(client, f"/Users/{user['id']}"))["addresses"] == [{"type": "work", **subs}]


@pytest.mark.parametrize("name", ["replace", "add"])
async def test_item_21_path_less_values_with_dotted_and_urn_keys(client: httpx.AsyncClient, name: str) -> None:
    user = await create_user(client, "item21", name={"givenName": "Old", "familyName": "Keep"})
    await patch(
        client,
        f"/Users/{user['id']}",
        {
            "op": name,
            "value": {
                "displayName": "Tomas E. Lindqvist",
                "name.givenName": "Tomas",
                f"{ENTERPRISE_URN}:employeeNumber": "40918",
                f"{ENTERPRISE_URN}:department": "Treasury",
                "active": False,
            },
        },
    )
    body = await get(client, f"/Users/{user['id']}")
    assert body["displayName"] == "Tomas E. Lindqvist"
    assert body["name"] == {"givenName": "Tomas", "familyName": "Keep"}
    assert body[ENTERPRISE_URN] == {"employeeNumber": "40918", "department": "Treasury"}
    assert body["active"] is False
    assert not any("." in key for key in body if not key.startswith("urn:"))


@pytest.mark.parametrize("name", ["Add", "Replace", "add", "replace"])
@pytest.mark.parametrize("style", STYLES)
async def test_item_22_active_strings_and_booleans_deactivate_and_reactivate(
    client: httpx.AsyncClient, style: str, name: str
) -> None:
    user = await create_user(client, "item22", active=True)
    url = f"/Users/{user['id']}"
    await patch(client, url, {"op": name, "path": "active", "value": boolean(style, False)})
    assert (await get(client, url))["active"] is False
    await patch(client, url, {"op": name, "path": "active", "value": boolean(style, True)})
    assert (await get(client, url))["active"] is True


async def test_item_22_string_booleans_in_bodies_and_path_less_values(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/Users",
        json=entra_user("item22b", active="True", emails=[{"type": "work", "value": "w@x", "primary": "True"}]),
    )
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["active"] is True
    assert created["emails"][0]["primary"] is True
    await patch(client, f"/Users/{created['id']}", {"op": "Replace", "value": {"active": "false"}})
    assert (await get(client, f"/Users/{created['id']}"))["active"] is False


async def test_item_22_strict_rfc_tenant_refuses_string_booleans(
    client: httpx.AsyncClient, store: MongoStore, tenant: Tenant
) -> None:
    await strict(store, tenant)
    user = await create_user(client, "item22s", active=True)
    response = await client.patch(
        f"/Users/{user['id']}", json=patch_body({"op": "Replace", "path": "active", "value": "False"})
    )
    assert response.status_code == 400
    assert response.json()["scimType"] == "invalidValue"
    assert (await get(client, f"/Users/{user['id']}"))["active"] is True
    refused = await client.post("/Users", json={"schemas": [USER_URN], "userName": "item22t", "active": "True"})
    assert refused.status_code == 400


@pytest.mark.parametrize("style", STYLES)
async def test_item_23_a_deactivated_user_is_still_returned(client: httpx.AsyncClient, style: str) -> None:
    user = await create_user(client, "item23", active=True)
    await patch(client, f"/Users/{user['id']}", {"op": op(style, "replace"), "path": "active", "value": False})
    assert (await get(client, f"/Users/{user['id']}"))["active"] is False
    body = await get(client, "/Users", filter='userName eq "item23"')
    assert body["totalResults"] == 1
    assert body["Resources"][0]["active"] is False


@pytest.mark.parametrize("style", STYLES)
async def test_item_24_reactivation_keeps_group_memberships(client: httpx.AsyncClient, style: str) -> None:
    user = await create_user(client, "item24", active=True)
    group = await create_group(client, "Item 24", (str(user["id"]),))
    url = f"/Users/{user['id']}"
    await patch(client, url, {"op": op(style, "replace"), "path": "active", "value": boolean(style, False)})
    await patch(client, url, {"op": op(style, "replace"), "path": "active", "value": boolean(style, True)})
    members = (await get(client, f"/Groups/{group['id']}"))["members"]
    assert [m["value"] for m in members] == [user["id"]]


@pytest.mark.parametrize("style", STYLES)
async def test_item_25_manager_as_a_bare_id_is_returned_under_the_enterprise_key(
    client: httpx.AsyncClient, style: str
) -> None:
    boss = await create_user(client, "boss25", displayName="The Boss")
    user = await create_user(client, "item25")
    await patch(client, f"/Users/{user['id']}", {"op": op(style, "add"), "path": MANAGER_PATH, "value": boss["id"]})
    manager = (await get(client, f"/Users/{user['id']}"))[ENTERPRISE_URN]["manager"]
    assert manager["value"] == boss["id"]
    assert manager["$ref"].endswith(f"/Users/{boss['id']}")
    assert manager["displayName"] == "The Boss"


@pytest.mark.parametrize(
    ("path", "shape"),
    [
        (MANAGER_PATH, "object"),
        ("manager", "array"),
        ("manager", "object"),
        ("manager", "bare"),
        (MANAGER_PATH, "array"),
    ],
)
async def test_item_26_manager_as_an_object_or_an_array(client: httpx.AsyncClient, path: str, shape: str) -> None:
    boss = await create_user(client, "boss26")
    user = await create_user(client, "item26")
    value: object = {
        "object": {"value": boss["id"]},
        "array": [{"$ref": f"../Users/{boss['id']}", "value": boss["id"]}],
        "bare": boss["id"],
    }[shape]
    await patch(client, f"/Users/{user['id']}", {"op": "add", "path": path, "value": value})
    assert (await get(client, f"/Users/{user['id']}"))[ENTERPRISE_URN]["manager"]["value"] == boss["id"]


async def test_item_26_manager_in_a_create_body_as_a_bare_id(client: httpx.AsyncClient) -> None:
    boss = await create_user(client, "boss26b")
    body = entra_user("item26b")
    body[ENTERPRISE_URN] = {"department": "D", "manager": boss["id"]}
    response = await client.post("/Users", json=body)
    assert response.status_code == 201, response.text
    assert response.json()[ENTERPRISE_URN]["manager"]["value"] == boss["id"]


@pytest.mark.parametrize("how", ["remove-urn", "remove-filter", "replace-empty", "replace-empty-pathless"])
async def test_item_27_manager_is_cleared(client: httpx.AsyncClient, how: str) -> None:
    boss = await create_user(client, "boss27")
    user = await create_user(client, "item27")
    url = f"/Users/{user['id']}"
    await patch(client, url, {"op": "Add", "path": MANAGER_PATH, "value": boss["id"]})
    await patch(client, url, {"op": "Add", "path": f"{ENTERPRISE_URN}:department", "value": "Keep"})
    operations: dict[str, dict[str, Any]] = {
        "remove-urn": {"op": "Remove", "path": MANAGER_PATH},
        "remove-filter": {"op": "remove", "path": f'manager[value eq "{boss["id"]}"]'},
        "replace-empty": {"op": "replace", "path": MANAGER_PATH, "value": ""},
        "replace-empty-pathless": {"op": "replace", "value": {MANAGER_PATH: ""}},
    }
    await patch(client, url, operations[how])
    assert (await get(client, url))[ENTERPRISE_URN] == {"department": "Keep"}


async def test_item_27_removing_another_manager_by_filter_keeps_the_current_one(client: httpx.AsyncClient) -> None:
    boss = await create_user(client, "boss27b")
    user = await create_user(client, "item27b")
    url = f"/Users/{user['id']}"
    await patch(client, url, {"op": "Add", "path": MANAGER_PATH, "value": boss["id"]})
    await patch(client, url, {"op": "remove", "path": 'manager[value eq "someone-else"]'})
    assert (await get(client, url))[ENTERPRISE_URN]["manager"]["value"] == boss["id"]


@pytest.mark.parametrize("style", STYLES)
async def test_item_28_replace_with_an_empty_string_clears(client: httpx.AsyncClient, style: str) -> None:
    user = await create_user(client, "item28", title="Clerk", preferredLanguage="en")
    url = f"/Users/{user['id']}"
    if style == "default":
        await patch(client, url, {"op": "Replace", "path": "title", "value": ""})
    else:
        await patch(client, url, {"op": "replace", "value": {"title": ""}})
    body = await get(client, url)
    assert body.get("title") in (None, "")
    assert body["preferredLanguage"] == "en"


@pytest.mark.parametrize("style", STYLES)
async def test_item_29_enterprise_attributes_by_urn_path_round_trip(client: httpx.AsyncClient, style: str) -> None:
    user = await create_user(client, "item29")
    url = f"/Users/{user['id']}"
    values = {f"{ENTERPRISE_URN}:department": "Audit", f"{ENTERPRISE_URN}:employeeNumber": "777"}
    if style == "default":
        for path, value in values.items():
            await patch(client, url, {"op": "Add", "path": path, "value": value})
    else:
        await patch(client, url, {"op": "replace", "value": values})
    assert (await get(client, url))[ENTERPRISE_URN] == {"department": "Audit", "employeeNumber": "777"}


async def test_item_30_an_invalid_operation_fails_the_whole_patch(client: httpx.AsyncClient) -> None:
    user = await create_user(client, "item30", title="Before")
    response = await client.patch(
        f"/Users/{user['id']}",
        json=patch_body(
            {"op": "Replace", "path": "title", "value": "After"},
            {"op": "Replace", "path": "emails[type eq ", "value": "x"},
        ),
    )
    assert response.status_code == 400
    assert response.json()["scimType"]
    assert (await get(client, f"/Users/{user['id']}"))["title"] == "Before"


async def test_item_31_user_patch_returns_the_resource_or_204_and_get_agrees(client: httpx.AsyncClient) -> None:
    user = await create_user(client, "item31")
    url = f"/Users/{user['id']}"
    response = await patch(client, url, {"op": "Add", "path": "title", "value": "T"})
    assert response.status_code == 200
    assert response.json()["title"] == "T"
    minimal = await client.patch(
        url,
        json=patch_body({"op": "Replace", "path": "displayName", "value": "D"}),
        headers={"Prefer": "return=minimal"},
    )
    assert minimal.status_code == 204
    body = await get(client, url)
    assert (body["title"], body["displayName"]) == ("T", "D")


async def test_item_32_delete_user_is_204_then_404_and_gone_from_filters(client: httpx.AsyncClient) -> None:
    user = await create_user(client, "item32")
    assert (await client.delete(f"/Users/{user['id']}")).status_code == 204
    assert (await client.get(f"/Users/{user['id']}")).status_code == 404
    empty_list(await get(client, "/Users", filter='userName eq "item32"'))


# --- 33-42: groups --------------------------------------------------------------------------


async def test_item_33_create_group_with_the_adscim_schema(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/Groups",
        json={
            "schemas": [GROUP_URN, ADSCIM_GROUP],
            "externalId": "b9f40c2e",
            "displayName": "Payments Reviewers",
            "meta": {"resourceType": "Group"},
        },
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["id"]
    assert body["externalId"] == "b9f40c2e"
    assert body.get("members", []) == []


async def test_item_34_duplicate_group_display_name_in_any_case_is_409(client: httpx.AsyncClient) -> None:
    await create_group(client, "Payments Reviewers")
    response = await client.post("/Groups", json={"schemas": [GROUP_URN], "displayName": "payments REVIEWERS"})
    assert response.status_code == 409


async def test_item_35_get_group_without_members(client: httpx.AsyncClient) -> None:
    user = await create_user(client, "item35")
    group = await create_group(client, "Item 35", (str(user["id"]),))
    body = await get(client, f"/Groups/{group['id']}", excludedAttributes="members")
    assert "members" not in body
    assert body["displayName"] == "Item 35"


async def test_item_36_group_match_query_without_members(client: httpx.AsyncClient) -> None:
    user = await create_user(client, "item36")
    await create_group(client, "Payments Reviewers", (str(user["id"]),))
    await create_group(client, "Other")
    response = await client.get("/Groups?excludedAttributes=members&filter=displayName+eq+%22Payments+Reviewers%22")
    body = response.json()
    assert body["totalResults"] == 1
    assert "members" not in body["Resources"][0]


@pytest.mark.parametrize("style", STYLES)
async def test_item_37_add_several_members_and_re_add_is_a_no_op(client: httpx.AsyncClient, style: str) -> None:
    a, b = await create_user(client, "a37"), await create_user(client, "b37")
    group = await create_group(client, "Item 37")
    url = f"/Groups/{group['id']}"
    value = [{"$ref": None, "value": a["id"]}, {"$ref": None, "value": b["id"]}]
    response = await patch(client, url, {"op": op(style, "add"), "path": "members", "value": value})
    assert response.status_code in (200, 204)
    await patch(client, url, {"op": op(style, "add"), "path": "members", "value": value[:1]})
    members = (await get(client, url))["members"]
    assert sorted(m["value"] for m in members) == sorted([str(a["id"]), str(b["id"])])


async def test_item_38_remove_members_with_a_value_array_removes_only_those(client: httpx.AsyncClient) -> None:
    users = [await create_user(client, f"{n}38") for n in "abc"]
    group = await create_group(client, "Item 38", tuple(str(u["id"]) for u in users))
    url = f"/Groups/{group['id']}"
    await patch(client, url, {"op": "Remove", "path": "members", "value": [{"value": users[1]["id"]}]})
    members = (await get(client, url))["members"]
    assert sorted(m["value"] for m in members) == sorted([str(users[0]["id"]), str(users[2]["id"])])


async def test_item_38_strict_rfc_tenant_treats_remove_with_a_value_as_the_rfc_says(
    client: httpx.AsyncClient, store: MongoStore, tenant: Tenant
) -> None:
    """RFC 7644 §3.5.2.2 has no value on remove; a strict tenant refuses the Entra form instead
    of guessing, so a group is never emptied by it."""
    await strict(store, tenant)
    users = [await create_user(client, f"{n}38s") for n in "ab"]
    group = await create_group(client, "Item 38 strict", tuple(str(u["id"]) for u in users))
    url = f"/Groups/{group['id']}"
    response = await client.patch(
        url, json=patch_body({"op": "Remove", "path": "members", "value": [{"value": users[0]["id"]}]})
    )
    assert response.status_code == 400
    assert response.json()["scimType"] == "invalidValue"
    assert len((await get(client, url))["members"]) == 2
    await patch(client, url, {"op": "remove", "path": f'members[value eq "{users[0]["id"]}"]'})
    assert [m["value"] for m in (await get(client, url))["members"]] == [users[1]["id"]]


async def test_item_39_remove_one_member_by_filter(client: httpx.AsyncClient) -> None:
    users = [await create_user(client, f"{n}39") for n in "ab"]
    group = await create_group(client, "Item 39", tuple(str(u["id"]) for u in users))
    url = f"/Groups/{group['id']}"
    await patch(client, url, {"op": "remove", "path": f'members[value eq "{users[0]["id"]}"]'})
    assert [m["value"] for m in (await get(client, url))["members"]] == [users[1]["id"]]


@pytest.mark.parametrize("style", STYLES)
async def test_item_40_rename_a_group(client: httpx.AsyncClient, style: str) -> None:
    group = await create_group(client, "Item 40")
    url = f"/Groups/{group['id']}"
    if style == "default":
        operation: dict[str, Any] = {"op": "Replace", "path": "displayName", "value": "Item 40 EU"}
    else:
        operation = {"op": "replace", "value": {"displayName": "Item 40 EU"}}
    response = await client.patch(url, json=patch_body(operation), headers={"Prefer": "return=minimal"})
    assert response.status_code == 204
    body = await get(client, "/Groups", filter='displayName eq "Item 40 EU"')
    assert [r["id"] for r in body["Resources"]] == [group["id"]]


async def test_item_41_mixed_member_operations_apply_in_order(client: httpx.AsyncClient) -> None:
    users = [await create_user(client, f"u{n}41") for n in range(4)]
    ids = [str(u["id"]) for u in users]
    group = await create_group(client, "Item 41", (ids[0],))
    url = f"/Groups/{group['id']}"
    await patch(
        client,
        url,
        {"op": "Add", "path": "members", "value": [{"value": ids[1]}, {"value": ids[2]}]},
        {"op": "Remove", "path": "members", "value": [{"value": ids[0]}]},
        {"op": "remove", "path": f'members[value eq "{ids[1]}"]'},
        {"op": "add", "path": "members", "value": [{"value": ids[3]}, {"value": ids[1]}]},
    )
    assert sorted(m["value"] for m in (await get(client, url))["members"]) == sorted(ids[1:])


async def test_item_42_delete_group(client: httpx.AsyncClient) -> None:
    group = await create_group(client, "Item 42")
    assert (await client.delete(f"/Groups/{group['id']}")).status_code == 204
    empty_list(await get(client, "/Groups", filter='displayName eq "Item 42"'))


# --- 43-50: discovery, paging, robustness, roles, legacy queries ------------------------------


def _no_nulls(value: object) -> bool:
    if isinstance(value, dict):
        return all(v is not None and _no_nulls(v) for v in value.values())
    if isinstance(value, list):
        return all(_no_nulls(v) for v in value)
    return True


async def test_item_43_schemas_list_every_mapped_attribute(client: httpx.AsyncClient) -> None:
    body = await get(client, "/Schemas")
    schemas = {s["id"]: s for s in body["Resources"]}
    assert {USER_URN, GROUP_URN, ENTERPRISE_URN} <= set(schemas)
    assert _no_nulls(body)
    user_names = {a["name"] for a in schemas[USER_URN]["attributes"]}
    assert {
        "userName",
        "active",
        "displayName",
        "title",
        "externalId",
        "preferredLanguage",
        "name",
        "emails",
        "phoneNumbers",
        "addresses",
        "roles",
    } <= user_names
    enterprise = {a["name"] for a in schemas[ENTERPRISE_URN]["attributes"]}
    assert {"department", "employeeNumber", "manager"} <= enterprise
    assert all(
        a["mutability"] in {"readOnly", "readWrite", "immutable", "writeOnly"} for a in schemas[USER_URN]["attributes"]
    )


async def test_item_44_service_provider_config_and_resource_types(client: httpx.AsyncClient) -> None:
    config = await get(client, "/ServiceProviderConfig")
    assert config["patch"]["supported"] is True
    types = await get(client, "/ResourceTypes")
    assert {r["name"] for r in types["Resources"]} >= {"User", "Group"}


async def test_item_45_paging_echoes_start_index_and_is_stable(client: httpx.AsyncClient) -> None:
    for n in range(12):
        await create_user(client, f"page{n:02}")
    first = await get(client, "/Users", startIndex="6", count="5")
    again = await get(client, "/Users", startIndex="6", count="5")
    assert first["startIndex"] == 6
    assert first["totalResults"] == 12
    assert len(first["Resources"]) == 5
    assert [r["id"] for r in first["Resources"]] == [r["id"] for r in again["Resources"]]
    pages = [await get(client, "/Users", startIndex=str(s), count="5") for s in (1, 6, 11)]
    seen = [r["id"] for page in pages for r in page["Resources"]]
    assert len(seen) == len(set(seen)) == 12


async def test_item_46_sustains_25_requests_per_second(client: httpx.AsyncClient) -> None:
    await create_user(client, "item46")
    requests = 100
    started = time.monotonic()
    responses = await asyncio.gather(
        *(client.get("/Users", params={"filter": 'userName eq "item46"'}) for _ in range(requests))
    )
    elapsed = time.monotonic() - started
    assert all(r.status_code == 200 for r in responses)
    assert requests / elapsed >= 25, f"{requests / elapsed:.1f} requests/second"


async def test_item_47_malformed_input_gets_a_scim_error_never_500(client: httpx.AsyncClient) -> None:
    user = await create_user(client, "item47")
    cases = [
        await client.post("/Users", content=b"{not json", headers={"Content-Type": SCIM_JSON}),
        await client.get("/Users", params={"filter": 'userName eq "x" and ('}),
        await client.get("/Users", params={"filter": "nosuch eq 1"}),
        await client.patch(f"/Users/{user['id']}", json=patch_body({"op": "add", "path": "a[[", "value": 1})),
        await client.patch(f"/Users/{user['id']}", content=b"[]", headers={"Content-Type": SCIM_JSON}),
    ]
    for response in cases:
        assert response.status_code == 400, response.text
        assert response.headers["content-type"].startswith(SCIM_JSON)
        assert response.json()["scimType"] in {"invalidSyntax", "invalidFilter", "invalidPath", "invalidValue"}


async def test_item_48_unknown_parameters_and_missing_user_agent_or_accept(client: httpx.AsyncClient) -> None:
    response = await client.get(
        "/Users?aadOptscim062020&foo=bar&filter=userName+eq+%22nobody%22",
        headers={"User-Agent": "", "Accept": ""},
    )
    assert response.status_code == 200
    empty_list(response.json())


async def test_item_49_roles_in_the_complex_and_assertive_forms(client: httpx.AsyncClient) -> None:
    user = await create_user(client, "item49")
    url = f"/Users/{user['id']}"
    reader = '{"id":"7c1","value":"Reader","displayName":"Reader"}'
    writer = '{"id":"9d2","value":"Writer","displayName":"Writer"}'
    await patch(
        client, url, {"op": "Add", "path": "roles", "value": [{"value": reader, "primary": False}, {"value": writer}]}
    )
    roles = (await get(client, url))["roles"]
    assert roles == [
        {"value": "Reader", "display": "Reader", "primary": False},
        {"value": "Writer", "display": "Writer", "primary": False},
    ]
    # Re-sending the same assignment changes nothing.
    response = await patch(client, url, {"op": "Add", "path": "roles", "value": [{"value": reader}]})
    assert response.json()["meta"]["version"] == (await get(client, url))["meta"]["version"]
    assert (await get(client, url))["roles"] == roles
    # The assertive form replaces the whole list.
    await patch(
        client,
        url,
        {"op": "replace", "path": "roles", "value": [{"value": "Writer", "display": "Writer", "primary": False}]},
    )
    assert (await get(client, url))["roles"] == [{"value": "Writer", "display": "Writer", "primary": False}]


async def test_item_50_legacy_manager_and_member_checks(client: httpx.AsyncClient) -> None:
    boss = await create_user(client, "boss50")
    user = await create_user(client, "item50")
    await patch(client, f"/Users/{user['id']}", {"op": "Add", "path": MANAGER_PATH, "value": boss["id"]})
    found = await get(client, "/Users", filter=f'id eq "{user["id"]}" and manager eq "{boss["id"]}"', attributes="id")
    assert [r["id"] for r in found["Resources"]] == [user["id"]]
    empty_list(await get(client, "/Users", filter=f'id eq "{user["id"]}" and manager eq "nobody"', attributes="id"))
    group = await create_group(client, "Item 50", (str(user["id"]),))
    found = await get(client, "/Groups", filter=f'id eq "{group["id"]}" and members eq "{user["id"]}"', attributes="id")
    assert [r["id"] for r in found["Resources"]] == [group["id"]]
    empty_list(await get(client, "/Groups", filter=f'id eq "{group["id"]}" and members eq "{boss["id"]}"'))


async def test_item_51_entra_issued_jwts_only_with_the_linked_issuer_and_entra_audience(
    store: MongoStore, tenant: Tenant, database_uri: str, database_name: str
) -> None:
    """Item 51: an Entra-issued JWT is accepted only with iss = https://sts.windows.net/<linked tenant>/
    and aud = 8adf8e6e-67b2-4cf2-a259-e3dc5476c621."""
    with local_issuer() as issuer:
        await store.tenants.update_settings(tenant.id, TenantSettings(entra_tenant_id=issuer.entra_tenant_id))
        app = create_app(
            Settings(
                mongodb_uri=database_uri,
                database=database_name,
                scim_token_cache_seconds=0,
                entra_jwks_url=issuer.url,
            )
        )
        app.state.store = store
        other_tenant = str(uuid.uuid4())
        cases = {
            issuer.token(): 200,
            issuer.token("k1", iss=f"https://sts.windows.net/{other_tenant}/"): 401,
            issuer.token("k1", tid=other_tenant): 401,
            issuer.token("k1", aud=f"api://{uuid.uuid4()}"): 401,
        }
        for token, status in cases.items():
            async with client_for(app, token) as scim:
                assert (await scim.get("/Users", params={"filter": 'userName eq "x"'})).status_code == status


async def test_item_52_client_credentials_by_header_and_by_body_with_rotation_and_lifetimes(
    app: Starlette, store: MongoStore, tenant: Tenant
) -> None:
    """Item 52: client credentials via the Basic header and via the form body both work; tokens
    live 60 minutes to 6 hours; several secrets are active at once."""
    client = await create_oauth_client(store, tenant, lifetime=timedelta(hours=6))
    first, second = await add_secret(store, client), await add_secret(store, client)
    async with http(app) as web:
        by_header = await web.post(TOKEN_URL, data=CLIENT_CREDENTIALS, headers=basic(client.id, first.secret))
        by_body = await web.post(
            TOKEN_URL, data={**CLIENT_CREDENTIALS, "client_id": client.id, "client_secret": second.secret}
        )
    for response in (by_header, by_body):
        assert response.status_code == 200
        assert response.json()["expires_in"] == 6 * 3600
        async with client_for(app, response.json()["access_token"]) as scim:
            assert (await scim.get("/Users", params={"filter": 'userName eq "x"'})).status_code == 200
    with pytest.raises(InvalidValue):
        await create_oauth_client(store, tenant, lifetime=timedelta(minutes=59))
    with pytest.raises(InvalidValue):
        await create_oauth_client(store, tenant, lifetime=timedelta(hours=6, minutes=1))


async def test_item_54_ids_are_stable_and_never_reused(client: httpx.AsyncClient) -> None:
    user = await create_user(client, "item54")
    await patch(client, f"/Users/{user['id']}", {"op": "Replace", "path": "userName", "value": "item54b"})
    assert (await get(client, "/Users", filter='userName eq "item54b"'))["Resources"][0]["id"] == user["id"]
    await client.delete(f"/Users/{user['id']}")
    again = await create_user(client, "item54b")
    assert again["id"] != user["id"]
    response = await client.patch(
        f"/Users/{user['id']}", json=patch_body({"op": "Replace", "path": "active", "value": "True"})
    )
    assert response.status_code == 404


async def test_item_49_single_app_role_assignment_with_a_string_primary_filter(client: httpx.AsyncClient) -> None:
    """SingleAppRoleAssignment sends roles[primary eq "True"].value|display: one primary role."""
    user = await create_user(client, "item49s")
    url = f"/Users/{user['id']}"
    await patch(
        client,
        url,
        {"op": "Add", "path": 'roles[primary eq "True"].value', "value": "Reader"},
        {"op": "Add", "path": 'roles[primary eq "True"].display', "value": "Reader"},
    )
    assert (await get(client, url))["roles"] == [{"primary": True, "value": "Reader", "display": "Reader"}]
    await patch(client, url, {"op": "Replace", "path": 'roles[primary eq "True"].value', "value": "Writer"})
    assert (await get(client, url))["roles"] == [{"primary": True, "value": "Writer", "display": "Reader"}]


async def test_item_23_string_booleans_in_filters(client: httpx.AsyncClient, store: MongoStore, tenant: Tenant) -> None:
    user = await create_user(client, "item23s", active=False)
    body = await get(client, "/Users", filter='active eq "False"')
    assert [r["id"] for r in body["Resources"]] == [user["id"]]
    await strict(store, tenant)
    response = await client.get("/Users", params={"filter": 'active eq "False"'})
    assert response.status_code == 400
