"""Counting the database commands an operation costs (PyMongo command monitoring)."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

from pymongo import monitoring

__all__ = ["CommandCounter", "CommandFailed", "CommandListener", "CommandStarted", "CommandSucceeded"]

#: What watches database commands; re-exported so callers need not import the driver.
CommandListener = monitoring.CommandListener
CommandStarted = monitoring.CommandStartedEvent
CommandSucceeded = monitoring.CommandSucceededEvent
CommandFailed = monitoring.CommandFailedEvent

# Commands the driver sends on its own (handshakes, heartbeats, session clean-up), not per request.
_BACKGROUND = frozenset(
    {"hello", "ismaster", "isMaster", "endSessions", "ping", "buildInfo", "saslStart", "saslContinue"}
)


class CommandCounter(monitoring.CommandListener):
    """Counts the commands sent to the database, by name, while :meth:`counting` is open."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.commands: Counter[str] = Counter()

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if event.command_name in _BACKGROUND:
            return
        with self._lock:
            self.commands[event.command_name] += 1

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        return None

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        return None

    @property
    def total(self) -> int:
        return sum(self.commands.values())

    def reset(self) -> None:
        with self._lock:
            self.commands.clear()

    @contextmanager
    def counting(self) -> Iterator[Counter[str]]:
        """Reset, then yield the live counter for the block's commands."""
        self.reset()
        yield self.commands
