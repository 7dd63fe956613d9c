"""Extension schemas through GraphQL: registered under the schemas:manage scope, their values on
User and Group as per-extension JSON, and users and groups found by an extension attribute."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from identity_store import CommandBus, CreateGroup, RequestContext
from tests.graphql_api.conftest import Call, create_user, gid

ACME = "urn:ietf:params:scim:schemas:extension:Acme:2.0:User"
ACME_GROUP = "urn:ietf:params:scim:schemas:extension:Acme:2.0:Group"
ACME_KEY = "urn:ietf:params:scim:schemas:extension:Acme:2%2E0:User"
ACME_GROUP_KEY = "urn:ietf:params:scim:schemas:extension:Acme:2%2E0:Group"

ACME_SCHEMA: dict[str, Any] = {
    "id": ACME,
    "name": "AcmeUser",
    "attributes": [
        {"name": "costCenter", "type": "string"},
        {"name": "floor", "type": "integer"},
        {"name": "pin", "type": "string", "returned": "never"},
    ],
}

ADD = """mutation ($input: SchemaExtensionAddInput!) {
  schemaExtensionAdd(input: $input) {
    schemaExtension { urn name extends attributes indexed }
    userErrors { __typename message }
  }
}"""
REMOVE = """mutation ($urn: String!) {
  schemaExtensionRemove(urn: $urn) { schemaExtension { urn } userErrors { __typename message } }
}"""
LIST = "{ schemaExtensions { urn extends } }"


@pytest.fixture
async def admin_key(make_key: Callable[..., Awaitable[str]]) -> str:
    return await make_key("schemas:manage", "users:read", "groups:read")


async def test_registering_needs_the_schemas_manage_scope(gql: Call) -> None:
    """An ordinary key (read, write, events) may neither register, remove nor list schemas."""
    for query, variables in ((ADD, {"input": {"schema": ACME_SCHEMA}}), (REMOVE, {"urn": ACME}), (LIST, None)):
        body = await gql(query, variables)
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        assert "schemas:manage" in body["errors"][0]["message"]
    assert (await gql("{ users(first: 1) { totalCount } }"))["data"]["users"]["totalCount"] == 0


async def test_a_schema_is_registered_listed_and_removed(gql: Call, admin_key: str) -> None:
    added = (await gql(ADD, {"input": {"schema": ACME_SCHEMA, "indexed": ["costCenter"]}}, key=admin_key))["data"]
    assert added["schemaExtensionAdd"]["userErrors"] == []
    shown = added["schemaExtensionAdd"]["schemaExtension"]
    assert (shown["urn"], shown["name"], shown["extends"], shown["indexed"]) == (
        ACME,
        "AcmeUser",
        "USER",
        ["costCenter"],
    )
    assert [a["name"] for a in shown["attributes"]] == ["costCenter", "floor", "pin"]
    assert (await gql(LIST, key=admin_key))["data"]["schemaExtensions"] == [{"urn": ACME, "extends": "USER"}]

    removed = (await gql(REMOVE, {"urn": ACME}, key=admin_key))["data"]["schemaExtensionRemove"]
    assert removed == {"schemaExtension": {"urn": ACME}, "userErrors": []}
    assert (await gql(LIST, key=admin_key))["data"]["schemaExtensions"] == []


@pytest.mark.parametrize(
    ("schema", "error"),
    [
        ({"id": ACME, "attributes": [{"name": "a", "type": "money"}]}, "InvalidValueError"),
        ({"id": "urn:ietf:params:scim:schemas:core:2.0:User", "attributes": [{"name": "a"}]}, "InvalidValueError"),
        ("not an object", "InvalidValueError"),
    ],
)
async def test_a_bad_schema_is_a_typed_error(gql: Call, admin_key: str, schema: object, error: str) -> None:
    payload = (await gql(ADD, {"input": {"schema": schema}}, key=admin_key))["data"]["schemaExtensionAdd"]
    assert payload["schemaExtension"] is None
    assert payload["userErrors"][0]["__typename"] == error
    assert (await gql(LIST, key=admin_key))["data"]["schemaExtensions"] == []


async def test_a_urn_registered_twice_is_a_uniqueness_error(gql: Call, admin_key: str) -> None:
    await gql(ADD, {"input": {"schema": ACME_SCHEMA}}, key=admin_key)
    again = (await gql(ADD, {"input": {"schema": {**ACME_SCHEMA, "id": ACME.lower()}}}, key=admin_key))["data"]
    assert again["schemaExtensionAdd"]["userErrors"][0]["__typename"] == "UniquenessError"


async def test_users_show_their_extension_values_and_are_found_by_them(
    gql: Call, admin_key: str, bus: CommandBus, context: RequestContext
) -> None:
    """Each extension the user has values of is one entry: its URN and the values as JSON, but
    for attributes declared ``returned: never``; ``filter.extension`` and ``scimFilter`` find it."""
    await gql(ADD, {"input": {"schema": ACME_SCHEMA}}, key=admin_key)
    await create_user(bus, context, "other")
    ines = await create_user(bus, context, "ines", **{ACME_KEY: {"costCenter": "Sales", "floor": 3, "pin": "1"}})

    by_filter = await gql(
        """query ($match: ExtensionMatch!) {
          users(first: 5, filter: {extension: $match}) { nodes { userName extensions { urn value } } }
        }""",
        {"match": {"urn": ACME, "attribute": "costCenter", "value": "sales"}},
        key=admin_key,
    )
    assert by_filter["data"]["users"]["nodes"] == [
        {"userName": "ines", "extensions": [{"urn": ACME, "value": {"costCenter": "Sales", "floor": 3}}]}
    ]
    by_scim = await gql(
        "query ($f: String!) { users(first: 5, scimFilter: $f) { nodes { id } } }",
        {"f": f"{ACME}:floor eq 3"},
        key=admin_key,
    )
    assert by_scim["data"]["users"]["nodes"] == [{"id": gid("User", ines.id)}]


@pytest.mark.parametrize(
    ("match", "fragment"),
    [
        ({"urn": "urn:example:nothing:User", "attribute": "x", "value": "1"}, "no User extension schema"),
        ({"urn": ACME, "attribute": "shoeSize", "value": "1"}, "no attribute 'shoeSize'"),
        ({"urn": ACME, "attribute": "floor", "value": {"nested": 1}}, "string, number or boolean"),
    ],
)
async def test_an_extension_lookup_on_nothing_known_is_bad_user_input(
    gql: Call, admin_key: str, match: dict[str, Any], fragment: str
) -> None:
    await gql(ADD, {"input": {"schema": ACME_SCHEMA}}, key=admin_key)
    body = await gql(
        "query ($match: ExtensionMatch!) { users(first: 5, filter: {extension: $match}) { totalCount } }",
        {"match": match},
        key=admin_key,
    )
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert fragment in body["errors"][0]["message"]


async def test_groups_show_their_extension_values_and_are_found_by_them(
    gql: Call, admin_key: str, bus: CommandBus, context: RequestContext
) -> None:
    schema = {"id": ACME_GROUP, "attributes": [{"name": "budgetCode", "type": "string"}]}
    added = (await gql(ADD, {"input": {"schema": schema}}, key=admin_key))["data"]["schemaExtensionAdd"]
    assert added["schemaExtension"]["extends"] == "GROUP"
    await bus.dispatch(
        context, CreateGroup(attributes={"displayName": "Finance", ACME_GROUP_KEY: {"budgetCode": "B7"}})
    )
    body = await gql(
        """query ($match: ExtensionMatch!) {
          groups(first: 5, filter: {extension: $match}) { nodes { displayName extensions { urn value } } }
        }""",
        {"match": {"urn": ACME_GROUP, "attribute": "budgetCode", "value": "b7"}},
        key=admin_key,
    )
    assert body["data"]["groups"]["nodes"] == [
        {"displayName": "Finance", "extensions": [{"urn": ACME_GROUP, "value": {"budgetCode": "B7"}}]}
    ]
