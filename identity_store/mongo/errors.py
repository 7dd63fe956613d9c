"""Driver failures that mean "the database cannot be reached" become :class:`StoreUnavailable`."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Coroutine
from typing import Any, ParamSpec, TypeVar

from pymongo.errors import ConnectionFailure, PyMongoError

from identity_store.domain.errors import StoreUnavailable

__all__ = ["translate_errors"]

log = logging.getLogger(__name__)

P = ParamSpec("P")
R = TypeVar("R")


def translate_errors(method: Callable[P, Coroutine[Any, Any, R]]) -> Callable[P, Coroutine[Any, Any, R]]:
    """Fail fast with :class:`StoreUnavailable` when the database is down or too slow.

    Other driver errors pass through unchanged: inside a transaction the driver needs them (their
    error labels) to decide whether to retry.
    """

    @functools.wraps(method)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return await method(*args, **kwargs)
        except ConnectionFailure as error:  # includes ServerSelectionTimeoutError and AutoReconnect
            log.warning("database unavailable: %s", error.__class__.__name__)
            raise StoreUnavailable() from error
        except PyMongoError as error:
            if error.timeout:
                raise StoreUnavailable("the identity store did not answer in time") from error
            raise

    return wrapper
