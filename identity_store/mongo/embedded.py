"""The embedded default database: SecantusDB run as a child process, data in a local folder.

SecantusDB (GPL-2.0) is never imported: it runs as its own process (``python -m secantus``) and
is spoken to over the MongoDB wire protocol like any server, so nothing here depends on it being
SecantusDB rather than MongoDB.

It runs with ``--sync-on-commit``: the write-ahead log is flushed to disk before a commit is
answered, so a write the service acknowledged survives the database being killed. Without it
SecantusDB buffers the log, and a ``SIGKILL`` under load loses the last acknowledged writes
(``j: true`` in the write concern alone does not make it flush).

The folder holds ``db/`` (the data), ``secantusd.log`` and ``secantusd.json`` (pid and port of
the running server). A second process pointed at the same folder (the CLI while the service
runs) finds the running server there and uses it instead of starting another. The server that
this object started can be restarted on the same folder and port
(:class:`~identity_store.mongo.supervisor.Supervisor` does so when it dies).
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

__all__ = ["EmbeddedDatabase", "EmbeddedDatabaseError"]

log = logging.getLogger(__name__)


class EmbeddedDatabaseError(RuntimeError):
    """The embedded database could not be started."""


@dataclass
class EmbeddedDatabase:
    data_dir: Path
    port: int | None = None
    start_timeout: float = 30.0
    #: Flush the log at every commit (see the module docstring); off only to measure its cost.
    sync_on_commit: bool = True
    _process: subprocess.Popen[bytes] | None = None
    _uri: str | None = None
    _spawned: bool = False

    @property
    def uri(self) -> str:
        if self._uri is None:
            raise EmbeddedDatabaseError("the embedded database is not running")
        return self._uri

    @property
    def owned(self) -> bool:
        """Whether this object started the server (and so stops it)."""
        return self._process is not None

    @property
    def pid(self) -> int | None:
        """The process id of the server this object started (alive or not), else ``None``."""
        return self._process.pid if self._process is not None else None

    def exit_status(self) -> int | None:
        """The exit status of the server this object started, once it has exited; else ``None``.

        A negative status is the signal that ended it, as :attr:`subprocess.Popen.returncode` has it.
        """
        return self._process.poll() if self._process is not None else None

    async def start(self) -> str:
        """Start the server, or attach to the one already serving this folder; its URI."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        running = self._running_server()
        if running is not None:
            self._uri = _uri(running)
            log.info("using the embedded database already running on 127.0.0.1:%d", running)
            return self._uri
        if importlib.util.find_spec("secantus") is None:
            raise EmbeddedDatabaseError(
                "no MONGODB_URI is set and SecantusDB is not installed: install the 'embedded' extra "
                "(pip install 'identity-store[embedded]') or point MONGODB_URI at MongoDB"
            )
        # The port is kept: a restart listens where the driver's connection pool already points.
        self.port = self.port or _free_port()
        self._spawned = True
        await self._spawn(self.port)
        log.info("started the embedded database (SecantusDB) on 127.0.0.1:%d, data in %s", self.port, self.data_dir)
        return self.uri

    async def restart(self) -> str:
        """Start the server this object started again, after it died: same folder, same port."""
        if not self._spawned or self.port is None:
            raise EmbeddedDatabaseError("only a server this object started can be restarted")
        if self._process is not None and self._process.poll() is None:
            raise EmbeddedDatabaseError("the embedded database is still running")
        self._process = None
        await self._spawn(self.port)
        return self.uri

    async def _spawn(self, port: int) -> None:
        (self.data_dir / "db").mkdir(exist_ok=True)
        argv = [
            sys.executable,
            "-m",
            "secantus",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--storage-path",
            str(self.data_dir / "db"),
            "--log-level",
            "WARNING",
        ]
        if self.sync_on_commit:
            argv.append("--sync-on-commit")
        with (self.data_dir / "secantusd.log").open("ab") as log_file:
            # Popen returns as soon as the child is spawned; readiness is polled without blocking.
            self._process = subprocess.Popen(  # noqa: ASYNC220
                argv, stdout=log_file, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )
        deadline = time.monotonic() + self.start_timeout
        while not _answers(port):
            if self._process.poll() is not None:
                raise EmbeddedDatabaseError(
                    f"SecantusDB exited with status {self._process.returncode}; see {self.data_dir / 'secantusd.log'}"
                )
            if time.monotonic() > deadline:
                await self.stop()
                raise EmbeddedDatabaseError(f"SecantusDB did not answer within {self.start_timeout:.0f}s")
            await asyncio.sleep(0.05)
        (self.data_dir / "secantusd.json").write_text(json.dumps({"pid": self._process.pid, "port": port}))
        self._uri = _uri(port)

    async def stop(self) -> None:
        """Stop the server if this object started it; wait for it to flush and exit."""
        process, self._process = self._process, None
        if process is None:
            return
        with contextlib.suppress(FileNotFoundError):
            (self.data_dir / "secantusd.json").unlink()
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            for _ in range(200):
                if process.poll() is not None:
                    break
                await asyncio.sleep(0.05)
            else:
                process.kill()
                process.wait()
        log.info("stopped the embedded database")

    def _running_server(self) -> int | None:
        state_file = self.data_dir / "secantusd.json"
        try:
            state = json.loads(state_file.read_text())
            pid, port = int(state["pid"]), int(state["port"])
        except (OSError, ValueError, KeyError, TypeError):
            return None
        if _alive(pid) and _answers(port):
            return port
        return None


def _uri(port: int) -> str:
    return f"mongodb://127.0.0.1:{port}/?directConnection=true"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
