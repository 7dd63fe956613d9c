"""Credential records on MongoDB: revocation."""

from __future__ import annotations

from datetime import timedelta

from identity_store import Tenant
from identity_store.domain.credentials import CredentialKind, issue
from identity_store.domain.resources import now
from identity_store.mongo import MongoStore


async def test_revoking_a_credential_makes_it_unusable_and_keeps_the_first_time(
    store: MongoStore, tenant: Tenant
) -> None:
    issued = issue(tenant_id=tenant.id, kind=CredentialKind.SCIM_TOKEN, name="t", scopes=frozenset(), created=now())
    await store.credentials.add(issued.credential)
    first = now()
    revoked = await store.credentials.revoke(issued.credential.id, first)
    assert revoked.revoked_at == first
    assert not revoked.usable_at(now())
    again = await store.credentials.revoke(issued.credential.id, first + timedelta(hours=1))
    assert again.revoked_at == first
    assert (await store.credentials.get(issued.credential.id)).revoked_at == first
