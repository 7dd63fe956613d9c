"""Attribute values: the JSON shape they are kept in, and their validation against the schema.

Values are stored exactly as received; validation only checks their shape and gives every
attribute name its canonical spelling (attribute names are case-insensitive, RFC 7643 §2.1).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from datetime import datetime
from typing import TypeAlias

from identity_store.domain.errors import InvalidPath, InvalidValue
from identity_store.domain.schema import Attribute, AttributeType, Mutability, ResourceSchema

__all__ = ["JSON", "Attributes", "canonical_attributes", "canonical_value", "is_empty"]

JSON: TypeAlias = str | int | float | bool | list["JSON"] | dict[str, "JSON"] | None
Attributes: TypeAlias = dict[str, JSON]


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
    result: Attributes = {}
    for name, value in raw.items():
        attribute = schema.attribute(name)
        if attribute is None:
            if ignore_unknown:
                continue
            raise InvalidPath(f"{schema.name} has no attribute {name!r}", attribute=name)
        if drop_read_only and attribute.mutability is Mutability.READ_ONLY:
            continue
        checked = canonical_value(attribute, value, drop_read_only=drop_read_only, ignore_unknown=ignore_unknown)
        if not is_empty(checked):
            result[attribute.name] = checked
    return result


def canonical_value(
    attribute: Attribute, value: JSON, *, drop_read_only: bool = True, ignore_unknown: bool = False
) -> JSON:
    """Check one attribute's value against its definition; canonicalise nested names."""
    if value is None:
        return None
    if attribute.multi_valued:
        items = value if isinstance(value, list) else [value]
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
        result: dict[str, JSON] = {}
        for name, sub_value in value.items():
            sub = attribute.sub_attribute(name)
            if sub is None:
                if ignore_unknown:
                    continue
                raise InvalidPath(f"{attribute.name} has no sub-attribute {name!r}", attribute=name)
            if drop_read_only and sub.mutability is Mutability.READ_ONLY:
                continue
            checked = canonical_value(sub, sub_value, drop_read_only=drop_read_only, ignore_unknown=ignore_unknown)
            if not is_empty(checked):
                result[sub.name] = checked
        return result
    _check_scalar(attribute, value)
    return value


def _check_scalar(attribute: Attribute, value: JSON) -> None:
    kind = attribute.type
    ok: bool
    if kind is AttributeType.BOOLEAN:
        ok = isinstance(value, bool)
    elif kind is AttributeType.INTEGER:
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif kind is AttributeType.DECIMAL:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
    elif kind is AttributeType.DATETIME:
        ok = isinstance(value, str) and _is_datetime(value)
    elif kind is AttributeType.BINARY:
        ok = isinstance(value, str) and _is_base64(value)
    else:
        ok = isinstance(value, str)
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
