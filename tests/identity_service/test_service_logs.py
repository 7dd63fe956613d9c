"""The service's logs, read as a log collector reads them: ``identity-store serve`` as its own
process, good and bad SCIM and GraphQL requests, then every line of its output.

The rules: every line is one JSON object; each request has exactly one request line; a client's
mistake is no ERROR and carries no traceback; no secret ever appears, neither the ones that were
accepted nor the ones that were refused.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from identity_store import Tenant
from identity_store.domain.credentials import CredentialKind, issue
from identity_store.domain.resources import now
from identity_store.mongo import MongoStore
from tests.scim_facade.conftest import issue_token
from tests.service_process import ServiceProcess

pytestmark = pytest.mark.slow

SCIM_JSON = "application/scim+json"
PASSWORD = "Correct-Horse-Battery-9"
# Shaped like one of ours, so only the redaction (not the verifier's refusal) can keep it out.
FORGED = "scim_0123456789abcdef01234567_not-the-real-secret-at-all"


@pytest.fixture
def service(tmp_path: Path, database_uri: str, database_name: str) -> Iterator[ServiceProcess]:
    running = ServiceProcess(tmp_path, database_uri=database_uri, database_name=database_name)
    try:
        running.wait_until_ready()
        yield running
    finally:
        running.stop()


def _lines(path: Path) -> list[dict[str, Any]]:
    """Every line of ``path`` as a JSON object (a line that is not one fails the test)."""
    parsed = []
    for line in path.read_text().splitlines():
        value = json.loads(line)
        assert isinstance(value, dict), line
        parsed.append(value)
    return parsed


async def _api_key(store: MongoStore, tenant: Tenant) -> str:
    issued = issue(
        tenant_id=tenant.id, kind=CredentialKind.API_KEY, name="logs", scopes=frozenset({"users:read"}), created=now()
    )
    await store.credentials.add(issued.credential)
    return issued.secret


async def test_the_service_logs_one_json_object_a_line_one_per_request_and_no_secret(
    service: ServiceProcess, store: MongoStore, tenant: Tenant
) -> None:
    token = (await issue_token(store, tenant)).secret
    key = await _api_key(store, tenant)
    scim = {"Authorization": f"Bearer {token}", "Content-Type": SCIM_JSON}
    user = {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": "ada@example.com",
        "password": PASSWORD,
    }
    async with httpx.AsyncClient(base_url=service.base_url, timeout=30) as http:
        created = await http.post("/scim/v2/Users", json=user, headers={**scim, "X-Request-Id": "created"})
        taken = await http.post("/scim/v2/Users", json=user, headers={**scim, "X-Request-Id": "taken"})
        refused = await http.get(
            "/scim/v2/Users", headers={"Authorization": f"Bearer {FORGED}", "X-Request-Id": "refused"}
        )
        typo = await http.post(
            "/graphql",
            json={"query": "{ viewr { tenantId } }"},
            headers={"Authorization": f"Bearer {key}", "X-Request-Id": "typo"},
        )
        anonymous = await http.post("/graphql", json={"query": "{ __typename }"}, headers={"X-Request-Id": "anonymous"})
    assert [created.status_code, taken.status_code, refused.status_code, anonymous.status_code] == [201, 409, 401, 401]
    assert typo.json()["errors"]
    service.stop()

    stdout, stderr = _lines(service.stdout_path), _lines(service.stderr_path)
    everything = service.stdout_path.read_text() + service.stderr_path.read_text()
    for secret in (token, key, PASSWORD, FORGED):
        assert secret not in everything
    requests = [line for line in stdout if line.get("logger") == "identity_service.requests"]
    ours = ("created", "taken", "refused", "typo", "anonymous")
    by_id = {request_id: [line for line in requests if line["request_id"] == request_id] for request_id in ours}
    assert {request_id: len(lines) for request_id, lines in by_id.items()} == dict.fromkeys(ours, 1)
    (conflict,) = by_id["taken"]
    assert (conflict["method"], conflict["path"], conflict["status"]) == ("POST", "/scim/v2/Users", 409)
    assert (conflict["outcome"], conflict["front_end"], conflict["level"]) == ("client_error", "scim", "info")
    assert (conflict["scimType"], conflict["operation"], conflict["tenant"]) == ("uniqueness", "create_user", tenant.id)
    assert conflict["database_commands"] > 0
    assert "trace_id" not in conflict  # no OTEL_* variables: no trace
    assert conflict["client_address"] == "127.0.0.1"
    assert by_id["refused"][0]["outcome"] == "unauthorized"
    typo_lines = [line for line in stdout + stderr if "typo" in json.dumps(line)]
    assert typo_lines, "the typo's request line at least"
    assert all(line["level"] == "info" for line in typo_lines)
    # Every request here was fine or the client's mistake: nothing anywhere is an error or a traceback.
    assert [line for line in stdout + stderr if line["level"] in ("error", "critical") or "exception" in line] == []
    # uvicorn's own lines are JSON too, and its access log is off (the request line replaces it).
    assert any(line.get("logger", "").startswith("uvicorn") for line in stdout)
    assert not any(line.get("logger") == "uvicorn.access" for line in stdout)
