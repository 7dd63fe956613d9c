"""Tenant schema extensions over SCIM: custom attributes as Microsoft Entra ID sends them.

Entra maps a directory attribute to ``urn:ietf:params:scim:schemas:extension:<Name>:2.0:User:<attr>``
and does not list that URN in a request's ``schemas`` (its documentation on custom extensions).
A tenant registers the extension's schema (RFC 7643 §7); from then on its attributes are
validated by their declared type, stored, returned under the URN key (RFC 7643 §3.3), addressable
by URN path in PATCH (RFC 7644 §3.5.2) and in filters (§3.4.2.2), and listed in discovery (§4).
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from identity_store import CommandBus, RequestContext, RestoreUser, Tenant, TenantSettings
from identity_store.commands import AddSchemaExtension, RemoveSchemaExtension
from identity_store.events import EventType
from identity_store.mongo import MongoStore
from identity_store.mongo.schema_extensions import extension_index_name
from tests.scim_facade.conftest import (
    ENTERPRISE_URN,
    ERROR_URN,
    GROUP_URN,
    USER_URN,
    client_for,
    create_user,
    issue_token,
    patch_body,
)

ACME = "urn:ietf:params:scim:schemas:extension:Acme:2.0:User"
ACME_GROUP = "urn:ietf:params:scim:schemas:extension:Acme:2.0:Group"

ACME_SCHEMA: dict[str, Any] = {
    "id": ACME,
    "name": "AcmeUser",
    "description": "Acme's directory attributes",
    "attributes": [
        {"name": "costCenter", "type": "string", "description": "Where the cost is booked"},
        {"name": "badge", "type": "string", "caseExact": True},
        {"name": "floor", "type": "integer"},
        {"name": "contractor", "type": "boolean"},
        {"name": "hired", "type": "dateTime"},
        {"name": "pin", "type": "string", "returned": "never"},
    ],
}
GROUP_SCHEMA: dict[str, Any] = {
    "id": ACME_GROUP,
    "name": "AcmeGroup",
    "attributes": [{"name": "budgetCode", "type": "string"}],
}


async def register(bus: CommandBus, context: RequestContext, document: dict[str, Any], **kw: Any) -> None:
    await bus.dispatch(context, AddSchemaExtension(document=document, **kw))


@pytest.fixture
async def acme(bus: CommandBus, context: RequestContext) -> None:
    await register(bus, context, ACME_SCHEMA, indexed=("costCenter",))


def entra_user(user_name: str, **custom: object) -> dict[str, object]:
    """A create as Entra sends it: the custom URN carries values but is absent from ``schemas``."""
    return {"schemas": [USER_URN], "userName": user_name, ACME: dict(custom)}


async def found_by(client: httpx.AsyncClient, text: str, endpoint: str = "/Users") -> list[str]:
    response = await client.get(endpoint, params={"filter": text})
    assert response.status_code == 200, response.text
    return [r["id"] for r in response.json()["Resources"]]


# --- the Entra shapes ------------------------------------------------------------------------


@pytest.mark.usefixtures("acme")
async def test_an_entra_shaped_create_stores_the_custom_attribute_and_returns_it_under_its_urn(
    client: httpx.AsyncClient,
) -> None:
    """RFC 7643 §3.3: extension values sit under the schema URN, which the resource's
    ``schemas`` then names; Entra's create omits the URN from ``schemas`` and is accepted."""
    created = await client.post("/Users", json=entra_user("ines", costCenter="4711", floor=3))
    assert created.status_code == 201, created.text
    assert created.json()[ACME] == {"costCenter": "4711", "floor": 3}
    assert ACME in created.json()["schemas"]

    fetched = (await client.get(f"/Users/{created.json()['id']}")).json()
    assert fetched[ACME] == {"costCenter": "4711", "floor": 3}
    assert fetched["schemas"] == [USER_URN, ACME]
    assert await found_by(client, f'{ACME}:costCenter eq "4711"') == [created.json()["id"]]


@pytest.mark.usefixtures("acme")
async def test_an_entra_shaped_patch_sets_the_custom_attribute_by_its_urn_path(client: httpx.AsyncClient) -> None:
    """RFC 7644 §3.5.2: ``urn:...:User:costCenter`` addresses the attribute; add and replace set
    it, a later GET returns it and a filter on it finds the user; remove clears it."""
    user = await create_user(client, "tomas")
    path = f"{ACME}:costCenter"
    added = await client.patch(f"/Users/{user['id']}", json=patch_body({"op": "Add", "path": path, "value": "4711"}))
    assert added.status_code == 200, added.text
    assert (await client.get(f"/Users/{user['id']}")).json()[ACME] == {"costCenter": "4711"}
    assert await found_by(client, f'{path} eq "4711"') == [user["id"]]

    replaced = await client.patch(
        f"/Users/{user['id']}", json=patch_body({"op": "Replace", "path": path, "value": "0815"})
    )
    assert replaced.json()[ACME] == {"costCenter": "0815"}
    assert await found_by(client, f'{path} eq "4711"') == []

    removed = await client.patch(f"/Users/{user['id']}", json=patch_body({"op": "remove", "path": path}))
    assert removed.status_code == 200, removed.text
    assert ACME not in removed.json()
    assert ACME not in (await client.get(f"/Users/{user['id']}")).json()["schemas"]


@pytest.mark.usefixtures("acme")
@pytest.mark.parametrize(
    "value",
    [
        pytest.param({ACME: {"costCenter": "x", "floor": 2}}, id="object under the URN"),
        pytest.param({f"{ACME}:costCenter": "x", f"{ACME}:floor": 2}, id="URN paths as keys"),
    ],
)
async def test_a_path_less_replace_takes_both_of_entras_shapes(
    client: httpx.AsyncClient, value: dict[str, object]
) -> None:
    """Entra's merged path-less replace names extension attributes by URN path or as an object."""
    user = await create_user(client, "grace", **{ACME: {"badge": "B-1"}})
    patched = await client.patch(f"/Users/{user['id']}", json=patch_body({"op": "replace", "value": value}))
    assert patched.status_code == 200, patched.text
    assert patched.json()[ACME] == {"badge": "B-1", "costCenter": "x", "floor": 2}


@pytest.mark.usefixtures("acme")
async def test_a_replace_on_the_extension_urn_sets_the_sub_attributes_given(client: httpx.AsyncClient) -> None:
    """RFC 7644 §3.5.2.3: a replace of a complex attribute replaces the sub-attributes given and
    leaves the others unchanged."""
    user = await create_user(client, "linus", **{ACME: {"badge": "B-1", "floor": 1}})
    patched = await client.patch(
        f"/Users/{user['id']}", json=patch_body({"op": "replace", "path": ACME, "value": {"floor": 9}})
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()[ACME] == {"badge": "B-1", "floor": 9}


@pytest.mark.usefixtures("acme")
async def test_a_replace_puts_the_custom_values_sent_and_drops_the_others(client: httpx.AsyncClient) -> None:
    """RFC 7644 §3.5.1: PUT replaces the whole resource, its extension values included."""
    user = await create_user(client, "ada", **{ACME: {"badge": "B-1", "floor": 1}})
    replaced = await client.put(f"/Users/{user['id']}", json=entra_user("ada", floor=2))
    assert replaced.status_code == 200, replaced.text
    assert replaced.json()[ACME] == {"floor": 2}


@pytest.mark.usefixtures("acme")
async def test_string_booleans_are_taken_on_a_lenient_tenant(client: httpx.AsyncClient) -> None:
    """Entra sends booleans as ``"True"``/``"False"``; a tenant that is not strict takes them."""
    created = await client.post("/Users", json=entra_user("kim", contractor="True"))
    assert created.status_code == 201, created.text
    assert created.json()[ACME] == {"contractor": True}
    patched = await client.patch(
        f"/Users/{created.json()['id']}",
        json=patch_body({"op": "replace", "path": f"{ACME}:contractor", "value": "False"}),
    )
    assert patched.json()[ACME] == {"contractor": False}
    assert await found_by(client, f'{ACME}:contractor eq "False"') == [created.json()["id"]]


# --- types and refusals ----------------------------------------------------------------------


@pytest.mark.usefixtures("acme")
@pytest.mark.parametrize(
    ("attribute", "value"),
    [
        ("floor", "third"),
        ("floor", 2.5),
        ("contractor", "maybe"),
        ("hired", "last tuesday"),
        ("costCenter", 4711),
        ("costCenter", {"nested": "x"}),
    ],
)
async def test_a_value_of_the_wrong_type_is_invalid_value_and_changes_nothing(
    client: httpx.AsyncClient, attribute: str, value: object
) -> None:
    """RFC 7644 §3.12: a value not compatible with the attribute's type is 400 ``invalidValue``;
    a PATCH whose second operation is refused does not apply its first (§3.5.2 atomicity)."""
    refused = await client.post("/Users", json=entra_user("refused", **{attribute: value}))
    assert refused.status_code == 400, refused.text
    assert refused.json()["scimType"] == "invalidValue"
    assert await found_by(client, 'userName eq "refused"') == []

    user = await create_user(client, "kept", **{ACME: {"costCenter": "1"}})
    patched = await client.patch(
        f"/Users/{user['id']}",
        json=patch_body(
            {"op": "replace", "path": "displayName", "value": "Changed"},
            {"op": "replace", "path": f"{ACME}:{attribute}", "value": value},
        ),
    )
    assert patched.status_code == 400, patched.text
    assert patched.json()["scimType"] == "invalidValue"
    after = (await client.get(f"/Users/{user['id']}")).json()
    assert "displayName" not in after
    assert after[ACME] == {"costCenter": "1"}


@pytest.mark.usefixtures("acme")
async def test_attributes_of_no_known_schema_are_ignored_by_default(client: httpx.AsyncClient) -> None:
    """Entra's habit: what the target does not know is dropped, not refused (the activity record
    names it, see scim_facade.body_notes); that holds for an unregistered URN, for an attribute
    the registered schema does not declare, and for a PATCH path under an unregistered URN."""
    other = "urn:ietf:params:scim:schemas:extension:Other:2.0:User"
    body = {**entra_user("noor", costCenter="7", shoeSize=42), f"{other}:x": "y", other: {"z": 1}}
    created = await client.post("/Users", json=body)
    assert created.status_code == 201, created.text
    assert created.json()[ACME] == {"costCenter": "7"}
    assert other not in created.json()
    patched = await client.patch(
        f"/Users/{created.json()['id']}", json=patch_body({"op": "add", "path": f"{other}:x", "value": "y"})
    )
    assert patched.status_code == 200, patched.text
    assert other not in patched.json()


@pytest.mark.usefixtures("acme")
@pytest.mark.parametrize(
    "extra",
    [
        pytest.param({ACME: {"shoeSize": 42}}, id="undeclared attribute of a registered schema"),
        pytest.param({"urn:ietf:params:scim:schemas:extension:Other:2.0:User:x": "y"}, id="unregistered URN path"),
        pytest.param({"urn:ietf:params:scim:schemas:extension:Other:2.0:User": {"x": "y"}}, id="unregistered URN"),
    ],
)
async def test_a_strict_tenant_refuses_attributes_of_no_known_schema(
    client: httpx.AsyncClient, store: MongoStore, tenant: Tenant, extra: dict[str, object]
) -> None:
    """A strict RFC tenant refuses what no schema declares: 400 ``invalidValue`` (RFC 7644 §3.12,
    a value "not compatible with the ... resource schema"), and nothing is created."""
    await store.tenants.update_settings(tenant.id, TenantSettings(strict_rfc=True))
    refused = await client.post("/Users", json={"schemas": [USER_URN], "userName": "strict", **extra})
    assert refused.status_code == 400, refused.text
    assert refused.json()["scimType"] == "invalidValue"
    assert await found_by(client, 'userName eq "strict"') == []


@pytest.mark.usefixtures("acme")
async def test_a_strict_tenant_refuses_string_booleans(
    client: httpx.AsyncClient, store: MongoStore, tenant: Tenant
) -> None:
    await store.tenants.update_settings(tenant.id, TenantSettings(strict_rfc=True))
    refused = await client.post("/Users", json={**entra_user("strict", contractor="True"), "schemas": [USER_URN, ACME]})
    assert refused.status_code == 400
    assert refused.json()["scimType"] == "invalidValue"


@pytest.mark.usefixtures("acme")
@pytest.mark.parametrize(
    "path",
    [f"{ACME}:costCenter[value eq 1", f"{ACME}:", f"{ACME}:cost Center", f"{ACME}:costCenter.sub.deeper"],
)
async def test_a_malformed_extension_path_is_a_scim_error_never_a_500(client: httpx.AsyncClient, path: str) -> None:
    user = await create_user(client, "paths")
    patched = await client.patch(f"/Users/{user['id']}", json=patch_body({"op": "replace", "path": path, "value": "x"}))
    assert patched.status_code == 400, patched.text
    assert patched.json()["schemas"] == [ERROR_URN]
    listed = await client.get("/Users", params={"filter": f'{path} eq "x"'})
    assert listed.status_code == 400, listed.text


# --- filters -----------------------------------------------------------------------------------


@pytest.mark.usefixtures("acme")
async def test_filters_compare_case_as_the_attribute_declares(client: httpx.AsyncClient) -> None:
    """RFC 7643 §2.2: ``caseExact: false`` compares case-insensitively (as core attributes do)."""
    user = await create_user(client, "case", **{ACME: {"costCenter": "Sales-EU", "badge": "AbC"}})
    assert await found_by(client, f'{ACME}:costCenter eq "sales-eu"') == [user["id"]]
    assert await found_by(client, f'{ACME}:costcenter sw "SALES"') == [user["id"]]
    assert await found_by(client, f'{ACME}:badge eq "AbC"') == [user["id"]]
    assert await found_by(client, f'{ACME}:badge eq "abc"') == []
    assert await found_by(client, f"{ACME}:floor pr") == []
    assert await found_by(client, f'{ACME.lower()}:costCenter eq "Sales-EU"') == [user["id"]]


@pytest.mark.usefixtures("acme")
async def test_a_filter_on_an_extension_attribute_costs_what_one_on_a_core_attribute_does(
    app: Starlette, token: Any, database_commands: Any
) -> None:
    """The tenant's extensions are read once per request, not once per attribute or term."""
    async with client_for(app, token.secret) as client:
        await create_user(client, "cost", **{ACME: {"costCenter": "1", "floor": 1}})
        with database_commands.counting() as core:
            await client.get("/Users", params={"filter": 'userName eq "cost" and title eq "x"'})
        with database_commands.counting() as custom:
            await client.get("/Users", params={"filter": f'{ACME}:costCenter eq "1" and {ACME}:floor eq 1'})
    assert dict(custom) == dict(core)


async def test_an_indexed_attribute_gets_an_index_of_its_tenant(
    bus: CommandBus, context: RequestContext, store: MongoStore, tenant: Tenant
) -> None:
    await register(bus, context, ACME_SCHEMA, indexed=("costCenter",))
    names = [i["name"] async for i in await store.database["users"].list_indexes()]
    field = "search.urn:ietf:params:scim:schemas:extension:Acme:2%2E0:User.costCenter"
    assert extension_index_name(tenant.id, field) in names


# --- returned ----------------------------------------------------------------------------------


@pytest.mark.usefixtures("acme")
async def test_an_attribute_returned_never_is_stored_but_not_returned(client: httpx.AsyncClient) -> None:
    created = await client.post("/Users", json=entra_user("pin", pin="1234", costCenter="1"))
    assert created.status_code == 201, created.text
    assert created.json()[ACME] == {"costCenter": "1"}
    assert "1234" not in created.text


@pytest.mark.usefixtures("acme")
async def test_attributes_and_excluded_attributes_name_extension_attributes(client: httpx.AsyncClient) -> None:
    """RFC 7644 §3.4.2.5 with URN-qualified names."""
    user = await create_user(client, "sel", **{ACME: {"costCenter": "1", "floor": 2}})
    only = (await client.get(f"/Users/{user['id']}", params={"attributes": f"{ACME}:floor"})).json()
    assert only[ACME] == {"floor": 2}
    assert "userName" not in only
    without = (await client.get(f"/Users/{user['id']}", params={"excludedAttributes": ACME})).json()
    assert ACME not in without
    assert without["userName"] == "sel"


# --- discovery, per tenant -----------------------------------------------------------------------


async def second_tenant_client(app: Starlette, store: MongoStore) -> httpx.AsyncClient:
    other = await store.tenants.create("globex")
    return client_for(app, (await issue_token(store, other)).secret)


@pytest.mark.usefixtures("acme")
async def test_the_schema_is_listed_in_discovery_for_its_tenant_only(
    client: httpx.AsyncClient, app: Starlette, store: MongoStore
) -> None:
    """RFC 7644 §4: /Schemas and /ResourceTypes describe what this tenant's endpoints accept."""
    listed = (await client.get("/Schemas")).json()["Resources"]
    assert [s["id"] for s in listed][-1] == ACME
    one = (await client.get(f"/Schemas/{ACME}")).json()
    assert one["name"] == "AcmeUser"
    assert one["description"] == "Acme's directory attributes"
    cost_center = next(a for a in one["attributes"] if a["name"] == "costCenter")
    assert cost_center["type"] == "string"
    assert cost_center["description"] == "Where the cost is booked"
    assert cost_center["caseExact"] is False
    user_type = (await client.get("/ResourceTypes/User")).json()
    assert {"schema": ACME, "required": False} in user_type["schemaExtensions"]

    async with await second_tenant_client(app, store) as other:
        assert ACME not in [s["id"] for s in (await other.get("/Schemas")).json()["Resources"]]
        assert (await other.get(f"/Schemas/{ACME}")).status_code == 404
        other_type = (await other.get("/ResourceTypes/User")).json()
        assert {"schema": ACME, "required": False} not in other_type["schemaExtensions"]
        # The other tenant does not know the URN: its values are ignored there.
        created = await other.post("/Users", json=entra_user("elsewhere", costCenter="1"))
        assert created.status_code == 201
        assert ACME not in created.json()


async def test_removing_a_schema_hides_it_and_its_values(
    client: httpx.AsyncClient, bus: CommandBus, context: RequestContext
) -> None:
    """After removal the schema leaves discovery, its values are no longer returned, and a filter
    naming it is ``invalidFilter``; registering it again brings the stored values back."""
    await register(bus, context, ACME_SCHEMA)
    user = await create_user(client, "gone", **{ACME: {"costCenter": "1"}})
    await bus.dispatch(context, RemoveSchemaExtension(urn=ACME.upper()))

    assert (await client.get(f"/Schemas/{ACME}")).status_code == 404
    assert ACME not in (await client.get(f"/Users/{user['id']}")).json()
    refused = await client.get("/Users", params={"filter": f'{ACME}:costCenter eq "1"'})
    assert refused.status_code == 400
    assert refused.json()["scimType"] == "invalidFilter"

    await register(bus, context, ACME_SCHEMA)
    assert (await client.get(f"/Users/{user['id']}")).json()[ACME] == {"costCenter": "1"}


# --- groups --------------------------------------------------------------------------------------


async def test_a_group_extension_works_as_a_user_extension_does(
    client: httpx.AsyncClient, bus: CommandBus, context: RequestContext
) -> None:
    """The resource type comes from the URN's last segment (``...:Group``)."""
    await register(bus, context, GROUP_SCHEMA)
    created = await client.post(
        "/Groups", json={"schemas": [GROUP_URN], "displayName": "Finance", f"{ACME_GROUP}:budgetCode": "B7"}
    )
    assert created.status_code == 201, created.text
    group_id = created.json()["id"]
    assert created.json()[ACME_GROUP] == {"budgetCode": "B7"}
    assert ACME_GROUP in created.json()["schemas"]
    assert await found_by(client, f'{ACME_GROUP}:budgetCode eq "b7"', "/Groups") == [group_id]

    patched = await client.patch(
        f"/Groups/{group_id}", json=patch_body({"op": "replace", "path": f"{ACME_GROUP}:budgetCode", "value": "C1"})
    )
    assert patched.status_code in (200, 204), patched.text
    assert (await client.get(f"/Groups/{group_id}")).json()[ACME_GROUP] == {"budgetCode": "C1"}
    group_type = (await client.get("/ResourceTypes/Group")).json()
    assert group_type["schemaExtensions"] == [{"schema": ACME_GROUP, "required": False}]
    # A user extension is not a group's.
    refused = await client.get("/Users", params={"filter": f'{ACME_GROUP}:budgetCode eq "C1"'})
    assert refused.status_code == 400


# --- bulk and events --------------------------------------------------------------------------------


@pytest.mark.usefixtures("acme")
async def test_bulk_takes_the_same_bodies(client: httpx.AsyncClient) -> None:
    """RFC 7644 §3.7: a Bulk operation's data is translated as the endpoint's body is."""
    bulk = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
        "Operations": [
            {"method": "POST", "path": "/Users", "bulkId": "u", "data": entra_user("bulk", costCenter="5")},
            {
                "method": "PATCH",
                "path": "/Users/bulkId:u",
                "data": patch_body({"op": "add", "path": f"{ACME}:floor", "value": 4}),
            },
            {"method": "POST", "path": "/Users", "bulkId": "b", "data": entra_user("bad", floor="four")},
        ],
    }
    response = await client.post("/Bulk", json=bulk)
    assert response.status_code == 200, response.text
    statuses = [o["status"] for o in response.json()["Operations"]]
    assert statuses == ["201", "200", "400"]
    [user_id] = await found_by(client, f'{ACME}:costCenter eq "5"')
    assert (await client.get(f"/Users/{user_id}")).json()[ACME] == {"costCenter": "5", "floor": 4}


@pytest.mark.usefixtures("acme")
async def test_the_user_events_carry_the_custom_values_under_their_urn(
    client: httpx.AsyncClient, store: MongoStore, tenant: Tenant
) -> None:
    created = await client.post("/Users", json=entra_user("evt", costCenter="1"))
    await client.patch(
        f"/Users/{created.json()['id']}",
        json=patch_body({"op": "replace", "path": f"{ACME}:costCenter", "value": "2"}),
    )
    events = await store.tenant(tenant.id).events.read(aggregate_ids=[created.json()["id"]])
    kinds = [e.event.type for e in events]
    assert kinds == [EventType.USER_CREATED, EventType.USER_UPDATED]
    created_change = next(c for c in events[0].event.changes if c.field == ACME)
    assert created_change.after == {"costCenter": "1"}
    updated_change = next(c for c in events[1].event.changes if c.field == ACME)
    assert (updated_change.before, updated_change.after) == ({"costCenter": "1"}, {"costCenter": "2"})


async def test_registering_and_removing_are_events_of_the_tenant(
    bus: CommandBus, context: RequestContext, store: MongoStore, tenant: Tenant
) -> None:
    await register(bus, context, ACME_SCHEMA)
    await bus.dispatch(context, RemoveSchemaExtension(urn=ACME))
    events = await store.tenant(tenant.id).events.read(aggregate_ids=[ACME])
    assert [e.event.type for e in events] == [EventType.SCHEMA_EXTENSION_ADDED, EventType.SCHEMA_EXTENSION_REMOVED]
    assert {c.field: c.after for c in events[0].event.changes}["attributes"] == [
        "costCenter",
        "badge",
        "floor",
        "contractor",
        "hired",
        "pin",
    ]


@pytest.mark.usefixtures("acme")
async def test_custom_values_stay_filterable_through_other_changes_of_the_user(client: httpx.AsyncClient) -> None:
    """Deactivating a user, or deleting its manager, rewrites its document: the custom values and
    their case-insensitive mirror survive both."""
    manager = await create_user(client, "boss")
    report = await create_user(
        client,
        "report",
        **{
            ACME: {"costCenter": "Ops"},
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"manager": manager["id"]},
        },
    )
    await client.patch(f"/Users/{report['id']}", json=patch_body({"op": "replace", "path": "active", "value": False}))
    assert await found_by(client, f'{ACME}:costCenter eq "ops"') == [report["id"]]
    assert (await client.delete(f"/Users/{manager['id']}")).status_code == 204
    assert await found_by(client, f'{ACME}:costCenter eq "ops"') == [report["id"]]
    fetched = (await client.get(f"/Users/{report['id']}")).json()
    assert fetched[ACME] == {"costCenter": "Ops"}
    assert "manager" not in str(fetched)


@pytest.mark.usefixtures("acme")
async def test_users_sort_by_an_extension_attribute(client: httpx.AsyncClient) -> None:
    """RFC 7644 §3.4.2.3 with a URN-qualified ``sortBy``."""
    for name, floor in (("b", 2), ("c", 3), ("a", 1)):
        await create_user(client, name, **{ACME: {"floor": floor}})
    listed = await client.get("/Users", params={"sortBy": f"{ACME}:floor", "sortOrder": "descending"})
    assert listed.status_code == 200, listed.text
    assert [r["userName"] for r in listed.json()["Resources"]] == ["c", "b", "a"]


async def test_complex_and_multi_valued_extension_attributes(
    client: httpx.AsyncClient, bus: CommandBus, context: RequestContext
) -> None:
    """Beyond Entra's single-valued attributes: a complex attribute's sub-attributes and a
    multi-valued attribute's values are validated, returned and filterable."""
    urn = "urn:ietf:params:scim:schemas:extension:Badges:2.0:User"
    document = {
        "id": urn,
        "attributes": [
            {
                "name": "badge",
                "type": "complex",
                "subAttributes": [{"name": "number"}, {"name": "issued", "type": "dateTime"}],
            },
            {"name": "tags", "multiValued": True},
        ],
    }
    await register(bus, context, document)
    value = {"badge": {"number": "B-7", "issued": "2026-01-02T03:04:05Z"}, "tags": ["Red", "blue"]}
    created = await client.post("/Users", json={"schemas": [USER_URN], "userName": "badged", urn: value})
    assert created.status_code == 201, created.text
    assert created.json()[urn] == value
    assert await found_by(client, f'{urn}:badge.number eq "b-7"') == [created.json()["id"]]
    assert await found_by(client, f'{urn}:tags eq "red"') == [created.json()["id"]]
    refused = await client.post(
        "/Users", json={"schemas": [USER_URN], "userName": "bad", urn: {"badge": {"issued": "soon"}}}
    )
    assert refused.status_code == 400
    assert refused.json()["scimType"] == "invalidValue"


@pytest.mark.usefixtures("acme")
async def test_a_strict_tenant_refuses_a_patch_path_under_an_unregistered_urn(
    client: httpx.AsyncClient, store: MongoStore, tenant: Tenant
) -> None:
    """RFC 7644 §3.12: a path naming no attribute of the resource's schemas is ``invalidPath``."""
    user = await create_user(client, "strict-path")
    await store.tenants.update_settings(tenant.id, TenantSettings(strict_rfc=True))
    path = "urn:ietf:params:scim:schemas:extension:Other:2.0:User:x"
    patched = await client.patch(f"/Users/{user['id']}", json=patch_body({"op": "add", "path": path, "value": "y"}))
    assert patched.status_code == 400
    assert patched.json()["scimType"] == "invalidPath"


async def test_an_immutable_extension_attribute_keeps_its_first_value(
    client: httpx.AsyncClient, bus: CommandBus, context: RequestContext
) -> None:
    """RFC 7643 §2.2 ``immutable``: set once (by create or a first write), then never changed."""
    urn = "urn:ietf:params:scim:schemas:extension:Hr:2.0:User"
    await register(bus, context, {"id": urn, "attributes": [{"name": "hireId", "mutability": "immutable"}]})
    user = await create_user(client, "hired")
    first = await client.patch(
        f"/Users/{user['id']}", json=patch_body({"op": "add", "path": f"{urn}:hireId", "value": "H1"})
    )
    assert first.status_code == 200, first.text
    again = await client.patch(
        f"/Users/{user['id']}", json=patch_body({"op": "replace", "path": f"{urn}:hireId", "value": "H2"})
    )
    assert again.status_code == 400
    assert again.json()["scimType"] == "mutability"
    replaced = await client.put(
        f"/Users/{user['id']}", json={"schemas": [USER_URN], "userName": "hired", urn: {"hireId": "H3"}}
    )
    assert replaced.status_code == 400
    assert (await client.get(f"/Users/{user['id']}")).json()[urn] == {"hireId": "H1"}


async def test_values_never_returned_cannot_be_probed_with_a_filter(
    client: httpx.AsyncClient, bus: CommandBus, context: RequestContext
) -> None:
    """An attribute ``returned: never`` or ``writeOnly`` is stored, never shown, and refused in a
    filter (one comparison at a time would read it back), as the password is."""
    urn = "urn:ietf:params:scim:schemas:extension:Secrets:2.0:User"
    document = {
        "id": urn,
        "attributes": [
            {"name": "pin", "returned": "never"},
            {"name": "code", "mutability": "writeOnly"},
            {"name": "x"},
        ],
    }
    await register(bus, context, document)
    created = await client.post(
        "/Users", json={"schemas": [USER_URN], "userName": "secret", urn: {"pin": "1", "code": "2", "x": "3"}}
    )
    assert created.json()[urn] == {"x": "3"}
    for attribute in ("pin", "code"):
        refused = await client.get("/Users", params={"filter": f'{urn}:{attribute} eq "1"'})
        assert refused.status_code == 400
        assert refused.json()["scimType"] == "invalidFilter"


@pytest.mark.usefixtures("acme")
async def test_a_report_that_gets_its_restored_manager_back_is_still_found_by_its_custom_values(
    client: httpx.AsyncClient, bus: CommandBus, context: RequestContext
) -> None:
    """Deleting a manager takes it from its reports; restoring it gives it back to them, and the
    reports' custom values stay filterable throughout."""
    boss = await create_user(client, "boss")
    report = await client.post(
        "/Users",
        json={**entra_user("report", costCenter="CC-7"), ENTERPRISE_URN: {"manager": {"value": boss["id"]}}},
    )
    assert report.status_code == 201, report.text
    by_cost_center = f'{ACME}:costCenter eq "CC-7"'
    assert await found_by(client, by_cost_center) == [report.json()["id"]]

    assert (await client.delete(f"/Users/{boss['id']}")).status_code == 204
    assert await found_by(client, by_cost_center) == [report.json()["id"]]
    await bus.dispatch(context, RestoreUser(user_id=str(boss["id"])))

    again = (await client.get(f"/Users/{report.json()['id']}")).json()
    assert again[ENTERPRISE_URN]["manager"]["value"] == boss["id"]
    assert await found_by(client, by_cost_center) == [report.json()["id"]]
    assert await found_by(client, f'{ENTERPRISE_URN}:manager.value eq "{boss["id"]}"') == [report.json()["id"]]
