"""A tenant admin sees and changes only its own tenant: another tenant's ids are not found."""

from __future__ import annotations

import base64
import json
from datetime import timedelta

import pytest

from identity_store import CommandBus, CreateGroup, CreateUser, Group, RequestContext, Tenant, User
from identity_store.commands import CreateOAuthClient, IssueCredential
from identity_store.domain.credentials import CredentialKind, IssuedSecret
from identity_store.mongo import MongoStore
from tests.admin_console.conftest import CLI, Browser


@pytest.fixture
async def other(store: MongoStore, bus: CommandBus) -> tuple[Tenant, User, Group, IssuedSecret]:
    """Another tenant with a user, a group and an API key."""
    tenant = await store.tenants.create("globex")
    context = RequestContext(tenant_id=tenant.id, actor=CLI)
    user = await bus.dispatch(context, CreateUser(attributes={"userName": "hank@globex.test"}))
    group = await bus.dispatch(context, CreateGroup(attributes={"displayName": "Globex staff"}))
    key = await bus.dispatch(
        context, IssueCredential(kind=CredentialKind.API_KEY, name="globex-key", scopes=frozenset({"users:read"}))
    )
    return tenant, user, group, key


async def test_another_tenants_users_and_groups_are_not_listed(
    signed_in: Browser, bus: CommandBus, tenant: Tenant, other: tuple[Tenant, User, Group, IssuedSecret]
) -> None:
    await bus.dispatch(
        RequestContext(tenant_id=tenant.id, actor=CLI), CreateUser(attributes={"userName": "ann@acme.test"})
    )

    users = await signed_in.get("/admin/users?q=test")
    groups = await signed_in.get("/admin/groups")

    assert "ann@acme.test" in users.text
    assert "hank@globex.test" not in users.text
    assert "Globex staff" not in groups.text


async def test_another_tenants_user_and_group_are_not_found_by_id(
    signed_in: Browser, other: tuple[Tenant, User, Group, IssuedSecret]
) -> None:
    _, user, group, _ = other

    for page in (f"/admin/users/{user.id}", f"/admin/groups/{group.id}"):
        response = await signed_in.get(page)
        assert response.status_code == 404
        assert "hank" not in response.text
        assert "Globex" not in response.text


async def test_another_tenants_credentials_are_neither_listed_nor_revocable(
    signed_in: Browser, store: MongoStore, other: tuple[Tenant, User, Group, IssuedSecret]
) -> None:
    _, _, _, key = other
    listed = await signed_in.get("/admin/credentials")
    assert key.credential.id not in listed.text

    response = await signed_in.post(f"/admin/credentials/api-keys/{key.credential.id}/revoke")

    assert response.status_code == 404
    assert (await store.credentials.get(key.credential.id)).revoked_at is None


async def test_an_admin_of_one_tenant_cannot_act_in_another_with_a_cookie_naming_it(
    signed_in: Browser, other: tuple[Tenant, User, Group, IssuedSecret]
) -> None:
    """The session names its tenant, signed; the credential is read again and must belong to it."""
    tenant, user, _, _ = other
    cookies = signed_in.http.cookies
    version, body, signature = cookies["console_session"].split(".")
    payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    payload["t"] = tenant.id
    forged = base64.urlsafe_b64encode(json.dumps(payload).encode()).rstrip(b"=").decode()
    cookies.set("console_session", f"{version}.{forged}.{signature}", domain="identity.test", path="/admin/")

    response = await signed_in.get(f"/admin/users/{user.id}")

    assert response.status_code == 303


async def test_another_tenants_oauth_client_gets_no_secret_and_stays_enabled(
    signed_in: Browser, store: MongoStore, bus: CommandBus, other: tuple[Tenant, User, Group, IssuedSecret]
) -> None:
    tenant, _, _, _ = other
    client = await bus.dispatch(
        RequestContext(tenant_id=tenant.id, actor=CLI),
        CreateOAuthClient(name="globex", token_lifetime=timedelta(hours=1)),
    )
    await signed_in.get("/admin/credentials")

    issued = await signed_in.post(f"/admin/credentials/oauth-clients/{client.id}/secrets", {"name": "stolen"})
    disabled = await signed_in.post(f"/admin/credentials/oauth-clients/{client.id}/disable")

    assert issued.status_code == 404
    assert disabled.status_code == 404
    assert await store.credentials.list(tenant.id, kind=CredentialKind.OAUTH_CLIENT_SECRET) == []
    assert (await store.oauth_clients.get(client.id)).enabled
