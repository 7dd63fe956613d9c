"""Bearer authentication and tenant isolation (RFC 7644 §2, RFC 6750 §3)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from datetime import timedelta

import httpx
import pytest
from starlette.applications import Starlette

from identity_store import Tenant
from identity_store.domain.credentials import IssuedSecret
from identity_store.domain.resources import now
from identity_store.mongo import MongoStore
from tests.scim_facade.conftest import (
    GROUP_URN,
    SIGNING_KEY,
    client_for,
    create_group,
    create_user,
    issue_token,
    patch_body,
)


async def test_missing_token_is_401_with_bearer_challenge(app: Starlette) -> None:
    """RFC 6750 §3: a request without credentials gets 401 and WWW-Authenticate: Bearer."""
    async with client_for(app, None) as anonymous:
        response = await anonymous.get("/Users")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert response.headers["content-type"].startswith("application/scim+json")
    assert response.json()["status"] == "401"


@pytest.mark.parametrize(
    "header",
    ["Basic dXNlcjpwYXNz", "Bearer", "Bearer not-a-token", "Bearer scim_0123456789abcdef01234567_wrong"],
)
async def test_malformed_or_unknown_tokens_are_401(app: Starlette, header: str) -> None:
    """RFC 6750 §3.1: an invalid token is 401 invalid_token, never a server error."""
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://scim.test/scim/v2", headers={"Authorization": header}
    ) as scim:
        response = await scim.get("/Users")
    assert response.status_code == 401
    assert "WWW-Authenticate" in response.headers


async def test_a_wrong_secret_for_a_real_credential_id_is_401(app: Starlette, token: IssuedSecret) -> None:
    """Tokens are compared against the stored digest: the right id with another secret fails."""
    forged = token.secret[:-4] + "AAAA"
    async with client_for(app, forged) as scim:
        assert (await scim.get("/Users")).status_code == 401


async def test_revoked_token_is_401(app: Starlette, store: MongoStore, token: IssuedSecret) -> None:
    """A revoked token no longer authenticates."""
    async with client_for(app, token.secret) as scim:
        assert (await scim.get("/Users")).status_code == 200
        await store.credentials.revoke(token.credential.id, now())
        assert (await scim.get("/Users")).status_code == 401


async def test_expired_token_is_401(app: Starlette, store: MongoStore, tenant: Tenant) -> None:
    """A token past its expiry no longer authenticates."""
    expired = await issue_token(store, tenant, expires_at=now() - timedelta(seconds=1))
    async with client_for(app, expired.secret) as scim:
        assert (await scim.get("/Users")).status_code == 401


async def test_a_tenant_may_hold_several_tokens(app: Starlette, store: MongoStore, tenant: Tenant) -> None:
    """Rotation: two tokens of one tenant both work and see the same data."""
    first = await issue_token(store, tenant)
    second = await issue_token(store, tenant)
    async with client_for(app, first.secret) as one, client_for(app, second.secret) as two:
        created = await create_user(one, "shared")
        assert (await two.get(f"/Users/{created['id']}")).status_code == 200


async def test_every_endpoint_hides_the_other_tenants_resources(
    app: Starlette, client: httpx.AsyncClient, store: MongoStore
) -> None:
    """Tenant isolation: with another tenant's token, ids of this tenant are simply 404."""
    user = await create_user(client, "acme-user")
    group = await create_group(client, "acme-group", (str(user["id"]),))
    other_tenant = await store.tenants.create("globex")
    other = await issue_token(store, other_tenant)
    async with client_for(app, other.secret) as intruder:
        for path in (f"/Users/{user['id']}", f"/Groups/{group['id']}"):
            assert (await intruder.get(path)).status_code == 404
            assert (await intruder.delete(path)).status_code == 404
            replace_op = {"op": "replace", "path": "displayName", "value": "pwned"}
            assert (await intruder.patch(path, json=patch_body(replace_op))).status_code == 404
        put_user = await intruder.put(f"/Users/{user['id']}", json={"userName": "pwned"})
        assert put_user.status_code == 404
        put_group = await intruder.put(f"/Groups/{group['id']}", json={"schemas": [GROUP_URN], "displayName": "x"})
        assert put_group.status_code == 404
        listed = (await intruder.get("/Users")).json()
        assert listed["totalResults"] == 0
        assert (await intruder.get("/Groups")).json()["totalResults"] == 0
        searched = await intruder.post("/.search", json={"filter": 'userName eq "acme-user"'})
        assert searched.json()["totalResults"] == 0
        for path in (f"/Users/{user['id']}", f"/Groups/{group['id']}"):
            bulk = {
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
                "Operations": [
                    {"method": "PATCH", "path": path, "data": patch_body(replace_op)},
                    {"method": "DELETE", "path": path},
                ],
            }
            results = (await intruder.post("/Bulk", json=bulk)).json()["Operations"]
            assert [r["status"] for r in results] == ["404", "404"]
        await create_user(client, "acme-second")
        acme_cursor = (await client.get("/Users", params={"cursor": "", "count": "1"})).json()["nextCursor"]
        stolen = await intruder.get("/Users", params={"cursor": acme_cursor, "count": "1"})
        assert stolen.status_code == 400
        assert stolen.json()["scimType"] == "invalidCursor"
        # Adding this tenant's user to the intruder's own group is refused: the id is unknown there.
        own = await create_group(intruder, "globex-group")
        add = {"op": "add", "path": "members", "value": [{"value": user["id"]}]}
        assert (await intruder.patch(f"/Groups/{own['id']}", json=patch_body(add))).status_code == 400
    # Nothing of acme changed.
    assert (await client.get(f"/Users/{user['id']}")).json()["userName"] == "acme-user"
    assert len((await client.get(f"/Groups/{group['id']}")).json()["members"]) == 1


async def test_verified_tokens_are_cached_so_requests_cost_no_lookup(
    store: MongoStore, database_uri: str, database_name: str, token: IssuedSecret, database_commands: object
) -> None:
    """With the default cache, a repeated request does not look the token up again."""
    from identity_service.app import create_app
    from identity_service.settings import Settings
    from identity_store.mongo import CommandCounter

    assert isinstance(database_commands, CommandCounter)
    app = create_app(Settings(mongodb_uri=database_uri, database=database_name))
    app.state.store = store
    async with client_for(app, token.secret) as scim:
        await scim.get("/Users/missing")
        with database_commands.counting() as counted:
            assert (await scim.get("/Users/missing")).status_code == 404
    assert sum(counted.values()) == 1  # the user's one read; the token is not looked up again


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@pytest.mark.parametrize("algorithm", ["none", "HS256", "RS256", "ES384"])
async def test_an_access_token_with_another_alg_is_401_invalid_token(
    app: Starlette, store: MongoStore, tenant: Tenant, algorithm: str
) -> None:
    """Our access tokens are verified with the one algorithm of our key: a header naming any other
    (none, HMAC keyed with something public, a different family) is 401 invalid_token, never a 500."""
    claims = {
        "iss": "urn:identity-store",
        "aud": "urn:identity-store:scim",
        "sub": "oc_000000000000000000000000",
        "tenant": tenant.id,
        "iat": int(time.time()),
        "nbf": int(time.time()),
        "exp": int(time.time()) + 3600,
    }
    header = _b64(json.dumps({"alg": algorithm, "typ": "at+jwt"}).encode())
    signing_input = f"{header}.{_b64(json.dumps(claims).encode())}"
    signature = hmac.new(SIGNING_KEY.encode(), signing_input.encode(), hashlib.sha256).digest()
    token = f"{signing_input}.{_b64(signature) if algorithm != 'none' else ''}"
    async with client_for(app, token) as scim:
        response = await scim.get("/Users")
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]
