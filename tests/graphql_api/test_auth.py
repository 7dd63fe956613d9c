"""API keys: authentication before execution, scopes per field, the tenant from the key, the CLI."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import httpx
import pytest
from starlette.applications import Starlette

from graphql_api import GraphQLSettings, graphql_routes
from identity_store import Tenant
from identity_store.domain.credentials import CredentialKind, parse_secret
from identity_store.mongo import CommandCounter, MongoStore
from tests.graphql_api.conftest import Call

VIEWER = "{ viewer { name scopes tenant { id name } } }"


async def test_a_request_without_a_key_is_refused_before_execution(client: httpx.AsyncClient) -> None:
    """No Authorization header: 401, a GraphQL error with code UNAUTHENTICATED, and no data."""
    response = await client.post("/graphql", json={"query": VIEWER})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    body = response.json()
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_an_unknown_or_altered_key_is_refused(client: httpx.AsyncClient, key: str) -> None:
    """A key whose secret part was changed does not authenticate, nor does garbage."""
    for bad in (key[:-4] + "AAAA", "not-a-key", f"{key} extra"):
        response = await client.post("/graphql", json={"query": VIEWER}, headers={"Authorization": f"Bearer {bad}"})
        assert response.status_code == 401, bad


async def test_a_revoked_key_is_refused(client: httpx.AsyncClient, key: str, store: MongoStore) -> None:
    credential_id = parse_secret(key)
    assert credential_id is not None
    await store.credentials.revoke(credential_id, datetime.now(UTC))
    response = await client.post("/graphql", json={"query": VIEWER}, headers={"Authorization": f"Bearer {key}"})
    assert response.status_code == 401


async def test_a_verified_key_is_trusted_for_a_while_then_read_again(
    store: MongoStore, key: str, database_commands: CommandCounter
) -> None:
    """A verified key costs no database read on the next requests; revoking it takes effect
    within the cache time (immediately with a cache time of 0)."""
    cached = Starlette(routes=graphql_routes(lambda: store, GraphQLSettings(api_key_cache_seconds=30)))
    uncached = Starlette(routes=graphql_routes(lambda: store, GraphQLSettings(api_key_cache_seconds=0)))
    headers = {"Authorization": f"Bearer {key}"}
    async with (
        httpx.AsyncClient(transport=httpx.ASGITransport(app=cached), base_url="http://test") as warm,
        httpx.AsyncClient(transport=httpx.ASGITransport(app=uncached), base_url="http://test") as cold,
    ):
        assert (await warm.post("/graphql", json={"query": VIEWER}, headers=headers)).status_code == 200
        with database_commands.counting() as counted:
            assert (await warm.post("/graphql", json={"query": VIEWER}, headers=headers)).status_code == 200
        assert sum(counted.values()) == 1  # the tenant for viewer; no credential read
        credential_id = parse_secret(key)
        assert credential_id is not None
        await store.credentials.revoke(credential_id, datetime.now(UTC))
        assert (await warm.post("/graphql", json={"query": VIEWER}, headers=headers)).status_code == 200
        assert (await cold.post("/graphql", json={"query": VIEWER}, headers=headers)).status_code == 401


async def test_a_scim_token_is_not_an_api_key(
    client: httpx.AsyncClient, make_key: Callable[..., Awaitable[str]]
) -> None:
    """Credentials of another kind (a SCIM token) do not open the GraphQL API."""
    token = await make_key("users:read", kind=CredentialKind.SCIM_TOKEN)
    response = await client.post("/graphql", json={"query": VIEWER}, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401


async def test_viewer_is_the_key_with_its_tenant_and_scopes(gql: Call, tenant: Tenant) -> None:
    body = await gql(VIEWER)
    assert body["data"]["viewer"] == {
        "name": "test-service",
        "scopes": ["events:subscribe", "groups:read", "users:read", "write"],
        "tenant": {"id": tenant.id, "name": "acme"},
    }


async def test_a_field_needing_a_missing_scope_fails_with_forbidden(
    gql: Call, make_key: Callable[..., Awaitable[str]]
) -> None:
    """A groups-only key may read groups but not users; the error names the scope."""
    groups_only = await make_key("groups:read")
    body = await gql("{ users(first: 1) { totalCount } groups(first: 1) { totalCount } }", key=groups_only)
    assert body["data"] is None  # users is non-null, so the error nulls the whole result
    [error] = body["errors"]
    assert error["path"] == ["users"]
    assert error["extensions"]["code"] == "FORBIDDEN"
    assert "users:read" in error["message"]


async def test_a_read_only_key_cannot_run_mutations(gql: Call, make_key: Callable[..., Awaitable[str]]) -> None:
    reader = await make_key("users:read")
    body = await gql('mutation { userCreate(input: {userName: "x"}) { user { id } } }', key=reader)
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


@pytest.mark.slow
async def test_cli_creates_an_api_key_that_authenticates(
    database_uri: str, database_name: str, tenant: Tenant, gql: Call
) -> None:
    """``identity-store apikey create`` prints the key's id and its secret, once; the key then opens the API."""
    env = {**os.environ, "MONGODB_URI": database_uri, "IDENTITY_DATABASE": database_name}
    command = [
        sys.executable,
        "-m",
        "identity_service",
        "apikey",
        "create",
        "--tenant",
        "acme",
        "--scope",
        "users:read",
    ]
    created = await asyncio.to_thread(
        subprocess.run, command, capture_output=True, text=True, check=True, timeout=120, env=env
    )
    key_id, secret = created.stdout.strip().split("\t")
    body = await gql("{ viewer { credentialId scopes tenant { id } } }", key=secret)
    assert body["data"]["viewer"]["credentialId"] == key_id
    assert body["data"]["viewer"]["scopes"] == ["users:read"]
    assert body["data"]["viewer"]["tenant"]["id"] == tenant.id
