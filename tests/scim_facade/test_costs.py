"""What each SCIM request costs in database commands, and that it does not grow with group size.

Measured with the token cache on (the default), so authentication costs nothing after the first
request. Counts are per command name, as the driver sends them.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Awaitable

import httpx
import pytest

from identity_service.app import create_app
from identity_service.settings import Settings
from identity_store import Tenant
from identity_store.domain.credentials import IssuedSecret
from identity_store.mongo import CommandCounter, MongoStore
from identity_store.mongo.resources import NAMES_BATCH
from tests.scim_facade.conftest import SIGNING_KEY, client_for, create_group, create_user, patch_body
from tests.scim_facade.oauth import access_token, add_secret, create_client as create_oauth_client

BULK_URN = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"


@pytest.fixture
async def cached(
    store: MongoStore, database_uri: str, database_name: str, token: IssuedSecret
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(Settings(mongodb_uri=database_uri, database=database_name))
    app.state.store = store
    async with client_for(app, token.secret) as scim:
        await scim.get("/ServiceProviderConfig")  # the token is verified (and cached) here
        yield scim


async def cost(database_commands: CommandCounter, request: object) -> dict[str, int]:
    with database_commands.counting() as counted:
        response = await request  # type: ignore[misc]
    assert isinstance(response, httpx.Response)
    assert response.status_code < 300, response.text
    return dict(counted)


@pytest.mark.numbering("transaction")  # a sequencer's rounds: tests/identity_store/mongo/test_stamps.py
async def test_database_commands_per_request_kind(cached: httpx.AsyncClient, database_commands: CommandCounter) -> None:
    """Each request kind costs a fixed, small number of commands; group size does not matter."""
    users = [await create_user(cached, f"c{i}") for i in range(202)]
    small = await create_group(cached, "Small", (str(users[0]["id"]),))
    large = await create_group(cached, "Large", tuple(str(u["id"]) for u in users[:200]))
    one = str(users[1]["id"])

    measured = {
        "GET user by id": await cost(database_commands, cached.get(f"/Users/{one}")),
        "GET users with filter": await cost(
            database_commands, cached.get("/Users", params={"filter": 'userName eq "c1"'})
        ),
        "POST user": await cost(database_commands, cached.post("/Users", json={"userName": "new"})),
        "PATCH user": await cost(
            database_commands,
            cached.patch(f"/Users/{one}", json=patch_body({"op": "replace", "path": "title", "value": "T"})),
        ),
        "PATCH small group add 1 member": await cost(
            database_commands,
            cached.patch(
                f"/Groups/{small['id']}",
                json=patch_body({"op": "add", "path": "members", "value": [{"value": users[201]["id"]}]}),
            ),
        ),
        "PATCH large group add 1 member": await cost(
            database_commands,
            cached.patch(
                f"/Groups/{large['id']}",
                json=patch_body({"op": "add", "path": "members", "value": [{"value": users[201]["id"]}]}),
            ),
        ),
        "PATCH large group remove 1 member": await cost(
            database_commands,
            cached.patch(
                f"/Groups/{large['id']}",
                json=patch_body({"op": "remove", "path": f'members[value eq "{users[201]["id"]}"]'}),
            ),
        ),
        "GET large group without members": await cost(
            database_commands, cached.get(f"/Groups/{large['id']}", params={"excludedAttributes": "members"})
        ),
        "DELETE user": await cost(database_commands, cached.delete(f"/Users/{users[2]['id']}")),
    }
    for kind, counted in measured.items():
        print(f"{kind:36} {sum(counted.values()):3}  {counted}")
    assert measured["PATCH small group add 1 member"] == measured["PATCH large group add 1 member"]
    # One query reads the user with its groups and its manager's name ($lookup).
    assert measured["GET user by id"] == {"aggregate": 1}
    # The same for a list; a page that is not full needs no count for totalResults.
    assert measured["GET users with filter"] == {"aggregate": 1}
    assert measured["GET large group without members"] == {"find": 1}
    # A write: three commands of its own at most, plus the event sequence, the event and the commit.
    for kind in ("POST user", "PATCH user", "PATCH large group add 1 member", "PATCH large group remove 1 member"):
        assert sum(measured[kind].values()) <= 6, (kind, measured[kind])
    assert all(sum(c.values()) <= 12 for c in measured.values())


async def test_a_user_with_a_manager_and_groups_is_read_in_one_command(
    cached: httpx.AsyncClient, database_commands: CommandCounter
) -> None:
    """GET /Users/{id} shows the groups and the manager's displayName, read with the user in one query."""
    boss = await create_user(cached, "boss", displayName="The Boss")
    worker = await create_user(cached, "worker")
    group = await create_group(cached, "Crew", (str(worker["id"]),))
    manager_path = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager"
    patched = await cached.patch(
        f"/Users/{worker['id']}", json=patch_body({"op": "add", "path": manager_path, "value": boss["id"]})
    )
    assert patched.status_code == 200, patched.text

    with database_commands.counting() as counted:
        response = await cached.get(f"/Users/{worker['id']}")
    body = response.json()
    assert dict(counted) == {"aggregate": 1}
    assert [g["value"] for g in body["groups"]] == [group["id"]]
    manager = body["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]["manager"]
    assert (manager["value"], manager["displayName"]) == (boss["id"], "The Boss")


async def test_a_full_page_is_counted_and_a_partial_one_is_not(
    cached: httpx.AsyncClient, database_commands: CommandCounter
) -> None:
    """totalResults is exact either way; only a full page (more may follow) costs a count."""
    for i in range(3):
        await create_user(cached, f"page{i}")
    with database_commands.counting() as counted:
        full = (await cached.get("/Users", params={"filter": 'userName sw "page"', "count": "2"})).json()
    assert dict(counted) == {"aggregate": 2}  # the page, then the count
    with database_commands.counting() as counted:
        partial = (await cached.get("/Users", params={"filter": 'userName sw "page"', "startIndex": "3"})).json()
    assert dict(counted) == {"aggregate": 1}
    with database_commands.counting() as counted:
        beyond = (await cached.get("/Users", params={"filter": 'userName sw "page"', "startIndex": "9"})).json()
    assert dict(counted)["aggregate"] == 2  # an empty page past the end says nothing of the total
    assert (full["totalResults"], partial["totalResults"], beyond["totalResults"]) == (3, 3, 3)
    assert (len(full["Resources"]), len(partial["Resources"]), len(beyond["Resources"])) == (2, 1, 0)


async def test_member_displays_cost_one_query_per_batch_of_names_not_per_member(
    cached: httpx.AsyncClient, database_commands: CommandCounter
) -> None:
    """A group's members carry display; their names are read ``NAMES_BATCH`` ids per query, for
    the whole page of groups at once, so 150 members cost three name queries, never 150."""
    users = [await create_user(cached, f"d{i}") for i in range(150)]
    small = await create_group(cached, "Small", (str(users[0]["id"]),))
    large = await create_group(cached, "Large", tuple(str(u["id"]) for u in users))

    small_cost = await cost(database_commands, cached.get(f"/Groups/{small['id']}"))
    large_cost = await cost(database_commands, cached.get(f"/Groups/{large['id']}"))
    page_cost = await cost(database_commands, cached.get("/Groups"))

    name_batches = math.ceil(150 / NAMES_BATCH)
    assert name_batches == 3
    # the group, its memberships, its members' names
    assert small_cost == {"find": 3}
    assert large_cost == {"find": 2 + name_batches}
    # the tenant's counts (where the unfiltered page starts, and its total), the page of groups,
    # the page's memberships, the names of the 150 distinct members of both groups
    assert page_cost == {"find": 3 + name_batches}
    page = (await cached.get("/Groups")).json()["Resources"]
    assert all("display" in m for group in page for m in group["members"])


async def test_member_displays_are_not_read_when_not_returned(
    cached: httpx.AsyncClient, database_commands: CommandCounter
) -> None:
    """attributes=members.value or excludedAttributes=members.display: the names are not read."""
    user = await create_user(cached, "quiet")
    group = await create_group(cached, "Quiet", (str(user["id"]),))
    only_values = await cost(
        database_commands, cached.get(f"/Groups/{group['id']}", params={"attributes": "members.value"})
    )
    no_display = await cost(
        database_commands, cached.get(f"/Groups/{group['id']}", params={"excludedAttributes": "members.display"})
    )
    assert only_values == no_display == {"find": 2}  # the group and its memberships


async def test_a_cached_access_token_costs_no_database_command(
    store: MongoStore, database_uri: str, database_name: str, tenant: Tenant, database_commands: CommandCounter
) -> None:
    """An OAuth access token is checked against its client once, and the tenant's extension schemas
    are read once with it (kept as long as the token); later requests cost no lookup."""
    app = create_app(Settings(mongodb_uri=database_uri, database=database_name, oauth_signing_key=SIGNING_KEY))
    app.state.store = store
    client = await create_oauth_client(store, tenant)
    token = await access_token(app, client, await add_secret(store, client))
    async with client_for(app, token) as scim:
        with database_commands.counting() as counted:
            assert (await scim.get("/ServiceProviderConfig")).status_code == 200
        first = dict(counted)
        with database_commands.counting() as counted:
            assert (await scim.get("/ServiceProviderConfig")).status_code == 200
        second = dict(counted)
    assert first == {"find": 3}  # the client, the tenant, then the tenant's extension schemas
    assert second == {}


async def _users(client: httpx.AsyncClient, prefix: str, how_many: int) -> list[str]:
    """``how_many`` users created in one bulk request; their ids."""
    operations = [
        {"method": "POST", "path": "/Users", "bulkId": f"{prefix}{i}", "data": {"userName": f"{prefix}{i}"}}
        for i in range(how_many)
    ]
    response = await client.post("/Bulk", json={"schemas": [BULK_URN], "Operations": operations})
    assert response.status_code == 200, response.text
    return [str(o["location"]).rsplit("/", 1)[1] for o in response.json()["Operations"]]


async def test_membership_filters_cost_the_same_for_a_group_of_ten_and_of_a_thousand(
    cached: httpx.AsyncClient, database_commands: CommandCounter
) -> None:
    """``groups.value eq "g" and id eq "u"`` and ``members.value eq "u"`` read the member's side
    of the membership index, never the group's member list: group size does not matter."""
    members = await _users(cached, "m", 1_000)
    small = str((await create_group(cached, "Small", tuple(members[:10])))["id"])
    large = str((await create_group(cached, "Large", tuple(members)))["id"])
    one = members[0]

    def in_group(group: str) -> Awaitable[httpx.Response]:
        return cached.get("/Users", params={"filter": f'groups.value eq "{group}" and id eq "{one}"'})

    small_check = await cost(database_commands, in_group(small))
    large_check = await cost(database_commands, in_group(large))
    groups_of_one = await cost(
        database_commands, cached.get("/Groups", params={"filter": f'members.value eq "{one}"', "attributes": "id"})
    )
    typed = f'members.value eq "{one}" and members.type eq "Group"'
    typed_groups = await cost(database_commands, cached.get("/Groups", params={"filter": typed, "attributes": "id"}))

    assert small_check == large_check
    # the member's groups, then the page of users with their groups and manager's name
    assert small_check == {"find": 1, "aggregate": 1}
    # the member's groups, then the page of groups; their members are not read
    assert groups_of_one == {"find": 2}
    # and one look-up of one membership of the type per group of the member's
    assert typed_groups == {"find": 2, "aggregate": 1}
    found = (await in_group(large)).json()
    assert found["totalResults"] == 1


async def test_a_page_of_a_groups_users_costs_the_same_for_a_group_of_ten_and_of_a_thousand(
    cached: httpx.AsyncClient, database_commands: CommandCounter
) -> None:
    """``groups.value eq "g"`` walks g's user memberships from the cursor: a page of ten costs the
    same commands in a group of ten and of a thousand, deep in the group as at its start."""
    members = await _users(cached, "w", 1_000)
    small = str((await create_group(cached, "Small", tuple(members[:10])))["id"])
    large = str((await create_group(cached, "Large", tuple(members)))["id"])

    def page(group: str, cursor: str = "") -> Awaitable[httpx.Response]:
        return cached.get("/Users", params={"filter": f'groups.value eq "{group}"', "count": "10", "cursor": cursor})

    small_page = await cost(database_commands, page(small))
    large_page = await cost(database_commands, page(large))
    cursor = (await page(large)).json()["nextCursor"]
    for _ in range(20):
        cursor = (await page(large, cursor)).json()["nextCursor"]
    deep_page = await cost(database_commands, page(large, cursor))

    assert small_page == large_page == deep_page
