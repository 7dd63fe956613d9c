"""The SCIM app over the test database, a token for the ``acme`` tenant, and a client that sends it.

The app is the one ``create_app`` builds; its store is the suite's store on the per-test
database (so ``database_commands`` counts what each request costs). Tokens are verified on every request
(no cache) so revocation is visible at once. OAuth access tokens are signed with one key
generated for the run.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from datetime import datetime, timedelta

import httpx
import pytest
from starlette.applications import Starlette

from identity_service.app import create_app
from identity_service.settings import Settings
from identity_store import Tenant
from identity_store.domain.credentials import CredentialKind, IssuedSecret, issue
from identity_store.domain.resources import now
from identity_store.mongo import MongoStore
from scim_facade import generate_signing_key

BASE = "http://scim.test/scim/v2"
SCIM_JSON = "application/scim+json"
USER_URN = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_URN = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE_URN = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
PATCH_URN = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ERROR_URN = "urn:ietf:params:scim:api:messages:2.0:Error"
SIGNING_KEY = generate_signing_key().decode()


async def issue_token(store: MongoStore, tenant: Tenant, *, expires_at: datetime | None = None) -> IssuedSecret:
    issued = issue(
        tenant_id=tenant.id,
        kind=CredentialKind.SCIM_TOKEN,
        name="test",
        scopes=frozenset({"scim"}),
        created=now() - timedelta(days=1),
        expires_at=expires_at,
    )
    await store.credentials.add(issued.credential)
    return issued


@pytest.fixture
def app(store: MongoStore, database_uri: str, database_name: str) -> Starlette:
    built = create_app(
        Settings(
            mongodb_uri=database_uri,
            database=database_name,
            scim_token_cache_seconds=0,
            oauth_signing_key=SIGNING_KEY,
        )
    )
    built.state.store = store
    return built


@pytest.fixture
async def token(store: MongoStore, tenant: Tenant) -> IssuedSecret:
    return await issue_token(store, tenant)


def client_for(app: Starlette, secret: str | None) -> httpx.AsyncClient:
    headers = {"Authorization": f"Bearer {secret}"} if secret is not None else {}
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE, headers=headers)


@pytest.fixture
async def client(app: Starlette, token: IssuedSecret) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(app, token.secret) as scim:
        yield scim


def user_body(user_name: str, **extra: object) -> dict[str, object]:
    return {"schemas": [USER_URN], "userName": user_name, **extra}


async def create_user(client: httpx.AsyncClient, user_name: str, **extra: object) -> dict[str, object]:
    response = await client.post("/Users", json=user_body(user_name, **extra))
    assert response.status_code == 201, response.text
    body: dict[str, object] = response.json()
    return body


async def create_group(
    client: httpx.AsyncClient, display_name: str, member_ids: tuple[str, ...] = ()
) -> dict[str, object]:
    response = await client.post(
        "/Groups",
        json={"schemas": [GROUP_URN], "displayName": display_name, "members": [{"value": m} for m in member_ids]},
    )
    assert response.status_code == 201, response.text
    body: dict[str, object] = response.json()
    return body


def patch_body(*operations: Mapping[str, object]) -> dict[str, object]:
    return {"schemas": [PATCH_URN], "Operations": list(operations)}
