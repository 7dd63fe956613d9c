"""The activity log, through the real service over HTTP: what a tenant's clients asked, how it
ended and why, read back through GraphQL.

The service runs in a thread on a loopback port (its lifespan opens its own clients on the
suite's database); the tests speak SCIM with a tenant's token as Entra does, and GraphQL with
an API key holding ``activity:read``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from identity_service.activity_recorder import ActivityRecorder
from identity_service.app import _stop, create_app
from identity_service.cli import run
from identity_service.request_reports import RequestReport
from identity_service.settings import Settings
from identity_store import Tenant
from identity_store.activity import (
    ActivityFilter,
    ActivityRecord,
    FrontEnd,
    HourSummary,
    RequestActivity,
    quarantine_warning,
)
from identity_store.domain.credentials import CredentialKind, IssuedSecret, issue
from identity_store.domain.resources import now
from identity_store.mongo import MongoStore
from identity_store.mongo.activity import MongoActivityLog
from tests.activity_records import activity_record
from tests.servers import free_port, serve_in_thread

USER_URN = "urn:ietf:params:scim:schemas:core:2.0:User"
CUSTOM_URN = "urn:ietf:params:scim:schemas:extension:Contoso:2.0:User"
ACTIVITY = """
query ($filter: ProvisioningActivityFilter, $first: Int!, $after: String) {
  provisioningActivity(filter: $filter, first: $first, after: $after) {
    edges { cursor node {
      id method path operation status outcome scimType detail resourceType resourceId resourceName
      credentialId credentialName requestId changedAttributes ignoredAttributes databaseCommands durationMs
      frontEnd clientAddress
    } }
    pageInfo { hasNextPage endCursor }
  }
}
"""


def _issue(tenant: Tenant, kind: CredentialKind, scopes: tuple[str, ...], name: str) -> IssuedSecret:
    return issue(tenant_id=tenant.id, kind=kind, name=name, scopes=frozenset(scopes), created=now())


class Service:
    def __init__(self, base_url: str, token: IssuedSecret, key: IssuedSecret) -> None:
        self.base_url = base_url
        self.token = token
        self.key = key

    def scim(self, method: str, path: str, token: str | None = None, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token or self.token.secret}", **kwargs.pop("headers", {})}
        return httpx.request(method, f"{self.base_url}/scim/v2{path}", headers=headers, timeout=30, **kwargs)

    def graphql(self, query: str, key: str | None = None, **variables: Any) -> dict[str, Any]:
        response = httpx.post(
            f"{self.base_url}/graphql",
            json={"query": query, "variables": variables},
            headers={"Authorization": f"Bearer {key or self.key.secret}"},
            timeout=30,
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def activity(self, key: str | None = None, **variables: Any) -> list[dict[str, Any]]:
        body = self.graphql(ACTIVITY, key, first=variables.pop("first", 50), **variables)
        assert "errors" not in body, body
        return [edge["node"] for edge in body["data"]["provisioningActivity"]["edges"]]

    def activity_until(self, predicate: Any, **variables: Any) -> list[dict[str, Any]]:
        """The records once one satisfies ``predicate`` (records are written in batches, off the
        request path, half a second apart)."""
        deadline = time.monotonic() + 10
        while True:
            records = self.activity(**variables)
            if any(predicate(r) for r in records) or time.monotonic() > deadline:
                return records
            time.sleep(0.05)


@pytest.fixture
async def credentials(store: MongoStore, tenant: Tenant) -> tuple[IssuedSecret, IssuedSecret]:
    token = _issue(tenant, CredentialKind.SCIM_TOKEN, ("scim",), "entra-provisioning")
    key = _issue(tenant, CredentialKind.API_KEY, ("activity:read", "write", "users:read"), "ops")
    for issued in (token, key):
        await store.credentials.add(issued.credential)
    return token, key


@pytest.fixture
def service(database_uri: str, database_name: str, credentials: tuple[IssuedSecret, IssuedSecret]) -> Iterator[Service]:
    app = create_app(Settings(mongodb_uri=database_uri, database=database_name, scim_token_cache_seconds=0))
    with serve_in_thread(app) as base_url:
        yield Service(base_url, *credentials)


def test_a_refused_entra_request_is_recorded_with_its_scim_type_and_detail(service: Service) -> None:
    created = service.scim("POST", "/Users", json={"schemas": [USER_URN], "userName": "ada@contoso.com"})
    assert created.status_code == 201
    duplicate = service.scim(
        "POST",
        "/Users",
        json={"schemas": [USER_URN], "userName": "ada@contoso.com"},
        headers={"X-Request-Id": "entra-cycle-7"},
    )
    assert duplicate.status_code == 409

    records = service.activity_until(lambda r: r["requestId"] == "entra-cycle-7")
    refused = next(r for r in records if r["requestId"] == "entra-cycle-7")
    assert refused["status"] == 409
    assert refused["outcome"] == "CLIENT_ERROR"
    assert refused["scimType"] == "uniqueness"
    assert refused["detail"] == duplicate.json()["detail"]
    assert refused["method"] == "POST"
    assert refused["path"] == "/scim/v2/Users"
    assert refused["operation"] == "create_user"
    assert refused["resourceType"] == "User"
    assert refused["resourceName"] == "ada@contoso.com"
    assert refused["credentialName"] == "entra-provisioning"
    assert refused["credentialId"] == service.token.credential.id
    assert refused["frontEnd"] == "SCIM"
    assert refused["clientAddress"] == "127.0.0.1"
    assert refused["changedAttributes"] == ["userName"]
    assert refused["databaseCommands"] >= 1

    ok = next(r for r in records if r["status"] == 201)
    assert ok["outcome"] == "OK"
    assert ok["resourceId"] == created.json()["id"]
    assert ok["scimType"] is None
    # Newest first.
    assert [r["status"] for r in records][:2] == [409, 201]


def test_attributes_and_schemas_the_service_did_not_keep_are_listed_on_the_record(service: Service) -> None:
    body = {
        "schemas": [USER_URN, "urn:ietf:params:scim:schemas:extension:AdSync:2.0:User"],
        "userName": "grace@contoso.com",
        "displayName": "Grace",
        "favouriteColour": "teal",
        f"{CUSTOM_URN}:costCentre": "4711",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "R&D", "shoeSize": 9},
    }
    created = service.scim("POST", "/Users", json=body)
    assert created.status_code == 201
    patched = service.scim(
        "PATCH",
        f"/Users/{created.json()['id']}",
        json={
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [
                {"op": "replace", "path": "displayName", "value": "Grace H."},
                {"op": "add", "path": "nickName", "value": "amazing"},
                {"op": "replace", "path": 'title[value eq "x"]', "value": "y"},
                {"op": "add", "value": {"preferredLanguage": "en", "hatSize": 7}},
            ],
        },
    )
    assert patched.status_code in (200, 204, 400), patched.text

    records = service.activity_until(lambda r: r["method"] == "PATCH")
    create = next(r for r in records if r["method"] == "POST")
    assert set(create["ignoredAttributes"]) == {
        "urn:ietf:params:scim:schemas:extension:AdSync:2.0:User",
        "favouriteColour",
        f"{CUSTOM_URN}:costCentre",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:shoeSize",
    }
    assert set(create["changedAttributes"]) == {
        "userName",
        "displayName",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
    }
    patch = next(r for r in records if r["method"] == "PATCH")
    assert patch["changedAttributes"] == ["displayName", "nickName", "title", "preferredLanguage"]
    assert patch["ignoredAttributes"] == ["hatSize"]
    # Never a value.
    assert "teal" not in str(records)
    assert "4711" not in str(records)


def test_graphql_mutations_are_recorded_and_queries_are_not(service: Service) -> None:
    mutation = """mutation ($input: UserCreateInput!) { userCreate(input: $input) {
        user { id } userErrors { __typename message } } }"""
    first = service.graphql(mutation, input={"userName": "linus@contoso.com"})
    assert first["data"]["userCreate"]["userErrors"] == []
    again = service.graphql(mutation, input={"userName": "linus@contoso.com"})
    assert again["data"]["userCreate"]["userErrors"][0]["__typename"] == "UniquenessError"
    service.graphql("{ users(first: 5) { nodes { id } } }")

    records = service.activity_until(lambda r: r["outcome"] == "CLIENT_ERROR")
    graphql = [r for r in records if r["frontEnd"] == "GRAPHQL"]
    assert [r["operation"] for r in graphql] == ["userCreate", "userCreate"]
    refused, created = graphql
    assert refused["outcome"] == "CLIENT_ERROR"
    assert refused["scimType"] == "Uniqueness"
    assert refused["detail"] == again["data"]["userCreate"]["userErrors"][0]["message"]
    assert created["outcome"] == "OK"
    assert created["resourceName"] == "linus@contoso.com"
    assert created["changedAttributes"] == ["userName"]
    assert created["credentialName"] == "ops"


def test_filters_and_pages_walk_every_record_once(service: Service) -> None:
    for index in range(7):
        service.scim("GET", f"/Users/no-such-user-{index}")
    service.scim("GET", "/Users?count=1")
    records = service.activity_until(lambda r: r["status"] == 200)
    assert len(records) == 8

    failed = service.activity(filter={"failed": True})
    assert {r["status"] for r in failed} == {404}
    assert len(failed) == 7
    assert [r["resourceId"] for r in service.activity(filter={"resourceId": "no-such-user-3"})] == ["no-such-user-3"]
    assert service.activity(filter={"status": 200})[0]["operation"] == "list_users"
    assert service.activity(filter={"until": (datetime.now(UTC) - timedelta(hours=1)).isoformat()}) == []

    walked: list[str] = []
    after = None
    while True:
        body = service.graphql(ACTIVITY, first=3, after=after)
        page = body["data"]["provisioningActivity"]
        walked.extend(edge["node"]["id"] for edge in page["edges"])
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert walked == [r["id"] for r in records]

    bad = service.graphql(ACTIVITY, first=3, after="not-a-cursor")
    assert bad["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


def test_the_summary_counts_each_hour_and_its_failures_by_scim_type(service: Service) -> None:
    service.scim("POST", "/Users", json={"schemas": [USER_URN], "userName": "x@contoso.com"})
    for _ in range(3):
        service.scim("POST", "/Users", json={"schemas": [USER_URN], "userName": "x@contoso.com"})
    service.scim("GET", "/Users?filter=userName%20zz%20%22x%22")
    service.activity_until(lambda r: r["method"] == "GET")
    body = service.graphql(
        "{ provisioningSummary { hours { hour requests failures failuresByScimType p95DurationMs lastSuccessAt }"
        " quarantineWarning } }"
    )
    summary = body["data"]["provisioningSummary"]
    [hour] = summary["hours"]
    assert hour["requests"] == 5
    assert hour["failures"] == 4
    assert hour["failuresByScimType"] == {"uniqueness": 3, "invalidFilter": 1}
    assert hour["p95DurationMs"] > 0
    assert hour["lastSuccessAt"] is not None
    assert summary["quarantineWarning"] is None  # far from Entra's thresholds


@pytest.fixture
async def other_keys(store: MongoStore, tenant: Tenant) -> tuple[IssuedSecret, IssuedSecret]:
    """A key of the tenant without activity:read, and a key of another tenant with it."""
    reader = _issue(tenant, CredentialKind.API_KEY, ("users:read",), "reader")
    fabrikam = await store.tenants.create("fabrikam")
    theirs = _issue(fabrikam, CredentialKind.API_KEY, ("activity:read",), "theirs")
    for issued in (reader, theirs):
        await store.credentials.add(issued.credential)
    return reader, theirs


def test_activity_needs_its_scope_and_stays_in_its_tenant(
    service: Service, other_keys: tuple[IssuedSecret, IssuedSecret]
) -> None:
    reader, theirs = other_keys
    service.scim("GET", "/Users/nobody")
    # A request nobody could be identified for belongs to no tenant's log.
    assert service.scim("GET", "/Users", token="scim_not-a-token").status_code == 401
    records = service.activity_until(lambda r: r["status"] == 404)
    assert [r["status"] for r in records] == [404]

    refused = service.graphql(ACTIVITY, key=reader.secret, first=5)
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert service.activity(key=theirs.secret) == []


@pytest.mark.asyncio
async def test_tenants_never_see_each_others_records(store: MongoStore, tenant: Tenant) -> None:
    other = await store.tenants.create("fabrikam")
    log = MongoActivityLog(store.database)
    await log.append([activity_record(tenant.id, status=404), activity_record(other.id, status=201)])
    mine = await log.find(tenant.id, ActivityFilter(), first=10)
    theirs = await log.find(other.id, ActivityFilter(), first=10)
    assert [r.status for r in mine.records] == [404]
    assert [r.status for r in theirs.records] == [201]
    assert await log.get(other.id, mine.records[0].id) is None


def _report(tenant_id: str | None) -> RequestReport:
    activity = RequestActivity(front_end=FrontEnd.SCIM, request_id="r", tenant_id=tenant_id)
    return RequestReport(
        request_id="r",
        method="GET",
        path="/scim/v2/Users",
        status=200,
        duration_seconds=0.001,
        client_address=None,
        database_commands=1,
        front_end=FrontEnd.SCIM,
        activity=activity,
    )


def test_requests_nobody_was_identified_for_belong_to_no_tenant() -> None:
    recorder = ActivityRecorder(lambda: None)
    recorder.observe(_report(None))
    assert recorder.queue_depth == 0


def test_a_full_queue_drops_new_records_and_counts_them() -> None:
    recorder = ActivityRecorder(lambda: None, capacity=100)
    for _ in range(150):
        recorder.observe(_report("t"))
    assert recorder.queue_depth == 100
    assert recorder.dropped == 50


@pytest.mark.asyncio
async def test_a_failing_log_write_is_counted_and_never_raised() -> None:
    unreachable = MongoStore(f"mongodb://127.0.0.1:{free_port()}", "nowhere", unreachable_seconds=0.6)
    try:
        recorder = ActivityRecorder(lambda: MongoActivityLog(unreachable.database), write_timeout=5)
        recorder.observe(_report("t"))
        await recorder.flush()
        assert recorder.write_failures == 1
        assert recorder.dropped == 1
        assert recorder.queue_depth == 0
    finally:
        await unreachable.close()


class _SlowLog:
    """The real activity log, answering each write a little late, as a busy database does."""

    def __init__(self, activity_log: MongoActivityLog, seconds: float) -> None:
        self._log = activity_log
        self._seconds = seconds

    async def append(self, records: Sequence[ActivityRecord]) -> None:
        await asyncio.sleep(self._seconds)
        await self._log.append(records)


async def test_records_queued_at_a_stop_are_written_though_the_stop_repeats_its_cancellation(
    store: MongoStore, tenant: Tenant
) -> None:
    """The service's stop cancels its background tasks every tenth of a second until they end;
    the recorder's last flush still writes every record it held, batch after batch."""
    slow = _SlowLog(MongoActivityLog(store.database), seconds=0.15)
    recorder = ActivityRecorder(lambda: slow, batch_size=4, interval=60)  # type: ignore[arg-type, return-value]
    running = asyncio.create_task(recorder.run())
    await asyncio.sleep(0.05)
    for _ in range(10):
        recorder.observe(_report(tenant.id))
    await _stop(running)
    assert recorder.written == 10
    assert recorder.dropped == 0
    records = (await MongoActivityLog(store.database).find(tenant.id, ActivityFilter(), first=50)).records
    assert len(records) == 10


def test_quarantine_is_warned_of_before_entras_thresholds() -> None:
    hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)

    def summary(requests: int, failures: int, unauthorized: int = 0) -> list[HourSummary]:
        return [
            HourSummary(
                hour=hour,
                requests=requests,
                failures=failures,
                failures_by_scim_type={},
                p95_duration_ms=10,
                unauthorized=unauthorized,
            )
        ]

    assert quarantine_warning(summary(10_000, 100)) is None
    assert quarantine_warning([]) is None
    assert "40 %" in (quarantine_warning(summary(3_000, 1_200)) or "")
    assert "40,000" in (quarantine_warning(summary(200_000, 31_000)) or "")
    assert "authenticate" in (quarantine_warning(summary(40, 30, unauthorized=30)) or "")


def test_the_command_line_shows_the_refusal_too(
    service: Service,
    database_uri: str,
    database_name: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    service.scim("POST", "/Users", json={"schemas": [USER_URN], "userName": "alan@contoso.com"})
    refused = service.scim("POST", "/Users", json={"schemas": [USER_URN], "userName": "alan@contoso.com"})
    service.activity_until(lambda r: r["status"] == 409)
    monkeypatch.setenv("MONGODB_URI", database_uri)
    monkeypatch.setenv("IDENTITY_DATABASE", database_name)
    capsys.readouterr()
    assert run(["activity", "--tenant", "acme", "--failed", "--since", "10m"]) == 0
    [line] = capsys.readouterr().out.splitlines()
    fields = line.split("\t")
    assert fields[1:6] == ["409", "POST", "/scim/v2/Users", "uniqueness", refused.json()["detail"]]
    assert fields[6:8] == ["alan@contoso.com", "entra-provisioning"]


def test_a_bulk_request_says_how_many_of_its_operations_failed(service: Service) -> None:
    operation = {"method": "POST", "path": "/Users", "data": {"schemas": [USER_URN], "userName": "bulk@contoso.com"}}
    answered = service.scim(
        "POST",
        "/Bulk",
        json={
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
            "Operations": [{**operation, "bulkId": "a"}, {**operation, "bulkId": "b"}],
        },
    )
    assert answered.status_code == 200
    [record] = service.activity_until(lambda r: r["operation"] == "post_bulk")
    assert record["status"] == 200
    assert record["scimType"] == "uniqueness"
    assert record["detail"].startswith("1 of 2 operations failed; the first: ")
