"""The service keeps its embedded database running: a killed database comes back without an operator."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
from pathlib import Path

import httpx
import pytest

from identity_service.app import create_app
from identity_service.settings import Settings
from identity_store.domain.credentials import CredentialKind, issue
from identity_store.domain.resources import now
from identity_store.mongo import MongoStore
from tests.servers import serve_in_thread


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"


def _readyz(base_url: str) -> int:
    try:
        return httpx.get(f"{base_url}/readyz", timeout=5).status_code
    except httpx.TransportError:
        return 0


def _statuses_until_ready(base_url: str) -> list[int]:
    """/readyz, polled until it has answered something other than 200 and then 200 again."""
    seen: list[int] = []
    for _ in range(600):
        seen.append(_readyz(base_url))
        if seen[-1] == 200 and any(status != 200 for status in seen):
            return seen
        time.sleep(0.05)
    return seen


@pytest.mark.slow
def test_a_killed_embedded_database_is_restarted_and_the_service_serves_again(tmp_path: Path) -> None:
    """/readyz goes 503 when the database dies, 200 once the supervisor restarted it; writes work again."""
    data_dir = tmp_path / "data"
    state_file = data_dir / "secantusd.json"
    app = create_app(Settings(mongodb_uri=None, data_dir=data_dir))
    with serve_in_thread(app) as base_url:
        before = json.loads(state_file.read_text())
        os.kill(before["pid"], signal.SIGKILL)
        statuses = _statuses_until_ready(base_url)
        assert 503 in statuses
        assert statuses[-1] == 200
        after = json.loads(state_file.read_text())
        assert after["port"] == before["port"]
        assert after["pid"] != before["pid"]
        assert _alive(after["pid"])
        response = httpx.get(f"{base_url}/healthz")
        assert response.status_code == 200
        created = _create_tenant_and_user(base_url, before["port"])
        assert created.status_code == 201, created.text
    assert not _alive(after["pid"])  # stopping the service stopped the restarted database
    assert not state_file.exists()


def _create_tenant_and_user(base_url: str, port: int) -> httpx.Response:
    """A SCIM create through the service, with a tenant and token made directly in the database."""

    async def token() -> str:
        store = MongoStore(f"mongodb://127.0.0.1:{port}/?directConnection=true", "identity")
        try:
            tenant = await store.tenants.create("after-restart")
            issued = issue(
                tenant_id=tenant.id, kind=CredentialKind.SCIM_TOKEN, name="t", scopes=frozenset({"scim"}), created=now()
            )
            await store.credentials.add(issued.credential)
            return issued.secret
        finally:
            await store.close()

    secret = asyncio.run(token())
    return httpx.post(
        f"{base_url}/scim/v2/Users",
        json={"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "back@example.com"},
        headers={"Authorization": f"Bearer {secret}", "Content-Type": "application/scim+json"},
        timeout=30,
    )
