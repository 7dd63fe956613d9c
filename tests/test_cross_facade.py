"""SCIM and GraphQL over one domain: a change made through either front end is seen by the other.

Both facades are served by the one Starlette app ``create_app`` builds, on the suite's real
database. Entra ID's side is a SCIM bearer token of the tenant; the internal service's side is an
API key of the same tenant.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from strawberry import relay

from identity_service.app import create_app
from identity_service.settings import Settings
from identity_store import Tenant
from identity_store.domain.credentials import CredentialKind, IssuedSecret, issue
from identity_store.domain.resources import now
from identity_store.mongo import MongoStore
from tests.graphql_api.websocket import initialise, open_socket, receive, subscribe
from tests.servers import serve_in_thread

USER_URN = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_URN = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE_URN = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
PATCH_URN = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
API_SCOPES = ("users:read", "groups:read", "write", "events:subscribe")


class Facades:
    """One HTTP client on the app, speaking SCIM with the token and GraphQL with the API key."""

    def __init__(self, http: httpx.AsyncClient, token: IssuedSecret, key: IssuedSecret) -> None:
        self.http = http
        self.token = token
        self.key = key

    async def scim(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.token.secret}", **kwargs.pop("headers", {})}
        return await self.http.request(method, f"/scim/v2{path}", headers=headers, **kwargs)

    async def graphql(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        response = await self.http.post(
            "/graphql",
            json={"query": query, "variables": variables or {}},
            headers={"Authorization": f"Bearer {self.key.secret}"},
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        assert "errors" not in body, body
        data: dict[str, Any] = body["data"]
        return data


def _credential(tenant: Tenant, kind: CredentialKind, scopes: tuple[str, ...]) -> IssuedSecret:
    return issue(tenant_id=tenant.id, kind=kind, name=kind.value, scopes=frozenset(scopes), created=now())


@pytest.fixture
async def credentials(store: MongoStore, tenant: Tenant) -> tuple[IssuedSecret, IssuedSecret]:
    """A SCIM token and an API key of the same tenant."""
    token = _credential(tenant, CredentialKind.SCIM_TOKEN, ("scim",))
    key = _credential(tenant, CredentialKind.API_KEY, API_SCOPES)
    for issued in (token, key):
        await store.credentials.add(issued.credential)
    return token, key


def _settings(database_uri: str, database_name: str) -> Settings:
    return Settings(mongodb_uri=database_uri, database=database_name, scim_token_cache_seconds=0)


@pytest.fixture
async def app(database_uri: str, database_name: str, store: MongoStore) -> AsyncIterator[Starlette]:
    """The service as deployed (its lifespan run by hand: ASGITransport runs none)."""
    application = create_app(_settings(database_uri, database_name))
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def facades(app: Starlette, credentials: tuple[IssuedSecret, IssuedSecret]) -> AsyncIterator[Facades]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://identity.test") as http:
        yield Facades(http, *credentials)


def gid(type_name: str, node_id: str) -> str:
    return str(relay.GlobalID(type_name=type_name, node_id=node_id))


async def _scim_user(facades: Facades, user_name: str, **attributes: Any) -> dict[str, Any]:
    response = await facades.scim("POST", "/Users", json={"schemas": [USER_URN], "userName": user_name, **attributes})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def _scim_group(facades: Facades, display_name: str) -> dict[str, Any]:
    response = await facades.scim("POST", "/Groups", json={"schemas": [GROUP_URN], "displayName": display_name})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def _patch(*operations: dict[str, Any]) -> dict[str, Any]:
    return {"schemas": [PATCH_URN], "Operations": list(operations)}


USER = """query($id: ID!) { user(lookup: {id: $id}) {
  id userName externalId displayName active version
  name { givenName familyName } emails { value type primary } enterprise { department }
  groups { nodes { id displayName } }
} }"""


async def test_a_user_created_through_scim_is_read_through_graphql(facades: Facades) -> None:
    """Every attribute Entra sent is what GraphQL returns, and the version is the ETag's."""
    created = await _scim_user(
        facades,
        "ada@example.com",
        externalId="entra-ada",
        displayName="Ada Lovelace",
        name={"givenName": "Ada", "familyName": "Lovelace"},
        emails=[{"value": "ada@example.com", "type": "work", "primary": True}],
        schemas=[USER_URN, ENTERPRISE_URN],
        **{ENTERPRISE_URN: {"department": "Engineering"}},
    )
    user = (await facades.graphql(USER, {"id": gid("User", created["id"])}))["user"]
    assert user == {
        "id": gid("User", created["id"]),
        "userName": "ada@example.com",
        "externalId": "entra-ada",
        "displayName": "Ada Lovelace",
        "active": True,
        "version": 1,
        "name": {"givenName": "Ada", "familyName": "Lovelace"},
        "emails": [{"value": "ada@example.com", "type": "work", "primary": True}],
        "enterprise": {"department": "Engineering"},
        "groups": {"nodes": []},
    }
    assert created["meta"]["version"] == 'W/"1"'


async def test_a_scim_patch_is_visible_in_graphql(facades: Facades) -> None:
    """A PATCH of a user's attributes and a PATCH adding it to a group: GraphQL reads both at once."""
    created = await _scim_user(facades, "bob@example.com", displayName="Bob")
    group = await _scim_group(facades, "Engineering")
    patched = await facades.scim(
        "PATCH",
        f"/Users/{created['id']}",
        json=_patch(
            {"op": "replace", "path": "displayName", "value": "Robert"},
            {"op": "replace", "path": "active", "value": False},
        ),
    )
    assert patched.status_code == 200, patched.text
    added = await facades.scim(
        "PATCH",
        f"/Groups/{group['id']}",
        json=_patch({"op": "add", "path": "members", "value": [{"value": created["id"]}]}),
    )
    assert added.status_code in {200, 204}, added.text

    user = (await facades.graphql(USER, {"id": gid("User", created["id"])}))["user"]
    assert (user["displayName"], user["active"], user["version"]) == ("Robert", False, 2)
    assert user["groups"]["nodes"] == [{"id": gid("Group", group["id"]), "displayName": "Engineering"}]
    members = await facades.graphql(
        "query($id: ID!) { group(lookup: {id: $id}) { memberCount members(first: 10) { edges { source node { "
        "... on User { userName } } } } } }",
        {"id": gid("Group", group["id"])},
    )
    assert members["group"]["memberCount"] == 1
    assert members["group"]["members"]["edges"] == [{"source": "SCIM", "node": {"userName": "bob@example.com"}}]


@pytest.mark.parametrize(
    "scim_filter",
    [
        'emails[type eq "work" and value ew "@example.com"]',
        'userName sw "A" or title pr',
        f'{ENTERPRISE_URN}:department eq "sales" and not (active eq false)',
    ],
)
async def test_scim_filter_selects_the_same_users_through_both_apis(facades: Facades, scim_filter: str) -> None:
    """scimFilter is compiled by the SCIM facade's translator, so both APIs return the same users."""
    sales = {"schemas": [USER_URN, ENTERPRISE_URN], ENTERPRISE_URN: {"department": "Sales"}}
    await _scim_user(facades, "ann@example.com", emails=[{"value": "ann@example.com", "type": "work"}])
    await _scim_user(facades, "al@other.org", title="Dr", **sales)
    await _scim_user(facades, "sam@example.com", active=False, **sales)
    await _scim_user(facades, "tom@example.com", emails=[{"value": "tom@example.com", "type": "home"}])

    listed = await facades.scim("GET", "/Users", params={"filter": scim_filter, "sortBy": "userName"})
    assert listed.status_code == 200, listed.text
    through_scim = [r["userName"] for r in listed.json()["Resources"]]
    data = await facades.graphql(
        "query($f: String) { users(first: 50, scimFilter: $f) { totalCount nodes { userName } } }", {"f": scim_filter}
    )
    assert [n["userName"] for n in data["users"]["nodes"]] == through_scim
    assert data["users"]["totalCount"] == listed.json()["totalResults"]
    assert through_scim  # each filter selects someone, so agreement is not vacuous


async def test_a_graphql_mutation_is_visible_through_scim_get(facades: Facades) -> None:
    """A user created and then updated over GraphQL: SCIM GET shows the update, and its ETag moved."""
    created = await facades.graphql(
        'mutation { userCreate(input: {userName: "cy@example.com", displayName: "Cy"}) '
        "{ user { id } userErrors { message } } }"
    )
    user_gid = created["userCreate"]["user"]["id"]
    user_id = relay.GlobalID.from_id(user_gid).node_id
    first = await facades.scim("GET", f"/Users/{user_id}")
    assert first.status_code == 200, first.text
    assert first.json()["displayName"] == "Cy"
    old_etag = first.headers["ETag"]

    updated = await facades.graphql(
        'mutation($id: ID!) { userUpdate(id: $id, input: {displayName: "Cyrus", title: "CTO"}) '
        "{ user { version } userErrors { message } } }",
        {"id": user_gid},
    )
    assert updated["userUpdate"]["userErrors"] == []

    after = await facades.scim("GET", f"/Users/{user_id}", headers={"If-None-Match": old_etag})
    assert after.status_code == 200  # not 304: the version the client holds is stale
    body = after.json()
    assert (body["displayName"], body["title"]) == ("Cyrus", "CTO")
    assert after.headers["ETag"] == body["meta"]["version"] != old_etag
    assert after.headers["ETag"] == f'W/"{updated["userUpdate"]["user"]["version"]}"'
    stale = await facades.scim(
        "PATCH",
        f"/Users/{user_id}",
        json=_patch({"op": "replace", "path": "title", "value": "Intern"}),
        headers={"If-Match": old_etag},
    )
    assert stale.status_code == 412  # a SCIM client holding the old version cannot overwrite the change
    assert (await facades.scim("GET", f"/Users/{user_id}")).json()["title"] == "CTO"


async def test_graphql_membership_changes_are_visible_through_scim_get(facades: Facades) -> None:
    user = await _scim_user(facades, "dee@example.com")
    group = await _scim_group(facades, "Ops")
    added = await facades.graphql(
        "mutation($id: ID!, $m: [ID!]!) { groupMembersAdd(id: $id, memberIds: $m) { userErrors { message } } }",
        {"id": gid("Group", group["id"]), "m": [gid("User", user["id"])]},
    )
    assert added["groupMembersAdd"]["userErrors"] == []
    fetched = await facades.scim("GET", f"/Groups/{group['id']}")
    assert [m["value"] for m in fetched.json()["members"]] == [user["id"]]
    assert fetched.headers["ETag"] != group["meta"]["version"]
    seen_by_user = await facades.scim("GET", f"/Users/{user['id']}")
    assert [g["value"] for g in seen_by_user.json()["groups"]] == [group["id"]]


EVENTS = """subscription($after: String) {
  identityEvents(after: $after) { type subjectId memberIds actor { credentialId } }
}"""


async def test_a_scim_write_reaches_a_live_graphql_subscription(
    database_uri: str, database_name: str, credentials: tuple[IssuedSecret, IssuedSecret]
) -> None:
    """On a real uvicorn server: a subscriber connected over graphql-transport-ws receives, live,
    the events of a SCIM POST and a SCIM PATCH, attributed to the SCIM token."""
    token, key = credentials
    server = serve_in_thread(create_app(_settings(database_uri, database_name)))
    base_url = await asyncio.to_thread(server.__enter__)
    try:
        async with (
            httpx.AsyncClient(base_url=base_url) as http,
            open_socket(base_url.replace("http://", "ws://") + "/graphql") as socket,
        ):
            facades = Facades(http, token, key)
            # The subscriber resumes after the last event it saw, so nothing committed between
            # subscribing and the subscription's first read can slip past it.
            await _scim_user(facades, "earlier@example.com")
            feed = await facades.graphql("{ identityEvents(first: 100) { pageInfo { endCursor } } }")
            await initialise(socket, key.secret)
            await subscribe(socket, "live", EVENTS, {"after": feed["identityEvents"]["pageInfo"]["endCursor"]})
            user = await _scim_user(facades, "eve@example.com")
            group = await _scim_group(facades, "Live")
            patched = await facades.scim(
                "PATCH",
                f"/Groups/{group['id']}",
                json=_patch({"op": "add", "path": "members", "value": [{"value": user["id"]}]}),
            )
            assert patched.status_code in {200, 204}, patched.text
            events = [(await receive(socket))["payload"]["data"]["identityEvents"] for _ in range(3)]
    finally:
        await asyncio.to_thread(server.__exit__, None, None, None)
    scim_actor = {"credentialId": token.credential.id}
    assert events == [
        {"type": "USER_CREATED", "subjectId": gid("User", user["id"]), "memberIds": [], "actor": scim_actor},
        {"type": "GROUP_CREATED", "subjectId": gid("Group", group["id"]), "memberIds": [], "actor": scim_actor},
        {
            "type": "MEMBERS_ADDED",
            "subjectId": gid("Group", group["id"]),
            "memberIds": [gid("User", user["id"])],
            "actor": scim_actor,
        },
    ]
