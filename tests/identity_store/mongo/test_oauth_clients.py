"""OAuth clients and Entra tenant links on MongoDB."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from identity_store import InvalidValue, NotFound, Tenant, TenantSettings, Uniqueness
from identity_store.domain.credentials import CredentialKind, issue
from identity_store.domain.oauth import Federation, new_client
from identity_store.domain.resources import now
from identity_store.mongo import MongoStore

ENTRA_TENANT = "7e3d9b52-1c44-4f0e-b8a2-93d5c6e1f047"


async def test_a_client_round_trips_and_disabling_keeps_the_first_time(store: MongoStore, tenant: Tenant) -> None:
    client = new_client(tenant_id=tenant.id, name="entra", created=now(), token_lifetime=timedelta(hours=2))
    await store.oauth_clients.add(client)
    assert await store.oauth_clients.get(client.id) == client
    assert await store.oauth_clients.list(tenant.id) == [client]
    first = now()
    assert (await store.oauth_clients.disable(client.id, first)).disabled_at == first
    again = await store.oauth_clients.disable(client.id, first + timedelta(hours=1))
    assert again.disabled_at == first
    assert not again.enabled
    with pytest.raises(NotFound):
        await store.oauth_clients.get("oc_missing")


async def test_a_federation_is_stored_and_removed(store: MongoStore, tenant: Tenant) -> None:
    client = new_client(tenant_id=tenant.id, name="wif", created=now())
    await store.oauth_clients.add(client)
    federation = Federation(
        issuer=f"https://login.microsoftonline.com/{ENTRA_TENANT}/v2.0",
        subject="sync-fabric",
        audience="api://app",
        jwks_url=f"https://login.microsoftonline.com/{ENTRA_TENANT}/discovery/v2.0/keys",
    )
    assert (await store.oauth_clients.federate(client.id, federation)).federation == federation
    assert (await store.oauth_clients.get(client.id)).federation == federation
    assert (await store.oauth_clients.federate(client.id, None)).federation is None
    with pytest.raises(InvalidValue):
        replace(federation, jwks_url="http://keys.example/")


async def test_client_secrets_are_listed_per_client(store: MongoStore, tenant: Tenant) -> None:
    clients = [new_client(tenant_id=tenant.id, name=f"c{n}", created=now()) for n in range(2)]
    secrets = []
    for client in clients:
        await store.oauth_clients.add(client)
        issued = issue(
            tenant_id=tenant.id,
            kind=CredentialKind.OAUTH_CLIENT_SECRET,
            name="s",
            scopes=frozenset(),
            created=now(),
            client_id=client.id,
        )
        await store.credentials.add(issued.credential)
        secrets.append(issued.credential)
    listed = await store.credentials.list(tenant.id, kind=CredentialKind.OAUTH_CLIENT_SECRET, client_id=clients[0].id)
    assert listed == [secrets[0]]


async def test_an_entra_tenant_links_to_one_tenant_only(store: MongoStore, tenant: Tenant) -> None:
    other = await store.tenants.create("globex")
    linked = await store.tenants.update_settings(tenant.id, replace(tenant.settings, entra_tenant_id=ENTRA_TENANT))
    assert linked.settings.entra_tenant_id == ENTRA_TENANT
    assert (await store.tenants.by_entra_tenant(ENTRA_TENANT)).id == tenant.id
    with pytest.raises(Uniqueness):
        await store.tenants.update_settings(other.id, replace(other.settings, entra_tenant_id=ENTRA_TENANT))
    assert (await store.tenants.get(other.id)).settings.entra_tenant_id is None
    await store.tenants.update_settings(tenant.id, replace(linked.settings, entra_tenant_id=None))
    with pytest.raises(NotFound):
        await store.tenants.by_entra_tenant(ENTRA_TENANT)
    relinked = await store.tenants.update_settings(other.id, TenantSettings(entra_tenant_id=ENTRA_TENANT))
    assert relinked.settings.entra_tenant_id == ENTRA_TENANT
