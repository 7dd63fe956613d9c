"""CRUD on /Users and /Groups through the real ASGI app (RFC 7644 §3.3-§3.6)."""

from __future__ import annotations

import httpx

from identity_store import EventType, Tenant
from identity_store.mongo import MongoStore
from tests.scim_facade.conftest import (
    BASE,
    ENTERPRISE_URN,
    GROUP_URN,
    SCIM_JSON,
    USER_URN,
    create_group,
    create_user,
    user_body,
)


async def test_post_user_answers_201_with_location_etag_and_meta(client: httpx.AsyncClient) -> None:
    """RFC 7644 §3.3: 201 Created, the resource, a Location header; §3.14: an ETag."""
    response = await client.post("/Users", json=user_body("bjensen", name={"givenName": "Barbara"}))
    assert response.status_code == 201
    assert response.headers["content-type"].startswith(SCIM_JSON)
    body = response.json()
    assert body["schemas"] == [USER_URN]
    assert body["userName"] == "bjensen"
    assert response.headers["Location"] == f"{BASE}/Users/{body['id']}"
    assert body["meta"]["location"] == response.headers["Location"]
    assert body["meta"]["resourceType"] == "User"
    assert body["meta"]["version"] == 'W/"1"'
    assert response.headers["ETag"] == 'W/"1"'
    assert body["meta"]["created"].endswith("Z")


async def test_post_accepts_application_json_bodies(client: httpx.AsyncClient) -> None:
    """RFC 7644 §8.1: clients may send application/json as well as application/scim+json."""
    response = await client.post(
        "/Users", content=b'{"userName": "plain"}', headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 201


async def test_password_is_never_returned(client: httpx.AsyncClient) -> None:
    """RFC 7643 §4.1.1: password has returned "never"."""
    created = await create_user(client, "secretive", password="correct horse battery staple")
    assert "password" not in created
    fetched = (await client.get(f"/Users/{created['id']}")).json()
    assert "password" not in fetched


async def test_enterprise_attributes_live_under_the_extension_urn(client: httpx.AsyncClient) -> None:
    """RFC 7643 §3.3: extension attributes are held in an object named by the extension's URN."""
    manager = await create_user(client, "boss")
    created = await create_user(
        client,
        "worker",
        schemas=[USER_URN, ENTERPRISE_URN],
        **{ENTERPRISE_URN: {"department": "R&D", "manager": {"value": manager["id"]}}},
    )
    extension = created[ENTERPRISE_URN]
    assert isinstance(extension, dict)
    assert extension["department"] == "R&D"
    assert extension["manager"]["value"] == manager["id"]
    assert extension["manager"]["$ref"] == f"{BASE}/Users/{manager['id']}"
    assert ENTERPRISE_URN in created["schemas"]  # type: ignore[operator]
    assert "enterprise" not in created


async def test_get_user_by_id(client: httpx.AsyncClient) -> None:
    """RFC 7644 §3.4.1: GET /Users/{id} returns the resource."""
    created = await create_user(client, "alice")
    response = await client.get(f"/Users/{created['id']}")
    assert response.status_code == 200
    assert response.json() == created


async def test_unknown_id_is_404_scim_error(client: httpx.AsyncClient) -> None:
    """RFC 7644 §3.12: 404 with an Error message whose status is a string."""
    response = await client.get("/Users/does-not-exist")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith(SCIM_JSON)
    assert response.json()["status"] == "404"


async def test_duplicate_user_name_is_409_uniqueness(client: httpx.AsyncClient) -> None:
    """RFC 7644 §3.3 and Table 9: a taken unique attribute is 409 with scimType uniqueness."""
    await create_user(client, "taken")
    response = await client.post("/Users", json=user_body("TAKEN"))
    assert response.status_code == 409
    assert response.json()["scimType"] == "uniqueness"


async def test_put_replaces_the_user(client: httpx.AsyncClient) -> None:
    """RFC 7644 §3.5.1: PUT replaces all writable attributes; omitted ones are cleared."""
    created = await create_user(client, "replaced", title="Engineer", displayName="R")
    response = await client.put(f"/Users/{created['id']}", json=user_body("replaced", displayName="New"))
    assert response.status_code == 200
    body = response.json()
    assert body["displayName"] == "New"
    assert "title" not in body
    assert body["meta"]["version"] == 'W/"2"'


async def test_put_ignores_read_only_attributes(client: httpx.AsyncClient) -> None:
    """RFC 7644 §3.5.1: readOnly values in a PUT body are ignored (id, meta, groups)."""
    created = await create_user(client, "ro")
    body = user_body("ro", id="other", meta={"version": 'W/"9"'}, groups=[{"value": "x"}])
    response = await client.put(f"/Users/{created['id']}", json=body)
    assert response.status_code == 200
    assert response.json()["id"] == created["id"]


async def test_delete_user_answers_204_then_404(client: httpx.AsyncClient) -> None:
    """RFC 7644 §3.6: 204 No Content, and the resource is gone."""
    created = await create_user(client, "gone")
    assert (await client.delete(f"/Users/{created['id']}")).status_code == 204
    assert (await client.get(f"/Users/{created['id']}")).status_code == 404


async def test_group_members_come_back_with_value_ref_type_and_display(client: httpx.AsyncClient) -> None:
    """RFC 7643 §4.2: members have value, $ref, type and display."""
    user = await create_user(client, "member")
    group = await create_group(client, "Admins", (str(user["id"]),))
    assert group["schemas"] == [GROUP_URN]
    assert group["members"] == [
        {"value": user["id"], "$ref": f"{BASE}/Users/{user['id']}", "type": "User", "display": "member"}
    ]
    fetched = (await client.get(f"/Groups/{group['id']}")).json()
    assert fetched["members"] == group["members"]


async def test_a_members_display_is_its_current_name(client: httpx.AsyncClient) -> None:
    """RFC 7643 §4.2: display is the member's displayName (a user without one: its userName; a
    nested group: its displayName), read when the group is returned, so a rename shows at once."""
    named = await create_user(client, "ada@example.com", displayName="Ada Lovelace")
    plain = await create_user(client, "bob@example.com")
    nested = await create_group(client, "Nested")
    await create_group(client, "Outer", (str(named["id"]), str(plain["id"]), str(nested["id"])))
    listed = (await client.get("/Groups", params={"filter": 'displayName eq "Outer"'})).json()
    displays = {m["value"]: m.get("display") for m in listed["Resources"][0]["members"]}
    assert displays == {named["id"]: "Ada Lovelace", plain["id"]: "bob@example.com", nested["id"]: "Nested"}

    renamed = await client.patch(
        f"/Users/{plain['id']}",
        json={
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "add", "path": "displayName", "value": "Bob B."}],
        },
    )
    assert renamed.status_code == 200, renamed.text
    listed = (await client.get("/Groups", params={"filter": 'displayName eq "Outer"'})).json()
    [outer] = listed["Resources"]
    assert {m["value"]: m["display"] for m in outer["members"]}[plain["id"]] == "Bob B."


async def test_a_members_display_can_be_left_out(client: httpx.AsyncClient) -> None:
    """RFC 7644 §3.4.2.5: attributes naming sub-attributes of members return only those."""
    user = await create_user(client, "sub")
    group = await create_group(client, "Sub", (str(user["id"]),))
    response = await client.get(f"/Groups/{group['id']}", params={"attributes": "members.value"})
    assert response.json()["members"] == [{"value": user["id"]}]
    response = await client.get(f"/Groups/{group['id']}", params={"excludedAttributes": "members.display"})
    assert [set(m) for m in response.json()["members"]] == [{"value", "$ref", "type"}]


async def test_group_with_excluded_members_does_not_read_memberships(
    client: httpx.AsyncClient, store: MongoStore, database_commands: object
) -> None:
    """RFC 7644 §3.4.2.5: excludedAttributes=members leaves members out, and they are not read."""
    from identity_store.mongo import CommandCounter

    assert isinstance(database_commands, CommandCounter)
    user = await create_user(client, "m")
    group = await create_group(client, "Big", (str(user["id"]),))
    with database_commands.counting() as counted:
        await client.get(f"/Groups/{group['id']}")
    with_members = database_commands.total
    with database_commands.counting() as counted:
        response = await client.get(f"/Groups/{group['id']}", params={"excludedAttributes": "members"})
    assert response.status_code == 200
    assert "members" not in response.json()
    # The token check (credential, tenant), the tenant's extension schemas (this app caches
    # neither) and the group: the membership and member-name queries are gone.
    assert counted == {"find": 4}
    assert with_members == 6


async def test_put_group_replaces_members(client: httpx.AsyncClient) -> None:
    """RFC 7644 §3.5.1: PUT on a group replaces its member list."""
    a = await create_user(client, "a")
    b = await create_user(client, "b")
    group = await create_group(client, "G", (str(a["id"]),))
    response = await client.put(
        f"/Groups/{group['id']}",
        json={"schemas": [GROUP_URN], "displayName": "G2", "members": [{"value": b["id"]}]},
    )
    assert response.status_code == 200
    assert [m["value"] for m in response.json()["members"]] == [b["id"]]


async def test_delete_group(client: httpx.AsyncClient) -> None:
    """RFC 7644 §3.6: deleting a group answers 204."""
    group = await create_group(client, "Temp")
    assert (await client.delete(f"/Groups/{group['id']}")).status_code == 204
    assert (await client.get(f"/Groups/{group['id']}")).status_code == 404


async def test_changes_are_recorded_with_the_credential(
    client: httpx.AsyncClient, store: MongoStore, tenant: Tenant, token: object
) -> None:
    """Every change made through SCIM is in the event log with the credential that made it."""
    from identity_store.domain.credentials import IssuedSecret

    assert isinstance(token, IssuedSecret)
    response = await client.post("/Users", json=user_body("audited"), headers={"X-Request-Id": "req-42"})
    created = response.json()
    events = await store.tenant(tenant.id).events.read(aggregate_ids=[str(created["id"])])
    assert [e.event.type for e in events] == [EventType.USER_CREATED]
    assert events[0].correlation_id == "req-42"
    assert events[0].actor.credential_id == token.credential.id
    assert events[0].actor.kind == "scim-token"


async def test_me_is_501(client: httpx.AsyncClient) -> None:
    """RFC 7644 §3.11: /Me may be unsupported; it answers 501 with a SCIM error."""
    response = await client.get("/Me")
    assert response.status_code == 501
    assert response.json()["status"] == "501"


async def test_unknown_endpoint_is_a_scim_404(client: httpx.AsyncClient) -> None:
    """RFC 7644 §3.12: errors are SCIM Error messages, also for unknown endpoints."""
    response = await client.get("/Nope")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith(SCIM_JSON)


async def test_a_user_lists_the_groups_it_is_a_direct_member_of(client: httpx.AsyncClient) -> None:
    """RFC 7643 §4.1.2: groups (readOnly) lists the user's groups with value, $ref and type."""
    user = await create_user(client, "grouped")
    group = await create_group(client, "Direct", (str(user["id"]),))
    fetched = (await client.get(f"/Users/{user['id']}")).json()
    assert fetched["groups"] == [{"value": group["id"], "$ref": f"{BASE}/Groups/{group['id']}", "type": "direct"}]
    listed = (await client.get("/Users", params={"filter": 'userName eq "grouped"'})).json()
    assert listed["Resources"][0]["groups"][0]["value"] == group["id"]
    without = (await client.get(f"/Users/{user['id']}", params={"excludedAttributes": "groups"})).json()
    assert "groups" not in without
