"""Top-level GraphQL errors: what is not a business outcome (bad arguments, auth, unexpected faults).

Business failures of mutations are typed results (:mod:`graphql_api.types.errors`). Everything
here reaches the client as an entry of ``errors`` with ``extensions.code``; any other exception
is masked as "Unexpected error." and logged with the request id (:class:`LoggedMaskErrors`); an
unreachable database is reported as SERVICE_UNAVAILABLE instead, so clients know to retry, and a
database that answered but ran past its deadline as TIMEOUT (the query took too long: a smaller
one may succeed where retrying the same one at once may not).

Logging follows who can fix it: a client's mistake (syntax, validation, a bad argument, a
forged id) is logged at INFO without a traceback, since anyone can cause any number of them; the
database being away or slow is logged at WARNING; only a fault of ours is logged at ERROR, with
its traceback and the request id.
"""

from __future__ import annotations

import logging

from graphql import GraphQLError
from strawberry.extensions import MaskErrors

from identity_store import StoreTimeout, StoreUnavailable

__all__ = ["BadUserInput", "LoggedMaskErrors", "is_public", "log_client_errors"]

log = logging.getLogger("graphql_api")


class BadUserInput(GraphQLError):
    """An argument the client can fix: a page size out of range, a cursor we never issued..."""

    def __init__(self, message: str, *, argument: str | None = None) -> None:
        extensions: dict[str, object] = {"code": "BAD_USER_INPUT"}
        if argument is not None:
            extensions["argument"] = argument
        super().__init__(message, extensions=extensions)


def is_public(error: GraphQLError) -> bool:
    """Errors the client may see as they are: validation, and our own GraphQL errors."""
    original = error.original_error
    return original is None or isinstance(original, GraphQLError)


class LoggedMaskErrors(MaskErrors):
    """Mask unexpected faults, and log each with the request id so operators can find it."""

    def __init__(self) -> None:
        super().__init__(should_mask_error=self._mask)

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        if isinstance(error.original_error, StoreTimeout):
            return GraphQLError(
                "the query took too long; ask for less (smaller pages, fewer nested connections) or retry later",
                nodes=error.nodes,
                path=error.path,
                extensions={"code": "TIMEOUT", "retryAfter": error.original_error.retry_after},
            )
        if isinstance(error.original_error, StoreUnavailable):
            # Operational, not a fault: say so, so clients retry instead of reporting a bug.
            return GraphQLError(
                "the identity store is unavailable; retry later",
                nodes=error.nodes,
                path=error.path,
                extensions={"code": "SERVICE_UNAVAILABLE", "retryAfter": error.original_error.retry_after},
            )
        return super().anonymise_error(error)

    def _mask(self, error: GraphQLError) -> bool:
        if is_public(error):
            return False
        context = self.execution_context.context
        request_id = getattr(context, "request_id", None)
        if isinstance(error.original_error, StoreUnavailable):
            # Operational, and the store layer has logged the driver's cause: no traceback.
            log.warning("%s in %s (request %s)", error.original_error.message, error.path, request_id)
        else:
            log.error("unexpected error in %s (request %s)", error.path, request_id, exc_info=error.original_error)
        return True


def log_client_errors(errors: list[GraphQLError], request_id: object) -> None:
    """Log the client's own mistakes among ``errors`` at INFO, without traceback.

    The rest (faults, the database away) is logged by :class:`LoggedMaskErrors` as it masks them.
    """
    for error in errors:
        if is_public(error):
            code = (error.extensions or {}).get("code", "invalid")
            log.info("refused (%s) at %s (request %s): %s", code, error.path, request_id, error.message)
