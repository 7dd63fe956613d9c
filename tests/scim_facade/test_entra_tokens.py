"""JWTs issued by Microsoft Entra ID ("Secret Token" left blank), validated against a key set."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import replace

import pytest
from starlette.applications import Starlette

from identity_app import Settings, create_app
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
