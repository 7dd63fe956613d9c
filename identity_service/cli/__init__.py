"""The ``identity-store`` command line: ``serve``, and the admin commands for tenants, SCIM tokens,
API keys, OAuth clients and their secrets, console admins (one module per command group).

Every admin change is a domain command sent through the same :class:`~identity_store.CommandBus`
as SCIM and GraphQL, so each one is checked by its handler and recorded in the tenant's event log
(as the command line, ``actor.kind`` ``cli``). Listing reads the store directly. An ordinary
mistake (a taken name, an unknown id, a bad setting, an unreachable database) is one line on
stderr and a non-zero exit (:mod:`identity_service.cli.failures`), never a traceback. This
package builds on :mod:`identity_service.app`; nothing in the service imports it.
"""

from __future__ import annotations

from collections.abc import Sequence

from identity_service.cli.failures import render
from identity_service.cli.root import root

__all__ = ["main", "run"]


def main(argv: Sequence[str] | None = None) -> int:
    """The ``identity-store`` console script (also ``python -m identity_service``)."""
    return run(argv)


def run(argv: Sequence[str] | None = None) -> int:
    """Run one command line; its exit status (0, 1 for a refused command, 2 for a usage mistake)."""
    try:
        result = root.main(
            args=list(argv) if argv is not None else None, prog_name="identity-store", standalone_mode=False
        )
    except BaseException as error:
        return render(error)
    return result if isinstance(result, int) else 0
