"""The neutral filter model: what both front ends compile their filters to.

A filter is a tree of :class:`And`, :class:`Or`, :class:`Not`, :class:`Compare`,
:class:`Present` and :class:`ElementMatch` nodes over attribute paths (RFC 7644 §3.4.2.2
semantics, without any SCIM syntax). The MongoDB adapter translates it into a query; this module
also evaluates it in memory, which PATCH uses to pick elements of multi-valued attributes and the
tests use as the reference the database must agree with.

Paths are tuples of canonical attribute names, resolved against a :class:`ResourceSchema`. Three
pseudo-attributes exist on every resource: ``id`` and ``meta.created`` / ``meta.lastModified``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, TypeAlias

from identity_store.domain.errors import InvalidPath, InvalidValue
from identity_store.domain.schema import Attribute, AttributeType, ResourceSchema
from identity_store.domain.values import JSON, has_lone_surrogate, storable_number

__all__ = [
    "META_PATHS",
    "And",
    "Compare",
    "ElementMatch",
    "Filter",
    "Not",
    "Operator",
    "Or",
    "Present",
    "Scalar",
    "evaluate",
    "resolve_filter",
]

Scalar: TypeAlias = str | bool | int | float | datetime | None

#: Pseudo-attributes that every resource has, with their types.
META_PATHS: Mapping[tuple[str, ...], AttributeType] = {
    ("id",): AttributeType.STRING,
    ("meta", "created"): AttributeType.DATETIME,
    ("meta", "lastModified"): AttributeType.DATETIME,
}


class Operator(StrEnum):
    EQ = "eq"
    NE = "ne"
    CO = "co"
    SW = "sw"
    EW = "ew"
    GT = "gt"
    GE = "ge"
    LT = "lt"
    LE = "le"


@dataclass(frozen=True, slots=True, kw_only=True)
class Compare:
    """``path op value``; on a multi-valued path it holds when any value matches."""

    path: tuple[str, ...]
    op: Operator
    value: Scalar


@dataclass(frozen=True, slots=True, kw_only=True)
class Present:
    """``path pr``: the attribute has a non-empty value."""

    path: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class ElementMatch:
    """``path[filter]``: one element of a multi-valued attribute satisfies ``filter``.

    Paths inside ``filter`` are relative to the element (``("type",)``, ``("value",)``).
    """

    path: tuple[str, ...]
    filter: Filter


@dataclass(frozen=True, slots=True)
class And:
    operands: tuple[Filter, ...]


@dataclass(frozen=True, slots=True)
class Or:
    operands: tuple[Filter, ...]


@dataclass(frozen=True, slots=True)
class Not:
    operand: Filter


Filter: TypeAlias = And | Or | Not | Compare | Present | ElementMatch


def resolve_filter(schema: ResourceSchema, node: Filter, *, within: Attribute | None = None) -> Filter:
    """Canonicalise every path of ``node`` against ``schema`` and check each value's type.

    Raises :class:`InvalidPath` for an unknown attribute and :class:`InvalidValue` for a
    comparison the attribute's type does not allow (``gt`` on a boolean, ``co`` on a date...).
    """
    match node:
        case And(operands):
            return And(tuple(resolve_filter(schema, o, within=within) for o in operands))
        case Or(operands):
            return Or(tuple(resolve_filter(schema, o, within=within) for o in operands))
        case Not(operand):
            return Not(resolve_filter(schema, operand, within=within))
        case Present(path=path):
            names, _ = _resolve_path(schema, path, within)
            return Present(path=names)
        case Compare(path=path, op=op, value=value):
            names, attribute_type = _resolve_path(schema, path, within)
            return Compare(path=names, op=op, value=_check_operand(names, attribute_type, op, value))
        case ElementMatch(path=path, filter=inner):
            if within is not None:
                raise InvalidPath("value filters cannot be nested")
            names, chain = schema.resolve(path)
            if not chain[-1].multi_valued or not chain[-1].is_complex:
                raise InvalidPath(f"{'.'.join(names)} is not a multi-valued complex attribute")
            return ElementMatch(path=names, filter=resolve_filter(schema, inner, within=chain[-1]))
    raise AssertionError(node)  # pragma: no cover - the match above is exhaustive


def _resolve_path(
    schema: ResourceSchema, path: tuple[str, ...], within: Attribute | None
) -> tuple[tuple[str, ...], AttributeType]:
    if within is None:
        for meta_path, meta_type in META_PATHS.items():
            if tuple(p.casefold() for p in path) == tuple(p.casefold() for p in meta_path):
                return meta_path, meta_type
        names, chain = schema.resolve(path)
    else:
        sub = within.sub_attribute(path[0]) if len(path) == 1 else None
        if sub is None:
            raise InvalidPath(f"{within.name} has no sub-attribute {'.'.join(path)!r}")
        names, chain = (sub.name,), (sub,)
    last = chain[-1]
    if last.is_complex and last.multi_valued and last.sub_attribute("value") is not None:
        # RFC 7644 §3.4.2.2: a filter on a multi-valued complex attribute without a sub-attribute
        # compares its "value" sub-attribute.
        return (*names, "value"), (last.sub_attribute("value") or last).type
    return names, last.type


_ORDERED = {Operator.GT, Operator.GE, Operator.LT, Operator.LE}
_SUBSTRING = {Operator.CO, Operator.SW, Operator.EW}


def _check_operand(path: tuple[str, ...], kind: AttributeType, op: Operator, value: Scalar) -> Scalar:
    where = ".".join(path)
    if isinstance(value, str) and has_lone_surrogate(value):
        raise InvalidValue(
            f"the value compared with {where} holds a lone surrogate, which is not text", attribute=where
        )
    if isinstance(value, int | float) and not isinstance(value, bool) and not storable_number(value):
        raise InvalidValue(f"the number compared with {where} is out of range", attribute=where)
    if kind is AttributeType.COMPLEX:
        raise InvalidValue(f"{where} is complex and cannot be compared", attribute=where)
    if kind is AttributeType.BOOLEAN:
        if op in _ORDERED or op in _SUBSTRING:
            raise InvalidValue(f"{op} is not defined for the boolean {where}", attribute=where)
        if not isinstance(value, bool) and value is not None:
            raise InvalidValue(f"{where} is boolean; compare it with true or false", attribute=where)
        return value
    if kind is AttributeType.DATETIME:
        if op in _SUBSTRING:
            raise InvalidValue(f"{op} is not defined for the dateTime {where}", attribute=where)
        if isinstance(value, str):
            try:
                return datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                raise InvalidValue(f"{value!r} is not a dateTime", attribute=where) from None
        if isinstance(value, datetime) or value is None:
            return value
        raise InvalidValue(f"{where} is a dateTime; compare it with a date string", attribute=where)
    if kind in (AttributeType.INTEGER, AttributeType.DECIMAL):
        if op in _SUBSTRING:
            raise InvalidValue(f"{op} is not defined for the number {where}", attribute=where)
        if isinstance(value, bool) or not isinstance(value, int | float | None):
            raise InvalidValue(f"{where} is a number", attribute=where)
        return value
    if kind is AttributeType.BINARY and op in _ORDERED:
        raise InvalidValue(f"{op} is not defined for the binary {where}", attribute=where)
    if not isinstance(value, str) and value is not None:
        # SCIM values are typed by the attribute: 1 and true compared to a string never match,
        # which a reader would not expect; say so instead.
        raise InvalidValue(f"{where} is a string; quote the value", attribute=where)
    if value is None and op is not Operator.EQ and op is not Operator.NE:
        raise InvalidValue(f"{op} needs a value", attribute=where)
    return value


# --- in-memory evaluation -------------------------------------------------------------------


def evaluate(schema: ResourceSchema, node: Filter, resource: Mapping[str, JSON]) -> bool:
    """Whether ``resource`` (attributes plus ``id`` and ``meta``) satisfies the resolved ``node``.

    Case-insensitive comparisons follow each attribute's ``caseExact``; a comparison on a
    multi-valued attribute holds when any of its values satisfies it (RFC 7644 §3.4.2.2).
    """
    return _evaluate(schema, node, resource, within=None)


def _evaluate(schema: ResourceSchema, node: Filter, resource: Mapping[str, JSON], *, within: Attribute | None) -> bool:
    match node:
        case And(operands):
            return all(_evaluate(schema, o, resource, within=within) for o in operands)
        case Or(operands):
            return any(_evaluate(schema, o, resource, within=within) for o in operands)
        case Not(operand):
            return not _evaluate(schema, operand, resource, within=within)
        case Present(path=path):
            return any(_is_present(v) for v in _values_at(resource, path))
        case Compare(path=path, op=op, value=value):
            case_exact = _case_exact(schema, path, within)
            values = _values_at(resource, path)
            if op is Operator.NE:
                # "ne" holds when no value equals the operand (including when there is none).
                return not any(_compare(v, Operator.EQ, value, case_exact) for v in values)
            if value is None and op is Operator.EQ:
                return not any(_is_present(v) for v in values)
            return any(_compare(v, op, value, case_exact) for v in values)
        case ElementMatch(path=path, filter=inner):
            _, chain = schema.resolve(path)
            elements = _values_at(resource, path)
            return any(isinstance(e, Mapping) and _evaluate(schema, inner, e, within=chain[-1]) for e in elements)
    raise AssertionError(node)  # pragma: no cover


def _case_exact(schema: ResourceSchema, path: tuple[str, ...], within: Attribute | None) -> bool:
    if within is None and path in META_PATHS:
        return True
    if within is not None:
        sub = within.sub_attribute(path[0])
        return sub.case_exact if sub is not None else False
    return schema.resolve(path)[1][-1].case_exact


def _values_at(resource: Mapping[str, JSON], path: Sequence[str]) -> list[JSON]:
    """Every value found along ``path``, flattening multi-valued attributes on the way."""
    current: list[Any] = [resource]
    for name in path:
        following: list[JSON] = []
        for item in current:
            if isinstance(item, Mapping):
                following.extend(_flatten(item.get(name)))
        current = following
    return current


def _flatten(value: JSON) -> list[JSON]:
    if value is None:
        return []
    if isinstance(value, list):
        return [v for v in value if v is not None]
    return [value]


def _is_present(value: JSON) -> bool:
    if value is None:
        return False
    if isinstance(value, str | list | dict):
        return len(value) > 0
    return True


def _compare(actual: JSON | datetime, op: Operator, expected: Scalar, case_exact: bool) -> bool:
    if expected is None:
        return False
    if isinstance(expected, datetime):
        if isinstance(actual, str):
            try:
                actual = datetime.fromisoformat(actual.replace("Z", "+00:00"))
            except ValueError:
                return False
        if not isinstance(actual, datetime):
            return False
        return _ordered(actual, op, expected)
    if isinstance(expected, bool) or isinstance(actual, bool):
        return (
            isinstance(actual, bool)
            and isinstance(expected, bool)
            and ((actual == expected) if op is Operator.EQ else False)
        )
    if isinstance(expected, int | float):
        if not isinstance(actual, int | float) or (isinstance(actual, float) and math.isnan(actual)):
            return False
        return _ordered(actual, op, expected)
    if not isinstance(actual, str):
        return False
    left, right = (actual, expected) if case_exact else (actual.casefold(), expected.casefold())
    if op is Operator.CO:
        return right in left
    if op is Operator.SW:
        return left.startswith(right)
    if op is Operator.EW:
        return left.endswith(right)
    return _ordered(left, op, right)


def _ordered(left: object, op: Operator, right: object) -> bool:
    try:
        if op is Operator.EQ:
            return left == right
        if op is Operator.GT:
            return bool(left > right)  # type: ignore[operator]
        if op is Operator.GE:
            return bool(left >= right)  # type: ignore[operator]
        if op is Operator.LT:
            return bool(left < right)  # type: ignore[operator]
        if op is Operator.LE:
            return bool(left <= right)  # type: ignore[operator]
    except TypeError:
        return False
    return False
