"""Repository reads and credential records on the real database, beyond what the handlers cover."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from identity_store import CommandBus, CreateGroup, CreateUser, RequestContext, Tenant
from identity_store.domain.credentials import CredentialKind, issue
from identity_store.mongo import CommandCounter, MongoStore


async def test_members_page_is_a_keyset_page_in_member_id_order(
    bus: CommandBus, context: RequestContext, store: MongoStore, tenant: Tenant, commands: CommandCounter
) -> None:
    """Forwards after a member id, backwards before one, each one bounded query."""
    users = [await bus.dispatch(context, CreateUser(attributes={"userName": f"u{i}"})) for i in range(6)]
    group = await bus.dispatch(
        context, CreateGroup(attributes={"displayName": "G"}, member_ids=tuple(u.id for u in users))
    )
    ids = sorted(u.id for u in users)
    memberships = store.tenant(tenant.id).memberships
    with commands.counting() as counted:
        first = await memberships.members_page(group.id, limit=2)
    assert [m.member_id for m in first] == ids[:2]
    assert sum(counted.values()) == 1
    after = await memberships.members_page(group.id, after=ids[1], limit=10)
    assert [m.member_id for m in after] == ids[2:]
    before = await memberships.members_page(group.id, after=ids[4], limit=2, backwards=True)
    assert [m.member_id for m in before] == ids[2:4]


async def test_a_revoked_credential_stays_revoked_at_its_first_revocation(store: MongoStore, tenant: Tenant) -> None:
    """revoke() sets revoked_at on a never-revoked credential; revoking again keeps the first time."""
    created = datetime.now(UTC).replace(microsecond=0)
    issued = issue(tenant_id=tenant.id, kind=CredentialKind.API_KEY, name="k", scopes=frozenset(), created=created)
    await store.credentials.add(issued.credential)
    first = await store.credentials.revoke(issued.credential.id, created + timedelta(seconds=1))
    again = await store.credentials.revoke(issued.credential.id, created + timedelta(seconds=5))
    assert first.revoked_at == created + timedelta(seconds=1)
    assert again.revoked_at == first.revoked_at
    assert not again.usable_at(created + timedelta(seconds=2))
