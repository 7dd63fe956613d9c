"""Soft delete seen through SCIM (RFC 7644 §3.6): a DELETE answers 204 and the resource is 404,
gone from lists, filters and groups; restored (by the restore command), it is the same resource
again, with its groups and its manager; its userName is free while it is deleted, and a restore
over a name taken meanwhile is a uniqueness error that restores nothing.
"""

from __future__ import annotations

import httpx
import pytest

from identity_store import RestoreGroup, RestoreUser, Tenant, Uniqueness
from identity_store.bootstrap import bootstrap
from identity_store.bus import RequestContext
from identity_store.events import Actor
from identity_store.mongo import MongoStore
from tests.scim_facade.conftest import ENTERPRISE_URN, create_group, create_user

BULK_URN = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"


def operator(tenant: Tenant) -> RequestContext:
    return RequestContext(tenant_id=tenant.id, actor=Actor(credential_id=None, kind="cli"))


async def test_delete_404_restore_gives_back_the_same_user_with_its_groups_and_manager(
    client: httpx.AsyncClient, store: MongoStore, tenant: Tenant
) -> None:
    boss = await create_user(client, "boss", displayName="Boss")
    user = await create_user(client, "ada", displayName="Ada", **{ENTERPRISE_URN: {"manager": {"value": boss["id"]}}})
    report = await create_user(client, "report", **{ENTERPRISE_URN: {"manager": {"value": user["id"]}}})
    group = await create_group(client, "Staff", (str(user["id"]),))

    assert (await client.delete(f"/Users/{user['id']}")).status_code == 204
    assert (await client.get(f"/Users/{user['id']}")).status_code == 404
    listed = (await client.get("/Users", params={"filter": 'userName eq "ada"'})).json()
    assert listed["totalResults"] == 0
    assert (await client.get(f"/Groups/{group['id']}")).json().get("members", []) == []
    assert ENTERPRISE_URN not in (await client.get(f"/Users/{report['id']}")).json()

    await bootstrap(store).dispatch(operator(tenant), RestoreUser(user_id=str(user["id"])))

    again = (await client.get(f"/Users/{user['id']}")).json()
    assert again["id"] == user["id"]
    assert again["userName"] == "ada"
    assert again["displayName"] == "Ada"
    assert again[ENTERPRISE_URN]["manager"]["value"] == boss["id"]
    assert again["meta"]["created"] == user["meta"]["created"]  # type: ignore[index]
    assert again["meta"]["version"] == 'W/"2"'
    assert [g["value"] for g in again["groups"]] == [group["id"]]
    members = (await client.get(f"/Groups/{group['id']}")).json()["members"]
    assert [m["value"] for m in members] == [user["id"]]
    assert (await client.get(f"/Users/{report['id']}")).json()[ENTERPRISE_URN]["manager"]["value"] == user["id"]


async def test_a_deleted_users_name_can_be_provisioned_again_and_then_the_restore_is_refused(
    client: httpx.AsyncClient, store: MongoStore, tenant: Tenant
) -> None:
    old = await create_user(client, "ada")
    assert (await client.delete(f"/Users/{old['id']}")).status_code == 204

    new = await create_user(client, "ada")

    assert new["id"] != old["id"]
    with pytest.raises(Uniqueness):
        await bootstrap(store).dispatch(operator(tenant), RestoreUser(user_id=str(old["id"])))
    assert (await client.get(f"/Users/{old['id']}")).status_code == 404
    assert (await client.get(f"/Users/{new['id']}")).json()["userName"] == "ada"


async def test_a_deleted_group_is_404_its_name_free_and_it_comes_back_with_its_members(
    client: httpx.AsyncClient, store: MongoStore, tenant: Tenant
) -> None:
    user = await create_user(client, "ada")
    group = await create_group(client, "Staff", (str(user["id"]),))
    assert (await client.delete(f"/Groups/{group['id']}")).status_code == 204
    assert (await client.get(f"/Groups/{group['id']}")).status_code == 404
    assert "groups" not in (await client.get(f"/Users/{user['id']}")).json()

    await bootstrap(store).dispatch(operator(tenant), RestoreGroup(group_id=str(group["id"])))

    back = (await client.get(f"/Groups/{group['id']}")).json()
    assert back["displayName"] == "Staff"
    assert [m["value"] for m in back["members"]] == [user["id"]]


async def test_a_bulk_delete_is_a_soft_delete_too(client: httpx.AsyncClient, store: MongoStore) -> None:
    user = await create_user(client, "ada")
    response = await client.post(
        "/Bulk",
        json={"schemas": [BULK_URN], "Operations": [{"method": "DELETE", "path": f"/Users/{user['id']}"}]},
    )

    assert response.json()["Operations"][0]["status"] == "204"
    assert (await client.get(f"/Users/{user['id']}")).status_code == 404
    assert await store.database["deleted_users"].count_documents({"_id": user["id"]}) == 1
