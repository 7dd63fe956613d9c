"""What each SCIM request costs in database commands, and that it does not grow with group size.

Measured with the token cache on (the default), so authentication costs nothing after the first
request. Counts are per command name, as the driver sends them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from identity_app import Settings, create_app
from identity_store import Tenant
from identity_store.domain.credentials import IssuedSecret
from identity_store.mongo import CommandCounter, MongoStore
from tests.scim_facade.conftest import SIGNING_KEY, client_for, create_group, create_user, patch_body
from tests.scim_facade.oauth import access_token, add_secret, create_client as create_oauth_client


@pytest.fixture
async def cached(
    store: MongoStore, database_uri: str, database_name: str, token: IssuedSecret
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(Settings(mongodb_uri=database_uri, database=database_name))
    app.state.store = store
    async with client_for(app, token.secret) as scim:
        await scim.get("/ServiceProviderConfig")  # the token is verified (and cached) here
        yield scim


async def cost(commands: CommandCounter, request: object) -> dict[str, int]:
    with commands.counting() as counted:
        response = await request  # type: ignore[misc]
    assert isinstance(response, httpx.Response)
    assert response.status_code < 300, response.text
    return dict(counted)


async def test_database_commands_per_request_kind(cached: httpx.AsyncClient, commands: CommandCounter) -> None:
    """Each request kind costs a fixed, small number of commands; group size does not matter."""
    users = [await create_user(cached, f"c{i}") for i in range(202)]
    small = await create_group(cached, "Small", (str(users[0]["id"]),))
    large = await create_group(cached, "Large", tuple(str(u["id"]) for u in users[:200]))
    one = str(users[1]["id"])

    measured = {
        "GET user by id": await cost(commands, cached.get(f"/Users/{one}")),
        "GET users with filter": await cost(commands, cached.get("/Users", params={"filter": 'userName eq "c1"'})),
        "POST user": await cost(commands, cached.post("/Users", json={"userName": "new"})),
        "PATCH user": await cost(
            commands,
            cached.patch(f"/Users/{one}", json=patch_body({"op": "replace", "path": "title", "value": "T"})),
        ),
        "PATCH small group add 1 member": await cost(
            commands,
            cached.patch(
                f"/Groups/{small['id']}",
                json=patch_body({"op": "add", "path": "members", "value": [{"value": users[201]["id"]}]}),
            ),
        ),
        "PATCH large group add 1 member": await cost(
            commands,
            cached.patch(
                f"/Groups/{large['id']}",
                json=patch_body({"op": "add", "path": "members", "value": [{"value": users[201]["id"]}]}),
            ),
        ),
        "PATCH large group remove 1 member": await cost(
            commands,
            cached.patch(
                f"/Groups/{large['id']}",
                json=patch_body({"op": "remove", "path": f'members[value eq "{users[201]["id"]}"]'}),
            ),
        ),
        "GET large group without members": await cost(
            commands, cached.get(f"/Groups/{large['id']}", params={"excludedAttributes": "members"})
        ),
        "DELETE user": await cost(commands, cached.delete(f"/Users/{users[2]['id']}")),
    }
    for kind, counted in measured.items():
        print(f"{kind:36} {sum(counted.values()):3}  {counted}")
    assert measured["PATCH small group add 1 member"] == measured["PATCH large group add 1 member"]
    assert measured["GET user by id"] == {"find": 2}  # the user, and the groups it is in
    assert measured["GET large group without members"] == {"find": 1}
    assert all(sum(c.values()) <= 12 for c in measured.values())


async def test_member_displays_cost_one_query_per_page_not_per_member(
    cached: httpx.AsyncClient, commands: CommandCounter
) -> None:
    """A group's members carry display; their names are read in one query for the whole page of
    groups, so a group of 150 members costs as many queries as a group of one."""
    users = [await create_user(cached, f"d{i}") for i in range(150)]
    small = await create_group(cached, "Small", (str(users[0]["id"]),))
    large = await create_group(cached, "Large", tuple(str(u["id"]) for u in users))

    small_cost = await cost(commands, cached.get(f"/Groups/{small['id']}"))
    large_cost = await cost(commands, cached.get(f"/Groups/{large['id']}"))
    page_cost = await cost(commands, cached.get("/Groups"))

    # the group, its memberships, its members' names (a large result may add getMore batches)
    assert small_cost == {"find": 3}
    assert large_cost["find"] == 3
    # the page of groups and its total (aggregate), the page's memberships, their names
    assert (page_cost["find"], page_cost["aggregate"]) == (3, 1)
    page = (await cached.get("/Groups")).json()["Resources"]
    assert all("display" in m for group in page for m in group["members"])


async def test_member_displays_are_not_read_when_not_returned(
    cached: httpx.AsyncClient, commands: CommandCounter
) -> None:
    """attributes=members.value or excludedAttributes=members.display: the names are not read."""
    user = await create_user(cached, "quiet")
    group = await create_group(cached, "Quiet", (str(user["id"]),))
    only_values = await cost(commands, cached.get(f"/Groups/{group['id']}", params={"attributes": "members.value"}))
    no_display = await cost(
        commands, cached.get(f"/Groups/{group['id']}", params={"excludedAttributes": "members.display"})
    )
    assert only_values == no_display == {"find": 2}  # the group and its memberships


async def test_a_cached_access_token_costs_no_database_command(
    store: MongoStore, database_uri: str, database_name: str, tenant: Tenant, commands: CommandCounter
) -> None:
    """An OAuth access token is checked against its client once; later requests cost no lookup."""
    app = create_app(Settings(mongodb_uri=database_uri, database=database_name, oauth_signing_key=SIGNING_KEY))
    app.state.store = store
    client = await create_oauth_client(store, tenant)
    token = await access_token(app, client, await add_secret(store, client))
    async with client_for(app, token) as scim:
        with commands.counting() as counted:
            assert (await scim.get("/ServiceProviderConfig")).status_code == 200
        first = dict(counted)
        with commands.counting() as counted:
            assert (await scim.get("/ServiceProviderConfig")).status_code == 200
        second = dict(counted)
    assert first == {"find": 2}  # the client, then the tenant
    assert second == {}
