"""A large group is read in bounded batches and sent as a stream (scim_facade/streaming.py).

``GET /Groups/{id}`` of a group above ``STREAM_ABOVE`` members answers a chunked body whose
bytes are those of the whole rendering; its database commands grow with members / batch, never
one per member; ``attributes``/``excludedAttributes`` and ``If-None-Match`` behave as for any
group. The groups are seeded straight into the database, as an import would.
"""

from __future__ import annotations

import json
import math
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from identity_service.app import create_app
from identity_service.settings import Settings
from identity_store import Tenant
from identity_store.domain.credentials import IssuedSecret
from identity_store.domain.memberships import Membership, MemberType
from identity_store.domain.resources import Meta, new_id, now
from identity_store.domain.schema import USER_SCHEMA
from identity_store.domain.users import User
from identity_store.mongo import CommandCounter, MongoStore
from identity_store.mongo.documents import MEMBER_COUNT, membership_to_document, user_to_document
from identity_store.mongo.memberships import MEMBER_BATCH
from identity_store.mongo.resources import NAMES_BATCH
from scim_facade.streaming import STREAM_ABOVE
from tests.scim_facade.conftest import BASE, SCIM_JSON, client_for, create_group

pytestmark = pytest.mark.slow


@pytest.fixture
async def cached(
    store: MongoStore, database_uri: str, database_name: str, token: IssuedSecret
) -> AsyncIterator[httpx.AsyncClient]:
    """A client whose token is verified once, so a request's commands are the group read's own."""
    app = create_app(Settings(mongodb_uri=database_uri, database=database_name))
    app.state.store = store
    async with client_for(app, token.secret) as scim:
        await scim.get("/ServiceProviderConfig")
        yield scim


async def seed_group(store: MongoStore, tenant: Tenant, client: httpx.AsyncClient, size: int) -> tuple[str, list[str]]:
    """A group of ``size`` new users, created over SCIM and filled straight in the database."""
    group = await create_group(client, f"Large {size} {new_id()[:6]}")
    group_id = str(group["id"])
    at = now()
    users = [
        User(
            id=new_id(),
            tenant_id=tenant.id,
            attributes={"userName": f"member{i:06}@{group_id}.example.com"},
            meta=Meta(created=at, last_modified=at, version=1),
        )
        for i in range(size)
    ]
    await store.database["users"].insert_many([user_to_document(u, USER_SCHEMA) for u in users])
    memberships = [
        membership_to_document(
            tenant.id, Membership(group_id=group_id, member_id=u.id, member_type=MemberType.USER, added_at=at)
        )
        for u in users
    ]
    await store.database["memberships"].insert_many(memberships)
    await store.database["groups"].update_one({"tenant": tenant.id, "_id": group_id}, {"$inc": {MEMBER_COUNT: size}})
    return group_id, sorted(u.id for u in users)


def expected_members(member_ids: list[str], names: dict[str, str] | None = None) -> list[dict[str, Any]]:
    return [
        {
            "value": m,
            "$ref": f"{BASE}/Users/{m}",
            "type": "User",
            **({"display": names[m]} if names is not None else {}),
        }
        for m in member_ids
    ]


async def names_of(store: MongoStore, tenant: Tenant, member_ids: list[str]) -> dict[str, str]:
    cursor = store.database["users"].find({"tenant": tenant.id}, {"attrs.userName": 1})
    return {d["_id"]: d["attrs"]["userName"] async for d in cursor if d["_id"] in set(member_ids)}


async def test_a_group_above_the_threshold_is_streamed_with_exactly_its_members(
    store: MongoStore, tenant: Tenant, cached: httpx.AsyncClient
) -> None:
    """2,500 members: a chunked application/scim+json body with the ETag, which parses to the
    group with every member once, in member-id order, and ``meta`` last."""
    group_id, member_ids = await seed_group(store, tenant, cached, 2_500)

    response = await cached.get(f"/Groups/{group_id}")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith(SCIM_JSON)
    assert "content-length" not in response.headers  # streamed: the length is not known up front
    body = response.json()
    assert response.headers["etag"] == body["meta"]["version"]
    assert list(body) == ["schemas", "id", "displayName", "members", "meta"]
    assert body["members"] == expected_members(member_ids, await names_of(store, tenant, member_ids))


@pytest.mark.parametrize("params", [{}, {"attributes": "members.value"}, {"excludedAttributes": "members.display"}])
async def test_a_streamed_body_has_the_bytes_of_the_whole_rendering(
    store: MongoStore,
    tenant: Tenant,
    cached: httpx.AsyncClient,
    monkeypatch: pytest.MonkeyPatch,
    params: dict[str, str],
) -> None:
    """A group just under the threshold is sent as one body; streamed (threshold lowered), the
    same group's bytes are the same, with the same selection of sub-attributes."""
    group_id, member_ids = await seed_group(store, tenant, cached, STREAM_ABOVE)

    whole = await cached.get(f"/Groups/{group_id}", params=params)
    monkeypatch.setattr("scim_facade.groups.STREAM_ABOVE", 10)
    streamed = await cached.get(f"/Groups/{group_id}", params=params)

    assert "content-length" in whole.headers
    assert "content-length" not in streamed.headers
    assert streamed.status_code == whole.status_code == 200
    assert streamed.headers["etag"] == whole.headers["etag"]
    assert streamed.content == whole.content
    assert json.loads(streamed.content) == json.loads(whole.content)
    assert [m["value"] for m in streamed.json()["members"]] == member_ids


@pytest.mark.parametrize("names", [True, False])
async def test_database_commands_grow_with_members_over_the_batch_never_per_member(
    store: MongoStore, tenant: Tenant, cached: httpx.AsyncClient, database_commands: CommandCounter, names: bool
) -> None:
    """1,000 and 3,000 members: the group, one read of its memberships fetched MEMBER_BATCH at a
    time (getMore), and their names NAMES_BATCH ids per query (none without members.display)."""
    params = {} if names else {"attributes": "members.value"}
    counts: dict[int, dict[str, int]] = {}
    for size in (1_000, 3_000):
        group_id, _ = await seed_group(store, tenant, cached, size)
        with database_commands.counting() as counted:
            response = await cached.get(f"/Groups/{group_id}", params=params)
        counts[size] = dict(counted)
        assert response.status_code == 200
        assert len(response.json()["members"]) == size

    for size, commands in counts.items():
        name_queries = math.ceil(size / NAMES_BATCH) if names else 0
        assert commands["find"] == 2 + name_queries
        # the find brings the first batch; one more getMore finds the cursor exhausted
        assert commands["getMore"] == math.ceil(size / MEMBER_BATCH)
        assert sum(commands.values()) < size / 10
    assert counts[3_000]["getMore"] == 3 * counts[1_000]["getMore"]


async def test_attributes_and_excluded_attributes_still_choose_the_members(
    store: MongoStore, tenant: Tenant, cached: httpx.AsyncClient, database_commands: CommandCounter
) -> None:
    """``attributes=members`` returns only the members (and id, schemas, meta), streamed;
    ``excludedAttributes=members`` returns none, in one body, without reading them."""
    group_id, member_ids = await seed_group(store, tenant, cached, 2_500)

    only = await cached.get(f"/Groups/{group_id}", params={"attributes": "members"})
    with database_commands.counting() as counted:
        without = await cached.get(f"/Groups/{group_id}", params={"excludedAttributes": "members"})
    cost = dict(counted)

    assert only.status_code == 200
    assert list(only.json()) == ["schemas", "id", "members", "meta"]
    assert only.json()["members"] == expected_members(member_ids, await names_of(store, tenant, member_ids))
    assert without.status_code == 200
    assert "members" not in without.json()
    assert "content-length" in without.headers
    assert cost == {"find": 1}


async def test_if_none_match_answers_304_without_reading_members(
    store: MongoStore, tenant: Tenant, cached: httpx.AsyncClient, database_commands: CommandCounter
) -> None:
    """RFC 7644 §3.14: the current version in If-None-Match is 304, decided on the group alone."""
    group_id, _ = await seed_group(store, tenant, cached, 2_500)
    version = (await cached.get(f"/Groups/{group_id}", params={"excludedAttributes": "members"})).headers["etag"]

    with database_commands.counting() as counted:
        response = await cached.get(f"/Groups/{group_id}", headers={"If-None-Match": version})

    cost = dict(counted)

    assert response.status_code == 304
    assert response.content == b""
    assert cost == {"find": 1}
