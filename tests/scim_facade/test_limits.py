"""Per-tenant rate limiting (429 with Retry-After)."""

from __future__ import annotations

from identity_service.app import create_app
from identity_service.settings import Settings
from identity_store import Tenant
from identity_store.domain.credentials import IssuedSecret
from identity_store.mongo import MongoStore
from scim_facade.limits import RateLimiter
from tests.scim_facade.conftest import ERROR_URN, SCIM_JSON, client_for, issue_token


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_the_bucket_allows_a_burst_then_the_rate() -> None:
    clock = Clock()
    limiter = RateLimiter(rate=2.0, burst=3, clock=clock)
    assert [limiter.check("a") for _ in range(3)] == [None, None, None]
    assert limiter.check("a") == 1
    assert limiter.check("b") is None  # another tenant has its own bucket
    clock.now = 0.5
    assert limiter.check("a") is None
    assert limiter.check("a") == 1


def test_a_zero_rate_turns_limiting_off() -> None:
    limiter = RateLimiter(rate=0, burst=1)
    assert all(limiter.check("a") is None for _ in range(1000))


async def test_a_tenant_over_its_rate_gets_429_and_others_do_not(
    store: MongoStore, tenant: Tenant, token: IssuedSecret, database_uri: str, database_name: str
) -> None:
    app = create_app(
        Settings(
            mongodb_uri=database_uri,
            database=database_name,
            scim_token_cache_seconds=0,
            scim_rate_limit_per_second=0.01,
            scim_rate_limit_burst=2,
        )
    )
    app.state.store = store
    other = await store.tenants.create("other")
    other_token = await issue_token(store, other)
    async with client_for(app, token.secret) as noisy, client_for(app, other_token.secret) as quiet:
        assert [(await noisy.get("/Users")).status_code for _ in range(2)] == [200, 200]
        refused = await noisy.get("/Users")
        assert refused.status_code == 429
        assert int(refused.headers["Retry-After"]) >= 1
        assert refused.headers["content-type"].startswith(SCIM_JSON)
        assert refused.json()["schemas"] == [ERROR_URN]
        assert (await quiet.get("/Users")).status_code == 200
