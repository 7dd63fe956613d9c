"""OAuth clients and secrets for tests, and a client for the token endpoint."""

from __future__ import annotations

import base64
from datetime import datetime, timedelta
from urllib.parse import quote_plus

import httpx
from starlette.applications import Starlette

from identity_store import Tenant
from identity_store.domain.credentials import CredentialKind, IssuedSecret, issue
from identity_store.domain.oauth import OAuthClient, new_client
from identity_store.domain.resources import now
from identity_store.mongo import MongoStore

TOKEN_URL = "http://scim.test/oauth2/token"
CLIENT_CREDENTIALS = {"grant_type": "client_credentials"}


async def create_client(
    store: MongoStore, tenant: Tenant, *, lifetime: timedelta = timedelta(minutes=60)
) -> OAuthClient:
    client = new_client(tenant_id=tenant.id, name="entra", created=now(), token_lifetime=lifetime)
    await store.oauth_clients.add(client)
    return client


async def add_secret(store: MongoStore, client: OAuthClient, *, expires_at: datetime | None = None) -> IssuedSecret:
    issued = issue(
        tenant_id=client.tenant_id,
        kind=CredentialKind.OAUTH_CLIENT_SECRET,
        name="secret",
        scopes=frozenset({"scim"}),
        created=now() - timedelta(days=1),
        expires_at=expires_at,
        client_id=client.id,
    )
    await store.credentials.add(issued.credential)
    return issued


def basic(client_id: str, secret: str) -> dict[str, str]:
    """RFC 6749 §2.3.1: each part form-urlencoded, then ``id:secret`` in base64."""
    pair = f"{quote_plus(client_id)}:{quote_plus(secret)}".encode()
    return {"Authorization": f"Basic {base64.b64encode(pair).decode()}"}


def http(app: Starlette) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://scim.test")


async def access_token(app: Starlette, client: OAuthClient, secret: IssuedSecret) -> str:
    async with http(app) as web:
        response = await web.post(TOKEN_URL, data=CLIENT_CREDENTIALS, headers=basic(client.id, secret.secret))
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token
