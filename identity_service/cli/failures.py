"""How a failed command ends: one line on stderr and an exit status, never a traceback.

    exit 2   a usage mistake click finds (an unknown option, a value out of range, a bad GUID)
    exit 1   a refused command: a domain error (a taken name, an unknown tenant, client or
             credential, a value the handler refuses), a bad setting (named by its variable),
             an unreachable database (its host and the driver's reason), an unreadable file
    exit 1   anything unexpected: one line too; ``IDENTITY_LOG_LEVEL=debug`` adds the traceback

Each line starts with ``identity-store:`` (a usage mistake: with the command, ``identity-store
token create:``) so that it reads as the tool's own in a script's log.
"""

from __future__ import annotations

import os
import re
import sys
import traceback

import click
from pydantic import ValidationError

from identity_service.settings import Settings
from identity_store import DomainError, StoreUnavailable
from identity_store.mongo import EmbeddedDatabaseError

__all__ = ["CliError", "render", "settings_error"]


class CliError(Exception):
    """A command refused by the command line itself, with the one line that says why."""


def render(error: BaseException) -> int:
    """Print ``error`` as one line on stderr; the exit status it stands for."""
    match error:
        case SystemExit():  # uvicorn leaves this way when it cannot bind, having logged why
            return error.code if isinstance(error.code, int) else 1
        case click.exceptions.Exit():
            return error.exit_code
        case click.Abort() | KeyboardInterrupt():
            _say("interrupted")
            return 130
        case click.UsageError():
            where = error.ctx.command_path if error.ctx is not None else "identity-store"
            _say(f"{error.format_message()} (see --help)", prefix=where)
            return error.exit_code
        case click.ClickException():
            _say(error.format_message())
            return error.exit_code
        case CliError():
            _say(str(error))
        case ValidationError():
            _say(settings_error(error))
        case StoreUnavailable():
            _say(f"cannot use the database: {_driver_reason(error)}")
        case DomainError():
            _say(error.message)
        case EmbeddedDatabaseError():
            _say(f"the embedded database: {error}")
        case OSError() if error.filename is not None:
            _say(f"{error.filename}: {error.strerror}")
        case _:
            debugging = os.environ.get("IDENTITY_LOG_LEVEL") == "debug"
            if debugging:
                traceback.print_exception(error, file=sys.stderr)
            hint = "" if debugging else " (IDENTITY_LOG_LEVEL=debug shows where)"
            _say(f"unexpected {type(error).__name__}: {error}{hint}")
    return 1


def settings_error(error: ValidationError) -> str:
    """pydantic's complaint about the environment, as one line naming each variable and its fault."""
    faults = []
    for fault in error.errors(include_url=False):
        field = str(fault["loc"][0]) if fault["loc"] else ""
        variable = _variable(field)
        given = os.environ.get(variable) if variable else None
        shown = f" (got {given!r})" if given is not None else ""
        faults.append(f"{variable or field}: {fault['msg']}{shown}")
    return "bad setting: " + "; ".join(faults)


def _variable(field: str) -> str | None:
    """The environment variable a :class:`Settings` field is read from."""
    info = Settings.model_fields.get(field)
    if info is None:
        return None
    alias = info.validation_alias
    if isinstance(alias, str):
        return alias
    return f"{Settings.model_config.get('env_prefix', '')}{field}".upper()


#: The driver's own bookkeeping after its reason: its timeouts and the topology it saw.
_DRIVER_DETAIL = re.compile(r" \(configured timeouts:[^)]*\)|, Timeout: .*$", re.DOTALL)


def _driver_reason(error: StoreUnavailable) -> str:
    """Which host the driver tried and why it failed, from the driver error behind ``error``."""
    cause = error.__cause__
    if cause is None:
        return error.message
    reason = _DRIVER_DETAIL.sub("", str(cause)).strip()
    return reason or error.message


def _say(line: str, *, prefix: str = "identity-store") -> None:
    print(f"{prefix}: {' '.join(line.split())}", file=sys.stderr)
