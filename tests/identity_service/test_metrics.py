"""``/metrics``: the Prometheus text format, counters that move with the requests made, and who
may scrape (a bearer token when one is configured, otherwise this host only)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from starlette.applications import Starlette

from identity_service.app import create_app
from identity_service.metrics_endpoint import may_scrape
from identity_service.settings import Settings
from identity_store import Tenant
from identity_store.domain.credentials import CredentialKind, issue
from identity_store.domain.resources import now
from identity_store.mongo import MongoStore
from tests.scim_facade.conftest import issue_token
from tests.service_process import ServiceProcess

SCIM_JSON = "application/scim+json"
METRICS_TOKEN = "metrics-token-for-the-test"
USER = {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "ada@example.com"}


def sample_sum(text: str, name: str, **labels: str) -> float:
    """The sum of the samples called ``name`` whose labels include ``labels``."""
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name and labels.items() <= sample.labels.items()
    )


async def _serving(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app: Starlette = create_app(settings)
    async with (
        app.router.lifespan_context(app),
        # ASGITransport's client is 127.0.0.1, as a scraper on this host.
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client,
    ):
        yield client


@pytest.fixture
async def client(database_uri: str, database_name: str, store: MongoStore) -> AsyncIterator[httpx.AsyncClient]:
    async for client in _serving(
        Settings(
            mongodb_uri=database_uri, database=database_name, scim_rate_limit_per_second=0.01, scim_rate_limit_burst=5
        )
    ):
        yield client


async def test_scim_creations_and_conflicts_are_counted_by_front_end_and_status_class(
    client: httpx.AsyncClient, store: MongoStore, tenant: Tenant
) -> None:
    token = (await issue_token(store, tenant)).secret
    scim = {"Authorization": f"Bearer {token}", "Content-Type": SCIM_JSON}
    before = (await client.get("/metrics")).text

    assert (await client.post("/scim/v2/Users", json=USER, headers=scim)).status_code == 201
    assert (await client.post("/scim/v2/Users", json=USER, headers=scim)).status_code == 409
    scraped = await client.get("/metrics")

    assert scraped.status_code == 200
    assert scraped.headers["content-type"].startswith("text/plain")
    after = scraped.text
    for status_class in ("2xx", "4xx"):
        counted = "identity_requests_total"
        grew = sample_sum(after, counted, front_end="scim", status_class=status_class) - sample_sum(
            before, counted, front_end="scim", status_class=status_class
        )
        assert grew == 1, status_class
    assert sample_sum(after, "identity_request_duration_seconds_count", front_end="scim") == 2
    # Inserting the user (and its event) and reading the token took database commands.
    assert sample_sum(after, "identity_database_commands_total", outcome="succeeded") > sample_sum(
        before, "identity_database_commands_total", outcome="succeeded"
    )
    assert sample_sum(after, "identity_database_commands_total", command="insert") >= 1
    assert sample_sum(after, "identity_database_command_duration_seconds_count", command="insert") >= 1
    # The second request found the token in the cache the first one filled.
    assert sample_sum(after, "identity_credential_cache_lookups_total", front_end="scim", result="hit") >= 1
    assert sample_sum(after, "identity_credential_cache_lookups_total", front_end="scim", result="miss") >= 1


async def test_a_tenant_over_its_rate_is_counted_as_rate_limited(
    client: httpx.AsyncClient, store: MongoStore, tenant: Tenant
) -> None:
    token = (await issue_token(store, tenant)).secret
    statuses = [
        (await client.get("/scim/v2/Users", headers={"Authorization": f"Bearer {token}"})).status_code for _ in range(8)
    ]
    refused = statuses.count(429)
    assert refused > 0

    text = (await client.get("/metrics")).text

    assert sample_sum(text, "identity_rate_limited_total", limit="scim_tenant") == refused
    assert sample_sum(text, "identity_requests_total", front_end="scim", status_class="4xx") == refused


async def test_api_keys_found_in_the_cache_are_counted_as_hits(
    client: httpx.AsyncClient, store: MongoStore, tenant: Tenant
) -> None:
    issued = issue(
        tenant_id=tenant.id, kind=CredentialKind.API_KEY, name="m", scopes=frozenset({"users:read"}), created=now()
    )
    await store.credentials.add(issued.credential)
    for _ in range(3):
        answered = await client.post(
            "/graphql", json={"query": "{ __typename }"}, headers={"Authorization": f"Bearer {issued.secret}"}
        )
        assert answered.status_code == 200

    text = (await client.get("/metrics")).text

    assert sample_sum(text, "identity_credential_cache_lookups_total", front_end="graphql", result="miss") == 1
    assert sample_sum(text, "identity_credential_cache_lookups_total", front_end="graphql", result="hit") == 2
    assert sample_sum(text, "identity_requests_total", front_end="graphql", status_class="2xx") == 3


async def test_the_process_gauges_are_exposed(client: httpx.AsyncClient) -> None:
    families = {family.name for family in text_string_to_metric_families((await client.get("/metrics")).text)}
    assert {
        "identity_event_loop_lag_seconds",
        "identity_event_loop_lag_max_seconds",
        "identity_graphql_subscriptions",
        "identity_event_feed_lag_seconds",
        "identity_activity_queue_depth",
        "identity_activity_dropped",
        "identity_activity_write_failures",
    } <= families


async def test_with_a_metrics_token_a_scrape_without_it_is_401(
    database_uri: str, database_name: str, store: MongoStore
) -> None:
    async for client in _serving(
        Settings(mongodb_uri=database_uri, database=database_name, metrics_token=METRICS_TOKEN)
    ):
        missing = await client.get("/metrics")
        wrong = await client.get("/metrics", headers={"Authorization": "Bearer not-the-token"})
        right = await client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert (missing.status_code, wrong.status_code, right.status_code) == (401, 401, 200)
    assert missing.headers["www-authenticate"].startswith("Bearer")
    assert "identity_requests_total" in right.text


def test_without_a_token_only_a_client_on_this_host_may_scrape() -> None:
    """The project's rule is no endpoint without authentication: with no token to check, the
    only caller let in is one on the same host."""
    assert may_scrape(token=None, authorization=None, peer="127.0.0.1")
    assert may_scrape(token=None, authorization=None, peer="::1")
    assert not may_scrape(token=None, authorization=None, peer="10.0.0.7")
    assert not may_scrape(token=None, authorization="Bearer anything", peer="203.0.113.9")
    assert not may_scrape(token=None, authorization=None, peer=None)


def test_without_a_token_a_request_relayed_by_a_proxy_on_this_host_is_refused() -> None:
    """A proxy on the same host connects from loopback, but names the client it relays."""
    assert not may_scrape(token=None, authorization=None, peer="127.0.0.1", forwarded=True)


async def test_a_forwarded_scrape_without_a_token_is_403(client: httpx.AsyncClient) -> None:
    assert (await client.get("/metrics", headers={"X-Forwarded-For": "203.0.113.9"})).status_code == 403
    assert (await client.get("/metrics", headers={"Forwarded": "for=203.0.113.9"})).status_code == 403


def test_with_a_token_the_token_decides_wherever_the_client_is() -> None:
    assert may_scrape(token=METRICS_TOKEN, authorization=f"Bearer {METRICS_TOKEN}", peer="10.0.0.7")
    assert may_scrape(token=METRICS_TOKEN, authorization=f"bearer {METRICS_TOKEN}", peer="10.0.0.7")
    assert not may_scrape(token=METRICS_TOKEN, authorization=None, peer="127.0.0.1")
    assert not may_scrape(token=METRICS_TOKEN, authorization=f"Basic {METRICS_TOKEN}", peer="127.0.0.1")
    assert not may_scrape(token=METRICS_TOKEN, authorization="Bearer metrics-token", peer="127.0.0.1")


@pytest.mark.slow
async def test_with_several_processes_a_scrape_of_one_counts_the_requests_of_all(
    tmp_path: Path, database_uri: str, database_name: str, store: MongoStore, tenant: Tenant
) -> None:
    """prometheus-client's multiprocess mode: every process writes its metrics into the shared
    ``PROMETHEUS_MULTIPROC_DIR``, and whichever answers the scrape sums them all."""
    shared = tmp_path / "prometheus"
    shared.mkdir()
    token = (await issue_token(store, tenant)).secret
    processes = []
    try:
        for name in ("one", "two"):
            (tmp_path / name).mkdir()
            process = ServiceProcess(
                tmp_path / name,
                database_uri=database_uri,
                database_name=database_name,
                env={"PROMETHEUS_MULTIPROC_DIR": str(shared)},
            )
            processes.append(process)
        for process in processes:
            process.wait_until_ready()
        async with httpx.AsyncClient(timeout=30) as http:
            for process, count in zip(processes, (2, 3), strict=True):
                for _ in range(count):
                    listed = await http.get(
                        f"{process.base_url}/scim/v2/Users", headers={"Authorization": f"Bearer {token}"}
                    )
                    assert listed.status_code == 200
            text = (await http.get(f"{processes[0].base_url}/metrics")).text
    finally:
        for process in processes:
            process.stop()

    assert sample_sum(text, "identity_requests_total", front_end="scim", status_class="2xx") == 5


async def test_a_sequencers_rounds_are_counted(
    database_uri: str, database_name: str, store: MongoStore, tenant: Tenant
) -> None:
    """With the events numbered by a sequencer, each answered write waited for a round: counted."""
    settings = Settings(mongodb_uri=database_uri, database=database_name, event_numbering="sequencer")
    async for client in _serving(settings):
        token = (await issue_token(store, tenant)).secret
        scim = {"Authorization": f"Bearer {token}", "Content-Type": SCIM_JSON}
        assert (await client.post("/scim/v2/Users", json=USER, headers=scim)).status_code == 201
        scraped = (await client.get("/metrics")).text
        assert sample_sum(scraped, "identity_stamping_rounds_total", outcome="numbered") >= 1
        assert sample_sum(scraped, "identity_stamping_rounds_total", outcome="lost") == 0
        assert sample_sum(scraped, "identity_pending_events_left_total") == 0
