"""One embedded database per folder: found by commands, waited for by services, orphans stopped."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from identity_store.mongo import EmbeddedDatabase, MongoStore

pytestmark = pytest.mark.slow  # real SecantusDB processes on their own folders


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # an exited orphan may linger as a zombie until something reaps it
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


async def test_a_command_and_a_service_starting_together_share_one_server(tmp_path: Path) -> None:
    """The quick start's race (``serve &`` then a command at once, on a new folder): the two never
    run two servers on it. Whoever takes the folder first starts the database; a command that
    comes second uses the service's, a service that comes second waits for the command to finish.
    What the command wrote is in the service's database either way."""
    folder = tmp_path / "data"
    service = EmbeddedDatabase(folder)

    async def command() -> None:
        database = EmbeddedDatabase(folder, attach=True)
        store = MongoStore(await database.start(), "shared")
        try:
            await store.tenants.create("from-the-command")
        finally:
            await store.close()
            await database.stop()

    _, service_uri = await asyncio.gather(command(), service.start())
    try:
        assert service.owned
        store = MongoStore(service_uri, "shared")
        try:
            assert [t.name for t in await store.tenants.list()] == ["from-the-command"]
        finally:
            await store.close()
    finally:
        await service.stop()


async def test_a_command_alone_opens_the_database_itself_and_says_so(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """With no service running for the folder, a command opens its database for its own duration."""
    command = EmbeddedDatabase(tmp_path / "data", attach=True)
    with caplog.at_level("INFO"):
        await command.start()
    try:
        assert command.owned
        assert any("no service is running for" in r.getMessage() for r in caplog.records)
    finally:
        await command.stop()
    assert not (tmp_path / "data" / "secantusd.json").exists()


async def test_a_server_left_by_a_killed_service_is_stopped_and_replaced(tmp_path: Path) -> None:
    """A service killed with SIGKILL leaves its database child running; the next service to take
    the folder stops that orphan and starts its own, on the same data."""
    folder = tmp_path / "data"
    owner = textwrap.dedent(
        f"""
        import asyncio, time
        from pathlib import Path
        from identity_store.mongo import EmbeddedDatabase, MongoStore
        async def main():
            database = EmbeddedDatabase(Path({str(folder)!r}))
            store = MongoStore(await database.start(), "kept")
            await store.tenants.create("survives")
            print("ready", flush=True)
            await asyncio.sleep(600)
        asyncio.run(main())
        """
    )
    # A plain child process stands for the service: it is killed, and must not be awaited.
    process = subprocess.Popen([sys.executable, "-c", owner], stdout=subprocess.PIPE)  # noqa: ASYNC220
    try:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == b"ready"
        orphan = json.loads((folder / "secantusd.json").read_text())["pid"]
        process.send_signal(signal.SIGKILL)
        process.wait()
        assert _alive(orphan)  # the child outlived its service

        successor = EmbeddedDatabase(folder)
        store = MongoStore(await successor.start(), "kept")
        try:
            assert successor.owned
            assert not _alive(orphan)
            assert [t.name for t in await store.tenants.list()] == ["survives"]
        finally:
            await store.close()
            await successor.stop()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()
