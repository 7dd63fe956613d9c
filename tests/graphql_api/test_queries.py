"""Reads: nodes and tenant isolation, lookups, user and group fields, filters, and the event feed."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from strawberry import relay

from identity_store import (
    Actor,
    AddMembers,
    CommandBus,
    DeleteGroup,
    PatchUser,
    RemoveMembers,
    RequestContext,
    Tenant,
)
from identity_store.domain.credentials import CredentialKind, parse_secret
from identity_store.domain.patch import PatchOp, PatchOperation, PatchPath
from identity_store.mongo import MongoStore
from tests.graphql_api.conftest import Call, create_group, create_user, gid

USER_FIELDS = """
  id userName externalId displayName active title
  name { givenName familyName }
  emails { value type primary }
  roles { value display }
  entitlements { value }
  ims { value type }
  profileUrl
  enterprise { department costCenter }
  rawAttributes
"""


async def test_node_resolves_a_user_of_the_callers_tenant(gql: Call, bus: CommandBus, context: RequestContext) -> None:
    user = await create_user(bus, context, "ada@example.com")
    body = await gql(
        "query($id: ID!) { node(id: $id) { __typename id ... on User { userName } } }", {"id": gid("User", user.id)}
    )
    assert body["data"]["node"] == {"__typename": "User", "id": gid("User", user.id), "userName": "ada@example.com"}


async def test_another_tenants_id_resolves_to_null(
    gql: Call, store: MongoStore, bus: CommandBus, context: RequestContext
) -> None:
    """Tenant isolation: a global id of another tenant's user is indistinguishable from an unknown id."""
    other = await store.tenants.create("globex")
    foreign_context = RequestContext(tenant_id=other.id, actor=context.actor)
    foreign_user = await create_user(bus, foreign_context, "spy@globex.com")
    foreign_group = await create_group(bus, foreign_context, "Globex staff")
    query = """query($u: ID!, $g: ID!) {
      node(id: $u) { id }
      nodes(ids: [$u, $g]) { id }
      user(lookup: {id: $u}) { id }
      byName: user(lookup: {userName: "spy@globex.com"}) { id }
      group(lookup: {id: $g}) { id }
    }"""
    body = await gql(query, {"u": gid("User", foreign_user.id), "g": gid("Group", foreign_group.id)})
    assert "errors" not in body
    assert body["data"] == {"node": None, "nodes": [None, None], "user": None, "byName": None, "group": None}


async def test_a_malformed_global_id_is_an_error_not_a_fault(gql: Call) -> None:
    body = await gql('{ node(id: "not-base64!") { id } }')
    assert body["errors"]
    assert body["errors"][0]["message"] != "Unexpected error."


async def test_user_lookup_by_user_name_and_external_id(gql: Call, bus: CommandBus, context: RequestContext) -> None:
    """userName is matched ignoring case (RFC 7643 caseExact false); externalId exactly."""
    user = await create_user(bus, context, "Grace@Example.com", externalId="entra-42")
    body = await gql(
        '{ a: user(lookup: {userName: "grace@example.com"}) { id } b: user(lookup: {externalId: "entra-42"}) { id } '
        'c: user(lookup: {externalId: "ENTRA-42"}) { id } }'
    )
    assert body["data"] == {"a": {"id": gid("User", user.id)}, "b": {"id": gid("User", user.id)}, "c": None}


async def test_a_lookup_must_name_exactly_one_key(gql: Call) -> None:
    """UserLookup is @oneOf: two keys are a validation error."""
    body = await gql('{ user(lookup: {userName: "a", externalId: "b"}) { id } }')
    assert body["data"] is None
    assert "exactly one" in body["errors"][0]["message"].lower()


async def test_user_profile_enterprise_roles_and_raw_attributes(
    gql: Call, bus: CommandBus, context: RequestContext
) -> None:
    user = await create_user(
        bus,
        context,
        "lin@example.com",
        displayName="Lin",
        title="Engineer",
        name={"givenName": "Lin", "familyName": "Wu"},
        emails=[{"value": "lin@example.com", "type": "work", "primary": True}],
        roles=[{"value": "admin", "display": "Administrator"}],
        entitlements=[{"value": "vpn"}],
        ims=[{"value": "lin.wu", "type": "xmpp"}],
        profileUrl="https://example.com/lin",
        enterprise={"department": "R&D", "costCenter": "42"},
    )
    body = await gql(
        f"query($id: ID!) {{ user(lookup: {{id: $id}}) {{ {USER_FIELDS} }} }}", {"id": gid("User", user.id)}
    )
    expected: dict[str, object] = {
        "id": gid("User", user.id),
        "userName": "lin@example.com",
        "externalId": None,
        "displayName": "Lin",
        "active": True,
        "title": "Engineer",
        "name": {"givenName": "Lin", "familyName": "Wu"},
        "emails": [{"value": "lin@example.com", "type": "work", "primary": True}],
        "roles": [{"value": "admin", "display": "Administrator"}],
        "entitlements": [{"value": "vpn"}],
        "ims": [{"value": "lin.wu", "type": "xmpp"}],
        "profileUrl": "https://example.com/lin",
        "enterprise": {"department": "R&D", "costCenter": "42"},
        "rawAttributes": user.attributes,
    }
    assert body["data"]["user"] == expected


async def test_manager_and_direct_reports(gql: Call, bus: CommandBus, context: RequestContext) -> None:
    boss = await create_user(bus, context, "boss@example.com")
    report = await create_user(bus, context, "report@example.com", enterprise={"manager": {"value": boss.id}})
    body = await gql(
        "query($id: ID!) { user(lookup: {id: $id}) { manager { userName directReports { nodes { userName } } } } }",
        {"id": gid("User", report.id)},
    )
    assert body["data"]["user"]["manager"] == {
        "userName": "boss@example.com",
        "directReports": {"nodes": [{"userName": "report@example.com"}]},
    }


async def test_groups_direct_and_transitive_and_is_member_of(
    gql: Call, bus: CommandBus, context: RequestContext
) -> None:
    """A user in Team, itself in Department: DIRECT lists Team, TRANSITIVE both; isMemberOf follows nesting."""
    user = await create_user(bus, context, "nest@example.com")
    team = await create_group(bus, context, "Team", (user.id,))
    department = await create_group(bus, context, "Department", (team.id,))
    elsewhere = await create_group(bus, context, "Elsewhere")
    body = await gql(
        """query($id: ID!, $groups: [ID!]!) { user(lookup: {id: $id}) {
             direct: groups { nodes { displayName } }
             all: groups(membership: TRANSITIVE) { totalCount nodes { displayName } }
             isMemberOf(groupIds: $groups)
        } }""",
        {
            "id": gid("User", user.id),
            "groups": [gid("Group", department.id), gid("Group", elsewhere.id), gid("Group", team.id)],
        },
    )
    found = body["data"]["user"]
    assert found["direct"]["nodes"] == [{"displayName": "Team"}]
    assert found["all"]["totalCount"] == 2
    assert sorted(g["displayName"] for g in found["all"]["nodes"]) == ["Department", "Team"]
    assert found["isMemberOf"] == [True, False, True]


async def test_a_users_groups_come_in_pages_both_ways(gql: Call, bus: CommandBus, context: RequestContext) -> None:
    """Groups of a user are a connection ordered by id: bounded pages forwards and backwards."""
    user = await create_user(bus, context, "joiner@example.com")
    groups = [await create_group(bus, context, f"G{i}", (user.id,)) for i in range(5)]
    expected = [gid("Group", g.id) for g in sorted(groups, key=lambda g: g.id)]
    query = """query($id: ID!, $first: Int, $after: String, $last: Int, $before: String) { user(lookup: {id: $id}) {
                 groups(first: $first, after: $after, last: $last, before: $before) {
                   totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor } nodes { id } } } }"""
    first = (await gql(query, {"id": gid("User", user.id), "first": 2}))["data"]["user"]["groups"]
    assert [n["id"] for n in first["nodes"]] == expected[:2]
    assert (first["totalCount"], first["pageInfo"]["hasNextPage"], first["pageInfo"]["hasPreviousPage"]) == (
        5,
        True,
        False,
    )
    rest = {"id": gid("User", user.id), "first": 10, "after": first["pageInfo"]["endCursor"]}
    second = (await gql(query, rest))["data"]["user"]["groups"]
    assert [n["id"] for n in second["nodes"]] == expected[2:]
    assert (second["pageInfo"]["hasNextPage"], second["pageInfo"]["hasPreviousPage"]) == (False, True)
    back = {"id": gid("User", user.id), "last": 2, "before": second["pageInfo"]["endCursor"]}
    previous = (await gql(query, back))["data"]["user"]["groups"]
    assert [n["id"] for n in previous["nodes"]] == expected[2:4]
    assert previous["pageInfo"]["hasPreviousPage"] is True
    too_many = await gql(query, {"id": gid("User", user.id), "first": 101})
    assert too_many["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_group_members_are_users_and_groups_with_edge_data(
    gql: Call, bus: CommandBus, context: RequestContext
) -> None:
    user = await create_user(bus, context, "member@example.com")
    inner = await create_group(bus, context, "Inner")
    outer = await create_group(bus, context, "Outer", (user.id, inner.id))
    body = await gql(
        """query($id: ID!) { group(lookup: {id: $id}) {
             displayName memberCount
             members(first: 10) { totalCount edges { addedBy addedAt node { __typename
               ... on User { userName } ... on Group { displayName parents { nodes { displayName } } } } } }
        } }""",
        {"id": gid("Group", outer.id)},
    )
    group = body["data"]["group"]
    assert group["memberCount"] == 2
    assert group["members"]["totalCount"] == 2
    nodes = sorted(
        (e["node"]["__typename"], e["node"].get("userName") or e["node"]["displayName"])
        for e in group["members"]["edges"]
    )
    assert nodes == [("Group", "Inner"), ("User", "member@example.com")]
    assert all(e["addedBy"] == "test-credential" and e["addedAt"] for e in group["members"]["edges"])
    inner_edge = next(e for e in group["members"]["edges"] if e["node"]["__typename"] == "Group")
    assert inner_edge["node"]["parents"]["nodes"] == [{"displayName": "Outer"}]


async def test_group_lookup_by_display_name(gql: Call, bus: CommandBus, context: RequestContext) -> None:
    group = await create_group(bus, context, "Finance", externalId="entra-g1")
    body = await gql(
        '{ a: group(lookup: {displayName: "finance"}) { id } b: group(lookup: {externalId: "entra-g1"}) { id } }'
    )
    assert body["data"] == {"a": {"id": gid("Group", group.id)}, "b": {"id": gid("Group", group.id)}}


async def test_users_typed_filters(gql: Call, bus: CommandBus, context: RequestContext) -> None:
    """Each filter field narrows the result; fields combine with AND."""
    a = await create_user(
        bus, context, "a@example.com", enterprise={"department": "Sales"}, emails=[{"value": "A@Mail.com"}]
    )
    b = await create_user(bus, context, "b@example.com", enterprise={"department": "Sales"}, active=False)
    await create_user(bus, context, "c@other.org", externalId="ext-c")
    group = await create_group(bus, context, "Club", (a.id,))

    async def names(filter_: str) -> list[str]:
        body = await gql(f"{{ users(first: 50, filter: {filter_}) {{ nodes {{ userName }} }} }}")
        assert "errors" not in body, body
        return [n["userName"] for n in body["data"]["users"]["nodes"]]

    assert await names('{department: "sales"}') == ["a@example.com", "b@example.com"]
    assert await names('{department: "sales", active: true}') == ["a@example.com"]
    assert await names("{active: false}") == ["b@example.com"]
    assert await names('{email: "a@mail.com"}') == ["a@example.com"]
    assert await names('{userNameStartsWith: "C@"}') == ["c@other.org"]
    assert await names('{externalId: "ext-c"}') == ["c@other.org"]
    assert await names(f'{{memberOf: "{gid("Group", group.id)}"}}') == ["a@example.com"]
    assert b.id  # b exists but is filtered out above


async def test_groups_filter_and_order(gql: Call, bus: CommandBus, context: RequestContext) -> None:
    for name in ("Beta", "alpha", "Gamma"):
        await create_group(bus, context, name)
    body = await gql(
        "{ asc: groups(first: 10) { nodes { displayName } } "
        "desc: groups(first: 10, orderBy: {field: DISPLAY_NAME, direction: DESC}) { nodes { displayName } } "
        'few: groups(first: 10, filter: {displayNameStartsWith: "a"}) { nodes { displayName } } }'
    )
    data = body["data"]
    assert [n["displayName"] for n in data["asc"]["nodes"]] == ["alpha", "Beta", "Gamma"]
    assert [n["displayName"] for n in data["desc"]["nodes"]] == ["Gamma", "Beta", "alpha"]
    assert [n["displayName"] for n in data["few"]["nodes"]] == ["alpha"]


async def test_identity_events_is_a_resumable_feed(gql: Call, bus: CommandBus, context: RequestContext) -> None:
    """Pages of the event log in commit order; after: the end cursor continues where the last page ended."""
    user = await create_user(bus, context, "feed@example.com")
    group = await create_group(bus, context, "Feed")
    await bus.dispatch(context, AddMembers(group_id=group.id, member_ids=(user.id,)))
    query = """query($after: String) { identityEvents(first: 2, after: $after) {
        pageInfo { hasNextPage endCursor }
        nodes { type subjectType subjectId memberIds correlationId actor { credentialId } }
    } }"""
    first = (await gql(query))["data"]["identityEvents"]
    assert [e["type"] for e in first["nodes"]] == ["USER_CREATED", "GROUP_CREATED"]
    assert first["nodes"][0]["subjectId"] == gid("User", user.id)
    assert first["nodes"][0]["actor"] == {"credentialId": "test-credential"}
    assert first["pageInfo"]["hasNextPage"] is True
    rest = (await gql(query, {"after": first["pageInfo"]["endCursor"]}))["data"]["identityEvents"]
    assert [(e["type"], e["memberIds"]) for e in rest["nodes"]] == [("MEMBERS_ADDED", [gid("User", user.id)])]
    assert rest["pageInfo"]["hasNextPage"] is False


async def test_every_id_in_an_event_is_a_global_id_node_accepts(
    gql: Call, bus: CommandBus, context: RequestContext
) -> None:
    """memberIds name Users and nested Groups by global id, also after the member is deleted; the
    manager inside an enterprise change is a User global id."""
    boss = await create_user(bus, context, "boss@example.com")
    user = await create_user(bus, context, "report@example.com")
    inner = await create_group(bus, context, "Inner")
    outer = await create_group(bus, context, "Outer")
    start = (await gql("{ identityEvents(first: 100) { pageInfo { endCursor } } }"))["data"]["identityEvents"]
    await bus.dispatch(context, AddMembers(group_id=outer.id, member_ids=(user.id, inner.id)))
    await bus.dispatch(context, RemoveMembers(group_id=outer.id, member_ids=(inner.id,)))
    await bus.dispatch(context, AddMembers(group_id=outer.id, member_ids=(inner.id,)))
    await bus.dispatch(context, DeleteGroup(group_id=inner.id))
    await bus.dispatch(
        context,
        PatchUser(
            user_id=user.id,
            operations=(
                PatchOperation(
                    op=PatchOp.REPLACE, path=PatchPath(attribute=("enterprise", "manager")), value={"value": boss.id}
                ),
            ),
        ),
    )
    query = """query($after: String) { identityEvents(first: 20, after: $after) {
        nodes { type subjectId memberIds changes { field after } } } }"""
    events = (await gql(query, {"after": start["pageInfo"]["endCursor"]}))["data"]["identityEvents"]["nodes"]
    members = [(e["type"], e["memberIds"]) for e in events if e["type"].startswith("MEMBERS_")]
    assert members == [
        ("MEMBERS_ADDED", [gid("User", user.id), gid("Group", inner.id)]),
        ("MEMBERS_REMOVED", [gid("Group", inner.id)]),
        ("MEMBERS_ADDED", [gid("Group", inner.id)]),
        ("MEMBERS_REMOVED", [gid("Group", inner.id)]),  # inner deleted: it left outer
    ]
    [updated] = [e for e in events if e["type"] == "USER_UPDATED"]
    assert updated["changes"] == [{"field": "enterprise", "after": {"manager": {"value": gid("User", boss.id)}}}]
    found = await gql("query($ids: [ID!]!) { nodes(ids: $ids) { id } }", {"ids": members[0][1]})
    assert found["data"]["nodes"] == [{"id": gid("User", user.id)}, None]  # the group is gone, the user not


async def test_identity_events_about_one_user_include_its_memberships(
    gql: Call, bus: CommandBus, context: RequestContext
) -> None:
    """userId keeps the feed's events about that user, as the subscription's userId does."""
    user = await create_user(bus, context, "followed@example.com")
    await create_user(bus, context, "unrelated@example.com")
    group = await create_group(bus, context, "Followers")
    await bus.dispatch(context, AddMembers(group_id=group.id, member_ids=(user.id,)))
    body = await gql(
        "query($u: ID) { identityEvents(first: 10, userId: $u) { nodes { type subjectId } } }",
        {"u": gid("User", user.id)},
    )
    assert body["data"]["identityEvents"]["nodes"] == [
        {"type": "USER_CREATED", "subjectId": gid("User", user.id)},
        {"type": "MEMBERS_ADDED", "subjectId": gid("Group", group.id)},
    ]


async def test_identity_events_filtered_by_type(gql: Call, bus: CommandBus, context: RequestContext) -> None:
    await create_user(bus, context, "one@example.com")
    await create_group(bus, context, "One")
    body = await gql("{ identityEvents(first: 10, types: [GROUP_CREATED]) { nodes { type } } }")
    assert body["data"]["identityEvents"]["nodes"] == [{"type": "GROUP_CREATED"}]


async def test_viewer_of_another_tenant_sees_only_its_own_users(
    gql: Call,
    store: MongoStore,
    bus: CommandBus,
    context: RequestContext,
    make_key: Callable[..., Awaitable[str]],
    tenant: Tenant,
) -> None:
    await create_user(bus, context, "mine@example.com")
    other = await store.tenants.create("initech")
    other_key = await make_key("users:read", tenant_id=other.id)
    body = await gql("{ users(first: 10) { totalCount nodes { userName } } }", key=other_key)
    assert body["data"]["users"] == {"totalCount": 0, "nodes": []}
    assert tenant.id != other.id


async def test_nodes_resolves_users_and_groups_in_order(gql: Call, bus: CommandBus, context: RequestContext) -> None:
    user = await create_user(bus, context, "n@example.com")
    group = await create_group(bus, context, "N")
    ids = [gid("Group", group.id), gid("User", "unknown"), gid("User", user.id), gid("Nothing", "x")]
    body = await gql("query($ids: [ID!]!) { nodes(ids: $ids) { __typename id } }", {"ids": ids})
    assert body["data"]["nodes"] == [
        {"__typename": "Group", "id": ids[0]},
        None,
        {"__typename": "User", "id": ids[2]},
        None,
    ]


async def test_nodes_takes_at_most_a_page_of_ids(gql: Call) -> None:
    ids = [gid("User", str(i)) for i in range(101)]
    body = await gql("query($ids: [ID!]!) { nodes(ids: $ids) { id } }", {"ids": ids})
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_the_event_feed_is_the_callers_tenants_only(
    gql: Call, store: MongoStore, bus: CommandBus, context: RequestContext, make_key: Callable[..., Awaitable[str]]
) -> None:
    await create_user(bus, context, "private@example.com")
    other = await store.tenants.create("hooli")
    other_key = await make_key("events:subscribe", tenant_id=other.id)
    body = await gql("{ identityEvents(first: 10) { nodes { type } } }", key=other_key)
    assert body["data"]["identityEvents"]["nodes"] == []


async def test_member_edges_say_through_which_front_end_a_member_came(
    gql: Call, bus: CommandBus, context: RequestContext, make_key: Callable[..., Awaitable[str]], tenant: Tenant
) -> None:
    """Added with an API key: GRAPHQL; with a SCIM token: SCIM; by an actor that is no credential: UNKNOWN."""
    users = [await create_user(bus, context, f"{name}@example.com") for name in ("graphql", "scim", "other")]
    created = await gql(
        'mutation($m: [ID!]) { groupCreate(input: {displayName: "Sources", memberIds: $m}) { group { id } } }',
        {"m": [gid("User", users[0].id)]},
    )
    group_id = created["data"]["groupCreate"]["group"]["id"]
    local_group_id = relay.GlobalID.from_id(group_id).node_id
    scim_credential = parse_secret(await make_key(kind=CredentialKind.SCIM_TOKEN))
    scim = RequestContext(tenant_id=tenant.id, actor=Actor(credential_id=scim_credential, kind="scim-token"))
    await bus.dispatch(scim, AddMembers(group_id=local_group_id, member_ids=(users[1].id,)))
    await bus.dispatch(context, AddMembers(group_id=local_group_id, member_ids=(users[2].id,)))
    body = await gql(
        "query($id: ID!) { group(lookup: {id: $id}) { members(first: 10) { edges { source "
        "node { ... on User { userName } } } } } }",
        {"id": group_id},
    )
    sources = {e["node"]["userName"]: e["source"] for e in body["data"]["group"]["members"]["edges"]}
    assert sources == {"graphql@example.com": "GRAPHQL", "scim@example.com": "SCIM", "other@example.com": "UNKNOWN"}
