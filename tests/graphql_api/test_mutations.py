"""Mutations: one command each, patch semantics, and every expected failure as a typed userError."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from strawberry import relay

from identity_store import CommandBus, RequestContext, Tenant
from identity_store.domain.passwords import verify_password
from identity_store.mongo import MongoStore
from tests.graphql_api.conftest import Call, create_group, create_user, gid

ERRORS = (
    "userErrors { __typename message field ... on UniquenessError { attribute } "
    "... on VersionConflictError { currentVersion } ... on InvalidValueError { attribute } }"
)
USER_PAYLOAD = f"user {{ id userName displayName title active version manager {{ userName }} }} {ERRORS}"
GROUP_PAYLOAD = f"group {{ id displayName memberCount version }} {ERRORS}"


async def _events(store: MongoStore, tenant: Tenant) -> list[str]:
    return [e.event.type.value for e in await store.tenant(tenant.id).events.read()]


async def test_user_create_returns_the_user_and_records_its_event(
    gql: Call, store: MongoStore, tenant: Tenant, bus: CommandBus, context: RequestContext
) -> None:
    boss = await create_user(bus, context, "boss@example.com")
    body = await gql(
        f"mutation($input: UserCreateInput!) {{ userCreate(input: $input) {{ {USER_PAYLOAD} }} }}",
        {
            "input": {
                "userName": "new@example.com",
                "displayName": "New",
                "emails": [{"value": "new@example.com", "type": "work"}],
                "enterprise": {"department": "Ops"},
                "manager": gid("User", boss.id),
            }
        },
    )
    payload = body["data"]["userCreate"]
    assert payload["userErrors"] == []
    assert payload["user"]["userName"] == "new@example.com"
    assert payload["user"]["manager"] == {"userName": "boss@example.com"}
    created = await store.tenant(tenant.id).users.get(
        payload["user"]["id"].split(":")[-1] if False else _local(payload["user"]["id"])
    )
    assert created.attributes["enterprise"] == {"department": "Ops", "manager": {"value": boss.id}}
    assert (await _events(store, tenant))[-1] == "UserCreated"


def _local(global_id: str) -> str:
    return relay.GlobalID.from_id(global_id).node_id


async def test_a_taken_user_name_is_a_uniqueness_error(gql: Call, bus: CommandBus, context: RequestContext) -> None:
    await create_user(bus, context, "taken@example.com")
    body = await gql(f'mutation {{ userCreate(input: {{userName: "TAKEN@example.com"}}) {{ {USER_PAYLOAD} }} }}')
    payload = body["data"]["userCreate"]
    assert payload["user"] is None
    assert payload["userErrors"][0]["__typename"] == "UniquenessError"
    assert payload["userErrors"][0]["attribute"] == "userName"


async def test_an_invalid_manager_is_an_invalid_value_error(gql: Call) -> None:
    body = await gql(
        f'mutation($m: ID!) {{ userCreate(input: {{userName: "x@example.com", manager: $m}}) {{ {USER_PAYLOAD} }} }}',
        {"m": gid("User", "no-such-user")},
    )
    [error] = body["data"]["userCreate"]["userErrors"]
    assert error["__typename"] == "InvalidValueError"
    assert error["attribute"] == "manager"


async def test_update_distinguishes_absent_from_null(
    gql: Call, bus: CommandBus, context: RequestContext, store: MongoStore, tenant: Tenant
) -> None:
    """A field left out stays; a field given null is removed; a field given a value replaces it."""
    user = await create_user(bus, context, "patch@example.com", displayName="Before", title="Keep", nickName="Nick")
    body = await gql(
        'mutation($id: ID!) { userUpdate(id: $id, input: {displayName: "After", nickName: null}) '
        f"{{ {USER_PAYLOAD} }} }}",
        {"id": gid("User", user.id)},
    )
    payload = body["data"]["userUpdate"]
    assert payload["userErrors"] == []
    assert payload["user"]["displayName"] == "After"
    assert payload["user"]["title"] == "Keep"
    stored = await store.tenant(tenant.id).users.get(user.id)
    assert "nickName" not in stored.attributes
    assert stored.version == user.version + 1


async def test_update_null_in_name_or_enterprise_removes_only_that_sub_attribute(
    gql: Call, bus: CommandBus, context: RequestContext, store: MongoStore, tenant: Tenant
) -> None:
    """name: {middleName: null} clears the middle name; the other name parts, absent here, stay."""
    boss = await create_user(bus, context, "boss@example.com")
    user = await create_user(
        bus,
        context,
        "parts@example.com",
        name={"givenName": "Ada", "middleName": "M", "familyName": "Lovelace"},
        enterprise={"department": "R&D", "division": "Labs", "manager": {"value": boss.id}},
    )
    body = await gql(
        "mutation($id: ID!) { userUpdate(id: $id, input: {"
        'name: {middleName: null, givenName: "Augusta"}, enterprise: {department: null}'
        f"}}) {{ {ERRORS} }} }}",
        {"id": gid("User", user.id)},
    )
    assert body["data"]["userUpdate"]["userErrors"] == []
    stored = await store.tenant(tenant.id).users.get(user.id)
    assert stored.attributes["name"] == {"givenName": "Augusta", "familyName": "Lovelace"}
    assert stored.attributes["enterprise"] == {"division": "Labs", "manager": {"value": boss.id}}


async def test_update_enterprise_null_keeps_the_manager_and_name_null_removes_the_name(
    gql: Call, bus: CommandBus, context: RequestContext, store: MongoStore, tenant: Tenant
) -> None:
    """The manager has its own field, so enterprise: null leaves it; name: null removes every part."""
    boss = await create_user(bus, context, "chief@example.com")
    user = await create_user(
        bus,
        context,
        "whole@example.com",
        name={"givenName": "Grace"},
        enterprise={"department": "Navy", "costCenter": "7", "manager": {"value": boss.id}},
    )
    body = await gql(
        f"mutation($id: ID!) {{ userUpdate(id: $id, input: {{name: null, enterprise: null}}) {{ {ERRORS} }} }}",
        {"id": gid("User", user.id)},
    )
    assert body["data"]["userUpdate"]["userErrors"] == []
    stored = await store.tenant(tenant.id).users.get(user.id)
    assert "name" not in stored.attributes
    assert stored.attributes["enterprise"] == {"manager": {"value": boss.id}}


async def test_update_sets_a_password_that_is_hashed_and_never_returned(
    gql: Call, bus: CommandBus, context: RequestContext, store: MongoStore, tenant: Tenant
) -> None:
    """The password goes through PatchUser like SCIM's: stored as an Argon2id hash, absent from every read."""
    user = await create_user(bus, context, "secret@example.com")
    body = await gql(
        'mutation($id: ID!) { userUpdate(id: $id, input: {password: "correct horse battery"}) '
        f"{{ user {{ rawAttributes version }} {ERRORS} }} }}",
        {"id": gid("User", user.id)},
    )
    payload = body["data"]["userUpdate"]
    assert payload["userErrors"] == []
    assert payload["user"]["version"] == user.version + 1
    assert "password" not in payload["user"]["rawAttributes"]
    assert "correct horse" not in str(body)
    stored = await store.tenant(tenant.id).users.get(user.id)
    assert stored.password_hash is not None
    assert stored.password_hash.startswith("$argon2id$")
    assert verify_password(stored.password_hash, "correct horse battery")
    assert "password" not in stored.attributes
    [*_, event] = await store.tenant(tenant.id).events.read()
    assert [(c.field, c.before, c.after) for c in event.event.changes] == [("password", None, None)]


async def test_update_sets_and_clears_x509_certificates(
    gql: Call, bus: CommandBus, context: RequestContext, store: MongoStore, tenant: Tenant
) -> None:
    user = await create_user(bus, context, "cert@example.com")
    query = (
        "mutation($id: ID!, $c: [AttributeValueInput!]) { userUpdate(id: $id, input: {x509Certificates: $c}) "
        f"{{ user {{ x509Certificates {{ value }} }} {ERRORS} }} }}"
    )
    body = await gql(query, {"id": gid("User", user.id), "c": [{"value": "MIIBszCCAVmgAwIBAgI="}]})
    assert body["data"]["userUpdate"]["user"]["x509Certificates"] == [{"value": "MIIBszCCAVmgAwIBAgI="}]
    cleared = await gql(query, {"id": gid("User", user.id), "c": None})
    assert cleared["data"]["userUpdate"]["user"]["x509Certificates"] == []
    assert "x509Certificates" not in (await store.tenant(tenant.id).users.get(user.id)).attributes


async def test_user_create_takes_a_password_and_certificates(gql: Call, store: MongoStore, tenant: Tenant) -> None:
    body = await gql(
        'mutation { userCreate(input: {userName: "pw@example.com", password: "s3cret-enough", '
        'x509Certificates: [{value: "MIIB"}]}) '
        f"{{ user {{ id x509Certificates {{ value }} }} {ERRORS} }} }}"
    )
    payload = body["data"]["userCreate"]
    assert payload["userErrors"] == []
    stored = await store.tenant(tenant.id).users.get(_local(payload["user"]["id"]))
    assert stored.password_hash is not None
    assert verify_password(stored.password_hash, "s3cret-enough")
    assert payload["user"]["x509Certificates"] == [{"value": "MIIB"}]


async def test_update_with_a_stale_if_version_is_a_version_conflict(
    gql: Call, bus: CommandBus, context: RequestContext
) -> None:
    user = await create_user(bus, context, "race@example.com")
    query = (
        'mutation($id: ID!, $v: Int) { userUpdate(id: $id, ifVersion: $v, input: {title: "T"}) '
        f"{{ {USER_PAYLOAD} }} }}"
    )
    ok = await gql(query, {"id": gid("User", user.id), "v": user.version})
    assert ok["data"]["userUpdate"]["user"]["version"] == user.version + 1
    stale = await gql(query, {"id": gid("User", user.id), "v": user.version})
    [error] = stale["data"]["userUpdate"]["userErrors"]
    assert error["__typename"] == "VersionConflictError"
    assert error["currentVersion"] == user.version + 1


async def test_updating_an_unknown_user_is_not_found(gql: Call) -> None:
    body = await gql(
        f'mutation($id: ID!) {{ userUpdate(id: $id, input: {{title: "T"}}) {{ {USER_PAYLOAD} }} }}',
        {"id": gid("User", "missing")},
    )
    assert body["data"]["userUpdate"]["userErrors"][0]["__typename"] == "NotFoundError"


async def test_removing_a_required_attribute_is_invalid(gql: Call, bus: CommandBus, context: RequestContext) -> None:
    user = await create_user(bus, context, "req@example.com")
    body = await gql(
        f"mutation($id: ID!) {{ userUpdate(id: $id, input: {{userName: null}}) {{ {USER_PAYLOAD} }} }}",
        {"id": gid("User", user.id)},
    )
    assert body["data"]["userUpdate"]["userErrors"][0]["__typename"] == "InvalidValueError"


async def test_deactivate_reactivate_and_delete(
    gql: Call, bus: CommandBus, context: RequestContext, store: MongoStore, tenant: Tenant
) -> None:
    user = await create_user(bus, context, "cycle@example.com")
    variables = {"id": gid("User", user.id)}
    off = await gql(f"mutation($id: ID!) {{ userDeactivate(id: $id) {{ {USER_PAYLOAD} }} }}", variables)
    assert off["data"]["userDeactivate"]["user"]["active"] is False
    on = await gql(f"mutation($id: ID!) {{ userReactivate(id: $id) {{ {USER_PAYLOAD} }} }}", variables)
    assert on["data"]["userReactivate"]["user"]["active"] is True
    gone = await gql(f"mutation($id: ID!) {{ userDelete(id: $id) {{ deletedId {ERRORS} }} }}", variables)
    assert gone["data"]["userDelete"] == {"deletedId": variables["id"], "userErrors": []}
    assert await _events(store, tenant) == ["UserCreated", "UserDeactivated", "UserReactivated", "UserDeleted"]
    again = await gql(f"mutation($id: ID!) {{ userDelete(id: $id) {{ deletedId {ERRORS} }} }}", variables)
    assert again["data"]["userDelete"]["userErrors"][0]["__typename"] == "NotFoundError"


async def test_group_create_update_members_and_delete(gql: Call, bus: CommandBus, context: RequestContext) -> None:
    alice = await create_user(bus, context, "alice@example.com")
    bob = await create_user(bus, context, "bob@example.com")
    created = await gql(
        f'mutation($m: [ID!]) {{ groupCreate(input: {{displayName: "Crew", memberIds: $m}}) {{ {GROUP_PAYLOAD} }} }}',
        {"m": [gid("User", alice.id)]},
    )
    group = created["data"]["groupCreate"]["group"]
    assert group["memberCount"] == 1
    renamed = await gql(
        f'mutation($id: ID!) {{ groupUpdate(id: $id, input: {{displayName: "Crew 2"}}) {{ {GROUP_PAYLOAD} }} }}',
        {"id": group["id"]},
    )
    assert renamed["data"]["groupUpdate"]["group"]["displayName"] == "Crew 2"
    added = await gql(
        f"mutation($id: ID!, $m: [ID!]!) {{ groupMembersAdd(id: $id, memberIds: $m) {{ {GROUP_PAYLOAD} }} }}",
        {"id": group["id"], "m": [gid("User", bob.id), gid("User", alice.id)]},
    )
    assert added["data"]["groupMembersAdd"]["group"]["memberCount"] == 2
    removed = await gql(
        f"mutation($id: ID!, $m: [ID!]!) {{ groupMembersRemove(id: $id, memberIds: $m) {{ {GROUP_PAYLOAD} }} }}",
        {"id": group["id"], "m": [gid("User", alice.id)]},
    )
    assert removed["data"]["groupMembersRemove"]["group"]["memberCount"] == 1
    deleted = await gql(f"mutation($id: ID!) {{ groupDelete(id: $id) {{ deletedId {ERRORS} }} }}", {"id": group["id"]})
    assert deleted["data"]["groupDelete"]["deletedId"] == group["id"]


async def test_adding_an_unknown_member_changes_nothing(gql: Call, bus: CommandBus, context: RequestContext) -> None:
    """All or nothing: one unknown id among valid ones is an InvalidValueError and no member is added."""
    user = await create_user(bus, context, "real@example.com")
    group = await create_group(bus, context, "Strict")
    body = await gql(
        f"mutation($id: ID!, $m: [ID!]!) {{ groupMembersAdd(id: $id, memberIds: $m) {{ {GROUP_PAYLOAD} }} }}",
        {"id": gid("Group", group.id), "m": [gid("User", user.id), gid("User", "ghost")]},
    )
    assert body["data"]["groupMembersAdd"]["userErrors"][0]["__typename"] == "InvalidValueError"
    count = await gql("query($id: ID!) { group(lookup: {id: $id}) { memberCount } }", {"id": gid("Group", group.id)})
    assert count["data"]["group"]["memberCount"] == 0


async def test_a_taken_display_name_is_a_uniqueness_error(gql: Call, bus: CommandBus, context: RequestContext) -> None:
    await create_group(bus, context, "Unique")
    body = await gql(f'mutation {{ groupCreate(input: {{displayName: "unique"}}) {{ {GROUP_PAYLOAD} }} }}')
    assert body["data"]["groupCreate"]["userErrors"][0]["__typename"] == "UniquenessError"


async def test_entra_provisioned_objects_need_write_provisioned(
    gql: Call, bus: CommandBus, context: RequestContext, make_key: Callable[..., Awaitable[str]]
) -> None:
    """A user with an externalId is Entra's: changing its name is Forbidden without write:provisioned,
    roles stay writable, and a key with write:provisioned may change both."""
    user = await create_user(bus, context, "entra@example.com", externalId="e-1")
    variables: dict[str, Any] = {"id": gid("User", user.id)}
    rename = f'mutation($id: ID!) {{ userUpdate(id: $id, input: {{displayName: "X"}}) {{ {USER_PAYLOAD} }} }}'
    refused = await gql(rename, variables)
    [error] = refused["data"]["userUpdate"]["userErrors"]
    assert error["__typename"] == "ForbiddenError"
    assert "write:provisioned" in error["message"]
    roles = await gql(
        f'mutation($id: ID!) {{ userUpdate(id: $id, input: {{roles: [{{value: "viewer"}}]}}) {{ {USER_PAYLOAD} }} }}',
        variables,
    )
    assert roles["data"]["userUpdate"]["userErrors"] == []
    deactivate = await gql(f"mutation($id: ID!) {{ userDeactivate(id: $id) {{ {USER_PAYLOAD} }} }}", variables)
    assert deactivate["data"]["userDeactivate"]["userErrors"][0]["__typename"] == "ForbiddenError"
    claim = await gql(
        f'mutation {{ userCreate(input: {{userName: "c@example.com", externalId: "e-2"}}) {{ {USER_PAYLOAD} }} }}'
    )
    assert claim["data"]["userCreate"]["userErrors"][0]["__typename"] == "ForbiddenError"

    trusted = await make_key("write", "write:provisioned", "users:read")
    allowed = await gql(rename, variables, key=trusted)
    assert allowed["data"]["userUpdate"]["user"]["displayName"] == "X"


async def test_an_id_of_the_wrong_type_is_not_found(gql: Call, bus: CommandBus, context: RequestContext) -> None:
    group = await create_group(bus, context, "NotAUser")
    body = await gql(
        f"mutation($id: ID!) {{ userDeactivate(id: $id) {{ {USER_PAYLOAD} }} }}", {"id": gid("Group", group.id)}
    )
    assert body["data"]["userDeactivate"]["userErrors"][0]["__typename"] == "NotFoundError"


async def test_another_tenants_user_cannot_be_changed(
    gql: Call, store: MongoStore, bus: CommandBus, context: RequestContext
) -> None:
    """A global id of another tenant's user is NotFound for every mutation, and the user is untouched."""
    other = await store.tenants.create("umbrella")
    foreign = await create_user(bus, RequestContext(tenant_id=other.id, actor=context.actor), "x@umbrella.com")
    variables = {"id": gid("User", foreign.id)}
    update = await gql(
        f'mutation($id: ID!) {{ userUpdate(id: $id, input: {{title: "pwned"}}) {{ {USER_PAYLOAD} }} }}', variables
    )
    delete = await gql(f"mutation($id: ID!) {{ userDelete(id: $id) {{ deletedId {ERRORS} }} }}", variables)
    assert update["data"]["userUpdate"]["userErrors"][0]["__typename"] == "NotFoundError"
    assert delete["data"]["userDelete"]["userErrors"][0]["__typename"] == "NotFoundError"
    unchanged = await store.tenant(other.id).users.get(foreign.id)
    assert unchanged.version == foreign.version
