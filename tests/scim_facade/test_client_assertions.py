"""RFC 7523 client assertions at the token endpoint (Entra's workload identity federation)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import pytest
from starlette.applications import Starlette

from identity_store import Tenant
from identity_store.domain.oauth import Federation, OAuthClient
from identity_store.mongo import MongoStore
from scim_facade.client_assertions import JWT_BEARER
from tests.scim_facade.conftest import client_for
from tests.scim_facade.issuers import LocalIssuer, local_issuer
from tests.scim_facade.oauth import CLIENT_CREDENTIALS, TOKEN_URL, add_secret, basic, create_client, http

AUDIENCE = f"api://{uuid.uuid4()}"
SUBJECT = str(uuid.uuid4())


@pytest.fixture
def issuer() -> Iterator[LocalIssuer]:
    with local_issuer() as running:
        yield running


@pytest.fixture
async def client(store: MongoStore, tenant: Tenant, issuer: LocalIssuer) -> OAuthClient:
    created = await create_client(store, tenant)
    federation = Federation(
        issuer=f"https://login.microsoftonline.com/{issuer.entra_tenant_id}/v2.0",
        subject=SUBJECT,
        audience=AUDIENCE,
        jwks_url=issuer.url,
    )
    return await store.oauth_clients.federate(created.id, federation)


def assertion(issuer: LocalIssuer, client: OAuthClient, kid: str = "k1", **overrides: object) -> str:
    assert client.federation is not None
    claims: dict[str, object] = {
        "iss": client.federation.issuer,
        "sub": SUBJECT,
        "aud": AUDIENCE,
        "exp": int(time.time()) + 300,
        "jti": str(uuid.uuid4()),
        **overrides,
    }
    return issuer.token(kid, **claims)


def form(client: OAuthClient, jwt: str) -> dict[str, str]:
    return {
        **CLIENT_CREDENTIALS,
        "client_id": client.id,
        "client_assertion_type": JWT_BEARER,
        "client_assertion": jwt,
        "scope": "scim",
    }


async def test_a_valid_assertion_gets_an_access_token_for_the_clients_tenant(
    app: Starlette, client: OAuthClient, issuer: LocalIssuer
) -> None:
    """RFC 7523 §2.2: iss, sub and aud as configured and a verified signature authenticate the client."""
    async with http(app) as web:
        response = await web.post(TOKEN_URL, data=form(client, assertion(issuer, client)))
    assert response.status_code == 200, response.text
    assert response.json()["expires_in"] == 3600
    assert response.headers["Cache-Control"] == "no-store"
    async with client_for(app, response.json()["access_token"]) as scim:
        assert (await scim.get("/Users")).status_code == 200


@pytest.mark.parametrize(
    "overrides",
    [
        {"sub": "someone-else"},
        {"iss": "https://login.microsoftonline.com/common/v2.0"},
        {"aud": "api://another-app"},
        {"exp": int(time.time()) - 600},
        {"exp": int(time.time()) + 7200},
    ],
    ids=["other subject", "other issuer", "other audience", "expired", "lives too long"],
)
async def test_assertions_with_wrong_claims_are_invalid_client(
    app: Starlette, client: OAuthClient, issuer: LocalIssuer, overrides: dict[str, object]
) -> None:
    """RFC 7523 §3: every one of iss, sub, aud and exp must hold, or there is no token."""
    async with http(app) as web:
        response = await web.post(TOKEN_URL, data=form(client, assertion(issuer, client, "k1", **overrides)))
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


async def test_bad_signatures_are_invalid_client(app: Starlette, client: OAuthClient, issuer: LocalIssuer) -> None:
    """RFC 7523 §3 item 9: the signature must verify with a key from the configured key set."""
    issuer.add_key("k-unpublished", publish=False)
    valid = assertion(issuer, client)
    header, payload, signature = valid.split(".")
    async with http(app) as web:
        for bad in (assertion(issuer, client, "k-unpublished"), f"{header}.{payload}.{signature[:-6]}AAAAAA"):
            response = await web.post(TOKEN_URL, data=form(client, bad))
            assert response.status_code == 401
            assert response.json()["error"] == "invalid_client"


async def test_an_assertion_cannot_be_replayed(app: Starlette, client: OAuthClient, issuer: LocalIssuer) -> None:
    """RFC 7523 §3 item 7: a jti already used is refused."""
    once = assertion(issuer, client)
    async with http(app) as web:
        assert (await web.post(TOKEN_URL, data=form(client, once))).status_code == 200
        again = await web.post(TOKEN_URL, data=form(client, once))
    assert again.status_code == 401
    assert again.json()["error"] == "invalid_client"


async def test_an_assertion_and_a_secret_at_once_is_invalid_request(
    app: Starlette, store: MongoStore, client: OAuthClient, issuer: LocalIssuer
) -> None:
    """RFC 6749 §2.3: one client authentication method per request."""
    secret = await add_secret(store, client)
    async with http(app) as web:
        response = await web.post(
            TOKEN_URL, data=form(client, assertion(issuer, client)), headers=basic(client.id, secret.secret)
        )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


async def test_a_wrong_assertion_type_is_invalid_client(
    app: Starlette, client: OAuthClient, issuer: LocalIssuer
) -> None:
    """RFC 7521 §4.2: only the JWT bearer assertion type is understood."""
    body = form(client, assertion(issuer, client)) | {
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:saml2-bearer"
    }
    async with http(app) as web:
        response = await web.post(TOKEN_URL, data=body)
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
