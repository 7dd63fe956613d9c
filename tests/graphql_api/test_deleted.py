"""Deleted users and groups through GraphQL (graphql_api/deleted.py), under the deleted:manage scope.

A deleted user is absent from ``users`` and ``node``; ``deletedUsers`` lists it; ``userRestore``
brings back the same user with its groups; a taken userName is a UniquenessError; the fields
are FORBIDDEN without the scope.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from identity_store import CommandBus, DeleteGroup, DeleteUser, RequestContext
from tests.graphql_api.conftest import Call, create_group, create_user, gid

ERRORS = "userErrors { __typename message ... on UniquenessError { attribute } }"


async def test_a_deleted_user_is_listed_apart_and_restored_with_its_groups(
    gql: Call, make_key: Callable[..., Awaitable[str]], bus: CommandBus, context: RequestContext
) -> None:
    user = await create_user(bus, context, "ada@example.com", displayName="Ada")
    group = await create_group(bus, context, "Staff", (user.id,))
    await bus.dispatch(context, DeleteUser(user_id=user.id))
    admin = await make_key("users:read", "groups:read", "deleted:manage")

    listed = await gql("{ users(first: 10) { edges { node { id } } } }", key=admin)
    assert listed["data"]["users"]["edges"] == []
    deleted = await gql("{ deletedUsers { id userName displayName deletedBy } }", key=admin)
    assert deleted["data"]["deletedUsers"] == [
        {
            "id": gid("User", user.id),
            "userName": "ada@example.com",
            "displayName": "Ada",
            "deletedBy": "test-credential",
        }
    ]

    restored = await gql(
        "mutation($id: ID!) { userRestore(id: $id) { user { id userName version "
        f"groups {{ edges {{ node {{ id }} }} }} }} {ERRORS} }} }}",
        {"id": gid("User", user.id)},
        key=admin,
    )
    payload = restored["data"]["userRestore"]
    assert payload["userErrors"] == []
    assert payload["user"]["id"] == gid("User", user.id)
    assert payload["user"]["version"] == user.version + 1
    assert payload["user"]["groups"]["edges"] == [{"node": {"id": gid("Group", group.id)}}]
    assert (await gql("{ deletedUsers { id } }", key=admin))["data"]["deletedUsers"] == []


async def test_restoring_over_a_taken_user_name_is_a_uniqueness_error(
    gql: Call, make_key: Callable[..., Awaitable[str]], bus: CommandBus, context: RequestContext
) -> None:
    old = await create_user(bus, context, "ada@example.com")
    await bus.dispatch(context, DeleteUser(user_id=old.id))
    await create_user(bus, context, "ADA@example.com")
    admin = await make_key("deleted:manage")

    body = await gql(
        f"mutation($id: ID!) {{ userRestore(id: $id) {{ user {{ id }} {ERRORS} }} }}",
        {"id": gid("User", old.id)},
        key=admin,
    )

    assert body["data"]["userRestore"]["user"] is None
    [error] = body["data"]["userRestore"]["userErrors"]
    assert (error["__typename"], error["attribute"]) == ("UniquenessError", "userName")


async def test_restoring_a_live_or_unknown_id_is_not_found(
    gql: Call, make_key: Callable[..., Awaitable[str]], bus: CommandBus, context: RequestContext
) -> None:
    live = await create_user(bus, context, "ada@example.com")
    admin = await make_key("deleted:manage")
    for node_id in (gid("User", live.id), gid("User", "nobody"), gid("Group", live.id)):
        body = await gql(
            f"mutation($id: ID!) {{ userRestore(id: $id) {{ user {{ id }} {ERRORS} }} }}", {"id": node_id}, key=admin
        )
        assert body["data"]["userRestore"]["userErrors"][0]["__typename"] == "NotFoundError"


async def test_restore_deleted_since_undoes_one_credentials_deletions(
    gql: Call, make_key: Callable[..., Awaitable[str]], bus: CommandBus, context: RequestContext
) -> None:
    since = datetime.now(UTC) - timedelta(seconds=1)
    users = [await create_user(bus, context, f"u{i}@example.com") for i in range(3)]
    group = await create_group(bus, context, "Staff", tuple(u.id for u in users))
    entra = RequestContext(
        tenant_id=context.tenant_id, actor=context.actor.__class__(credential_id="entra", kind="scim")
    )
    for user in users[:2]:
        await bus.dispatch(entra, DeleteUser(user_id=user.id))
    await bus.dispatch(entra, DeleteGroup(group_id=group.id))
    await bus.dispatch(context, DeleteUser(user_id=users[2].id))
    admin = await make_key("users:read", "groups:read", "deleted:manage")
    mutation = (
        'mutation($since: DateTime!, $dry: Boolean!) { restoreDeletedSince(since: $since, deletedBy: "entra", '
        "dryRun: $dry) { dryRun groups users notRestored { id message } } }"
    )

    dry = await gql(mutation, {"since": since.isoformat(), "dry": True}, key=admin)
    assert dry["data"]["restoreDeletedSince"] == {"dryRun": True, "groups": 1, "users": 2, "notRestored": []}
    done = await gql(mutation, {"since": since.isoformat(), "dry": False}, key=admin)
    assert done["data"]["restoreDeletedSince"] == {"dryRun": False, "groups": 1, "users": 2, "notRestored": []}

    members = await gql(
        "query($id: ID!) { node(id: $id) { ... on Group { "
        "members(first: 10) { edges { node { ... on User { id } } } } } } }",
        {"id": gid("Group", group.id)},
        key=admin,
    )
    ids = {e["node"]["id"] for e in members["data"]["node"]["members"]["edges"]}
    assert ids == {gid("User", u.id) for u in users[:2]}


async def test_the_deleted_fields_need_the_deleted_manage_scope(
    gql: Call, bus: CommandBus, context: RequestContext
) -> None:
    """The default test key (read, write, events) may not list or restore deleted objects."""
    user = await create_user(bus, context, "ada@example.com")
    await bus.dispatch(context, DeleteUser(user_id=user.id))

    listed = await gql("{ deletedUsers { id } }")
    restored = await gql(
        f"mutation($id: ID!) {{ userRestore(id: $id) {{ user {{ id }} {ERRORS} }} }}", {"id": gid("User", user.id)}
    )

    for body in (listed, restored):
        assert body["data"] is None
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_a_bad_page_argument_is_a_bad_user_input_not_a_server_error(
    gql: Call, make_key: Callable[..., Awaitable[str]]
) -> None:
    admin = await make_key("deleted:manage")
    for arguments in ('(after: "not a global id")', "(first: 0)", "(first: 100000)"):
        body = await gql(f"{{ deletedUsers{arguments} {{ id }} }}", key=admin)
        assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT", arguments
