"""Users and groups in the console: a search, and one resource's attributes, groups, manager and
history from the event log."""

from __future__ import annotations

from identity_store import AddMembers, CommandBus, CreateGroup, CreateUser, PatchUser, RequestContext, Tenant
from identity_store.domain.patch import PatchOp, PatchOperation, PatchPath
from identity_store.events import Actor
from tests.admin_console.conftest import Browser

ENTERPRISE = "enterprise"
ENTRA = Actor(credential_id="entra-token", kind="scim")


async def test_a_search_finds_users_by_part_of_their_name_or_address(
    signed_in: Browser, bus: CommandBus, tenant: Tenant
) -> None:
    context = RequestContext(tenant_id=tenant.id, actor=ENTRA)
    await bus.dispatch(
        context, CreateUser(attributes={"userName": "ann@acme.test", "emails": [{"value": "ann.lee@mail.test"}]})
    )
    await bus.dispatch(context, CreateUser(attributes={"userName": "bob@acme.test", "displayName": "Bob Stone"}))

    by_address = await signed_in.get("/admin/users", params={"q": "lee@mail"})
    by_name = await signed_in.get("/admin/users", params={"q": "stone"})

    assert "ann@acme.test" in by_address.text
    assert "bob@acme.test" not in by_address.text
    assert "bob@acme.test" in by_name.text
    assert "ann@acme.test" not in by_name.text


async def test_a_users_page_shows_its_manager_groups_and_history(
    signed_in: Browser, bus: CommandBus, tenant: Tenant
) -> None:
    context = RequestContext(tenant_id=tenant.id, actor=ENTRA, correlation_id="req-42")
    boss = await bus.dispatch(context, CreateUser(attributes={"userName": "boss@acme.test", "displayName": "The Boss"}))
    ann = await bus.dispatch(
        context,
        CreateUser(attributes={"userName": "ann@acme.test", ENTERPRISE: {"manager": {"value": boss.id}}}),
    )
    group = await bus.dispatch(context, CreateGroup(attributes={"displayName": "Engineering"}))
    await bus.dispatch(context, AddMembers(group_id=group.id, member_ids=(ann.id,)))
    operation = PatchOperation(op=PatchOp.REPLACE, path=PatchPath(attribute=("displayName",)), value="Ann Lee")
    await bus.dispatch(context, PatchUser(user_id=ann.id, operations=(operation,)))

    page = await signed_in.get(f"/admin/users/{ann.id}")

    assert page.status_code == 200
    assert f'href="/admin/users/{boss.id}">The Boss</a>' in page.text
    assert f'href="/admin/groups/{group.id}">Engineering</a>' in page.text
    for event in ("UserCreated", "MembersAdded", "UserUpdated"):
        assert event in page.text
    assert f'of group <a href="/admin/groups/{group.id}">Engineering</a>' in page.text
    assert "scim entra-token" in page.text
    assert "req-42" in page.text
    assert "&#34;Ann Lee&#34;" in page.text  # the change's new value, escaped


async def test_a_groups_page_lists_its_members(signed_in: Browser, bus: CommandBus, tenant: Tenant) -> None:
    context = RequestContext(tenant_id=tenant.id, actor=ENTRA)
    ann = await bus.dispatch(context, CreateUser(attributes={"userName": "ann@acme.test", "displayName": "Ann"}))
    group = await bus.dispatch(context, CreateGroup(attributes={"displayName": "Engineering"}, member_ids=(ann.id,)))

    listed = await signed_in.get("/admin/groups", params={"q": "engin"})
    page = await signed_in.get(f"/admin/groups/{group.id}")

    assert f'href="/admin/groups/{group.id}">Engineering</a>' in listed.text
    assert "Members (1)" in page.text
    assert f'<li><a href="/admin/users/{ann.id}">Ann</a></li>' in page.text
    assert "GroupCreated" in page.text
    assert f'members: <a href="/admin/users/{ann.id}">Ann</a>' in page.text  # the history names them


async def test_markup_in_provisioned_values_is_shown_as_text(
    signed_in: Browser, bus: CommandBus, tenant: Tenant
) -> None:
    """Entra's values reach the page escaped: a displayName cannot inject markup."""
    context = RequestContext(tenant_id=tenant.id, actor=ENTRA)
    user = await bus.dispatch(
        context, CreateUser(attributes={"userName": "eve@acme.test", "displayName": "<script>alert(1)</script>"})
    )

    for page in ("/admin/users", f"/admin/users/{user.id}"):
        text = (await signed_in.get(page)).text
        assert "<script>" not in text
        assert "&lt;script&gt;" in text


async def test_an_unknown_user_is_not_found(signed_in: Browser) -> None:
    assert (await signed_in.get("/admin/users/no-such-user")).status_code == 404


async def test_a_bulk_membership_change_names_its_first_members_and_counts_the_rest(
    signed_in: Browser, bus: CommandBus, tenant: Tenant
) -> None:
    context = RequestContext(tenant_id=tenant.id, actor=ENTRA)
    users = [await bus.dispatch(context, CreateUser(attributes={"userName": f"u{n:02}@acme.test"})) for n in range(12)]
    group = await bus.dispatch(context, CreateGroup(attributes={"displayName": "Everyone"}))
    await bus.dispatch(context, AddMembers(group_id=group.id, member_ids=tuple(u.id for u in users)))

    history = (await signed_in.get(f"/admin/groups/{group.id}")).text.split("<h2>History</h2>")[1]

    assert history.count('href="/admin/users/') == 10
    assert "and 2 more" in history
