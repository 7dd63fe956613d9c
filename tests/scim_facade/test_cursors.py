"""Cursor pagination (RFC 9865) backed by a keyset in the database."""

from __future__ import annotations

import httpx
import pytest

from tests.scim_facade.conftest import create_user


@pytest.fixture
async def five(client: httpx.AsyncClient) -> list[str]:
    return [str((await create_user(client, f"u{i}"))["id"]) for i in range(5)]


async def test_empty_cursor_starts_and_next_cursor_walks_every_page(client: httpx.AsyncClient, five: list[str]) -> None:
    """RFC 9865 §2.1/§2.2: cursor= asks for the first page; nextCursor until it is absent."""
    seen: list[str] = []
    response = await client.get("/Users", params={"cursor": "", "count": "2", "sortBy": "userName"})
    while True:
        body = response.json()
        assert response.status_code == 200, body
        assert body["totalResults"] == 5
        seen.extend(r["userName"] for r in body["Resources"])
        if "nextCursor" not in body:
            break
        response = await client.get("/Users", params={"cursor": body["nextCursor"], "count": "2", "sortBy": "userName"})
    assert seen == [f"u{i}" for i in range(5)]


async def test_previous_cursor_walks_back(client: httpx.AsyncClient, five: list[str]) -> None:
    """RFC 9865 §2.2: previousCursor returns the page before."""
    first = (await client.get("/Users", params={"cursor": "", "count": "2", "sortBy": "userName"})).json()
    second = (
        await client.get("/Users", params={"cursor": first["nextCursor"], "count": "2", "sortBy": "userName"})
    ).json()
    back = (
        await client.get("/Users", params={"cursor": second["previousCursor"], "count": "2", "sortBy": "userName"})
    ).json()
    assert [r["userName"] for r in back["Resources"]] == ["u0", "u1"]


async def test_pages_are_stable_when_resources_are_deleted(client: httpx.AsyncClient, five: list[str]) -> None:
    """A keyset cursor neither skips nor repeats a resource when an earlier one is deleted."""
    first = (await client.get("/Users", params={"cursor": "", "count": "2", "sortBy": "userName"})).json()
    await client.delete(f"/Users/{first['Resources'][0]['id']}")
    second = (
        await client.get("/Users", params={"cursor": first["nextCursor"], "count": "2", "sortBy": "userName"})
    ).json()
    assert [r["userName"] for r in second["Resources"]] == ["u2", "u3"]


async def test_a_tampered_cursor_is_invalid_cursor(client: httpx.AsyncClient, five: list[str]) -> None:
    """RFC 9865 §2.4: a cursor the service did not issue is 400 invalidCursor."""
    response = await client.get("/Users", params={"cursor": "bm90LWEtY3Vyc29y.AAAA", "count": "2"})
    assert response.status_code == 400
    assert response.json()["scimType"] == "invalidCursor"


async def test_a_cursor_from_another_query_is_invalid_cursor(client: httpx.AsyncClient, five: list[str]) -> None:
    """A cursor is bound to the filter and sort it was issued for."""
    first = (await client.get("/Users", params={"cursor": "", "count": "2"})).json()
    response = await client.get(
        "/Users", params={"cursor": first["nextCursor"], "count": "2", "filter": 'userName sw "u"'}
    )
    assert response.json()["scimType"] == "invalidCursor"


async def test_changing_count_is_invalid_count(client: httpx.AsyncClient, five: list[str]) -> None:
    """RFC 9865 §2.4: count must stay the one of the initial query, and within maxPageSize."""
    first = (await client.get("/Users", params={"cursor": "", "count": "2"})).json()
    response = await client.get("/Users", params={"cursor": first["nextCursor"], "count": "3"})
    assert response.json()["scimType"] == "invalidCount"
    too_many = await client.get("/Users", params={"cursor": "", "count": "100000"})
    assert too_many.json()["scimType"] == "invalidCount"


async def test_an_expired_cursor_is_expired_cursor(client: httpx.AsyncClient, five: list[str]) -> None:
    """RFC 9865 §2.4: a cursor older than cursorTimeout is 400 expiredCursor."""
    from scim_facade.cursors import CursorSeal

    stale = CursorSeal(b"k", timeout_seconds=-10)
    bound = CursorSeal.fingerprint("tenant", "User", None, None, "False")
    cursor = stale.seal("x", backwards=False, query=bound, count=2)
    # A service with the same key would accept its signature but not its age.
    with pytest.raises(Exception, match="expired"):
        CursorSeal(b"k", timeout_seconds=600).open(cursor, query=bound, count=2)


async def test_service_provider_config_declares_cursor_pagination(client: httpx.AsyncClient) -> None:
    """RFC 9865 §4: the pagination object of ServiceProviderConfig."""
    pagination = (await client.get("/ServiceProviderConfig")).json()["pagination"]
    assert pagination["cursor"] is True
    assert pagination["index"] is True
    assert pagination["maxPageSize"] == 200
