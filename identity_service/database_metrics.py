"""Database commands as metrics: a command listener counting and timing each by its name.

It watches the requests' store and every other the service opens with it (the driver reports
each command's own duration, so no clock of ours is involved). Command names are the driver's
(``find``, ``insert``, ``update``, ``aggregate``, ...), a small fixed set, so the labelled series
of each name are looked up once and kept: ``labels()`` takes a lock and checks its arguments, at
every command of every request otherwise.
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram

from identity_service.metrics import ServiceMetrics
from identity_store.mongo import CommandListener
from identity_store.mongo.monitoring import CommandFailed, CommandStarted, CommandSucceeded

__all__ = ["DatabaseMetrics"]


class DatabaseMetrics(CommandListener):
    def __init__(self, metrics: ServiceMetrics) -> None:
        self._metrics = metrics
        self._counted: dict[tuple[str, str], Counter] = {}
        self._timed: dict[str, Histogram] = {}

    def started(self, event: CommandStarted) -> None:
        return None

    def succeeded(self, event: CommandSucceeded) -> None:
        self._ended(event.command_name, "succeeded", event.duration_micros)

    def failed(self, event: CommandFailed) -> None:
        self._ended(event.command_name, "failed", event.duration_micros)

    def _ended(self, command: str, outcome: str, micros: int) -> None:
        counted = self._counted.get((command, outcome))
        if counted is None:
            counted = self._counted[command, outcome] = self._metrics.database_commands.labels(command, outcome)
        timed = self._timed.get(command)
        if timed is None:
            timed = self._timed[command] = self._metrics.database_seconds.labels(command)
        counted.inc()
        timed.observe(micros / 1_000_000)
