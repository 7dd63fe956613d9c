"""``identity-store restore`` and ``purge`` (identity_service/cli/restores.py) on the suite's database.

Deleted through the bus as two SCIM credentials would; undone by the command line, which says
what it restored or would restore, one line per object it could not, never a traceback.
"""

from __future__ import annotations

from identity_store import CommandBus, CreateGroup, CreateUser, DeleteGroup, DeleteUser, RequestContext
from identity_store.bootstrap import bootstrap
from identity_store.events import Actor
from identity_store.mongo import MongoStore
from tests.cli import CliRunner


async def _tenant(cli: CliRunner, store: MongoStore) -> tuple[str, CommandBus]:
    tenant_id, _ = await cli.ok("tenant", "create", "Contoso")
    return tenant_id, bootstrap(store)


def _as(tenant_id: str, credential_id: str) -> RequestContext:
    return RequestContext(tenant_id=tenant_id, actor=Actor(credential_id=credential_id, kind="scim"))


async def _deprovisioned(store: MongoStore, cli: CliRunner) -> tuple[str, list[str], list[str], str]:
    """Eight users in a group; six and the group deleted by ``entra``, two by ``other``."""
    tenant_id, bus = await _tenant(cli, store)
    setup = _as(tenant_id, "setup")
    users = [(await bus.dispatch(setup, CreateUser(attributes={"userName": f"u{i}"}))).id for i in range(8)]
    group = await bus.dispatch(setup, CreateGroup(attributes={"displayName": "Sales"}, member_ids=tuple(users)))
    for user_id in users[:6]:
        await bus.dispatch(_as(tenant_id, "entra"), DeleteUser(user_id=user_id))
    await bus.dispatch(_as(tenant_id, "entra"), DeleteGroup(group_id=group.id))
    for user_id in users[6:]:
        await bus.dispatch(_as(tenant_id, "other"), DeleteUser(user_id=user_id))
    return tenant_id, users[:6], users[6:], group.id


async def test_a_mass_deprovisioning_is_undone_for_one_credential(store: MongoStore, cli: CliRunner) -> None:
    """restore --since --credential: exactly the credential's deletions come back, in their group."""
    tenant_id, entra, other, group_id = await _deprovisioned(store, cli)

    status, out, err = await cli("restore", "--tenant", "Contoso", "--since", "1h", "--credential", "entra")

    assert (status, err) == (0, "")
    assert out.splitlines()[-1] == "restored 1 groups, 6 users; 0 not restored"
    tenant = store.tenant(tenant_id)
    assert await tenant.users.existing_ids([*entra, *other]) == set(entra)
    assert sorted(m.member_id for m in await tenant.memberships.members(group_id)) == sorted(entra)
    assert (await tenant.memberships.count_members([group_id]))[group_id] == 6


async def test_a_dry_run_lists_what_it_would_restore_and_changes_nothing(store: MongoStore, cli: CliRunner) -> None:
    tenant_id, entra, other, group_id = await _deprovisioned(store, cli)
    events = await store.database["events"].count_documents({"tenant": tenant_id})

    status, out, _ = await cli("restore", "--tenant", "Contoso", "--since", "1h", "--dry-run")

    lines = out.splitlines()
    assert status == 0
    assert lines[-1] == "would restore 1 groups, 8 users; 0 not restored"
    assert sorted(line.split("\t")[2] for line in lines[:-1]) == sorted([group_id, *entra, *other])
    assert await store.tenant(tenant_id).users.existing_ids([*entra, *other]) == set()
    assert await store.database["events"].count_documents({"tenant": tenant_id}) == events


async def test_a_name_taken_meanwhile_is_one_line_and_the_rest_is_restored(store: MongoStore, cli: CliRunner) -> None:
    tenant_id, entra, _, _ = await _deprovisioned(store, cli)
    bus = bootstrap(store)
    await bus.dispatch(_as(tenant_id, "entra"), CreateUser(attributes={"userName": "u0"}))

    status, out, err = await cli("restore", "--tenant", "Contoso", "--since", "1h", "--credential", "entra")

    assert status == 1
    assert err.splitlines() == [f"identity-store: user {entra[0]} (u0) not restored: User userName is already taken"]
    assert "Traceback" not in err
    assert out.splitlines()[-1] == "restored 1 groups, 5 users; 1 not restored"


async def test_one_user_or_group_is_restored_by_id_and_an_unknown_id_is_one_line(
    store: MongoStore, cli: CliRunner
) -> None:
    tenant_id, entra, _, group_id = await _deprovisioned(store, cli)

    assert await cli.ok("restore", "--tenant", "Contoso", "--group", group_id) == ["restored", "group", group_id]
    assert await cli.ok("restore", "--tenant", "Contoso", "--user", entra[0]) == ["restored", "user", entra[0]]
    status, _, err = await cli("restore", "--tenant", "Contoso", "--user", entra[0])
    assert status == 1
    assert err == f"identity-store: User {entra[0]} is not deleted"
    status, _, err = await cli("restore", "--tenant", "Contoso", "--user", "nobody")
    assert (status, err) == (1, "identity-store: deleted User nobody not found")
    assert [m.member_id for m in await store.tenant(tenant_id).memberships.members(group_id)] == [entra[0]]


async def test_restore_needs_exactly_one_of_since_user_or_group(cli: CliRunner) -> None:
    status, _, err = await cli("restore", "--tenant", "Contoso")
    assert status == 2
    assert "give one of --since, --user or --group" in err
    status, _, err = await cli("restore", "--tenant", "Contoso", "--since", "yesterday-ish")
    assert status == 2
    assert "not a time" in err


async def test_purge_removes_for_good_what_is_older_than_asked(store: MongoStore, cli: CliRunner) -> None:
    tenant_id, entra, _, _ = await _deprovisioned(store, cli)

    assert await cli.ok("purge", "--tenant", "Contoso") == ["purged 0 groups, 0 users"]  # within 30 days
    assert await cli.ok("purge", "--tenant", "Contoso", "--older-than", "0") == ["purged 1 groups, 8 users"]

    assert await store.database["deleted_users"].count_documents({"tenant": tenant_id}) == 0
    status, _, err = await cli("restore", "--tenant", "Contoso", "--user", entra[0])
    assert (status, err) == (1, f"identity-store: deleted User {entra[0]} not found")


async def test_a_tenants_retention_is_set_recorded_and_used_by_purge(store: MongoStore, cli: CliRunner) -> None:
    """tenant deleted-retention: the tenant's own days (an event), which purge then applies."""
    tenant_id, _, _, _ = await _deprovisioned(store, cli)

    assert (await cli.ok("tenant", "deleted-retention", "Contoso", "0"))[2] == "deleted-retention 0 days"
    assert await cli.ok("purge", "--tenant", "Contoso") == ["purged 1 groups, 8 users"]
    assert (await store.tenants.get(tenant_id)).settings.deleted_retention_days == 0
    assert (await cli.ok("tenant", "deleted-retention", "Contoso"))[2] == "deleted-retention default"
    assert (await store.tenants.get(tenant_id)).settings.deleted_retention_days is None
    status, _, err = await cli("tenant", "deleted-retention", "Contoso", "-1")
    assert status == 2
    assert "-1" in err
