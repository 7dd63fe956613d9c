"""Repository reads and credential records on the real database, beyond what the handlers cover."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from identity_store import CommandBus, CreateGroup, CreateUser, NotFound, RequestContext, Tenant
from identity_store.domain.credentials import CredentialKind, issue
from identity_store.mongo import CommandCounter, MongoStore
from identity_store.queries import IndexPage, Query


async def test_members_page_is_a_keyset_page_in_member_id_order(
    bus: CommandBus, context: RequestContext, store: MongoStore, tenant: Tenant, database_commands: CommandCounter
) -> None:
    """Forwards after a member id, backwards before one, each one bounded query."""
    users = [await bus.dispatch(context, CreateUser(attributes={"userName": f"u{i}"})) for i in range(6)]
    group = await bus.dispatch(
        context, CreateGroup(attributes={"displayName": "G"}, member_ids=tuple(u.id for u in users))
    )
    ids = sorted(u.id for u in users)
    memberships = store.tenant(tenant.id).memberships
    with database_commands.counting() as counted:
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


async def test_a_user_view_carries_its_direct_groups_and_its_managers_name(
    bus: CommandBus, context: RequestContext, store: MongoStore, tenant: Tenant, database_commands: CommandCounter
) -> None:
    """One query reads the user, the ids of its groups (sorted) and its manager's displayName."""
    boss = await bus.dispatch(context, CreateUser(attributes={"userName": "boss", "displayName": "The Boss"}))
    worker = await bus.dispatch(
        context, CreateUser(attributes={"userName": "worker", "enterprise": {"manager": {"value": boss.id}}})
    )
    groups = [
        await bus.dispatch(context, CreateGroup(attributes={"displayName": f"G{i}"}, member_ids=(worker.id,)))
        for i in range(3)
    ]
    users = store.tenant(tenant.id).users
    with database_commands.counting() as counted:
        view = await users.get_view(worker.id, groups=True)
    assert dict(counted) == {"aggregate": 1}
    assert view.user.id == worker.id
    assert list(view.group_ids) == sorted(g.id for g in groups)
    assert view.manager_name == "The Boss"
    without_groups = await users.get_view(boss.id, groups=False)
    assert (list(without_groups.group_ids), without_groups.manager_name) == ([], None)


async def test_a_user_view_never_reaches_another_tenant(
    bus: CommandBus, context: RequestContext, store: MongoStore
) -> None:
    """Neither the user, nor its memberships or manager, are read from another tenant."""
    user = await bus.dispatch(context, CreateUser(attributes={"userName": "mine"}))
    other = await store.tenants.create("other")
    with pytest.raises(NotFound):
        await store.tenant(other.id).users.get_view(user.id, groups=True)


async def test_user_views_of_a_page_keep_the_query_order_and_total(
    bus: CommandBus, context: RequestContext, store: MongoStore, tenant: Tenant
) -> None:
    """find_views pages like find; each user on the page carries its own groups."""
    users = [await bus.dispatch(context, CreateUser(attributes={"userName": f"p{i}"})) for i in range(5)]
    group = await bus.dispatch(
        context, CreateGroup(attributes={"displayName": "Odd"}, member_ids=tuple(u.id for u in users[1::2]))
    )
    repository = store.tenant(tenant.id).users
    page = await repository.find_views(Query(page=IndexPage(start_index=2, count=2)), groups=True)
    plain = await repository.find(Query(page=IndexPage(start_index=2, count=2)))
    assert [v.user.id for v in page.items] == [u.id for u in plain.items]
    assert page.total == plain.total == 5
    members = {u.id for u in users[1::2]}
    assert all(list(v.group_ids) == ([group.id] if v.user.id in members else []) for v in page.items)
