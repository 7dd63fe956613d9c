"""JWTs issued by Microsoft Entra ID ("Secret Token" left blank), validated against a key set."""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections.abc import Iterator
from dataclasses import replace

import pytest
from starlette.applications import Starlette

from identity_service.app import create_app
from identity_service.settings import Settings
from identity_store import Tenant
from identity_store.mongo import MongoStore
from tests.scim_facade.conftest import ERROR_URN, client_for, create_user
from tests.scim_facade.issuers import LocalIssuer, local_issuer


@pytest.fixture
def issuer() -> Iterator[LocalIssuer]:
    with local_issuer() as running:
        yield running


def entra_app(
    store: MongoStore, database_uri: str, database_name: str, issuer: LocalIssuer, refetch: float
) -> Starlette:
    app = create_app(
        Settings(
            mongodb_uri=database_uri,
            database=database_name,
            scim_token_cache_seconds=0,
            entra_jwks_url=issuer.url,
            entra_jwks_refetch_seconds=refetch,
        )
    )
    app.state.store = store
    return app


@pytest.fixture
async def linked(store: MongoStore, tenant: Tenant, issuer: LocalIssuer) -> Tenant:
    settings = replace(tenant.settings, entra_tenant_id=issuer.entra_tenant_id)
    return await store.tenants.update_settings(tenant.id, settings)


@pytest.fixture
def app(store: MongoStore, database_uri: str, database_name: str, issuer: LocalIssuer) -> Starlette:
    return entra_app(store, database_uri, database_name, issuer, refetch=60)


async def status_with(app: Starlette, token: str) -> int:
    async with client_for(app, token) as scim:
        response = await scim.get("/Users")
    if response.status_code == 401:
        assert response.json()["schemas"] == [ERROR_URN]
    return response.status_code


async def test_a_valid_entra_token_authenticates_as_the_linked_tenant(
    app: Starlette, store: MongoStore, linked: Tenant, issuer: LocalIssuer
) -> None:
    """Signature, iss, aud, exp and nbf hold and the Entra tenant is linked: the request is the tenant's."""
    async with client_for(app, issuer.token()) as scim:
        user = await create_user(scim, "bjensen")
    assert (await store.tenant(linked.id).users.get(str(user["id"]))).user_name == "bjensen"
    events = await store.tenant(linked.id).events.read()
    assert events[0].actor.kind == "entra-token"


@pytest.mark.parametrize(
    "overrides",
    [
        {"iss": "https://sts.windows.net/00000000-0000-0000-0000-000000000000/"},
        {"iss": "https://login.microsoftonline.com/{tid}/v2.0"},
        {"aud": "api://someone-else"},
        {"aud": "00000003-0000-0000-c000-000000000000"},
        {"exp": int(time.time()) - 3600},
        {"nbf": int(time.time()) + 3600},
    ],
    ids=["other tenant's issuer", "v2 issuer", "other audience", "graph audience", "expired", "not yet valid"],
)
async def test_tokens_with_wrong_claims_are_401(
    app: Starlette, linked: Tenant, issuer: LocalIssuer, overrides: dict[str, object]
) -> None:
    """iss must be exactly https://sts.windows.net/<linked tenant>/, aud exactly Entra's; exp and nbf hold."""
    if isinstance(overrides.get("iss"), str):
        overrides = {**overrides, "iss": str(overrides["iss"]).replace("{tid}", issuer.entra_tenant_id)}
    assert await status_with(app, issuer.token("k1", **overrides)) == 401


async def test_bad_signatures_and_algorithms_are_401(app: Starlette, linked: Tenant, issuer: LocalIssuer) -> None:
    """Only RS256 with a published key: a forged signature, alg none and HS256-with-the-public-key fail."""
    valid = issuer.token()
    header, payload, signature = valid.split(".")
    forged = f"{header}.{payload}.{signature[:-6]}AAAAAA"
    issuer.add_key("k-unpublished", publish=False)
    for token in (forged, issuer.unsigned(), issuer.hmac_with_public_key(), issuer.token("k-unpublished")):
        assert await status_with(app, token) == 401
    assert await status_with(app, valid) == 200


async def test_a_token_for_an_unlinked_entra_tenant_is_401(app: Starlette, linked: Tenant, issuer: LocalIssuer) -> None:
    """A perfectly signed token of an Entra tenant no tenant here is linked to gets nothing."""
    stranger = str(uuid.uuid4())
    assert await status_with(app, issuer.token(tid=stranger)) == 401


async def test_unlinking_ends_access(app: Starlette, store: MongoStore, linked: Tenant, issuer: LocalIssuer) -> None:
    """Removing the link refuses the Entra tenant's tokens (at once here, where nothing is cached)."""
    assert await status_with(app, issuer.token()) == 200
    await store.tenants.update_settings(linked.id, replace(linked.settings, entra_tenant_id=None))
    assert await status_with(app, issuer.token()) == 401


async def test_keys_are_cached_by_kid(app: Starlette, linked: Tenant, issuer: LocalIssuer) -> None:
    """A second token signed by a known key costs no new key-set fetch."""
    assert await status_with(app, issuer.token()) == 200
    assert await status_with(app, issuer.token()) == 200
    assert issuer.fetches == 1


async def test_a_new_kid_triggers_one_refetch_and_is_accepted(
    store: MongoStore, database_uri: str, database_name: str, linked: Tenant, issuer: LocalIssuer
) -> None:
    """Key rotation: a token signed by a key published since the last fetch refetches the set once."""
    app = entra_app(store, database_uri, database_name, issuer, refetch=0)
    assert await status_with(app, issuer.token("k1")) == 200
    issuer.add_key("k2")
    assert await status_with(app, issuer.token("k2")) == 200
    assert await status_with(app, issuer.token("k2")) == 200
    assert await status_with(app, issuer.token("k1")) == 200
    assert issuer.fetches == 2


async def test_unknown_kids_cannot_hammer_the_key_url(app: Starlette, linked: Tenant, issuer: LocalIssuer) -> None:
    """Refetches for unknown key ids are rate-limited: made-up kids cost no fetch within the interval."""
    assert await status_with(app, issuer.token()) == 200
    for n in range(10):
        issuer.add_key(f"garbage-{n}", publish=False)
        assert await status_with(app, issuer.token(f"garbage-{n}")) == 401
    assert issuer.fetches == 1


async def test_an_unreachable_key_url_is_401_not_a_failure(
    store: MongoStore, database_uri: str, database_name: str, linked: Tenant, issuer: LocalIssuer
) -> None:
    """When the key set cannot be fetched the token is simply not valid."""
    gone = LocalIssuer()
    gone.keys, gone.entra_tenant_id, gone.url = issuer.keys, issuer.entra_tenant_id, "http://127.0.0.1:9/keys"
    app = entra_app(store, database_uri, database_name, gone, refetch=0)
    assert await status_with(app, issuer.token()) == 401


async def refused_as_invalid_token(app: Starlette, token: str) -> None:
    async with client_for(app, token) as scim:
        response = await scim.get("/Users")
    assert response.status_code == 401, response.text
    assert response.json()["schemas"] == [ERROR_URN]
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


async def test_an_rs256_token_naming_an_ec_key_is_401(app: Starlette, linked: Tenant, issuer: LocalIssuer) -> None:
    """RFC 8725 §3.1: the named key decides the algorithm; RS256 over an EC key's kid is refused, not a 500."""
    issuer.add_key("ec1", kind="EC")
    issuer.add_key("rsa-attacker", publish=False)
    await refused_as_invalid_token(app, issuer.signed("rsa-attacker", "ec1"))
    await refused_as_invalid_token(app, issuer.token("ec1"))
    assert await status_with(app, issuer.token()) == 200


async def test_an_es256_token_naming_an_rsa_key_is_401(app: Starlette, linked: Tenant, issuer: LocalIssuer) -> None:
    """Entra signs with RS256 only: ES256 over an RSA key's kid is refused."""
    issuer.add_key("ec-attacker", kind="EC", publish=False)
    await refused_as_invalid_token(app, issuer.signed("ec-attacker", "k1"))


@pytest.mark.parametrize(
    "document",
    [
        b'{"keys": null}',
        b'{"keys": "x"}',
        b'{"keys": [{"kid": "k1", "kty": "RSA", "n": 5, "e": "AQAB"}]}',
        b'{"keys": [{"kid": "k1", "kty": "RSA", "n": "xyz", "e": ["AQAB"]}]}',
        b'{"keys": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
        b"not json at all",
        b'{"keys": [], "padding": "' + b"x" * 2_000_000 + b'"}',
    ],
    ids=["keys null", "keys a string", "n a number", "e an array", "deeply nested", "not json", "huge"],
)
async def test_a_malformed_entra_key_set_is_401_and_one_warning(
    app: Starlette, linked: Tenant, issuer: LocalIssuer, caplog: pytest.LogCaptureFixture, document: bytes
) -> None:
    """A key set that is not a JWK Set verifies nothing: 401 invalid_token, one WARNING line, no 500."""
    issuer.document = document
    with caplog.at_level(logging.WARNING, logger="scim_facade"):
        await refused_as_invalid_token(app, issuer.token())
    warnings = [r for r in caplog.records if r.name == "scim_facade.jwks"]
    assert len(warnings) == 1
    assert warnings[0].levelno == logging.WARNING
    assert warnings[0].exc_info is None
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_a_bad_key_among_good_ones_is_skipped(
    app: Starlette, linked: Tenant, issuer: LocalIssuer, caplog: pytest.LogCaptureFixture
) -> None:
    """Within a well-formed set a malformed key is skipped (one WARNING) and the good keys still verify."""
    good = issuer.jwks()["keys"]
    issuer.document = json.dumps({"keys": [{"kid": "bad", "kty": "RSA", "n": 5}, *good]}).encode()
    with caplog.at_level(logging.WARNING, logger="scim_facade"):
        assert await status_with(app, issuer.token()) == 200
    assert len([r for r in caplog.records if r.name == "scim_facade.jwks"]) == 1


async def test_a_trickling_entra_key_set_is_cut_off_at_the_deadline(
    store: MongoStore, database_uri: str, database_name: str, linked: Tenant, issuer: LocalIssuer
) -> None:
    """One deadline for the whole fetch: a key URL sending a byte at a time is hung up on, and the token is 401."""
    app = create_app(
        Settings(
            mongodb_uri=database_uri,
            database=database_name,
            scim_token_cache_seconds=0,
            entra_jwks_url=issuer.url,
            oauth_jwks_timeout_seconds=1.0,
        )
    )
    app.state.store = store
    issuer.trickle = 0.2
    await refused_as_invalid_token(app, issuer.token())
    assert issuer.trickle_ended.wait(timeout=30)
    assert issuer.trickle_outcome == "cut off"


async def test_concurrent_requests_with_an_unknown_key_share_one_fetch(
    app: Starlette, linked: Tenant, issuer: LocalIssuer
) -> None:
    """Concurrent misses wait for one key-set fetch rather than each starting their own."""
    issuer.delay = 0.3
    statuses = await asyncio.gather(*(status_with(app, issuer.token()) for _ in range(10)))
    assert statuses == [200] * 10
    assert issuer.fetches == 1
