"""Keeps the embedded database running: a dead server is restarted on the same folder and port.

The service starts SecantusDB as its child (:mod:`identity_store.mongo.embedded`); if that child
dies (killed, out of memory, a crash), nothing else would bring it back and the service would
answer 503 until someone restarted it by hand. The supervisor polls the child a few times a
second, so a death is noticed well within a second, and starts it again on the same folder
(WiredTiger recovers the data from its log) and the same port, so the driver's connection pool,
which still points there, reconnects by itself.

Restarts are spaced by a bounded exponential back-off: the first waits ``initial_delay``, each
further one twice as long up to ``max_delay``, and the delay falls back to the first once a
server has stayed up for ``stable_after`` seconds. (Ctrl-C in a terminal does not reach the
child: it runs in a process group of its own, and is stopped by the service once the service has
stopped its supervisor.) Each death and each restart is one log line.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from dataclasses import dataclass, field

from identity_store.mongo.embedded import EmbeddedDatabase, EmbeddedDatabaseError

__all__ = ["Supervisor"]

log = logging.getLogger(__name__)


@dataclass(kw_only=True)
class Supervisor:
    """Restarts ``database`` (a server it started itself) whenever it dies, until :meth:`stop`."""

    database: EmbeddedDatabase
    poll_interval: float = 0.2
    initial_delay: float = 0.5
    max_delay: float = 10.0
    stable_after: float = 30.0
    _task: asyncio.Task[None] | None = field(default=None, init=False)
    _up: bool = field(default=True, init=False)
    _restarts: int = field(default=0, init=False)

    @property
    def serving(self) -> bool:
        """Whether the database is running (``False`` from its death until it answers again)."""
        return self._up

    @property
    def restarts(self) -> int:
        """How many times the database was restarted."""
        return self._restarts

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._watch(), name="embedded database supervisor")

    async def stop(self) -> None:
        """Stop watching (and abandon a restart under way); the database itself is left as it is."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _watch(self) -> None:
        delay = self.initial_delay
        started = time.monotonic()
        while True:
            await asyncio.sleep(self.poll_interval)
            status = self.database.exit_status()
            if status is None:
                continue
            self._up = False
            if time.monotonic() - started >= self.stable_after:
                delay = self.initial_delay
            log.warning(
                "the embedded database (pid %s) %s; restarting it on port %s in %.1fs",
                self.database.pid,
                _describe(status),
                self.database.port,
                delay,
            )
            while True:
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.max_delay)
                try:
                    await self.database.restart()
                except EmbeddedDatabaseError as error:
                    log.warning("could not restart the embedded database: %s; next attempt in %.1fs", error, delay)
                    continue
                break
            started = time.monotonic()
            self._restarts += 1
            self._up = True
            log.info("restarted the embedded database on 127.0.0.1:%s (pid %s)", self.database.port, self.database.pid)


def _describe(status: int) -> str:
    if status < 0:
        try:
            return f"was killed by {signal.Signals(-status).name}"
        except ValueError:
            return f"was killed by signal {-status}"
    return f"exited with status {status}"
