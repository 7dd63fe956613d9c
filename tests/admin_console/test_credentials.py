"""Credentials from the console: created through the bus with the admin as actor, the secret
shown once, and a revocation that the front ends honour at once."""

from __future__ import annotations

import re

import httpx
from starlette.applications import Starlette

from identity_store import EventType
from identity_store.domain.credentials import CredentialKind, IssuedSecret, digest
from identity_store.events import Actor
from identity_store.mongo import MongoStore
from tests.admin_console.conftest import Browser

_SECRET = re.compile(r'<code id="secret" class="secret">([^<]+)</code>')


def _secret_of(page: httpx.Response) -> str:
    found = _SECRET.search(page.text)
    assert found is not None, page.text
    return found.group(1)


async def test_a_new_api_key_is_shown_once_and_stored_only_as_a_digest(
    signed_in: Browser, store: MongoStore, admin: IssuedSecret
) -> None:
    await signed_in.get("/admin/credentials")
    created = await signed_in.post("/admin/credentials/api-keys", {"name": "reports", "scope": ["users:read"]})

    assert created.status_code == 200
    secret = _secret_of(created)
    assert secret.startswith("isk_")
    [key] = await store.credentials.list(admin.credential.tenant_id, kind=CredentialKind.API_KEY)
    assert key.name == "reports"
    assert key.scopes == {"users:read"}
    assert key.secret_digest == digest(secret)
    listed = await signed_in.get("/admin/credentials")
    assert key.id in listed.text
    assert secret not in listed.text
    raw = [str(d) async for d in store.database["credentials"].find({"_id": key.id})]
    assert secret not in raw[0]


async def test_a_change_from_the_console_is_an_event_by_the_admin(
    signed_in: Browser, store: MongoStore, admin: IssuedSecret
) -> None:
    await signed_in.get("/admin/credentials")
    await signed_in.post("/admin/credentials/scim-tokens", {"name": "entra"})

    recorded = (await store.tenant(admin.credential.tenant_id).events.read())[-1]
    assert recorded.event.type is EventType.CREDENTIAL_ISSUED
    assert recorded.actor == Actor(credential_id=admin.credential.id, kind="console")
    assert {c.field: c.after for c in recorded.event.changes}["kind"] == "scim-token"


async def test_a_revoked_api_key_is_refused_by_graphql_at_its_next_request(
    signed_in: Browser, app: Starlette, store: MongoStore, admin: IssuedSecret
) -> None:
    await signed_in.get("/admin/credentials")
    secret = _secret_of(await signed_in.post("/admin/credentials/api-keys", {"scope": ["users:read"]}))
    [key] = await store.credentials.list(admin.credential.tenant_id, kind=CredentialKind.API_KEY)
    query = {"query": "{ users(first: 1) { totalCount } }"}
    bearer = {"Authorization": f"Bearer {secret}"}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://identity.test") as api:
        assert (await api.post("/graphql", json=query, headers=bearer)).status_code == 200

        await signed_in.get("/admin/credentials")
        revoked = await signed_in.post(f"/admin/credentials/api-keys/{key.id}/revoke")

        assert revoked.status_code == 303
        assert (await api.post("/graphql", json=query, headers=bearer)).status_code == 401
    assert (await store.credentials.get(key.id)).revoked_at is not None


async def test_a_revoked_scim_token_is_refused_by_scim(signed_in: Browser, app: Starlette, store: MongoStore) -> None:
    await signed_in.get("/admin/credentials")
    secret = _secret_of(await signed_in.post("/admin/credentials/scim-tokens", {"name": "entra"}))
    token_id = secret.split("_")[1]
    bearer = {"Authorization": f"Bearer {secret}"}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://identity.test") as scim:
        assert (await scim.get("/scim/v2/Users", headers=bearer)).status_code == 200
        await signed_in.post(f"/admin/credentials/scim-tokens/{token_id}/revoke")
        assert (await scim.get("/scim/v2/Users", headers=bearer)).status_code == 401


async def test_revoking_through_the_wrong_kind_is_not_found(signed_in: Browser, store: MongoStore) -> None:
    """The URL names the kind: an API key cannot be revoked as a SCIM token (as on the command line)."""
    await signed_in.get("/admin/credentials")
    secret = _secret_of(await signed_in.post("/admin/credentials/api-keys", {"scope": ["users:read"]}))
    key_id = secret.split("_")[1]

    response = await signed_in.post(f"/admin/credentials/scim-tokens/{key_id}/revoke")

    assert response.status_code == 404
    assert (await store.credentials.get(key_id)).revoked_at is None


async def test_a_console_admin_cannot_be_revoked_from_the_console(
    signed_in: Browser, store: MongoStore, admin: IssuedSecret
) -> None:
    """Admins are managed only with the command line."""
    await signed_in.get("/admin/credentials")
    response = await signed_in.post(f"/admin/credentials/console-admins/{admin.credential.id}/revoke")

    assert response.status_code == 404
    assert (await store.credentials.get(admin.credential.id)).revoked_at is None


async def test_an_api_key_needs_a_scope_the_console_offers(
    signed_in: Browser, store: MongoStore, admin: IssuedSecret
) -> None:
    await signed_in.get("/admin/credentials")
    for scopes in ([], ["root"]):
        response = await signed_in.post("/admin/credentials/api-keys", {"scope": scopes})
        assert response.status_code == 400
    assert await store.credentials.list(admin.credential.tenant_id, kind=CredentialKind.API_KEY) == []


async def test_an_oauth_client_gets_a_secret_shown_once_and_can_be_disabled(
    signed_in: Browser, store: MongoStore, admin: IssuedSecret
) -> None:
    tenant_id = admin.credential.tenant_id
    await signed_in.get("/admin/credentials")
    assert (
        await signed_in.post("/admin/credentials/oauth-clients", {"name": "entra", "minutes": "90"})
    ).status_code == 303
    [client] = await store.oauth_clients.list(tenant_id)
    await signed_in.get("/admin/credentials")

    secret = _secret_of(await signed_in.post(f"/admin/credentials/oauth-clients/{client.id}/secrets", {"name": "s1"}))
    [stored] = await store.credentials.list(tenant_id, kind=CredentialKind.OAUTH_CLIENT_SECRET, client_id=client.id)
    assert stored.matches(secret)
    await signed_in.get("/admin/credentials")
    await signed_in.post(f"/admin/credentials/oauth-clients/{client.id}/disable")

    assert not (await store.oauth_clients.get(client.id)).enabled


async def test_a_token_lifetime_out_of_bounds_is_explained_and_creates_no_client(
    signed_in: Browser, store: MongoStore, admin: IssuedSecret
) -> None:
    await signed_in.get("/admin/credentials")
    response = await signed_in.post("/admin/credentials/oauth-clients", {"name": "entra", "minutes": "5"})

    assert response.status_code == 400
    assert "between 60 minutes and 6 hours" in response.text
    assert await store.oauth_clients.list(admin.credential.tenant_id) == []
