"""The embedded database: started with commits flushed, and restarted by its supervisor when it dies."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
from pathlib import Path

import pytest

from identity_store import StoreUnavailable
from identity_store.mongo import EmbeddedDatabase, EmbeddedDatabaseError, MongoStore
from identity_store.mongo.supervisor import Supervisor


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"


def _argv(pid: int) -> list[str]:
    return Path(f"/proc/{pid}/cmdline").read_text().split("\0")


async def _restarted(database: EmbeddedDatabase, killed: int) -> None:
    for _ in range(300):
        if database.pid not in (None, killed) and database.exit_status() is None:
            state = json.loads((database.data_dir / "secantusd.json").read_text())
            if state["pid"] == database.pid:
                return
        await asyncio.sleep(0.05)
    pytest.fail("the supervisor did not restart the database")


@pytest.mark.slow
async def test_the_server_flushes_its_log_at_every_commit(tmp_path: Path) -> None:
    """Acknowledged means durable: SecantusDB runs with --sync-on-commit."""
    database = EmbeddedDatabase(tmp_path / "db")
    await database.start()
    try:
        assert database.pid is not None
        assert "--sync-on-commit" in _argv(database.pid)
    finally:
        await database.stop()


@pytest.mark.slow
async def test_a_killed_server_is_restarted_on_the_same_folder_and_port(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A death is noticed and the server comes back where the driver points, its data intact."""
    database = EmbeddedDatabase(tmp_path / "db")
    uri = await database.start()
    supervisor = Supervisor(database=database, initial_delay=0.1)
    store = MongoStore(uri, "supervised")
    supervisor.start()
    try:
        tenant = await store.tenants.create("acme")
        killed = database.pid
        assert killed is not None
        with caplog.at_level(logging.INFO, logger="identity_store.mongo.supervisor"):
            os.kill(killed, signal.SIGKILL)
            await _restarted(database, killed)
        assert database.uri == uri
        assert json.loads((database.data_dir / "secantusd.json").read_text())["port"] == database.port
        for _ in range(100):  # the same client: its pool reconnects by itself
            try:
                assert (await store.tenants.get(tenant.id)).name == "acme"
                break
            except StoreUnavailable:  # until the driver sees the server again
                await asyncio.sleep(0.1)
        else:
            pytest.fail("the store did not reconnect to the restarted database")
        assert supervisor.serving
        assert supervisor.restarts == 1
        lines = [r for r in caplog.records if r.name == "identity_store.mongo.supervisor"]
        assert [r.levelname for r in lines] == ["WARNING", "INFO"]
        assert "killed by SIGKILL" in lines[0].getMessage()
        assert all(r.exc_info is None for r in lines)
    finally:
        await store.close()
        await supervisor.stop()
        await database.stop()


@pytest.mark.slow
async def test_stopping_the_supervisor_first_means_no_restart_on_shutdown(tmp_path: Path) -> None:
    """Stopping the service stops the supervisor, then the database: which then stays stopped."""
    database = EmbeddedDatabase(tmp_path / "db")
    await database.start()
    supervisor = Supervisor(database=database, initial_delay=0.05, poll_interval=0.05)
    supervisor.start()
    pid = database.pid
    assert pid is not None
    await supervisor.stop()
    await database.stop()
    await asyncio.sleep(0.5)
    assert supervisor.restarts == 0
    assert not _alive(pid)
    assert database.pid is None
    assert not (tmp_path / "db" / "secantusd.json").exists()


@pytest.mark.slow
async def test_a_server_this_object_did_not_start_is_not_restarted(tmp_path: Path) -> None:
    """A server found running for the folder belongs to the process that started it."""
    owner = EmbeddedDatabase(tmp_path / "db")
    await owner.start()
    try:
        guest = EmbeddedDatabase(tmp_path / "db", attach=True)
        assert await guest.start() == owner.uri
        assert not guest.owned
        with pytest.raises(EmbeddedDatabaseError):
            await guest.restart()
    finally:
        await owner.stop()
