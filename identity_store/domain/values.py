"""Attribute values: the JSON shape they are kept in, and their validation against the schema.

Values are stored exactly as received; validation only checks their shape and gives every
attribute name its canonical spelling (attribute names are case-insensitive, RFC 7643 §2.1).

Validation also refuses what the store could not keep or a reader could not use, whichever
front end sent it: strings holding lone UTF-16 surrogates (not Unicode scalar values, so not
encodable as UTF-8, RFC 8259 §8.2), integers outside 64 bits, non-finite decimals, and more than
:data:`MAX_VALUES` values of one multi-valued attribute.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import TypeAlias

from identity_store.domain.errors import InvalidPath, InvalidValue
from identity_store.domain.schema import Attribute, AttributeType, Mutability, ResourceSchema

__all__ = [
    "INT64_MAX",
    "INT64_MIN",
    "JSON",
    "MAX_VALUES",
    "Attributes",
    "canonical_attributes",
    "canonical_value",
    "check_count",
    "has_lone_surrogate",
    "is_empty",
    "storable_number",
]

JSON: TypeAlias = str | int | float | bool | list["JSON"] | dict[str, "JSON"] | None
Attributes: TypeAlias = dict[str, JSON]

#: The most values one multi-valued attribute of one resource may hold (roles, emails, ...).
MAX_VALUES = 10_000

#: The range of a stored integer (BSON int64, RFC 7643 §2.3.4 leaves the size to the provider).
INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1

_SURROGATE = re.compile("[\ud800-\udfff]")


def has_lone_surrogate(text: str) -> bool:
    """Whether ``text`` holds a UTF-16 surrogate code point, which no UTF-8 text can (RFC 3629 §3).

    JSON's ``\\ud800`` escapes decode to such strings; they cannot be stored or sent back."""
    return _SURROGATE.search(text) is not None


def storable_number(value: int | float) -> bool:
    """An integer within 64 bits, or a finite decimal."""
    if isinstance(value, int):
        return INT64_MIN <= value <= INT64_MAX
    return math.isfinite(value)


def check_count(attribute: str, values: Sequence[object]) -> None:
    """:class:`InvalidValue` when a multi-valued attribute would hold more than :data:`MAX_VALUES`."""
    if len(values) > MAX_VALUES:
        raise InvalidValue(f"{attribute} may hold at most {MAX_VALUES} values", attribute=attribute)


def is_empty(value: JSON) -> bool:
    """RFC 7643 §2.5: null, an empty string, an empty list and an empty object are "unassigned"."""
    return value is None or (isinstance(value, str | list | dict) and len(value) == 0)


def canonical_attributes(
    schema: ResourceSchema,
    raw: Mapping[str, JSON],
    *,
    drop_read_only: bool = True,
    ignore_unknown: bool = False,
) -> Attributes:
    """Validate a whole resource's attributes and return them under canonical names.

    Read-only attributes are dropped (RFC 7644 §3.3: "the service provider SHALL ignore" them),
    unassigned values are left out, and unknown attributes raise :class:`InvalidPath` unless
    ``ignore_unknown``.
    """
    return _canonical_fields(
        raw,
        schema.attribute,
        f"{schema.name} has no attribute",
        drop_read_only=drop_read_only,
        ignore_unknown=ignore_unknown,
    )


def canonical_value(
    attribute: Attribute, value: JSON, *, drop_read_only: bool = True, ignore_unknown: bool = False
) -> JSON:
    """Check one attribute's value against its definition; canonicalise nested names."""
    if value is None:
        return None
    if attribute.multi_valued:
        items = value if isinstance(value, list) else [value]
        check_count(attribute.name, items)
        checked = [
            canonical_single(attribute, item, drop_read_only=drop_read_only, ignore_unknown=ignore_unknown)
            for item in items
        ]
        return [item for item in checked if not is_empty(item)]
    return canonical_single(attribute, value, drop_read_only=drop_read_only, ignore_unknown=ignore_unknown)


def canonical_single(
    attribute: Attribute, value: JSON, *, drop_read_only: bool = True, ignore_unknown: bool = False
) -> JSON:
    """Check a single value (one element of a multi-valued attribute, or a single-valued one)."""
    if value is None:
        return None
    if attribute.is_complex:
        if not isinstance(value, Mapping):
            raise InvalidValue(f"{attribute.name} must be an object", attribute=attribute.name)
        return _canonical_fields(
            value,
            attribute.sub_attribute,
            f"{attribute.name} has no sub-attribute",
            drop_read_only=drop_read_only,
            ignore_unknown=ignore_unknown,
        )
    _check_scalar(attribute, value)
    return value


def _canonical_fields(
    raw: Mapping[str, JSON],
    definition: Callable[[str], Attribute | None],
    unknown: str,
    *,
    drop_read_only: bool,
    ignore_unknown: bool,
) -> Attributes:
    """A resource's attributes, or a complex value's sub-attributes, checked by their
    ``definition`` (found by any spelling of the name) and kept under its canonical name.

    Both levels keep the same way: an unknown name is :class:`InvalidPath` (``unknown`` and the
    name) unless ``ignore_unknown``, a read-only one is dropped when ``drop_read_only``, and an
    unassigned value is left out.
    """
    result: Attributes = {}
    for name, value in raw.items():
        attribute = definition(name)
        if attribute is None:
            if ignore_unknown:
                continue
            raise InvalidPath(f"{unknown} {name!r}", attribute=name)
        if drop_read_only and attribute.mutability is Mutability.READ_ONLY:
            continue
        checked = canonical_value(attribute, value, drop_read_only=drop_read_only, ignore_unknown=ignore_unknown)
        if not is_empty(checked):
            result[attribute.name] = checked
    return result


def _check_scalar(attribute: Attribute, value: JSON) -> None:
    kind = attribute.type
    ok: bool
    if kind is AttributeType.BOOLEAN:
        ok = isinstance(value, bool)
    elif kind is AttributeType.INTEGER:
        ok = isinstance(value, int) and not isinstance(value, bool) and storable_number(value)
    elif kind is AttributeType.DECIMAL:
        ok = isinstance(value, int | float) and not isinstance(value, bool) and storable_number(value)
    elif kind is AttributeType.DATETIME:
        ok = isinstance(value, str) and _is_datetime(value)
    elif kind is AttributeType.BINARY:
        ok = isinstance(value, str) and _is_base64(value)
    else:
        ok = isinstance(value, str) and not has_lone_surrogate(value)
    if not ok:
        raise InvalidValue(f"{attribute.name} must be a {kind.value}", attribute=attribute.name)


def _is_datetime(value: str) -> bool:
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def _is_base64(value: str) -> bool:
    try:
        base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return False
    return True
