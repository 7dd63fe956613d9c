"""Membership filters: "is this user in that group" asked as ``groups.value eq`` on Users or
``members.value eq`` on Groups, answered from the membership records (RFC 7643 §4.1.2, §4.2;
RFC 7644 §3.4.2.2)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.scim_facade.conftest import create_group, create_user, patch_body

LIST_URN = "urn:ietf:params:scim:api:messages:2.0:ListResponse"


async def listed(client: httpx.AsyncClient, endpoint: str, text: str, **params: str) -> dict[str, Any]:
    response = await client.get(endpoint, params={"filter": text, **params})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert body["schemas"] == [LIST_URN]
    return body


def ids(body: dict[str, Any]) -> set[str]:
    return {r["id"] for r in body["Resources"]}


@pytest.fixture
async def team(client: httpx.AsyncClient) -> dict[str, str]:
    """Ann is in Engineering and Sales, Bob in Engineering only, Cat in no group; Sales is also a
    member of Engineering."""
    ann, bob, cat = [str((await create_user(client, name))["id"]) for name in ("ann", "bob", "cat")]
    sales = str((await create_group(client, "Sales", (ann,)))["id"])
    engineering = str((await create_group(client, "Engineering", (ann, bob, sales)))["id"])
    return {"ann": ann, "bob": bob, "cat": cat, "sales": sales, "engineering": engineering}


@pytest.mark.parametrize("shape", ['groups.value eq "{group}"', 'groups[value eq "{group}"]', 'groups eq "{group}"'])
async def test_a_user_in_the_group_is_listed_with_its_id(
    client: httpx.AsyncClient, team: dict[str, str], shape: str
) -> None:
    """``groups.value eq "g" and id eq "u"`` lists the user when it is a direct member of g."""
    text = shape.format(group=team["engineering"]) + f' and id eq "{team["bob"]}"'
    body = await listed(client, "/Users", text)
    assert ids(body) == {team["bob"]}
    assert body["totalResults"] == 1


async def test_a_user_not_in_the_group_is_not_listed(client: httpx.AsyncClient, team: dict[str, str]) -> None:
    """A user outside the group gives an empty list, not an error."""
    body = await listed(client, "/Users", f'groups.value eq "{team["sales"]}" and id eq "{team["bob"]}"')
    assert body["totalResults"] == 0
    assert body["Resources"] == []


async def test_an_unknown_group_gives_an_empty_list_never_404(client: httpx.AsyncClient, team: dict[str, str]) -> None:
    """Entra quarantines an application whose query answers 404: an unknown group selects nothing."""
    body = await listed(client, "/Users", f'groups.value eq "no-such-group" and id eq "{team["ann"]}"')
    assert body["totalResults"] == 0
    groups = await listed(client, "/Groups", 'members.value eq "no-such-member"')
    assert groups["totalResults"] == 0


async def test_users_membership_filter_keeps_the_other_conditions(
    client: httpx.AsyncClient, team: dict[str, str]
) -> None:
    """The other top-level conditions still hold: the member must also meet them."""
    member = f'groups.value eq "{team["engineering"]}" and id eq "{team["ann"]}"'
    assert ids(await listed(client, "/Users", member + ' and userName eq "ann"')) == {team["ann"]}
    assert ids(await listed(client, "/Users", member + ' and userName eq "bob"')) == set()


async def test_a_user_must_be_in_every_group_named(client: httpx.AsyncClient, team: dict[str, str]) -> None:
    """Two group conditions joined by and: a member of both."""
    both = f'groups.value eq "{team["engineering"]}" and groups.value eq "{team["sales"]}"'
    assert ids(await listed(client, "/Users", both + f' and id eq "{team["ann"]}"')) == {team["ann"]}
    assert ids(await listed(client, "/Users", both + f' and id eq "{team["bob"]}"')) == set()


async def test_a_removed_member_is_no_longer_listed(client: httpx.AsyncClient, team: dict[str, str]) -> None:
    """The answer follows the membership records as they are now."""
    removal = patch_body({"op": "remove", "path": f'members[value eq "{team["bob"]}"]'})
    assert (await client.patch(f"/Groups/{team['engineering']}", json=removal)).status_code in (200, 204)
    body = await listed(client, "/Users", f'groups.value eq "{team["engineering"]}" and id eq "{team["bob"]}"')
    assert body["totalResults"] == 0


@pytest.mark.parametrize("shape", ['members.value eq "{m}"', 'members[value eq "{m}"]', 'members eq "{m}"'])
async def test_groups_of_a_member(client: httpx.AsyncClient, team: dict[str, str], shape: str) -> None:
    """``members.value eq "u"`` lists the groups u is a direct member of, and only those."""
    body = await listed(client, "/Groups", shape.format(m=team["ann"]))
    assert ids(body) == {team["sales"], team["engineering"]}
    assert body["totalResults"] == 2
    assert ids(await listed(client, "/Groups", shape.format(m=team["bob"]))) == {team["engineering"]}
    assert ids(await listed(client, "/Groups", shape.format(m=team["cat"]))) == set()


async def test_groups_of_a_member_with_another_condition(client: httpx.AsyncClient, team: dict[str, str]) -> None:
    """``members.value eq "u" and displayName sw "Eng"``: both must hold."""
    body = await listed(client, "/Groups", f'members.value eq "{team["ann"]}" and displayName sw "Eng"')
    assert ids(body) == {team["engineering"]}
    assert body["totalResults"] == 1


async def test_the_legacy_group_check_still_answers(client: httpx.AsyncClient, team: dict[str, str]) -> None:
    """Entra's ``id eq "g" and members eq "u"``."""
    check = f'id eq "{team["sales"]}" and members eq "{team["ann"]}"'
    assert ids(await listed(client, "/Groups", check)) == {team["sales"]}
    check = f'id eq "{team["sales"]}" and members eq "{team["bob"]}"'
    assert ids(await listed(client, "/Groups", check)) == set()


async def test_a_member_type_inside_the_brackets(client: httpx.AsyncClient, team: dict[str, str]) -> None:
    """``members[value eq "x" and type eq "User"|"Group"]``: the member must be of that type."""
    sales = team["sales"]
    assert ids(await listed(client, "/Groups", f'members[value eq "{sales}" and type eq "Group"]')) == {
        team["engineering"]
    }
    assert ids(await listed(client, "/Groups", f'members[value eq "{sales}" and type eq "User"]')) == set()
    ann = team["ann"]
    assert ids(await listed(client, "/Groups", f'members[type eq "user" and value eq "{ann}"]')) == {
        team["sales"],
        team["engineering"],
    }


async def test_a_member_type_beside_a_member(client: httpx.AsyncClient, team: dict[str, str]) -> None:
    """``members.value eq "x" and members.type eq "User"``: among x's groups, those with some
    member (x or another) of that type (RFC 7644 §3.4.2.2: each condition on its own element)."""
    sales = team["sales"]
    assert ids(await listed(client, "/Groups", f'members.value eq "{sales}" and members.type eq "User"')) == {
        team["engineering"]
    }
    # Engineering's only group member is Sales: Ann's groups with a group member are Engineering.
    ann = team["ann"]
    assert ids(await listed(client, "/Groups", f'members.value eq "{ann}" and members.type eq "Group"')) == {
        team["engineering"]
    }
    body = await listed(client, "/Groups", f'members.value eq "{ann}" and members.type eq "User"')
    assert ids(body) == {team["sales"], team["engineering"]}
    assert body["totalResults"] == 2


async def test_groups_of_a_member_page_by_index_and_by_cursor(client: httpx.AsyncClient, team: dict[str, str]) -> None:
    """A membership-filtered list of groups pages like any other list of groups."""
    text = f'members.value eq "{team["ann"]}"'
    first = await listed(client, "/Groups", text, count="1", sortBy="displayName")
    second = await listed(client, "/Groups", text, count="1", startIndex="2", sortBy="displayName")
    assert first["totalResults"] == second["totalResults"] == 2
    assert [r["displayName"] for r in first["Resources"] + second["Resources"]] == ["Engineering", "Sales"]
    by_cursor = await listed(client, "/Groups", text, cursor="", count="1")
    assert len(by_cursor["Resources"]) == 1
    rest = await listed(client, "/Groups", text, cursor=by_cursor["nextCursor"], count="1")
    assert ids(by_cursor) | ids(rest) == {team["sales"], team["engineering"]}


async def test_memberships_stay_out_of_the_response_unless_asked(
    client: httpx.AsyncClient, team: dict[str, str]
) -> None:
    """Filtering on memberships does not return them: the attributes asked for decide."""
    groups = await listed(client, "/Groups", f'members.value eq "{team["ann"]}"', attributes="displayName")
    assert all("members" not in r for r in groups["Resources"])
    users = await listed(
        client, "/Users", f'groups.value eq "{team["sales"]}" and id eq "{team["ann"]}"', attributes="userName"
    )
    assert all("groups" not in r for r in users["Resources"])


@pytest.mark.parametrize(
    ("endpoint", "text"),
    [
        ("/Users", 'groups.value eq "g" and groups.value eq "h"'),
        ("/Users", 'groups.value eq "g" or id eq "u"'),
        ("/Users", 'not (groups.value eq "g") and id eq "u"'),
        ("/Users", 'groups.value ne "g" and id eq "u"'),
        ("/Users", 'groups.value sw "g" and id eq "u"'),
        ("/Users", 'groups pr and id eq "u"'),
        ("/Users", 'groups[type eq "direct"] and id eq "u"'),
        ("/Groups", 'members.value eq "u" or displayName eq "x"'),
        ("/Groups", 'not (members.value eq "u")'),
        ("/Groups", 'members.value co "u"'),
        ("/Groups", "members pr"),
        ("/Groups", 'members.type eq "User"'),
        ("/Groups", 'members.type ne "User" and members.value eq "u"'),
        ("/Groups", 'members.type eq "Robot" and members.value eq "u"'),
        ("/Groups", 'members.display eq "Ann"'),
        ("/Groups", 'members[value eq "u" or type eq "User"]'),
        ("/Groups", 'members[value eq "u" and type eq "Robot"]'),
        ("/Groups", 'members[type eq "User"]'),
    ],
)
async def test_unsupported_membership_filters_are_invalid_filter(
    client: httpx.AsyncClient, endpoint: str, text: str
) -> None:
    """RFC 7644 §3.4.2.2: a shape the service cannot answer from the membership index is refused
    with invalidFilter, and the detail says which shapes are supported, never an empty result."""
    response = await client.get(endpoint, params={"filter": text})
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["scimType"] == "invalidFilter"
    assert "supported" in body["detail"]


@pytest.mark.parametrize("shape", ['groups.value eq "{group}"', 'groups[value eq "{group}"]'])
async def test_the_users_of_a_group_are_listed_in_id_order(
    client: httpx.AsyncClient, team: dict[str, str], shape: str
) -> None:
    """Without the user's id, ``groups.value eq "g"`` lists g's direct user members, not its
    nested groups nor their members, in id order, with their number as totalResults."""
    body = await listed(client, "/Users", shape.format(group=team["engineering"]))
    assert [r["id"] for r in body["Resources"]] == sorted([team["ann"], team["bob"]])
    assert body["totalResults"] == 2
    assert ids(await listed(client, "/Users", shape.format(group=team["sales"]))) == {team["ann"]}


async def test_the_users_of_a_group_meet_the_other_conditions(client: httpx.AsyncClient, team: dict[str, str]) -> None:
    """``groups.value eq "g" and userName sw "b"``: members of g that also meet the rest."""
    body = await listed(client, "/Users", f'groups.value eq "{team["engineering"]}" and userName sw "b"')
    assert ids(body) == {team["bob"]}
    assert body["totalResults"] == 1


async def test_the_users_of_an_unknown_group_are_an_empty_list(client: httpx.AsyncClient, team: dict[str, str]) -> None:
    """An unknown group has no members: an empty list, never 404."""
    body = await listed(client, "/Users", 'groups.value eq "no-such-group"')
    assert body["totalResults"] == 0
    assert body["Resources"] == []


async def test_the_users_of_a_group_page_by_cursor(client: httpx.AsyncClient, team: dict[str, str]) -> None:
    """RFC 9865: a group's members are walked from a cursor, so every page costs the same."""
    text = f'groups.value eq "{team["engineering"]}"'
    first = await listed(client, "/Users", text, cursor="", count="1")
    second = await listed(client, "/Users", text, cursor=first["nextCursor"], count="1")
    assert [r["id"] for r in first["Resources"] + second["Resources"]] == sorted([team["ann"], team["bob"]])
    assert first["totalResults"] == second["totalResults"] == 2
    assert "nextCursor" not in second


@pytest.mark.parametrize("params", [{"startIndex": "2"}, {"sortBy": "userName"}])
async def test_the_users_of_a_group_do_not_page_by_index_or_sort(
    client: httpx.AsyncClient, team: dict[str, str], params: dict[str, str]
) -> None:
    """A later startIndex would read the group from its start, and another order all of it:
    both are invalidValue, pointing to the cursor."""
    response = await client.get("/Users", params={"filter": f'groups.value eq "{team["engineering"]}"', **params})
    assert response.status_code == 400, response.text
    assert response.json()["scimType"] == "invalidValue"
