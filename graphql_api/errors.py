"""Top-level GraphQL errors: what is not a business outcome (bad arguments, auth, unexpected faults).

Business failures of mutations are typed results (:mod:`graphql_api.types.errors`). Everything
here reaches the client as an entry of ``errors`` with ``extensions.code``; any other exception
is masked as "Unexpected error." and logged with the request id (:class:`LoggedMaskErrors`).
"""

from __future__ import annotations

import logging

from graphql import GraphQLError
from strawberry.extensions import MaskErrors

__all__ = ["BadUserInput", "LoggedMaskErrors", "is_public"]

log = logging.getLogger("graphql_api")


class BadUserInput(GraphQLError):
    """An argument the client can fix: a page size out of range, a cursor we never issued..."""

    def __init__(self, message: str) -> None:
        super().__init__(message, extensions={"code": "BAD_USER_INPUT"})


def is_public(error: GraphQLError) -> bool:
    """Errors the client may see as they are: validation, and our own GraphQL errors."""
    original = error.original_error
    return original is None or isinstance(original, GraphQLError)


class LoggedMaskErrors(MaskErrors):
    """Mask unexpected faults, and log each with the request id so operators can find it."""

    def __init__(self) -> None:
        super().__init__(should_mask_error=self._mask)

    def _mask(self, error: GraphQLError) -> bool:
        if is_public(error):
            return False
        context = self.execution_context.context
        request_id = getattr(context, "request_id", None)
        log.error("unexpected error in %s (request %s)", error.path, request_id, exc_info=error.original_error)
        return True
