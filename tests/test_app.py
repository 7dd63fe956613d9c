"""The composed service: health endpoints, the embedded default, the CLI, and database outages."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from identity_service.app import create_app
from identity_service.settings import Settings
from identity_service.version import __version__
from identity_store import StoreUnavailable
from identity_store.mongo import EmbeddedDatabase, MongoStore
from tests.servers import free_port, serve_in_thread


def test_health_and_readiness_on_a_given_database(database_uri: str, database_name: str) -> None:
    app = create_app(Settings(mongodb_uri=database_uri, database=database_name))
    with serve_in_thread(app) as base_url:
        health = httpx.get(f"{base_url}/healthz").json()
        assert health["status"] == "ok"
        assert health["version"] == __version__
        assert set(health["eventLoopLag"]) == {"lastMs", "maxMs"}
        ready = httpx.get(f"{base_url}/readyz")
        assert ready.status_code == 200
        assert ready.json() == {"status": "ready"}


def test_without_mongodb_uri_the_embedded_database_is_started_and_stopped(tmp_path: Path) -> None:
    """The embedded default: SecantusDB runs as a child process with its data in the data folder."""
    data_dir = tmp_path / "data"
    app = create_app(Settings(mongodb_uri=None, data_dir=data_dir))
    with serve_in_thread(app) as base_url:
        assert httpx.get(f"{base_url}/readyz").status_code == 200
        state = (data_dir / "secantusd.json").read_text()
        assert '"port"' in state
        assert (data_dir / "db").is_dir()
    assert not (data_dir / "secantusd.json").exists()


@pytest.mark.slow
def test_cli_creates_and_lists_tenants_on_the_embedded_database(tmp_path: Path) -> None:
    cli = [sys.executable, "-m", "identity_service", "--data-dir", str(tmp_path / "data")]
    created = subprocess.run(
        [*cli, "tenant", "create", "Contoso"], capture_output=True, text=True, check=True, timeout=120
    )
    tenant_id, name = created.stdout.strip().split("\t")
    assert name == "Contoso"
    listed = subprocess.run([*cli, "tenant", "list"], capture_output=True, text=True, check=True, timeout=120)
    assert listed.stdout.startswith(f"{tenant_id}\tContoso\t")


@pytest.mark.slow
def test_cli_uses_the_database_of_the_running_service(tmp_path: Path) -> None:
    """While the service runs on the embedded default, the CLI talks to the same server."""
    data_dir = tmp_path / "data"
    app = create_app(Settings(mongodb_uri=None, data_dir=data_dir))
    with serve_in_thread(app):
        cli = [sys.executable, "-m", "identity_service", "--data-dir", str(data_dir)]
        subprocess.run([*cli, "tenant", "create", "Fabrikam"], capture_output=True, text=True, check=True, timeout=120)
        listed = subprocess.run([*cli, "tenant", "list"], capture_output=True, text=True, check=True, timeout=120)
        assert "\tFabrikam\t" in listed.stdout
        assert (data_dir / "secantusd.json").exists()  # still the service's server


@pytest.mark.slow
async def test_a_database_outage_gives_store_unavailable_and_recovery_needs_no_restart(tmp_path: Path) -> None:
    port = free_port()
    server = EmbeddedDatabase(tmp_path / "db", port=port)
    await server.start()
    store = MongoStore(server.uri, "outage", unreachable_seconds=1.0, operation_timeout_seconds=3.0)
    try:
        tenant = await store.tenants.create("acme")
        await store.ping()
        assert server._process is not None
        os.kill(server._process.pid, signal.SIGKILL)
        server._process.wait()
        server._process = None
        await server.stop()  # gives up the folder, as a process that died would
        with pytest.raises(StoreUnavailable):
            await store.tenants.get(tenant.id)

        restarted = EmbeddedDatabase(tmp_path / "db", port=port)
        await restarted.start()
        try:
            for _ in range(100):
                try:
                    assert (await store.tenants.get(tenant.id)).name == "acme"
                    break
                except StoreUnavailable:
                    await asyncio.sleep(0.2)
            else:
                pytest.fail("the store did not recover after the database came back")
        finally:
            await restarted.stop()
    finally:
        await store.close()
        await server.stop()


@pytest.mark.slow
def test_readiness_reports_an_unreachable_database(tmp_path: Path) -> None:
    port = free_port()  # nothing listens here
    app = create_app(
        Settings(mongodb_uri=f"mongodb://127.0.0.1:{port}/?directConnection=true&serverSelectionTimeoutMS=300")
    )
    with serve_in_thread(app) as base_url:
        assert httpx.get(f"{base_url}/healthz").status_code == 200
        ready = httpx.get(f"{base_url}/readyz", timeout=30)
        assert ready.status_code == 503
        assert "Retry-After" in ready.headers
