"""PATCH (RFC 7644 §3.5.2): add, replace, remove; value paths; URN paths; atomicity; members."""

from __future__ import annotations

from typing import Any

import httpx

from identity_store import Tenant
from identity_store.mongo import CommandCounter, MongoStore
from tests.scim_facade.conftest import ENTERPRISE_URN, create_group, create_user, patch_body


async def patch(
    client: httpx.AsyncClient, path: str, *operations: dict[str, Any], headers: dict[str, str] | None = None
) -> httpx.Response:
    return await client.patch(path, json=patch_body(*operations), headers=headers)


async def test_replace_with_a_path(client: httpx.AsyncClient) -> None:
    """RFC 7644 §3.5.2.3: replace the value at the path."""
    user = await create_user(client, "p1", title="Old")
    response = await patch(client, f"/Users/{user['id']}", {"op": "replace", "path": "title", "value": "New"})
    assert response.status_code == 200
    assert response.json()["title"] == "New"
    assert response.headers["ETag"] == 'W/"2"'


async def test_op_names_are_case_insensitive(client: httpx.AsyncClient) -> None:
    """Entra sends "Replace"/"Add"/"Remove"; op values are matched without regard to case."""
    user = await create_user(client, "p2")
    response = await patch(client, f"/Users/{user['id']}", {"op": "Replace", "path": "displayName", "value": "D"})
    assert response.json()["displayName"] == "D"


async def test_add_without_a_path_merges_attributes(client: httpx.AsyncClient) -> None:
    """RFC 7644 §3.5.2.1: without a path, the value is an object of attributes to add."""
    user = await create_user(client, "p3")
    response = await patch(
        client, f"/Users/{user['id']}", {"op": "add", "value": {"nickName": "Nick", "name": {"givenName": "G"}}}
    )
    body = response.json()
    assert body["nickName"] == "Nick"
    assert body["name"] == {"givenName": "G"}


async def test_remove_an_attribute(client: httpx.AsyncClient) -> None:
    """RFC 7644 §3.5.2.2: remove unassigns the attribute at the path."""
    user = await create_user(client, "p4", title="T")
    response = await patch(client, f"/Users/{user['id']}", {"op": "remove", "path": "title"})
    assert "title" not in response.json()


async def test_remove_without_a_path_is_no_target(client: httpx.AsyncClient) -> None:
    """RFC 7644 §3.5.2.2: remove needs a path; without one it is 400 noTarget."""
    user = await create_user(client, "p5")
    response = await patch(client, f"/Users/{user['id']}", {"op": "remove"})
    assert response.status_code == 400
    assert response.json()["scimType"] == "noTarget"


async def test_value_path_filter_replaces_a_sub_attribute_of_matching_elements(client: httpx.AsyncClient) -> None:
    """RFC 7644 §3.5.2.3: emails[type eq "work"].value replaces only the work email."""
    user = await create_user(
        client, "p6", emails=[{"type": "work", "value": "old@w.example"}, {"type": "home", "value": "h@h.example"}]
    )
    response = await patch(
        client,
        f"/Users/{user['id']}",
        {"op": "replace", "path": 'emails[type eq "work"].value', "value": "new@w.example"},
    )
    assert response.json()["emails"] == [
        {"type": "work", "value": "new@w.example"},
        {"type": "home", "value": "h@h.example"},
    ]


async def test_remove_with_a_value_path_filter(client: httpx.AsyncClient) -> None:
    """RFC 7644 §3.5.2.2: remove emails[type eq "home"] removes the matching elements only."""
    user = await create_user(client, "p7", emails=[{"type": "work", "value": "w@x"}, {"type": "home", "value": "h@x"}])
    response = await patch(client, f"/Users/{user['id']}", {"op": "remove", "path": 'emails[type eq "home"]'})
    assert response.json()["emails"] == [{"type": "work", "value": "w@x"}]


async def test_enterprise_attributes_by_urn_path(client: httpx.AsyncClient) -> None:
    """RFC 7644 §3.5.2: an extension attribute is addressed by its schema URN and name."""
    user = await create_user(client, "p8")
    response = await patch(
        client, f"/Users/{user['id']}", {"op": "add", "path": f"{ENTERPRISE_URN}:department", "value": "Sales"}
    )
    assert response.json()[ENTERPRISE_URN]["department"] == "Sales"
    response = await patch(client, f"/Users/{user['id']}", {"op": "remove", "path": f"{ENTERPRISE_URN}:department"})
    assert ENTERPRISE_URN not in response.json()


async def test_path_less_value_with_urn_keys(client: httpx.AsyncClient) -> None:
    """RFC 7644 §3.5.2.3: a path-less value may carry extension attributes under URN keys."""
    user = await create_user(client, "p9")
    response = await patch(
        client,
        f"/Users/{user['id']}",
        {"op": "replace", "value": {f"{ENTERPRISE_URN}:costCenter": "42", ENTERPRISE_URN: {"division": "D"}}},
    )
    assert response.json()[ENTERPRISE_URN] == {"costCenter": "42", "division": "D"}


async def test_operations_are_applied_all_or_nothing(client: httpx.AsyncClient) -> None:
    """RFC 7644 §3.5.2: if any operation fails, none is applied."""
    user = await create_user(client, "atomic", title="Before")
    response = await patch(
        client,
        f"/Users/{user['id']}",
        {"op": "replace", "path": "title", "value": "After"},
        {"op": "replace", "path": "favouriteColour", "value": "red"},
    )
    assert response.status_code == 400
    after = (await client.get(f"/Users/{user['id']}")).json()
    assert after["title"] == "Before"
    assert after["meta"]["version"] == 'W/"1"'


async def test_an_unparseable_path_is_invalid_path(client: httpx.AsyncClient) -> None:
    """RFC 7644 Table 9: a path that is not an attribute path is invalidPath."""
    user = await create_user(client, "p10")
    response = await patch(client, f"/Users/{user['id']}", {"op": "replace", "path": "emails[type eq", "value": "x"})
    assert response.status_code == 400
    assert response.json()["scimType"] == "invalidPath"


async def test_an_unknown_op_is_invalid_syntax(client: httpx.AsyncClient) -> None:
    """RFC 7644 §3.5.2: op is one of add, remove, replace."""
    user = await create_user(client, "p11")
    response = await patch(client, f"/Users/{user['id']}", {"op": "move", "path": "title", "value": "x"})
    assert response.status_code == 400
    assert response.json()["scimType"] == "invalidSyntax"


async def test_a_body_without_the_patch_schema_is_invalid_syntax(client: httpx.AsyncClient) -> None:
    """RFC 7644 §3.5.2: the body names urn:ietf:params:scim:api:messages:2.0:PatchOp."""
    user = await create_user(client, "p12")
    response = await client.patch(f"/Users/{user['id']}", json={"Operations": [{"op": "add", "value": {}}]})
    assert response.status_code == 400
    assert response.json()["scimType"] == "invalidSyntax"


async def test_prefer_return_minimal_gives_204(client: httpx.AsyncClient) -> None:
    """RFC 7644 §3.5.2 / RFC 7240: the server may answer 204 when the client asks for no body."""
    user = await create_user(client, "p13")
    response = await client.patch(
        f"/Users/{user['id']}",
        json=patch_body({"op": "replace", "path": "title", "value": "x"}),
        headers={"Prefer": "return=minimal"},
    )
    assert response.status_code == 204
    assert response.headers["ETag"] == 'W/"2"'


async def test_group_member_add_and_remove(client: httpx.AsyncClient) -> None:
    """RFC 7644 §3.5.2.1/§3.5.2.2: add to members, then remove one by members[value eq "id"]."""
    a = await create_user(client, "ga")
    b = await create_user(client, "gb")
    group = await create_group(client, "Team", (str(a["id"]),))
    added = await patch(
        client, f"/Groups/{group['id']}", {"op": "add", "path": "members", "value": [{"value": b["id"]}]}
    )
    assert added.status_code == 204
    members = (await client.get(f"/Groups/{group['id']}")).json()["members"]
    assert {m["value"] for m in members} == {a["id"], b["id"]}
    removed = await patch(client, f"/Groups/{group['id']}", {"op": "remove", "path": f'members[value eq "{a["id"]}"]'})
    assert removed.status_code == 204
    members = (await client.get(f"/Groups/{group['id']}")).json()["members"]
    assert [m["value"] for m in members] == [b["id"]]


async def test_group_remove_members_with_a_value_list(client: httpx.AsyncClient) -> None:
    """Entra removes members as remove on "members" with a value list; only those go."""
    a = await create_user(client, "ra")
    b = await create_user(client, "rb")
    group = await create_group(client, "R", (str(a["id"]), str(b["id"])))
    await patch(client, f"/Groups/{group['id']}", {"op": "Remove", "path": "members", "value": [{"value": a["id"]}]})
    members = (await client.get(f"/Groups/{group['id']}")).json()["members"]
    assert [m["value"] for m in members] == [b["id"]]


async def test_group_remove_all_members(client: httpx.AsyncClient) -> None:
    """RFC 7644 §3.5.2.2: remove on "members" without a value removes every member."""
    a = await create_user(client, "xa")
    group = await create_group(client, "X", (str(a["id"]),))
    await patch(client, f"/Groups/{group['id']}", {"op": "remove", "path": "members"})
    assert "members" not in (await client.get(f"/Groups/{group['id']}")).json()


async def test_group_rename_and_member_change_in_one_request(client: httpx.AsyncClient) -> None:
    """RFC 7644 §3.5.2: several operations of one PATCH are applied together."""
    a = await create_user(client, "ya")
    group = await create_group(client, "Y")
    response = await patch(
        client,
        f"/Groups/{group['id']}",
        {"op": "replace", "value": {"displayName": "Y2"}},
        {"op": "add", "path": "members", "value": [{"value": a["id"]}]},
        {"op": "add", "path": "externalId", "value": "ext-y"},
        headers={"Prefer": "return=representation"},
    )
    body = response.json()
    assert body["displayName"] == "Y2"
    assert body["externalId"] == "ext-y"
    fetched = (await client.get(f"/Groups/{group['id']}")).json()
    assert [m["value"] for m in fetched["members"]] == [a["id"]]


async def test_adding_an_unknown_member_fails_and_changes_nothing(client: httpx.AsyncClient) -> None:
    """All or nothing: a member id that is not a user or group of the tenant rejects the PATCH."""
    group = await create_group(client, "Z")
    response = await patch(
        client,
        f"/Groups/{group['id']}",
        {"op": "replace", "path": "displayName", "value": "Z2"},
        {"op": "add", "path": "members", "value": [{"value": "nobody"}]},
    )
    assert response.status_code == 400
    assert (await client.get(f"/Groups/{group['id']}")).json()["displayName"] == "Z"


async def test_member_patch_cost_does_not_grow_with_group_size(
    client: httpx.AsyncClient, store: MongoStore, tenant: Tenant, database_commands: CommandCounter
) -> None:
    """Adding one member costs the same database commands for a group of 1 and of 60 members."""
    users = [await create_user(client, f"size{i}") for i in range(62)]
    small = await create_group(client, "Small", (str(users[0]["id"]),))
    big = await create_group(client, "Big", tuple(str(u["id"]) for u in users[:60]))
    costs = []
    for group in (small, big):
        add = {"op": "add", "path": "members", "value": [{"value": users[61]["id"]}]}
        with database_commands.counting() as counted:
            response = await patch(client, f"/Groups/{group['id']}", add)
        assert response.status_code == 204
        costs.append(dict(counted))
    assert costs[0] == costs[1]


async def test_a_filtered_path_matching_nothing_creates_the_element_by_default(client: httpx.AsyncClient) -> None:
    """Entra fills the work email with replace on emails[type eq "work"].value: by default the
    element is created from the filter's equalities."""
    user = await create_user(client, "entra")
    response = await patch(
        client, f"/Users/{user['id']}", {"op": "replace", "path": 'emails[type eq "work"].value', "value": "w@x"}
    )
    assert response.json()["emails"] == [{"type": "work", "value": "w@x"}]


async def test_a_strict_rfc_tenant_gets_no_target_for_a_filter_matching_nothing(
    client: httpx.AsyncClient, store: MongoStore, tenant: Tenant
) -> None:
    """RFC 7644 §3.5.2.3: with strict RFC behaviour, a filter that matches nothing is noTarget."""
    from identity_store import TenantSettings

    await store.tenants.update_settings(tenant.id, TenantSettings(strict_rfc=True))
    user = await create_user(client, "strict")
    response = await patch(
        client, f"/Users/{user['id']}", {"op": "replace", "path": 'emails[type eq "work"].value', "value": "w@x"}
    )
    assert response.status_code == 400
    assert response.json()["scimType"] == "noTarget"


async def test_group_patch_returns_members_when_asked_for(client: httpx.AsyncClient) -> None:
    """RFC 7644 §3.5.2: the PATCH response honours attributes; members come when asked for."""
    a = await create_user(client, "asked")
    group = await create_group(client, "Asked")
    response = await client.patch(
        f"/Groups/{group['id']}",
        params={"attributes": "members"},
        json=patch_body({"op": "add", "path": "members", "value": [{"value": a["id"]}]}),
    )
    assert [m["value"] for m in response.json()["members"]] == [a["id"]]


async def test_group_patch_answers_204_unless_the_resource_is_asked_for(client: httpx.AsyncClient) -> None:
    """RFC 7644 §3.5.2: 200 with the resource or 204; a group PATCH answers 204 by default (what
    Entra expects), and the group when asked with Prefer or attributes, members only if named."""
    member = await create_user(client, "pa")
    group = await create_group(client, "Answers")
    rename = {"op": "replace", "path": "displayName", "value": "Answers 2"}
    quiet = await patch(client, f"/Groups/{group['id']}", rename)
    assert (quiet.status_code, quiet.content, quiet.headers["ETag"]) == (204, b"", 'W/"2"')
    add = {"op": "add", "path": "members", "value": [{"value": member["id"]}]}
    asked = await patch(client, f"/Groups/{group['id']}", add, headers={"Prefer": "return=representation"})
    assert asked.status_code == 200
    assert asked.json()["displayName"] == "Answers 2"
    assert "members" not in asked.json()
    rename = {"op": "replace", "path": "displayName", "value": "Answers 3"}
    named = await client.patch(f"/Groups/{group['id']}", params={"attributes": "members"}, json=patch_body(rename))
    assert named.status_code == 200
    assert [m["value"] for m in named.json()["members"]] == [member["id"]]
