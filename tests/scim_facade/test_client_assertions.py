"""RFC 7523 client assertions at the token endpoint (Entra's workload identity federation)."""

from __future__ import annotations

import asyncio
import base64
import logging
import time
import uuid
from collections.abc import Iterator
from typing import Literal

import jwt as pyjwt
import pytest
from starlette.applications import Starlette

from identity_service.app import create_app
from identity_service.settings import Settings
from identity_store import Tenant
from identity_store.domain.oauth import Federation, OAuthClient
from identity_store.mongo import MongoStore
from scim_facade.client_assertions import JWT_BEARER
from tests.scim_facade.conftest import SIGNING_KEY, client_for
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


async def refused(app: Starlette, client: OAuthClient, jwt: str) -> None:
    async with http(app) as web:
        response = await web.post(TOKEN_URL, data=form(client, jwt))
    assert response.status_code == 401, response.text
    assert response.json()["error"] == "invalid_client"
    assert "access_token" not in response.json()


async def test_an_assertion_minted_long_ago_is_refused_though_minutes_remain(
    app: Starlette, client: OAuthClient, issuer: LocalIssuer
) -> None:
    """The ten-minute bound is on the assertion's lifetime, exp - iat, not on the time it has left."""
    at = int(time.time())
    await refused(app, client, assertion(issuer, client, iat=at - 7200, nbf=at - 7200, exp=at + 300))


async def test_an_assertion_living_exactly_ten_minutes_is_accepted(
    app: Starlette, client: OAuthClient, issuer: LocalIssuer
) -> None:
    """exp - iat of 600 seconds is within the bound."""
    at = int(time.time())
    async with http(app) as web:
        response = await web.post(TOKEN_URL, data=form(client, assertion(issuer, client, iat=at, exp=at + 600)))
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    "overrides",
    [
        {"iat": None},
        {"jti": None},
        {"jti": ""},
        {"jti": 12345},
        {"iat": "2020-01-01"},
        {"iat": str(int(time.time()))},
        {"iat": int(time.time()) + 900, "exp": int(time.time()) + 1200},
    ],
    ids=["no iat", "no jti", "empty jti", "numeric jti", "iat not a date", "iat as text", "iat in the future"],
)
async def test_assertions_need_a_jti_and_a_past_iat(
    app: Starlette, client: OAuthClient, issuer: LocalIssuer, overrides: dict[str, object]
) -> None:
    """RFC 7523 §3 items 6-7: iat (a NumericDate, not in the future) and a string jti are required here."""
    await refused(app, client, assertion(issuer, client, "k1", **overrides))


P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


def flipped(es256: str) -> str:
    """The same ES256 assertion with the signature (r, s) replaced by (r, n - s), just as valid."""
    header, payload, signature = es256.split(".")
    raw = base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4))
    r, s = raw[:32], int.from_bytes(raw[32:], "big")
    other = r + (P256_ORDER - s).to_bytes(32, "big")
    return f"{header}.{payload}.{base64.urlsafe_b64encode(other).rstrip(b'=').decode()}"


def verifies(issuer: LocalIssuer, kid: str, token: str) -> bool:
    try:
        pyjwt.decode(token, issuer.keys[kid].public_key(), algorithms=["ES256"], options={"verify_aud": False})
    except pyjwt.InvalidSignatureError:
        return False
    return True


async def test_a_flipped_es256_signature_without_jti_is_refused(
    app: Starlette, client: OAuthClient, issuer: LocalIssuer
) -> None:
    """Without a jti a replay could only be recognised by the text, which s -> n - s changes: jti is required."""
    issuer.add_key("ec1", kind="EC")
    original = assertion(issuer, client, "ec1", jti=None)
    assert verifies(issuer, "ec1", flipped(original))
    assert flipped(original) != original
    await refused(app, client, original)
    await refused(app, client, flipped(original))


async def test_a_flipped_es256_signature_with_the_same_jti_is_a_replay(
    app: Starlette, client: OAuthClient, issuer: LocalIssuer
) -> None:
    """RFC 7523 §3 item 7: replays are recognised by jti, so re-signing the same claims does not help."""
    issuer.add_key("ec1", kind="EC")
    original = assertion(issuer, client, "ec1")
    async with http(app) as web:
        assert (await web.post(TOKEN_URL, data=form(client, original))).status_code == 200
    assert verifies(issuer, "ec1", flipped(original))
    await refused(app, client, flipped(original))


async def test_the_same_jti_in_a_new_assertion_is_a_replay(
    app: Starlette, client: OAuthClient, issuer: LocalIssuer
) -> None:
    """A jti is used once per client, whatever else the assertion carries."""
    jti = str(uuid.uuid4())
    async with http(app) as web:
        assert (await web.post(TOKEN_URL, data=form(client, assertion(issuer, client, jti=jti)))).status_code == 200
    await refused(app, client, assertion(issuer, client, jti=jti, exp=int(time.time()) + 200))


@pytest.mark.parametrize(("signer", "kind"), [("ec-attacker", "EC"), ("rsa-attacker", "RSA")])
async def test_an_alg_that_does_not_match_the_named_key_is_invalid_client(
    app: Starlette, client: OAuthClient, issuer: LocalIssuer, signer: str, kind: Literal["RSA", "EC"]
) -> None:
    """RFC 8725 §3.1: ES256 naming an RSA key, or RS256 naming an EC key, is refused (never a 500)."""
    issuer.add_key("ec1", kind="EC")
    issuer.add_key(signer, kind=kind, publish=False)
    named = "k1" if kind == "EC" else "ec1"
    await refused(app, client, issuer.signed(signer, named, **claims_for(client)))


async def test_alg_none_and_hmac_with_the_public_key_are_invalid_client(
    app: Starlette, client: OAuthClient, issuer: LocalIssuer
) -> None:
    """Only RS256 and ES256: alg none and HS256 keyed with the published public key fail."""
    await refused(app, client, issuer.unsigned())
    await refused(app, client, issuer.hmac_with_public_key())


def claims_for(client: OAuthClient) -> dict[str, object]:
    assert client.federation is not None
    return {
        "iss": client.federation.issuer,
        "sub": SUBJECT,
        "aud": AUDIENCE,
        "exp": int(time.time()) + 300,
        "jti": str(uuid.uuid4()),
    }


NESTED = b'{"keys": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
HUGE = b'{"keys": [], "padding": "' + b"x" * 2_000_000 + b'"}'


@pytest.mark.parametrize(
    "document",
    [
        b'{"keys": null}',
        b'{"keys": "x"}',
        b'{"keys": {"kid": "k1"}}',
        b'["keys"]',
        b'{"keys": [{"kid": "k1", "kty": "RSA", "n": 5, "e": "AQAB"}]}',
        b'{"keys": [{"kid": ["k1"], "kty": "RSA", "n": "xyz", "e": "AQAB"}]}',
        b'{"keys": [{"kid": "k1", "kty": "EC", "crv": "P-256", "x": {}, "y": null}]}',
        b'{"keys": [{"kid": "k1", "kty": "RSA", "n": "!!", "e": "AQAB"}]}',
        b'{"keys": [7]}',
        NESTED,
        b"<html>not json</html>",
        b"\xff\xfe\x00",
        HUGE,
    ],
    ids=[
        "keys null",
        "keys a string",
        "keys an object",
        "not an object",
        "n a number",
        "kid an array",
        "x an object",
        "n not base64url",
        "a key not an object",
        "deeply nested",
        "not json",
        "not utf-8",
        "huge",
    ],
)
async def test_a_malformed_key_set_is_invalid_client_and_one_warning(
    app: Starlette, client: OAuthClient, issuer: LocalIssuer, caplog: pytest.LogCaptureFixture, document: bytes
) -> None:
    """A key set that is not an RFC 7517 §5 JWK Set verifies nothing: 401, logged once, never a 500."""
    issuer.document = document
    with caplog.at_level(logging.WARNING, logger="scim_facade"):
        await refused(app, client, assertion(issuer, client))
    warnings = [r for r in caplog.records if r.name == "scim_facade.jwks"]
    assert len(warnings) == 1
    assert warnings[0].levelno == logging.WARNING
    assert warnings[0].exc_info is None
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_a_trickling_key_set_server_is_cut_off_at_the_deadline(
    store: MongoStore, database_uri: str, database_name: str, client: OAuthClient, issuer: LocalIssuer
) -> None:
    """One deadline for the whole key-set fetch: a server sending a byte at a time is hung up on, 401."""
    app = create_app(
        Settings(
            mongodb_uri=database_uri,
            database=database_name,
            oauth_signing_key=SIGNING_KEY,
            oauth_jwks_timeout_seconds=1.0,
        )
    )
    app.state.store = store
    issuer.trickle = 0.2  # the key set would take about a minute; each byte comes well within 5 s
    await refused(app, client, assertion(issuer, client))
    assert issuer.trickle_ended.wait(timeout=30)
    assert issuer.trickle_outcome == "cut off"


async def test_concurrent_assertions_with_a_new_key_share_one_fetch(
    app: Starlette, client: OAuthClient, issuer: LocalIssuer
) -> None:
    """Concurrent misses for a key not yet known wait for one key-set fetch, not one each."""
    issuer.delay = 0.3
    async with http(app) as web:
        answers = await asyncio.gather(
            *(web.post(TOKEN_URL, data=form(client, assertion(issuer, client))) for _ in range(10))
        )
    assert [a.status_code for a in answers] == [200] * 10
    assert issuer.fetches == 1
