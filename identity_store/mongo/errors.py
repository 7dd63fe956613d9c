"""Driver failures made domain errors: an outage, a deadline, or a value the database cannot hold.

- The database cannot be reached (no server selected in time, a connection refused or reset):
  :class:`StoreUnavailable`. Server selection waits at most the store's ``unreachable_seconds``,
  so during an outage a request fails within about that long.
- The database was reached but did not answer within the socket deadline, or a server-side time
  limit struck: :class:`StoreTimeout`, so a front end can say "too slow" rather than "down".
- A value BSON cannot encode (a string with a lone surrogate, an integer beyond 64 bits, a key
  MongoDB refuses) or a document over the size limit: :class:`InvalidValue`. The front ends
  validate first; this is the net beneath them, so such input is never a 500.

Other driver errors pass through unchanged: inside a transaction the retry policy needs them
(their error labels) to decide whether to run the transaction again.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Coroutine
from typing import Any, ParamSpec, TypeVar

from bson.errors import InvalidDocument, InvalidStringData
from pymongo.errors import ConnectionFailure, DocumentTooLarge, PyMongoError, ServerSelectionTimeoutError

from identity_store.domain.errors import InvalidValue, StoreTimeout, StoreUnavailable

__all__ = ["as_domain_error", "translate_errors"]

log = logging.getLogger(__name__)

P = ParamSpec("P")
R = TypeVar("R")

#: Seconds a client is told to wait after an outage: the embedded database restarts in about one.
RETRY_AFTER_SECONDS = 2


def as_domain_error(error: BaseException) -> Exception | None:
    """The domain error a driver or encoding failure stands for; ``None`` to let it pass."""
    if isinstance(error, ServerSelectionTimeoutError):
        return StoreUnavailable(retry_after=RETRY_AFTER_SECONDS)
    if isinstance(error, ConnectionFailure):
        if error.timeout:  # NetworkTimeout: a server was selected but did not answer in time
            return StoreTimeout()
        return StoreUnavailable(retry_after=RETRY_AFTER_SECONDS)
    if isinstance(error, DocumentTooLarge):
        return InvalidValue("the resource is larger than the store can keep")
    if isinstance(error, InvalidStringData | UnicodeEncodeError):
        return InvalidValue("text must be valid Unicode (no lone surrogates)")
    if isinstance(error, OverflowError):
        return InvalidValue("a number is too large (integers are limited to 64 bits)")
    if isinstance(error, InvalidDocument):
        return InvalidValue("a value cannot be stored as given")
    if isinstance(error, PyMongoError) and error.timeout:
        return StoreTimeout()
    return None


def translate_errors(method: Callable[P, Coroutine[Any, Any, R]]) -> Callable[P, Coroutine[Any, Any, R]]:
    """Turn the failures :func:`as_domain_error` knows into domain errors; others pass through."""

    @functools.wraps(method)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return await method(*args, **kwargs)
        except (PyMongoError, InvalidDocument, UnicodeEncodeError, OverflowError) as error:
            translated = as_domain_error(error)
            if translated is None:
                raise
            if isinstance(translated, StoreUnavailable):
                log.warning("database %s: %s", translated.message, error.__class__.__name__)
            raise translated from error

    return wrapper
