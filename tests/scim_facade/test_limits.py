"""Per-tenant rate limiting (429 with Retry-After), for the deployment, never refusing Entra's probes."""

from __future__ import annotations

import asyncio

from starlette.applications import Starlette

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


def test_instances_flooded_together_admit_the_rate_between_them_not_each() -> None:
    """Under a flood every instance's bucket is empty when the others' counts arrive; those counts
    are still paid for (the bucket goes below empty), or each instance would admit the whole rate."""
    clock = Clock()
    instances = [RateLimiter(rate=10.0, burst=10, clock=clock, shared=True) for _ in range(2)]
    admitted = 0
    for tick in range(1, 2001):  # 20 seconds, each instance asked every 10 ms
        clock.now = tick / 100
        admitted += sum(limiter.check("t") is None for limiter in instances)
        if tick % 100 == 0:  # the exchange, once a second
            counts = [limiter.drain_admitted() for limiter in instances]
            for limiter, others in ((instances[0], counts[1]), (instances[1], counts[0])):
                for key, requests in others.items():
                    limiter.admitted_elsewhere(key, requests)

    # The rate for 20 s and the burst, with the exchange's slack: one interval of the rate per other instance.
    assert admitted <= 10 * 20 + 10 + 10 * 1


def test_what_others_admitted_can_hold_a_tenant_back_for_one_burst_at_most() -> None:
    clock = Clock()
    limiter = RateLimiter(rate=2.0, burst=4, clock=clock, shared=True)
    limiter.admitted_elsewhere("a", 1000)
    assert limiter.check("a") == 3  # from minus one burst (-4) to one token: 2.5 s
    clock.now = 2.5
    assert limiter.check("a") is None


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


async def test_entras_test_connection_probes_pass_while_the_tenant_is_over_its_rate(
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
    async with client_for(app, token.secret) as scim:
        while (await scim.get("/Users")).status_code != 429:
            pass
        guids = ["4b1e07d2-93c5-4a8e-b6f1-2d0c9e7a5f13", "0F8FAD5B-D9CB-469F-A165-70867728950E"]
        probes = [
            *[await scim.get("/Users", params={"filter": f'userName eq "{guid}"'}) for guid in guids * 2],
            await scim.get("/Groups", params={"filter": f'displayName eq "{guids[0]}"'}),
            await scim.get("/Users", params={"filter": f'emails[type eq "work"].value eq "{guids[1]}"'}),
        ]
        assert [p.status_code for p in probes] == [200] * 6
        assert all(p.json()["totalResults"] == 0 for p in probes)
        # The probe's shape is all that counts: any other query still waits its turn.
        assert (await scim.get("/Users", params={"filter": 'userName eq "bob"'})).status_code == 429


async def test_two_instances_give_a_tenant_its_rate_once(
    store: MongoStore, tenant: Tenant, token: IssuedSecret, database_uri: str, database_name: str
) -> None:
    def instance(exchange_seconds: float) -> Starlette:
        return create_app(
            Settings(
                mongodb_uri=database_uri,
                database=database_name,
                scim_token_cache_seconds=0,
                scim_rate_limit_per_second=0.01,
                scim_rate_limit_burst=3,
                scim_rate_limit_exchange_seconds=exchange_seconds,
            )
        )

    first, second = instance(0.05), instance(0.05)
    async with (
        first.router.lifespan_context(first),
        second.router.lifespan_context(second),
        client_for(first, token.secret) as one,
        client_for(second, token.secret) as two,
    ):
        assert [(await one.get("/Users")).status_code for _ in range(3)] == [200, 200, 200]
        # Within a few exchanges the second instance has taken the first one's requests from its
        # own bucket: the tenant's burst is spent for the deployment, so its first request waits.
        await asyncio.sleep(0.3)
        refused = await two.get("/Users")
        assert refused.status_code == 429
        assert int(refused.headers["Retry-After"]) >= 1


async def test_without_the_exchange_each_instance_limits_alone(
    store: MongoStore, tenant: Tenant, token: IssuedSecret, database_uri: str, database_name: str
) -> None:
    def instance() -> Starlette:
        return create_app(
            Settings(
                mongodb_uri=database_uri,
                database=database_name,
                scim_token_cache_seconds=0,
                scim_rate_limit_per_second=0.01,
                scim_rate_limit_burst=3,
                scim_rate_limit_exchange_seconds=0,
            )
        )

    first, second = instance(), instance()
    async with (
        first.router.lifespan_context(first),
        second.router.lifespan_context(second),
        client_for(first, token.secret) as one,
        client_for(second, token.secret) as two,
    ):
        assert [(await one.get("/Users")).status_code for _ in range(4)] == [200, 200, 200, 429]
        await asyncio.sleep(0.3)
        assert [(await two.get("/Users")).status_code for _ in range(3)] == [200, 200, 200]
