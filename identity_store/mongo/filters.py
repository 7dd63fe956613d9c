"""Neutral filters and sorts translated into MongoDB queries (pure functions).

Every attribute condition is on the ``search`` mirror (see :mod:`documents`): case-insensitive
attributes are stored folded there, so their operands are folded too and an ordinary equality
or anchored regular expression does the comparison, served by the indexes on ``search``.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from identity_store.domain.filters import (
    META_PATHS,
    And,
    Compare,
    ElementMatch,
    Filter,
    Not,
    Operator,
    Or,
    Present,
    Scalar,
)
from identity_store.domain.schema import Attribute, ResourceSchema
from identity_store.mongo.documents import fold

__all__ = ["hidden_equalities", "sort_field", "to_query"]

Query = dict[str, Any]

_META_FIELDS = {("id",): "_id", ("meta", "created"): "created", ("meta", "lastModified"): "modified"}
_RANGE = {Operator.GT: "$gt", Operator.GE: "$gte", Operator.LT: "$lt", Operator.LE: "$lte"}


def to_query(schema: ResourceSchema, node: Filter) -> Query:
    """The MongoDB query for a filter already resolved against ``schema``."""
    return _translate(schema, node, prefix="search.", within=None)


def _translate(schema: ResourceSchema, node: Filter, *, prefix: str, within: Attribute | None) -> Query:
    match node:
        case And(operands):
            return {"$and": [_translate(schema, o, prefix=prefix, within=within) for o in operands]}
        case Or(operands):
            if (same := _equalities_of_one_path(operands)) is not None:
                # One $in instead of an $or of equalities: a batch of names (federation's
                # entity references, ``userName eq a or userName eq b``) is one index scan,
                # where SecantusDB answers an $or by reading the whole tenant.
                field, case_exact = _field(schema, same[0], prefix, within)
                return {field: {"$in": [_condition(Operator.EQ, v, case_exact) for v in same[1]]}}
            return {"$or": [_translate(schema, o, prefix=prefix, within=within) for o in operands]}
        case Not(operand):
            return {"$nor": [_translate(schema, operand, prefix=prefix, within=within)]}
        case ElementMatch(path=path, filter=inner):
            _, chain = schema.resolve(path)
            inner_query = _translate(schema, inner, prefix="", within=chain[-1])
            if all(key.startswith("$") for key in inner_query):
                # {$elemMatch: {$and: [...]}} is criteria on the element for MongoDB, but
                # SecantusDB reads a query of $-keys only as operators on a scalar element. A field
                # that can never exist (no SCIM attribute name starts with "_") keeps it criteria.
                inner_query = {**inner_query, "_": {"$exists": False}}
            return {prefix + ".".join(path): {"$elemMatch": inner_query}}
        case Present(path=path):
            return _present(schema, path, prefix, within)
        case Compare(path=path, op=op, value=value):
            if value is None and op is Operator.EQ:
                return {"$nor": [_present(schema, path, prefix, within)]}
            if value is None and op is Operator.NE:
                return _present(schema, path, prefix, within)
            field, case_exact = _field(schema, path, prefix, within)
            return {field: _condition(op, value, case_exact)}
    raise AssertionError(node)  # pragma: no cover


def hidden_equalities(query: Query) -> Query:
    """The equalities on an element's ``value`` that ``query``'s ``$elemMatch`` conditions imply.

    Entra's work-email match, ``emails[type eq "work"].value eq "x"``, is
    ``{"search.emails": {"$elemMatch": {"type": "work", "value": "x"}}}``, which implies
    ``{"search.emails.value": "x"}``: an element whose value is "x" makes the dotted path match.
    MongoDB's planner serves the ``$elemMatch`` from the index on that path by itself;
    SecantusDB's uses an index only when a query's fields are exactly an index prefix. Matching
    these equalities first lets either planner use the index, and changes no result, because
    every document the query matches matches them too.

    Only ``value`` is taken: it is what identifies an element (RFC 7643 §2.4) and what the
    indexes are on; ``type`` or ``primary`` would only widen the prefix past the index. Only
    conditions every match must meet are followed (the top level and ``$and``, never ``$or`` or
    ``$nor``), and only scalar values.
    """
    found: Query = {}
    for key, value in query.items():
        if key == "$and":
            for operand in value:
                found.update(hidden_equalities(operand))
        elif not key.startswith("$") and isinstance(value, dict) and set(value) == {"$elemMatch"}:
            element_value = _element_value(value["$elemMatch"])
            if element_value is not None:
                found[f"{key}.value"] = element_value
    return found


def _element_value(criteria: Query) -> str | int | float | datetime | None:
    for key, value in criteria.items():
        if key == "$and":
            for operand in value:
                found = _element_value(operand)
                if found is not None:
                    return found
        elif key == "value" and isinstance(value, str | int | float | datetime):
            return value
    return None


def _field(schema: ResourceSchema, path: tuple[str, ...], prefix: str, within: Attribute | None) -> tuple[str, bool]:
    if within is None and path in _META_FIELDS:
        return _META_FIELDS[path], True
    if within is not None:
        sub = within.sub_attribute(path[0])
        return ".".join(path), sub.case_exact if sub is not None else False
    _, chain = schema.resolve(path)
    return prefix + ".".join(path), chain[-1].case_exact


def _present(schema: ResourceSchema, path: tuple[str, ...], prefix: str, within: Attribute | None) -> Query:
    absent: list[Any] = [None, "", [], {}]
    if within is None and path not in META_PATHS and len(path) > 1:
        _, chain = schema.resolve(path)
        for depth, attribute in enumerate(chain[:-1]):
            if attribute.multi_valued:
                # "emails.value pr": some element has a value, which a dotted $nin cannot say.
                outer = prefix + ".".join(path[: depth + 1])
                inner = ".".join(path[depth + 1 :])
                return {outer: {"$elemMatch": {inner: {"$exists": True, "$nin": absent}}}}
    field, _ = _field(schema, path, prefix, within)
    return {field: {"$exists": True, "$nin": absent}}


def _equalities_of_one_path(operands: tuple[Filter, ...]) -> tuple[tuple[str, ...], list[Scalar]] | None:
    """``(path, values)`` when every operand is ``path eq value`` (no null) on one path; else ``None``."""
    compares = [o for o in operands if isinstance(o, Compare) and o.op is Operator.EQ and o.value is not None]
    if len(operands) < 2 or len(compares) != len(operands) or len({c.path for c in compares}) != 1:
        return None
    return compares[0].path, [c.value for c in compares]


def _condition(op: Operator, value: Scalar, case_exact: bool) -> Any:
    if isinstance(value, str) and not case_exact:
        value = fold(value)
    if op is Operator.EQ:
        return value
    if op is Operator.NE:
        return {"$ne": value}
    if op in _RANGE:
        return {_RANGE[op]: value}
    assert isinstance(value, str)
    escaped = re.escape(value)
    pattern = {Operator.CO: escaped, Operator.SW: f"^{escaped}", Operator.EW: f"{escaped}$"}[op]
    return {"$regex": pattern}


def sort_field(schema: ResourceSchema, path: tuple[str, ...] | None) -> str:
    """The document field a sort path orders by (``_id`` when none is given)."""
    if path is None:
        return "_id"
    if path in _META_FIELDS:
        return _META_FIELDS[path]
    names, chain = schema.resolve(path)
    if chain[-1].is_complex and chain[-1].multi_valued:
        names = (*names, "value")
    return "search." + ".".join(names)
