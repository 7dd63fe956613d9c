"""A lookup by key that must find its document: the one place a missing document becomes ``NotFound``."""

from __future__ import annotations

from typing import Any

from identity_store.domain.errors import NotFound

__all__ = ["found"]

Document = dict[str, Any]


def found(document: Document | None, missing: str) -> Document:
    """The document a ``find_one`` (or ``find_one_and_update``) returned, or ``NotFound(missing)``.

    ``missing`` is the whole message, so each repository names the object the way its callers
    (and the error bodies they render) expect, e.g. ``"credential c1 not found"``.
    """
    if document is None:
        raise NotFound(missing)
    return document
