"""The embedded default database: SecantusDB run as a child process, data in a local folder.

SecantusDB (GPL-2.0) is never imported: it runs as its own process (``python -m secantus``) and
is spoken to over the MongoDB wire protocol like any server, so nothing here depends on it being
SecantusDB rather than MongoDB.

It runs with ``--sync-on-commit``: the write-ahead log is flushed to disk before a commit is
answered, so a write the service acknowledged survives the database being killed. Without it
SecantusDB buffers the log, and a ``SIGKILL`` under load loses the last acknowledged writes
(``j: true`` in the write concern alone does not make it flush).

The folder holds ``db/`` (the data), ``secantusd.log``, ``secantusd.json`` (pid and port of the
running server, and the pid of the process that owns it) and ``secantusd.lock``. Whoever runs the
folder's server holds an exclusive lock on ``secantusd.lock`` for as long as it does (the
operating system releases it when that process ends, however it ends), so two processes can
never start two servers on one folder:

- the service (``attach=False``) waits for the folder if another process holds it (a command
  line run that opened the database for a moment), then starts and owns the server;
- a command (``attach=True``) uses the server of the process holding the folder (the running
  service), waiting for it to answer if that process is still starting it; only when nobody
  holds the folder does it open the database itself for the duration of the command, and says so;
- a server recorded in ``secantusd.json`` whose owner is gone (a service killed with SIGKILL
  leaves its child running) is an orphan: whoever next takes the folder stops it first.

The server that this object started can be restarted on the same folder and port
(:class:`~identity_store.mongo.supervisor.Supervisor` does so when it dies).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
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
    #: A short-lived command: use the server of the process that holds the folder, if one does.
    attach: bool = False
    _process: subprocess.Popen[bytes] | None = None
    _folder_lock: int | None = None
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
        """Start the server (taking the folder), or use the one the folder's holder runs; its URI."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if not self._take_folder():
            if self.attach:
                port = await self._holder_server()
                self._uri = _uri(port)
                log.info("using the embedded database the service runs for %s on 127.0.0.1:%d", self.data_dir, port)
                return self._uri
            await self._wait_for_folder()
        try:
            await self._stop_orphan()
            if self.attach:
                log.info("no service is running for %s: opening its embedded database for this command", self.data_dir)
            return await self._start_owned()
        except BaseException:
            self._release_folder()
            raise

    async def _start_owned(self) -> str:
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
            # A process group of its own: Ctrl-C in a terminal signals the foreground group, and
            # the database must stop after the service (which writes to it while it stops), when
            # the service stops it, not at the same moment.
            self._process = subprocess.Popen(  # noqa: ASYNC220
                argv, stdout=log_file, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, process_group=0
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
        state = {"pid": self._process.pid, "port": port, "owner": os.getpid()}
        (self.data_dir / "secantusd.json").write_text(json.dumps(state))
        self._uri = _uri(port)

    async def stop(self, *, flush: bool = True) -> None:
        """Stop the server if this object started it; wait for it to flush and exit; free the folder.

        ``flush=False`` kills it at once, for a scratch database nobody reads again: a server's
        orderly stop writes a checkpoint, which takes about two seconds."""
        process, self._process = self._process, None
        if process is None:
            self._release_folder()
            return
        with contextlib.suppress(FileNotFoundError):
            (self.data_dir / "secantusd.json").unlink()
        if process.poll() is None and not flush:
            process.kill()
            process.wait()
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            for _ in range(200):
                if process.poll() is not None:
                    break
                await asyncio.sleep(0.05)
            else:
                process.kill()
                process.wait()
        self._release_folder()
        log.info("stopped the embedded database")

    def _take_folder(self) -> bool:
        """Take the folder's lock if nobody holds it; ``False`` when another process does."""
        if self._folder_lock is not None:
            return True
        descriptor = os.open(self.data_dir / "secantusd.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(descriptor)
            return False
        self._folder_lock = descriptor
        return True

    def _release_folder(self) -> None:
        if self._folder_lock is not None:
            os.close(self._folder_lock)  # closing the descriptor releases the lock
            self._folder_lock = None

    async def _wait_for_folder(self) -> None:
        deadline = time.monotonic() + self.start_timeout
        log.info("another process holds %s; waiting for it", self.data_dir)
        while not self._take_folder():
            if time.monotonic() > deadline:
                raise EmbeddedDatabaseError(
                    f"another process runs the embedded database of {self.data_dir}: stop it, or give this "
                    "service another --data-dir"
                )
            await asyncio.sleep(0.1)

    async def _holder_server(self) -> int:
        """The port of the server the folder's holder runs, once it answers."""
        deadline = time.monotonic() + self.start_timeout
        while True:
            recorded = self._recorded_server()
            if recorded is not None and _answers(recorded[1]):
                return recorded[1]
            if self._take_folder():  # the holder went away meanwhile: nobody runs it any more
                self._release_folder()
                raise EmbeddedDatabaseError(f"the process that held {self.data_dir} stopped; try again")
            if time.monotonic() > deadline:
                raise EmbeddedDatabaseError(f"the process holding {self.data_dir} did not start its database")
            await asyncio.sleep(0.1)

    async def _stop_orphan(self) -> None:
        """Stop a server left running by an owner that is gone (this process now holds the folder)."""
        recorded = self._recorded_server()
        if recorded is None:
            return
        pid, _port = recorded
        log.warning("stopping the embedded database (pid %d) that a stopped service left running", pid)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        for _ in range(200):
            if not _alive(pid):
                break
            await asyncio.sleep(0.05)
        else:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(FileNotFoundError):
            (self.data_dir / "secantusd.json").unlink()

    def _recorded_server(self) -> tuple[int, int] | None:
        """The pid and port ``secantusd.json`` names, if that process is alive and is SecantusDB."""
        state_file = self.data_dir / "secantusd.json"
        try:
            state = json.loads(state_file.read_text())
            pid, port = int(state["pid"]), int(state["port"])
        except (OSError, ValueError, KeyError, TypeError):
            return None
        if _alive(pid) and _is_secantus(pid):
            return pid, port
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
    # An orphan that has exited stays a zombie until its new parent reaps it; a container's
    # first process may never do so. It is not running.
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state != "Z"


def _is_secantus(pid: int) -> bool:
    """Whether the process is a SecantusDB server (a recorded pid may have been reused since)."""
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return True  # no /proc to ask: trust the record, as before
    return b"secantus" in command
