"""The OAuth 2.0 token endpoint (RFC 6749 §4.4 client credentials) and its access tokens on SCIM."""

from __future__ import annotations

import base64
import json
import stat
from datetime import timedelta
from pathlib import Path

import httpx
import jwt
import pytest
from starlette.applications import Starlette

from identity_service.app import create_app
from identity_service.settings import Settings
from identity_service.signing_key import SIGNING_KEY_FILE, signing_key
from identity_store import InvalidValue, Tenant
from identity_store.domain.credentials import IssuedSecret
from identity_store.domain.oauth import OAuthClient, new_client
from identity_store.domain.resources import now
from identity_store.mongo import MongoStore
from scim_facade import AccessTokens, generate_signing_key
from tests.scim_facade.conftest import ERROR_URN, SIGNING_KEY, client_for, create_user, issue_token
from tests.scim_facade.oauth import (
    CLIENT_CREDENTIALS,
    TOKEN_URL,
    access_token,
    add_secret,
    basic,
    create_client,
    http,
)


@pytest.fixture
async def client(store: MongoStore, tenant: Tenant) -> OAuthClient:
    return await create_client(store, tenant)


@pytest.fixture
async def secret(store: MongoStore, client: OAuthClient) -> IssuedSecret:
    return await add_secret(store, client)


def claims_of(token: str) -> dict[str, object]:
    claims: dict[str, object] = jwt.decode(token, options={"verify_signature": False})
    return claims


async def test_client_secret_basic_gets_a_bearer_token(
    app: Starlette, client: OAuthClient, secret: IssuedSecret
) -> None:
    """RFC 6749 §4.4.3, §2.3.1: the secret in a Basic header gets an access token, never cached."""
    async with http(app) as web:
        response = await web.post(TOKEN_URL, data=CLIENT_CREDENTIALS, headers=basic(client.id, secret.secret))
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Pragma"] == "no-cache"
    claims = claims_of(body["access_token"])
    assert claims["sub"] == claims["client_id"] == client.id
    assert claims["tenant"] == client.tenant_id
    assert {"iss", "aud", "iat", "exp", "jti"} <= claims.keys()
    assert jwt.get_unverified_header(body["access_token"])["typ"] == "at+jwt"


async def test_client_secret_post_gets_a_bearer_token(
    app: Starlette, client: OAuthClient, secret: IssuedSecret
) -> None:
    """RFC 6749 §2.3.1: client_id and client_secret in the form body work too."""
    form = {**CLIENT_CREDENTIALS, "client_id": client.id, "client_secret": secret.secret}
    async with http(app) as web:
        response = await web.post(TOKEN_URL, data=form)
    assert response.status_code == 200
    assert response.json()["token_type"] == "Bearer"


async def test_basic_credentials_are_form_urlencoded_before_base64(
    app: Starlette, client: OAuthClient, secret: IssuedSecret
) -> None:
    """RFC 6749 §2.3.1: the id and secret are form-urlencoded inside the Basic header."""
    pair = f"{client.id.replace('_', '%5F')}:{secret.secret.replace('_', '%5F')}".encode()
    headers = {"Authorization": f"Basic {base64.b64encode(pair).decode()}"}
    async with http(app) as web:
        response = await web.post(TOKEN_URL, data=CLIENT_CREDENTIALS, headers=headers)
    assert response.status_code == 200


async def test_basic_and_post_at_once_is_invalid_request(
    app: Starlette, client: OAuthClient, secret: IssuedSecret
) -> None:
    """RFC 6749 §2.3: a client must not use more than one authentication method in a request."""
    form = {**CLIENT_CREDENTIALS, "client_id": client.id, "client_secret": secret.secret}
    async with http(app) as web:
        response = await web.post(TOKEN_URL, data=form, headers=basic(client.id, secret.secret))
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
    assert response.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("case", ["wrong secret", "unknown client", "revoked", "expired", "other client's secret"])
async def test_bad_client_credentials_are_401_invalid_client(
    app: Starlette, store: MongoStore, tenant: Tenant, client: OAuthClient, secret: IssuedSecret, case: str
) -> None:
    """RFC 6749 §5.2: failed client authentication is 401 invalid_client with a Basic challenge."""
    client_id, presented = client.id, secret.secret
    if case == "wrong secret":
        presented = secret.secret[:-4] + "AAAA"
    elif case == "unknown client":
        client_id = "oc_000000000000000000000000"
    elif case == "revoked":
        await store.credentials.revoke(secret.credential.id, now())
    elif case == "expired":
        presented = (await add_secret(store, client, expires_at=now() - timedelta(seconds=1))).secret
    else:
        other = await create_client(store, tenant)
        presented = (await add_secret(store, other)).secret
    async with http(app) as web:
        response = await web.post(TOKEN_URL, data=CLIENT_CREDENTIALS, headers=basic(client_id, presented))
        posted = await web.post(
            TOKEN_URL, data={**CLIENT_CREDENTIALS, "client_id": client_id, "client_secret": presented}
        )
    for answer in (response, posted):
        assert answer.status_code == 401
        assert answer.json()["error"] == "invalid_client"
        assert "access_token" not in answer.json()
        assert answer.headers["WWW-Authenticate"].startswith("Basic")


async def test_a_disabled_client_gets_no_token_and_its_tokens_stop_working(
    app: Starlette, store: MongoStore, client: OAuthClient, secret: IssuedSecret
) -> None:
    """Disabling a client ends it: no new tokens, and the ones it holds are refused by SCIM."""
    token = await access_token(app, client, secret)
    async with client_for(app, token) as scim:
        assert (await scim.get("/Users")).status_code == 200
        await store.oauth_clients.disable(client.id, now())
        assert (await scim.get("/Users")).status_code == 401
    async with http(app) as web:
        response = await web.post(TOKEN_URL, data=CLIENT_CREDENTIALS, headers=basic(client.id, secret.secret))
    assert response.json()["error"] == "invalid_client"


async def test_other_grants_are_unsupported(app: Starlette, client: OAuthClient, secret: IssuedSecret) -> None:
    """RFC 6749 §5.2: a grant type the server does not support is unsupported_grant_type."""
    async with http(app) as web:
        response = await web.post(
            TOKEN_URL,
            data={"grant_type": "password", "username": "a", "password": "b"},
            headers=basic(client.id, secret.secret),
        )
    assert response.status_code == 400
    assert response.json()["error"] == "unsupported_grant_type"


async def test_a_missing_grant_type_is_invalid_request(
    app: Starlette, client: OAuthClient, secret: IssuedSecret
) -> None:
    """RFC 6749 §4.4.2: grant_type is required."""
    async with http(app) as web:
        response = await web.post(TOKEN_URL, data={"scope": "scim"}, headers=basic(client.id, secret.secret))
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


@pytest.mark.parametrize(
    ("content", "content_type", "status"),
    [
        (json.dumps(CLIENT_CREDENTIALS), "application/json", 400),
        ("grant_type=client_credentials&grant_type=client_credentials", "application/x-www-form-urlencoded", 400),
        ("grant_type=client_credentials&pad=" + "x" * 20_000, "application/x-www-form-urlencoded", 413),
    ],
    ids=["json body", "repeated parameter", "oversized body"],
)
async def test_malformed_requests_are_refused(
    app: Starlette, client: OAuthClient, secret: IssuedSecret, content: str, content_type: str, status: int
) -> None:
    """RFC 6749 §3.2, §4.4.2: a form body, each parameter once; bodies are bounded."""
    async with http(app) as web:
        response = await web.post(
            TOKEN_URL, content=content, headers={**basic(client.id, secret.secret), "Content-Type": content_type}
        )
    assert response.status_code == status
    assert response.json()["error"] == "invalid_request"


async def test_two_active_secrets_both_work_and_revoking_one_keeps_the_other(
    app: Starlette, store: MongoStore, client: OAuthClient, secret: IssuedSecret
) -> None:
    """Rotation: a client may hold several active secrets; revoking one leaves the others working."""
    second = await add_secret(store, client)
    async with http(app) as web:
        for presented in (secret, second):
            response = await web.post(TOKEN_URL, data=CLIENT_CREDENTIALS, headers=basic(client.id, presented.secret))
            assert response.status_code == 200
        await store.credentials.revoke(secret.credential.id, now())
        old = await web.post(TOKEN_URL, data=CLIENT_CREDENTIALS, headers=basic(client.id, secret.secret))
        new = await web.post(TOKEN_URL, data=CLIENT_CREDENTIALS, headers=basic(client.id, second.secret))
    assert old.status_code == 401
    assert new.status_code == 200


@pytest.mark.parametrize("minutes", [60, 150, 360])
async def test_the_token_lifetime_is_the_clients(
    app: Starlette, store: MongoStore, tenant: Tenant, minutes: int
) -> None:
    """Access tokens live the client's lifetime, 60 minutes to 6 hours: expires_in and exp agree."""
    client = await create_client(store, tenant, lifetime=timedelta(minutes=minutes))
    secret = await add_secret(store, client)
    async with http(app) as web:
        body = (await web.post(TOKEN_URL, data=CLIENT_CREDENTIALS, headers=basic(client.id, secret.secret))).json()
    assert body["expires_in"] == minutes * 60
    claims = claims_of(body["access_token"])
    assert isinstance(claims["exp"], int)
    assert isinstance(claims["iat"], int)
    assert claims["exp"] - claims["iat"] == minutes * 60


@pytest.mark.parametrize("minutes", [0, 59, 361, 24 * 60])
def test_lifetimes_outside_60_minutes_to_6_hours_are_refused(minutes: int) -> None:
    """Entra's rule for provisioning connectors: tokens live 60 minutes to 6 hours."""
    with pytest.raises(InvalidValue):
        new_client(tenant_id="t", name="entra", created=now(), token_lifetime=timedelta(minutes=minutes))


async def test_access_tokens_authenticate_scim_for_their_tenant_only(
    app: Starlette, store: MongoStore, tenant: Tenant, client: OAuthClient, secret: IssuedSecret
) -> None:
    """The access token acts for its client's tenant; another tenant's token sees none of it."""
    other_tenant = await store.tenants.create("globex")
    other_client = await create_client(store, other_tenant)
    other_token = await access_token(app, other_client, await add_secret(store, other_client))
    async with client_for(app, await access_token(app, client, secret)) as scim:
        user = await create_user(scim, "bjensen")
        assert (await scim.get(f"/Users/{user['id']}")).status_code == 200
    async with client_for(app, other_token) as other:
        assert (await other.get(f"/Users/{user['id']}")).status_code == 404
        assert (await other.get("/Users")).json()["totalResults"] == 0
    events = await store.tenant(tenant.id).events.read()
    assert events[0].actor.credential_id == client.id
    assert events[0].actor.kind == "oauth-client"


async def test_expired_and_tampered_access_tokens_are_401_scim_errors(
    app: Starlette, client: OAuthClient, secret: IssuedSecret
) -> None:
    """An expired token, or one whose claims were changed after signing, is refused with a SCIM error."""
    tokens = AccessTokens(SIGNING_KEY.encode(), issuer="urn:identity-store", audience="urn:identity-store:scim")
    expired = tokens.issue(
        client_id=client.id,
        tenant_id=client.tenant_id,
        issued_at=now() - timedelta(hours=2),
        lifetime=timedelta(hours=1),
    )
    valid = await access_token(app, client, secret)
    header, _, signature = valid.split(".")
    claims = claims_of(valid) | {"tenant": "someone-else"}
    forged_payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    other_key = AccessTokens(
        generate_signing_key(), issuer="urn:identity-store", audience="urn:identity-store:scim"
    ).issue(client_id=client.id, tenant_id=client.tenant_id, issued_at=now(), lifetime=timedelta(hours=1))
    for bad in (expired, f"{header}.{forged_payload}.{signature}", other_key):
        async with client_for(app, bad) as scim:
            response = await scim.get("/Users")
        assert response.status_code == 401
        assert response.json()["schemas"] == [ERROR_URN]
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


async def test_a_client_that_is_not_federated_cannot_use_an_assertion(app: Starlette, client: OAuthClient) -> None:
    """RFC 7523 §3.2: a client without a federated identity gets invalid_client for an assertion."""
    form = {
        **CLIENT_CREDENTIALS,
        "client_id": client.id,
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": "a.b.c",
    }
    async with http(app) as web:
        response = await web.post(TOKEN_URL, data=form)
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


async def test_without_a_signing_key_the_endpoint_is_off(database_uri: str, database_name: str) -> None:
    """With MONGODB_URI and no IDENTITY_OAUTH_SIGNING_KEY no key is invented: the endpoint answers 503."""
    app = create_app(Settings(mongodb_uri=database_uri, database=database_name))
    async with http(app) as web:
        response = await web.post(TOKEN_URL, data=CLIENT_CREDENTIALS)
    assert response.status_code == 503
    assert response.headers["Cache-Control"] == "no-store"


def test_the_embedded_default_generates_one_private_key(tmp_path: Path) -> None:
    """Without a configured key the embedded default generates one, owner-only, and keeps it."""
    first = signing_key(Settings(data_dir=tmp_path))
    second = signing_key(Settings(data_dir=tmp_path))
    assert first is not None
    assert first == second
    assert stat.S_IMODE((tmp_path / SIGNING_KEY_FILE).stat().st_mode) == 0o600


def test_a_configured_key_may_be_a_path(tmp_path: Path) -> None:
    """IDENTITY_OAUTH_SIGNING_KEY takes PEM text or the path of a PEM file."""
    path = tmp_path / "key.pem"
    path.write_text(SIGNING_KEY)
    assert signing_key(Settings(mongodb_uri="mongodb://x", oauth_signing_key=str(path))) == SIGNING_KEY.encode()
    assert signing_key(Settings(mongodb_uri="mongodb://x", oauth_signing_key=SIGNING_KEY)) == SIGNING_KEY.encode()


async def test_two_authorization_headers_are_invalid_request(
    app: Starlette, store: MongoStore, client: OAuthClient, secret: IssuedSecret
) -> None:
    """RFC 6749 §2.3: one set of client credentials per request; two Authorization headers are 400."""
    other = await add_secret(store, client)
    headers = [
        ("Authorization", basic(client.id, secret.secret)["Authorization"]),
        ("Authorization", basic(client.id, other.secret)["Authorization"]),
    ]
    async with http(app) as web:
        response = await web.post(TOKEN_URL, data=CLIENT_CREDENTIALS, headers=headers)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
    assert "access_token" not in response.json()


def throttled_app(store: MongoStore, database_uri: str, database_name: str, **limits: object) -> Starlette:
    """The app with the token endpoint's limits set; a refill rate this slow adds nothing during a test."""
    settings: dict[str, object] = {
        "oauth_rate_limit_per_client_per_second": 0.001,
        "oauth_rate_limit_per_address_per_second": 0.001,
        **limits,
    }
    built = create_app(
        Settings(
            mongodb_uri=database_uri,
            database=database_name,
            scim_token_cache_seconds=0,
            oauth_signing_key=SIGNING_KEY,
            **settings,  # type: ignore[arg-type]
        )
    )
    built.state.store = store
    return built


def assert_slow_down(response: httpx.Response) -> None:
    assert response.status_code == 429, response.text
    assert response.json()["error"] == "slow_down"
    assert "access_token" not in response.json()
    assert int(response.headers["Retry-After"]) >= 1
    assert response.headers["Cache-Control"] == "no-store"


async def test_guessing_a_clients_secret_is_throttled(
    store: MongoStore, database_uri: str, database_name: str, client: OAuthClient, secret: IssuedSecret
) -> None:
    """Per client id: 300 wrong secrets get a few 401s, then 429 slow_down, and the client's own secret waits too."""
    app = throttled_app(
        store,
        database_uri,
        database_name,
        oauth_rate_limit_per_address_per_second=0,
        oauth_rate_limit_per_client_burst=20,
    )
    wrong = secret.secret[:-4] + "AAAA"
    async with http(app) as web:
        answers = [
            await web.post(TOKEN_URL, data=CLIENT_CREDENTIALS, headers=basic(client.id, wrong)) for _ in range(300)
        ]
        right = await web.post(TOKEN_URL, data=CLIENT_CREDENTIALS, headers=basic(client.id, secret.secret))
    statuses = [a.status_code for a in answers]
    assert set(statuses) == {401, 429}
    assert statuses.count(401) == 4  # a burst of 20, and each failure costs 5
    assert statuses.index(429) == 4
    for answer in answers[4:]:
        assert_slow_down(answer)
    assert_slow_down(right)


async def test_failures_cost_more_than_successes(
    store: MongoStore, database_uri: str, database_name: str, client: OAuthClient, secret: IssuedSecret
) -> None:
    """Ten good requests fit a burst of ten; two failed ones use it up (each costs five)."""
    app = throttled_app(
        store,
        database_uri,
        database_name,
        oauth_rate_limit_per_address_per_second=0,
        oauth_rate_limit_per_client_burst=10,
    )
    other = await create_client(store, await store.tenants.create("globex"))
    other_secret = await add_secret(store, other)
    async with http(app) as web:
        for _ in range(10):
            response = await web.post(TOKEN_URL, data=CLIENT_CREDENTIALS, headers=basic(client.id, secret.secret))
            assert response.status_code == 200
        for _ in range(2):
            response = await web.post(TOKEN_URL, data=CLIENT_CREDENTIALS, headers=basic(other.id, "scim_wrong"))
            assert response.status_code == 401
        assert_slow_down(
            await web.post(TOKEN_URL, data=CLIENT_CREDENTIALS, headers=basic(other.id, other_secret.secret))
        )


async def test_one_address_is_throttled_across_client_ids(
    store: MongoStore, database_uri: str, database_name: str, client: OAuthClient, secret: IssuedSecret
) -> None:
    """Per source address: made-up client ids from one address run out of its burst, whatever the id."""
    app = throttled_app(
        store,
        database_uri,
        database_name,
        oauth_rate_limit_per_client_per_second=0,
        oauth_rate_limit_per_address_burst=50,
    )
    async with http(app) as web:
        answers = [
            await web.post(TOKEN_URL, data=CLIENT_CREDENTIALS, headers=basic(f"oc_guess{n:04d}", "scim_x"))
            for n in range(100)
        ]
        mine = await web.post(TOKEN_URL, data=CLIENT_CREDENTIALS, headers=basic(client.id, secret.secret))
    statuses = [a.status_code for a in answers]
    assert statuses[:10] == [401] * 10
    assert statuses[10:] == [429] * 90
    assert_slow_down(mine)


async def test_forwarded_addresses_are_counted_apart_only_when_trusted(
    store: MongoStore, database_uri: str, database_name: str, client: OAuthClient, secret: IssuedSecret
) -> None:
    """Behind a trusted proxy the address is the last X-Forwarded-For entry; otherwise the header is ignored."""
    for trusted in (True, False):
        app = throttled_app(
            store,
            database_uri,
            database_name,
            trust_forwarded=trusted,
            oauth_rate_limit_per_client_per_second=0,
            oauth_rate_limit_per_address_burst=2,
        )
        async with http(app) as web:
            for _ in range(3):
                await web.post(
                    TOKEN_URL,
                    data=CLIENT_CREDENTIALS,
                    headers={**basic(client.id, secret.secret), "X-Forwarded-For": "198.51.100.7, 203.0.113.1"},
                )
            elsewhere = await web.post(
                TOKEN_URL,
                data=CLIENT_CREDENTIALS,
                headers={**basic(client.id, secret.secret), "X-Forwarded-For": "198.51.100.7, 203.0.113.2"},
            )
        assert elsewhere.status_code == (200 if trusted else 429)


async def test_a_throttled_token_endpoint_leaves_scim_alone(
    store: MongoStore, database_uri: str, database_name: str, tenant: Tenant, client: OAuthClient, secret: IssuedSecret
) -> None:
    """The token endpoint's buckets are its own: while a client is throttled there, SCIM still answers
    every tenant, its own included, with its own per-tenant limit untouched."""
    app = throttled_app(store, database_uri, database_name, oauth_rate_limit_per_client_burst=5)
    token = await access_token(app, client, secret)
    other_tenant = await store.tenants.create("globex")
    other_token = await issue_token(store, other_tenant)
    async with http(app) as web:
        for _ in range(50):
            await web.post(TOKEN_URL, data=CLIENT_CREDENTIALS, headers=basic(client.id, "scim_wrong"))
        assert_slow_down(await web.post(TOKEN_URL, data=CLIENT_CREDENTIALS, headers=basic(client.id, secret.secret)))
    for bearer in (token, other_token.secret):
        async with client_for(app, bearer) as scim:
            for _ in range(20):
                assert (await scim.get("/Users")).status_code == 200


async def test_limits_of_zero_turn_throttling_off(
    store: MongoStore, database_uri: str, database_name: str, client: OAuthClient
) -> None:
    """IDENTITY_OAUTH_RATE_LIMIT_PER_CLIENT_PER_SECOND=0 and ..._PER_ADDRESS_PER_SECOND=0: never a 429."""
    app = throttled_app(
        store,
        database_uri,
        database_name,
        oauth_rate_limit_per_client_per_second=0,
        oauth_rate_limit_per_address_per_second=0,
    )
    async with http(app) as web:
        for _ in range(100):
            response = await web.post(TOKEN_URL, data=CLIENT_CREDENTIALS, headers=basic(client.id, "scim_wrong"))
            assert response.status_code == 401
