"""A bound on one tenant's requests in flight: over it, a short wait or 429 with Retry-After, while
other tenants and Entra's probes are served."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import httpx
from prometheus_client.parser import text_string_to_metric_families
from starlette.applications import Starlette

from identity_service.app import create_app
from identity_service.settings import Settings
from identity_store import Tenant
from identity_store.domain.credentials import IssuedSecret
from identity_store.mongo import MongoStore
from scim_facade.tenant_slots import TenantSlots
from tests.scim_facade.conftest import ERROR_URN, SCIM_JSON, client_for, issue_token, user_body

PROBE = {"filter": 'userName eq "4b1e07d2-93c5-4a8e-b6f1-2d0c9e7a5f13"'}


async def test_a_tenant_gets_at_most_its_limit_of_slots_and_others_their_own() -> None:
    slots = TenantSlots(2, waiting=0, wait_seconds=1)
    assert [await slots.enter("a") for _ in range(3)] == [True, True, False]
    assert await slots.enter("b")
    slots.leave("a")
    assert await slots.enter("a")


async def test_waiting_requests_are_served_in_the_order_they_came() -> None:
    slots = TenantSlots(1, waiting=2, wait_seconds=5)
    assert await slots.enter("a")
    served: list[str] = []

    async def wait(name: str) -> None:
        assert await slots.enter("a")
        served.append(name)

    first = asyncio.create_task(wait("first"))
    await asyncio.sleep(0)
    second = asyncio.create_task(wait("second"))
    await asyncio.sleep(0)
    assert not await slots.enter("a")  # two wait already: no third
    slots.leave("a")
    await first
    assert served == ["first"]
    slots.leave("a")
    await second
    assert served == ["first", "second"]
    assert slots.in_flight("a") == 1


async def test_a_wait_that_runs_out_is_refused_and_leaves_no_trace() -> None:
    slots = TenantSlots(1, waiting=4, wait_seconds=0.01)
    assert await slots.enter("a")
    assert not await slots.enter("a")
    slots.leave("a")
    assert slots.in_flight("a") == 0
    assert len(slots) == 0  # an idle tenant is not kept


async def test_a_request_cancelled_while_waiting_gives_its_turn_to_the_next() -> None:
    slots = TenantSlots(1, waiting=4, wait_seconds=5)
    assert await slots.enter("a")
    leaving = asyncio.create_task(slots.enter("a"))
    staying = asyncio.create_task(slots.enter("a"))
    await asyncio.sleep(0)
    leaving.cancel()
    await asyncio.sleep(0)
    slots.leave("a")
    assert await staying
    assert slots.in_flight("a") == 1


async def test_a_zero_limit_turns_the_bound_off() -> None:
    slots = TenantSlots(0, waiting=0, wait_seconds=0)
    assert all([await slots.enter("a") for _ in range(1000)])


def _rate_limited(exposition: str, limit: str) -> float:
    """``identity_rate_limited_total`` for ``limit`` in a ``/metrics`` exposition."""
    return sum(
        sample.value
        for family in text_string_to_metric_families(exposition)
        for sample in family.samples
        if sample.name == "identity_rate_limited_total" and sample.labels.get("limit") == limit
    )


def _app(store: MongoStore, database_uri: str, database_name: str, *, waiting: int, wait_seconds: float) -> Starlette:
    app = create_app(
        Settings(
            mongodb_uri=database_uri,
            database=database_name,
            scim_token_cache_seconds=0,
            scim_tenant_max_in_flight=1,
            scim_tenant_max_waiting=waiting,
            scim_tenant_wait_seconds=wait_seconds,
        )
    )
    app.state.store = store
    return app


class HeldBody:
    """A request body sent only when released: the request holds its tenant's slot until then."""

    def __init__(self, user_name: str) -> None:
        self.reading = asyncio.Event()
        self.release = asyncio.Event()
        self._body = json.dumps(user_body(user_name)).encode()

    async def __aiter__(self) -> AsyncIterator[bytes]:
        self.reading.set()  # the endpoint reads the body: the request is past its slot
        await self.release.wait()
        yield self._body


async def _hold(scim: httpx.AsyncClient, body: HeldBody) -> asyncio.Task[httpx.Response]:
    held = asyncio.create_task(scim.post("/Users", content=body, headers={"Content-Type": SCIM_JSON}))
    await asyncio.wait_for(body.reading.wait(), timeout=10)
    return held


async def test_a_tenant_over_its_requests_in_flight_gets_429_while_another_is_served(
    store: MongoStore, tenant: Tenant, token: IssuedSecret, database_uri: str, database_name: str
) -> None:
    app = _app(store, database_uri, database_name, waiting=0, wait_seconds=1)
    other_token = await issue_token(store, await store.tenants.create("other"))
    async with client_for(app, token.secret) as busy, client_for(app, other_token.secret) as quiet:
        body = HeldBody("held@example.com")
        held = await _hold(busy, body)

        refused = await busy.post("/Users", json=user_body("refused@example.com"))
        assert refused.status_code == 429
        assert refused.headers["Retry-After"] == "1"
        assert refused.headers["content-type"].startswith(SCIM_JSON)
        assert refused.json()["schemas"] == [ERROR_URN]
        assert refused.json()["status"] == "429"
        assert (await quiet.get("/Users")).status_code == 200

        body.release.set()
        assert (await held).status_code == 201
        listed = (await busy.get("/Users")).json()
        # The refused create wrote nothing; the held one, once its body came, was served.
        assert [user["userName"] for user in listed["Resources"]] == ["held@example.com"]

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://scim.test") as local:
        exposition = (await local.get("/metrics")).text
    assert _rate_limited(exposition, "scim_tenant_in_flight") == 1
    assert _rate_limited(exposition, "scim_tenant") == 0  # counted apart from the rate limit's refusals


async def test_entras_probes_need_no_slot(
    store: MongoStore, tenant: Tenant, token: IssuedSecret, database_uri: str, database_name: str
) -> None:
    app = _app(store, database_uri, database_name, waiting=0, wait_seconds=1)
    async with client_for(app, token.secret) as scim:
        body = HeldBody("held@example.com")
        held = await _hold(scim, body)
        assert (await scim.get("/Users")).status_code == 429
        probed = await scim.get("/Users", params=PROBE)
        assert probed.status_code == 200
        assert probed.json()["totalResults"] == 0
        body.release.set()
        assert (await held).status_code == 201


async def test_a_request_over_the_bound_waits_for_a_slot_and_is_served(
    store: MongoStore, tenant: Tenant, token: IssuedSecret, database_uri: str, database_name: str
) -> None:
    app = _app(store, database_uri, database_name, waiting=1, wait_seconds=30)
    async with client_for(app, token.secret) as scim:
        body = HeldBody("held@example.com")
        held = await _hold(scim, body)
        waiting = asyncio.create_task(scim.post("/Users", json=user_body("waited@example.com")))
        await asyncio.sleep(0.2)
        assert not waiting.done()  # it waits for the held request's slot, sending nothing meanwhile
        assert (await scim.get("/Users")).status_code == 429  # one may wait, not two
        body.release.set()
        assert (await held).status_code == 201
        assert (await waiting).status_code == 201


async def test_a_request_whose_wait_runs_out_gets_429(
    store: MongoStore, tenant: Tenant, token: IssuedSecret, database_uri: str, database_name: str
) -> None:
    app = _app(store, database_uri, database_name, waiting=1, wait_seconds=0.05)
    async with client_for(app, token.secret) as scim:
        body = HeldBody("held@example.com")
        held = await _hold(scim, body)
        refused = await scim.get("/Users")
        assert refused.status_code == 429
        assert refused.headers["Retry-After"] == "1"
        assert refused.json()["schemas"] == [ERROR_URN]
        body.release.set()
        assert (await held).status_code == 201
        assert (await scim.get("/Users")).status_code == 200


async def test_by_default_a_burst_the_rate_limit_admits_is_queued_not_refused(
    store: MongoStore, tenant: Tenant, token: IssuedSecret, database_uri: str, database_name: str
) -> None:
    app = create_app(Settings(mongodb_uri=database_uri, database=database_name, scim_token_cache_seconds=0))
    app.state.store = store
    async with client_for(app, token.secret) as scim:
        answers = await asyncio.gather(*(scim.get("/Users") for _ in range(60)))
    assert [a.status_code for a in answers] == [200] * 60
