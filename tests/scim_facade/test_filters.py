"""Filtering, sorting and paging (RFC 7644 §3.4.2), run in the database."""

from __future__ import annotations

import httpx
import pytest

from tests.scim_facade.conftest import ENTERPRISE_URN, USER_URN, create_group, create_user


async def user_names(client: httpx.AsyncClient, filter_text: str) -> list[str]:
    response = await client.get("/Users", params={"filter": filter_text, "sortBy": "userName"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["totalResults"] == len(body["Resources"])
    return [r["userName"] for r in body["Resources"]]


@pytest.fixture
async def people(client: httpx.AsyncClient) -> None:
    await create_user(
        client,
        "alice",
        emails=[{"value": "alice@x.example", "type": "work"}, {"value": "alice@home.example", "type": "home"}],
        title="Engineer",
        active=True,
        schemas=[USER_URN, ENTERPRISE_URN],
        **{ENTERPRISE_URN: {"department": "R&D"}},
    )
    await create_user(
        client,
        "bob",
        emails=[{"value": "bob@home.example", "type": "work"}, {"value": "bob@x.example", "type": "home"}],
        active=False,
    )
    await create_user(client, "Carol", title="Manager")


@pytest.mark.usefixtures("people")
async def test_eq_on_user_name_is_case_insensitive(client: httpx.AsyncClient) -> None:
    """RFC 7643 §4.1.1: userName has caseExact false, so eq ignores case."""
    assert await user_names(client, 'userName eq "ALICE"') == ["alice"]


@pytest.mark.usefixtures("people")
async def test_attribute_names_and_operators_are_case_insensitive(client: httpx.AsyncClient) -> None:
    """RFC 7644 §3.4.2.2: attribute names and operators are case-insensitive."""
    assert await user_names(client, 'USERNAME EQ "carol"') == ["Carol"]


@pytest.mark.usefixtures("people")
async def test_value_path_filter_matches_within_one_element(client: httpx.AsyncClient) -> None:
    """RFC 7644 §3.4.2.2: emails[type eq "work" and value co "@x"] must hold for one element."""
    assert await user_names(client, 'emails[type eq "work" and value co "@x"]') == ["alice"]


@pytest.mark.usefixtures("people")
async def test_a_multi_valued_attribute_matches_on_any_value(client: httpx.AsyncClient) -> None:
    """RFC 7644 §3.4.2.2: a multi-valued attribute matches when any value does."""
    assert await user_names(client, 'emails.value co "@x."') == ["alice", "bob"]


@pytest.mark.usefixtures("people")
async def test_logical_operators_and_grouping(client: httpx.AsyncClient) -> None:
    """RFC 7644 §3.4.2.2: and, or, not and parentheses."""
    assert await user_names(client, 'title pr and not (userName sw "a")') == ["Carol"]
    assert await user_names(client, '(userName eq "bob" or title eq "engineer") and active eq true') == ["alice"]


@pytest.mark.usefixtures("people")
async def test_booleans_and_presence(client: httpx.AsyncClient) -> None:
    """RFC 7644 §3.4.2.2: eq on booleans, pr for presence."""
    assert await user_names(client, "active eq false") == ["bob"]
    assert await user_names(client, "title pr") == ["alice", "Carol"]


@pytest.mark.usefixtures("people")
async def test_entra_value_path_with_sub_attribute_comparison(client: httpx.AsyncClient) -> None:
    """Entra's non-RFC form emails[type eq "work"].value eq "x" reads as one element matching both."""
    assert await user_names(client, 'emails[type eq "work"].value eq "bob@home.example"') == ["bob"]


@pytest.mark.usefixtures("people")
async def test_extension_attribute_by_full_urn(client: httpx.AsyncClient) -> None:
    """RFC 7644 §3.4.2.2: an extension attribute is named by its full schema URN."""
    assert await user_names(client, f'{ENTERPRISE_URN}:department eq "r&d"') == ["alice"]


@pytest.mark.usefixtures("people")
async def test_meta_last_modified_compares_as_a_date(client: httpx.AsyncClient) -> None:
    """RFC 7644 §3.4.2.2: gt on a dateTime compares chronologically."""
    assert len(await user_names(client, 'meta.lastModified gt "2000-01-01T00:00:00Z"')) == 3


@pytest.mark.parametrize(
    "bad",
    [
        'favouriteColour eq "red"',
        "userName eq",
        'userName xx "a"',
        "active gt true",
        'emails[type eq "work"',
        'urn:example:unknown:1.0:User:x eq "y"',
        "x" * 5000,
        'password eq "secret"',
        "password pr",
        'groups.value eq "g" or userName eq "a"',
        'groups.value gt "g"',
        "not (" * 60 + 'userName eq "a"' + ")" * 60,
    ],
)
async def test_bad_filters_are_400_invalid_filter(client: httpx.AsyncClient, bad: str) -> None:
    """RFC 7644 §3.4.2.2 / Table 9: an unknown attribute or bad construct is invalidFilter, never empty."""
    response = await client.get("/Users", params={"filter": bad})
    assert response.status_code == 400
    assert response.json()["scimType"] == "invalidFilter"


@pytest.mark.usefixtures("people")
async def test_sort_by_and_sort_order(client: httpx.AsyncClient) -> None:
    """RFC 7644 §3.4.2.3: sortBy/sortOrder; userName sorts case-insensitively."""
    response = await client.get("/Users", params={"sortBy": "userName", "sortOrder": "descending"})
    assert [r["userName"] for r in response.json()["Resources"]] == ["Carol", "bob", "alice"]


@pytest.mark.usefixtures("people")
async def test_start_index_and_count_page_with_a_correct_total(client: httpx.AsyncClient) -> None:
    """RFC 7644 §3.4.2.4: 1-based startIndex, count, totalResults of the whole result."""
    response = await client.get("/Users", params={"sortBy": "userName", "startIndex": "2", "count": "1"})
    body = response.json()
    assert body["totalResults"] == 3
    assert body["startIndex"] == 2
    assert body["itemsPerPage"] == 1
    assert [r["userName"] for r in body["Resources"]] == ["bob"]


@pytest.mark.usefixtures("people")
async def test_count_zero_gives_only_the_total(client: httpx.AsyncClient) -> None:
    """RFC 7644 §3.4.2.4: count=0 returns no resources but the total."""
    body = (await client.get("/Users", params={"count": "0"})).json()
    assert body["totalResults"] == 3
    assert body["Resources"] == []


async def test_zero_results_is_200_with_an_empty_list(client: httpx.AsyncClient) -> None:
    """RFC 7644 §3.4.2: a query matching nothing is a 200 ListResponse with totalResults 0."""
    response = await client.get("/Users", params={"filter": 'userName eq "nobody"'})
    assert response.status_code == 200
    assert response.json()["totalResults"] == 0


@pytest.mark.usefixtures("people")
async def test_attributes_parameter_limits_the_returned_attributes(client: httpx.AsyncClient) -> None:
    """RFC 7644 §3.4.2.5: only the requested attributes, plus id/schemas/meta."""
    body = (await client.get("/Users", params={"attributes": "userName,emails.value", "sortBy": "userName"})).json()
    first = body["Resources"][0]
    assert set(first) == {"schemas", "id", "meta", "userName", "emails"}
    assert first["emails"] == [{"value": "alice@x.example"}, {"value": "alice@home.example"}]


@pytest.mark.usefixtures("people")
async def test_excluded_attributes_are_left_out(client: httpx.AsyncClient) -> None:
    """RFC 7644 §3.4.2.5: excludedAttributes removes attributes from the default set."""
    body = (await client.get("/Users", params={"excludedAttributes": "emails,title", "sortBy": "userName"})).json()
    assert "emails" not in body["Resources"][0]
    assert "title" not in body["Resources"][0]
    assert body["Resources"][0]["userName"] == "alice"


@pytest.mark.usefixtures("people")
async def test_post_search_on_a_resource_type(client: httpx.AsyncClient) -> None:
    """RFC 7644 §3.4.3: POST /Users/.search with a SearchRequest body."""
    response = await client.post(
        "/Users/.search",
        json={
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
            "filter": "title pr",
            "sortBy": "userName",
            "attributes": ["userName"],
        },
    )
    assert response.status_code == 200
    assert [r["userName"] for r in response.json()["Resources"]] == ["alice", "Carol"]


@pytest.mark.usefixtures("people")
async def test_post_search_at_the_root_spans_resource_types(client: httpx.AsyncClient) -> None:
    """RFC 7644 §3.4.3: /.search covers every type; an attribute one type lacks is false there."""
    await create_group(client, "Engineers")
    both = (await client.post("/.search", json={"filter": 'displayName pr or userName eq "bob"'})).json()
    assert both["totalResults"] == 2
    assert {r["meta"]["resourceType"] for r in both["Resources"]} == {"User", "Group"}
    groups_only = (await client.post("/.search", json={"filter": 'displayName eq "engineers"'})).json()
    assert groups_only["totalResults"] == 1
    unknown = await client.post("/.search", json={"filter": 'favouriteColour eq "red"'})
    assert unknown.status_code == 400


async def test_a_filter_on_group_members_is_refused_not_silently_empty(client: httpx.AsyncClient) -> None:
    """RFC 7644 §3.4.2.2: a filter the service cannot evaluate is invalidFilter, never an empty result
    (a membership under ``or`` would need every group's member list)."""
    response = await client.get("/Groups", params={"filter": 'members.value eq "x" or displayName eq "x"'})
    assert response.status_code == 400
    assert response.json()["scimType"] == "invalidFilter"


async def test_group_filter_on_display_name(client: httpx.AsyncClient) -> None:
    """RFC 7644 §3.4.2.2: Entra looks groups up by displayName."""
    await create_group(client, "Sales")
    body = (await client.get("/Groups", params={"filter": 'displayName eq "sales"'})).json()
    assert [r["displayName"] for r in body["Resources"]] == ["Sales"]


@pytest.mark.usefixtures("people")
async def test_post_search_at_the_root_honours_attributes(client: httpx.AsyncClient) -> None:
    """RFC 7644 §3.4.3: attributes apply to every resource type a root search returns."""
    await create_group(client, "Listed")
    body = (await client.post("/.search", json={"attributes": ["displayName"], "filter": "displayName pr"})).json()
    assert body["totalResults"] == 1
    assert set(body["Resources"][0]) == {"schemas", "id", "meta", "displayName"}
