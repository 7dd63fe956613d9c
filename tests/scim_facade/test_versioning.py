"""Versioning with ETags (RFC 7644 §3.14)."""

from __future__ import annotations

import asyncio

import httpx

from tests.scim_facade.conftest import create_group, create_user, patch_body, user_body


async def test_get_returns_the_etag_of_meta_version(client: httpx.AsyncClient) -> None:
    """RFC 7644 §3.14: the ETag header equals meta.version."""
    user = await create_user(client, "e1")
    response = await client.get(f"/Users/{user['id']}")
    assert response.headers["ETag"] == response.json()["meta"]["version"] == 'W/"1"'


async def test_if_none_match_with_the_current_version_is_304(client: httpx.AsyncClient) -> None:
    """RFC 7644 §3.14 / RFC 7232 §3.2: If-None-Match matching the current version gives 304."""
    user = await create_user(client, "e2")
    response = await client.get(f"/Users/{user['id']}", headers={"If-None-Match": 'W/"1"'})
    assert response.status_code == 304
    assert response.content == b""
    changed = await client.get(f"/Users/{user['id']}", headers={"If-None-Match": 'W/"0"'})
    assert changed.status_code == 200


async def test_if_none_match_on_a_group_is_304(client: httpx.AsyncClient) -> None:
    """RFC 7232 §3.2: also for groups (and the members are then not read)."""
    group = await create_group(client, "E")
    response = await client.get(f"/Groups/{group['id']}", headers={"If-None-Match": 'W/"1"'})
    assert response.status_code == 304


async def test_put_with_a_stale_if_match_is_412(client: httpx.AsyncClient) -> None:
    """RFC 7644 §3.14: If-Match naming an old version fails with 412 and changes nothing."""
    user = await create_user(client, "e3", title="A")
    await client.patch(f"/Users/{user['id']}", json=patch_body({"op": "replace", "path": "title", "value": "B"}))
    response = await client.put(f"/Users/{user['id']}", json=user_body("e3", title="C"), headers={"If-Match": 'W/"1"'})
    assert response.status_code == 412
    assert response.json()["status"] == "412"
    assert (await client.get(f"/Users/{user['id']}")).json()["title"] == "B"


async def test_patch_with_the_current_if_match_succeeds(client: httpx.AsyncClient) -> None:
    """RFC 7644 §3.14: If-Match naming the current version lets the write through."""
    user = await create_user(client, "e4")
    response = await client.patch(
        f"/Users/{user['id']}",
        json=patch_body({"op": "replace", "path": "title", "value": "X"}),
        headers={"If-Match": 'W/"1"'},
    )
    assert response.status_code == 200
    assert response.headers["ETag"] == 'W/"2"'


async def test_patch_group_with_a_stale_if_match_is_412(client: httpx.AsyncClient) -> None:
    """RFC 7644 §3.14: also for group PATCH."""
    group = await create_group(client, "E5")
    response = await client.patch(
        f"/Groups/{group['id']}",
        json=patch_body({"op": "replace", "path": "displayName", "value": "E6"}),
        headers={"If-Match": 'W/"7"'},
    )
    assert response.status_code == 412


async def test_delete_with_a_stale_if_match_is_412(client: httpx.AsyncClient) -> None:
    """RFC 7644 §3.14: a conditional DELETE of a changed resource fails and deletes nothing."""
    user = await create_user(client, "e7")
    response = await client.delete(f"/Users/{user['id']}", headers={"If-Match": 'W/"3"'})
    assert response.status_code == 412
    assert (await client.get(f"/Users/{user['id']}")).status_code == 200


async def test_if_match_star_is_unconditional(client: httpx.AsyncClient) -> None:
    """RFC 7232 §3.1: If-Match: * matches any current version."""
    user = await create_user(client, "e8")
    assert (await client.delete(f"/Users/{user['id']}", headers={"If-Match": "*"})).status_code == 204


async def test_concurrent_patches_without_if_match_keep_both_changes(client: httpx.AsyncClient) -> None:
    """Writes without If-Match still use optimistic concurrency: no change is lost."""
    user = await create_user(client, "e9")
    operations = [
        {"op": "add", "path": "emails", "value": [{"value": f"m{i}@x.example", "type": "other"}]} for i in range(8)
    ]
    responses = await asyncio.gather(*(client.patch(f"/Users/{user['id']}", json=patch_body(op)) for op in operations))
    assert all(r.status_code == 200 for r in responses)
    emails = (await client.get(f"/Users/{user['id']}")).json()["emails"]
    assert len(emails) == 8


async def test_concurrent_member_additions_are_all_kept(client: httpx.AsyncClient) -> None:
    """Two writers adding different members at once: both memberships survive."""
    users = [await create_user(client, f"cm{i}") for i in range(6)]
    group = await create_group(client, "Concurrent")
    responses = await asyncio.gather(
        *(
            client.patch(
                f"/Groups/{group['id']}",
                json=patch_body({"op": "add", "path": "members", "value": [{"value": u["id"]}]}),
            )
            for u in users
        )
    )
    assert all(r.status_code == 204 for r in responses)
    fetched = (await client.get(f"/Groups/{group['id']}")).json()
    assert {m["value"] for m in fetched["members"]} == {u["id"] for u in users}
    assert fetched["meta"]["version"] == 'W/"7"'
