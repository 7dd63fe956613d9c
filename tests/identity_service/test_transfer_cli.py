"""``identity-store export`` and ``import``: a tenant out to stdout and back in from stdin, and
a refused import as one line on stderr with a non-zero exit."""

from __future__ import annotations

import asyncio
import io
import json
import sys
import uuid

import pytest

from identity_service.cli import run
from identity_store import CommandBus, CreateUser, RequestContext, Tenant
from identity_store.mongo import MongoStore


async def _cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    status = await asyncio.to_thread(run, list(argv))
    out, err = capsys.readouterr()
    return status, out, err.strip()


@pytest.fixture
def on_database(database_uri: str, database_name: str, monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    monkeypatch.setenv("MONGODB_URI", database_uri)
    monkeypatch.setenv("IDENTITY_DATABASE", database_name)
    monkeypatch.setenv("IDENTITY_LOG_LEVEL", "warning")
    return monkeypatch


async def test_export_then_import_into_another_database(
    on_database: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    bus: CommandBus,
    context: RequestContext,
    tenant: Tenant,
    database_uri: str,
) -> None:
    """The export's stdout, fed to import on another database, brings the tenant's users there."""
    user = await bus.dispatch(context, CreateUser(attributes={"userName": "ann@acme.example"}))
    status, exported, err = await _cli(capsys, "export", "--tenant", "acme")
    assert status == 0, err
    assert json.loads(exported.splitlines()[0])["format"] == "identity-store-tenant"
    assert "1 users" in err

    other = f"test_{uuid.uuid4().hex[:12]}"
    on_database.setenv("IDENTITY_DATABASE", other)
    on_database.setattr(sys, "stdin", io.StringIO(exported))
    status, out, err = await _cli(capsys, "import", "--tenant", "acme")
    assert status == 0, err
    assert out.startswith("imported acme\t")
    target = MongoStore(database_uri, other)
    try:
        copied = await target.tenant(tenant.id).users.get(user.id)
        assert copied.attributes == user.attributes
        assert copied.meta == user.meta
    finally:
        await target.client.drop_database(other)
        await target.close()


async def test_an_import_into_a_tenant_with_users_is_one_line_and_exit_1(
    on_database: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    bus: CommandBus,
    context: RequestContext,
    tenant: Tenant,
) -> None:
    """Import refuses a tenant that has resources: one stderr line, no traceback, nothing written."""
    await bus.dispatch(context, CreateUser(attributes={"userName": "ann@acme.example"}))
    _, exported, _ = await _cli(capsys, "export", "--tenant", "acme")
    on_database.setattr(sys, "stdin", io.StringIO(exported))
    status, out, err = await _cli(capsys, "import", "--tenant", "acme")
    assert status == 1
    assert out == ""
    assert err.splitlines() == ["identity-store: tenant 'acme' already has users: import needs a new or empty tenant"]


async def test_importing_something_else_is_refused(
    on_database: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], store: MongoStore
) -> None:
    """A file that is not an export is one clear line, and no tenant is created."""
    on_database.setattr(sys, "stdin", io.StringIO("not json at all\n"))
    status, _, err = await _cli(capsys, "import", "--tenant", "acme")
    assert status == 1
    assert len(err.splitlines()) == 1
    assert err.startswith("identity-store: line 1 is not JSON")
    assert await store.tenants.list() == []
