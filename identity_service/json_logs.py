"""The service's logs: one JSON object a line on stdout, whoever logged it.

Every logger of the process (ours, uvicorn's, the driver's) logs through the standard library;
one handler on the root logger renders each record with structlog's ``ProcessorFormatter``:
``timestamp``, ``level``, ``logger``, ``event`` (the message), ``pid`` (which process: with
``serve --workers`` several write to one stdout), the record's ``extra`` fields,
and for a fault its traceback as ``exception``, inside the object, so a log collector never
sees a traceback split over lines. :func:`~identity_service.redaction.redact_secrets` runs
last, so no secret reaches the output whatever a caller passed. structlog's own loggers, if
anything uses them, end in the same handler.

Only ``identity-store serve`` logs this way; the admin commands keep their one human line on
stderr (:mod:`identity_service.cli.logs`).
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import MutableMapping
from typing import Any, TextIO

import structlog

from identity_service.redaction import redact_secrets

__all__ = ["json_formatter", "log_json"]

# uvicorn's coloured copy of its message, for its own terminal formatter only.
_TERMINAL_ONLY = ("color_message",)


def _drop_terminal_fields(logger: Any, method: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key in _TERMINAL_ONLY:
        event_dict.pop(key, None)
    return event_dict


def _add_process_id(logger: Any, method: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    event_dict["pid"] = os.getpid()
    return event_dict


_PRE_CHAIN: list[Any] = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    _add_process_id,
    structlog.stdlib.ExtraAdder(),
    _drop_terminal_fields,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
]


def json_formatter() -> logging.Formatter:
    """The formatter that renders a record as one JSON object, secrets redacted."""
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=_PRE_CHAIN,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            structlog.processors.StackInfoRenderer(),
            redact_secrets,
            structlog.processors.JSONRenderer(default=str),
        ],
    )


def log_json(level: str, stream: TextIO | None = None) -> None:
    """Send every log record of the process, at ``level`` and above, to ``stream`` (stdout) as JSON."""
    handler = logging.StreamHandler(stream if stream is not None else sys.stdout)
    handler.setFormatter(json_formatter())
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level.upper())
    # Python's warnings would otherwise be printed to stderr as plain text.
    logging.captureWarnings(True)
    structlog.configure(
        processors=[*_PRE_CHAIN, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
