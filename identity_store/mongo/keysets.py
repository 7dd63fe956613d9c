"""Keyset pagination: the condition for "after this (sort value, id)" and the opaque cursor naming it.

A page in (field, _id) order continues strictly after the last document of the previous one, so
its cost follows the page size, not its position, and concurrent writes neither skip nor repeat
documents.
"""

from __future__ import annotations

import base64
import json
from datetime import datetime
from typing import Any

from identity_store.domain.errors import InvalidValue

__all__ = ["decode_cursor", "dig", "encode_cursor", "keyset_condition"]

Query = dict[str, Any]


def encode_cursor(sort_value: Any, last_id: str) -> str:
    """An opaque cursor for "after this (sort value, id)". Dates keep their type."""
    if isinstance(sort_value, datetime):
        payload: Any = {"d": sort_value.isoformat(), "i": last_id}
    else:
        payload = {"v": sort_value, "i": last_id}
    return base64.urlsafe_b64encode(json.dumps(payload, separators=(",", ":")).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[Any, str]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        payload = json.loads(base64.urlsafe_b64decode(padded.encode()))
        last_id = payload["i"]
        value = datetime.fromisoformat(payload["d"]) if "d" in payload else payload.get("v")
    except (ValueError, KeyError, TypeError, UnicodeDecodeError) as error:
        raise InvalidValue("the cursor is not one this service issued", attribute="cursor") from error
    if not isinstance(last_id, str) or isinstance(value, list | dict):
        raise InvalidValue("the cursor is not one this service issued", attribute="cursor")
    return value, last_id


def keyset_condition(field: str, descending: bool, value: Any, last_id: str) -> Query:
    """Documents strictly after ``(value, last_id)`` in the order (field, _id), both ascending or descending.

    MongoDB sorts missing and null values first in ascending order; the condition follows that,
    so pages neither skip nor repeat documents whose sort attribute is absent.
    """
    if field == "_id":
        return {"_id": {"$lt" if descending else "$gt": last_id}}
    after, tie = ("$lt", "$lt") if descending else ("$gt", "$gt")
    if value is None:
        if descending:
            return {field: None, "_id": {tie: last_id}}
        return {"$or": [{field: None, "_id": {tie: last_id}}, {field: {"$ne": None}}]}
    clauses: list[Query] = [{field: {after: value}}, {field: value, "_id": {tie: last_id}}]
    if descending:
        clauses.append({field: None})
    return {"$or": clauses}


def dig(document: Query, dotted: str) -> Any:
    """The value at a dotted path of a document (the sort key a cursor names), or None."""
    value: Any = document
    for part in dotted.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value
