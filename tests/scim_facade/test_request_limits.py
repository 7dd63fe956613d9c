"""The declared request limits hold through the real app: at the limit a request is served, one
over it is a 400 SCIM error naming the limit, and nothing was written."""

from __future__ import annotations

from typing import Any

import httpx

from identity_store.domain.values import MAX_VALUES
from scim_facade.patch import GroupPatch, group_patch
from scim_facade.request_limits import MAX_FILTER_TERMS, MAX_PATCH_MEMBERS, MAX_PATCH_OPERATIONS
from tests.scim_facade.conftest import ERROR_URN, create_group, create_user, patch_body

BULK_URN = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"


def _error(response: httpx.Response, scim_type: str) -> dict[str, Any]:
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("application/scim+json")
    body: dict[str, Any] = response.json()
    assert body["schemas"] == [ERROR_URN]
    assert body["scimType"] == scim_type
    return body


async def test_a_patch_adding_the_most_roles_allowed_is_applied(client: httpx.AsyncClient) -> None:
    """One PATCH may fill a multi-valued attribute up to MAX_VALUES values."""
    user = await create_user(client, "roles")
    roles = [{"value": f"r{i}"} for i in range(MAX_VALUES)]
    response = await client.patch(
        f"/Users/{user['id']}", json=patch_body({"op": "add", "path": "roles", "value": roles})
    )
    assert response.status_code == 200, response.text
    assert len(response.json()["roles"]) == MAX_VALUES


async def test_a_patch_adding_one_role_too_many_is_refused(client: httpx.AsyncClient) -> None:
    """MAX_VALUES + 1 roles is 400 invalidValue, and the user keeps the roles it had."""
    user = await create_user(client, "roles", roles=[{"value": "kept"}])
    roles = [{"value": f"r{i}"} for i in range(MAX_VALUES)]
    response = await client.patch(
        f"/Users/{user['id']}", json=patch_body({"op": "add", "path": "roles", "value": roles})
    )
    _error(response, "invalidValue")
    assert (await client.get(f"/Users/{user['id']}")).json()["roles"] == [{"value": "kept"}]


async def test_too_many_patch_operations_is_too_many(client: httpx.AsyncClient) -> None:
    """More than MAX_PATCH_OPERATIONS operations is 400 tooMany."""
    user = await create_user(client, "ops")
    operation = {"op": "replace", "path": "title", "value": "t"}
    response = await client.patch(f"/Users/{user['id']}", json=patch_body(*[operation] * (MAX_PATCH_OPERATIONS + 1)))
    _error(response, "tooMany")
    assert "title" not in (await client.get(f"/Users/{user['id']}")).json()


async def test_a_filter_with_too_many_terms_is_invalid_filter(client: httpx.AsyncClient) -> None:
    """More than MAX_FILTER_TERMS comparisons is invalidFilter; exactly that many is served."""
    at_limit = " or ".join(f'userName eq "u{i}"' for i in range(MAX_FILTER_TERMS))
    assert (await client.get("/Users", params={"filter": at_limit})).status_code == 200
    over = at_limit + ' or userName eq "one more"'
    _error(await client.get("/Users", params={"filter": over}), "invalidFilter")


async def test_a_patch_naming_too_many_members_is_too_many(client: httpx.AsyncClient) -> None:
    """A group PATCH naming more than MAX_PATCH_MEMBERS members (added or removed) is 400 tooMany."""
    user = await create_user(client, "member")
    group = await create_group(client, "many", (str(user["id"]),))
    names = [{"value": f"m{i}"} for i in range(MAX_PATCH_MEMBERS + 1)]
    response = await client.patch(
        f"/Groups/{group['id']}", json=patch_body({"op": "remove", "path": "members", "value": names})
    )
    _error(response, "tooMany")
    members = (await client.get(f"/Groups/{group['id']}", params={"attributes": "members"})).json()["members"]
    assert [m["value"] for m in members] == [user["id"]]


def test_member_changes_keep_the_last_word_per_member() -> None:
    """Adding then removing a member (and the reverse) leaves one change per member, in order."""
    changes = GroupPatch()
    changes.add(("a", "b", "c"))
    changes.remove(("b", "d"))
    changes.add(("d",))
    assert changes.add_ids == ["a", "c", "d"]
    assert changes.remove_ids == ["b"]


def test_the_largest_member_patch_allowed_is_read_in_full() -> None:
    """MAX_PATCH_MEMBERS members over several operations are all kept (each costs O(1))."""
    half = MAX_PATCH_MEMBERS // 2
    body = patch_body(
        {"op": "add", "path": "members", "value": [{"value": f"a{i}"} for i in range(half)]},
        {"op": "remove", "path": "members", "value": [{"value": f"a{i}"} for i in range(half)]},
    )
    changes = group_patch(body)
    assert changes.add_ids == []
    assert len(changes.remove_ids) == half


async def test_bulk_operations_in_reverse_dependency_order_all_run(client: httpx.AsyncClient) -> None:
    """Each operation runs once the resource it names exists, whatever order the request lists them in."""
    operations: list[dict[str, Any]] = []
    depth = 50
    for i in reversed(range(depth)):
        data: dict[str, Any] = {"displayName": f"g{i}"}
        if i:
            data["members"] = [{"value": f"bulkId:g{i - 1}"}]
        operations.append({"method": "POST", "path": "/Groups", "bulkId": f"g{i}", "data": data})
    operations.append(
        {
            "method": "POST",
            "path": "/Groups",
            "bulkId": "loop",
            "data": {"displayName": "loop", "members": [{"value": "bulkId:loop"}]},
        }
    )
    response = await client.post("/Bulk", json={"schemas": [BULK_URN], "Operations": operations})
    assert response.status_code == 200
    statuses = {op["bulkId"]: op["status"] for op in response.json()["Operations"]}
    assert all(statuses[f"g{i}"] == "201" for i in range(depth))
    assert statuses["loop"] == "409"
