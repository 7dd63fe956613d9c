"""Database commands as metrics: a command listener counting and timing each by its name.

It watches the requests' store and every other the service opens with it (the driver reports
each command's own duration, so no clock of ours is involved). Command names are the driver's
(``find``, ``insert``, ``update``, ``aggregate``, ...), a small fixed set.
"""

from __future__ import annotations

from identity_service.metrics import ServiceMetrics
from identity_store.mongo import CommandListener
from identity_store.mongo.monitoring import CommandFailed, CommandStarted, CommandSucceeded

__all__ = ["DatabaseMetrics"]


class DatabaseMetrics(CommandListener):
    def __init__(self, metrics: ServiceMetrics) -> None:
        self._metrics = metrics

    def started(self, event: CommandStarted) -> None:
        return None

    def succeeded(self, event: CommandSucceeded) -> None:
        self._ended(event.command_name, "succeeded", event.duration_micros)

    def failed(self, event: CommandFailed) -> None:
        self._ended(event.command_name, "failed", event.duration_micros)

    def _ended(self, command: str, outcome: str, micros: int) -> None:
        self._metrics.database_commands.labels(command, outcome).inc()
        self._metrics.database_seconds.labels(command).observe(micros / 1_000_000)
