"""What a command shows on stderr besides its own errors.

``serve`` logs as a service does, at ``IDENTITY_LOG_LEVEL``: one JSON object a line on stdout
(:mod:`identity_service.json_logs`), for a log collector. An admin command is a tool whose
stderr a person reads: it shows errors, and the one notice that matters when no service runs for
the data folder (the command then opens the embedded database itself, for a few seconds, and
a service started meanwhile waits for it), as a bare line. ``IDENTITY_LOG_LEVEL=debug`` shows
every record, one plain line each.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from identity_service.json_logs import log_json

__all__ = ["log_for_service", "logging_for_admin"]

_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"

#: The embedded database's notice that this command opened the folder's database itself.
_OPENED_ALONE = "no service is running for"


def log_for_service(level: str) -> None:
    log_json(level)


@contextmanager
def logging_for_admin(level: str) -> Iterator[None]:
    """Show what :func:`_shown_to_a_person` lets through, for the duration of one command."""
    handler = logging.StreamHandler(sys.stderr)
    if level == "debug":
        handler.setFormatter(logging.Formatter(_FORMAT))
    else:
        handler.setFormatter(logging.Formatter("identity-store: %(message)s"))
        handler.addFilter(_shown_to_a_person)
    root = logging.getLogger()
    before = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if level == "debug" else logging.INFO)
    try:
        yield
    finally:  # a process (a test) may run several commands, each with its own stderr
        root.removeHandler(handler)
        root.setLevel(before)


def _shown_to_a_person(record: logging.LogRecord) -> bool:
    # Warnings are left out too: what a command cannot do it says itself, as its one error line.
    if record.levelno >= logging.ERROR:
        return True
    return record.name == "identity_store.mongo.embedded" and str(record.msg).startswith(_OPENED_ALONE)
