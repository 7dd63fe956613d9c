"""Microsoft Entra ID's request habits, turned into the values the domain expects.

Entra sends some values in shapes RFC 7643 does not define; they are rewritten here, before the
domain validates anything:

* the enterprise ``manager`` as a bare id (``"usr_1"``), as ``{"value": id}`` or as an array of
  one such object, and cleared with ``""``; the domain always receives ``{"value": id}``, and an
  empty value becomes a ``remove``;
* roles of an ``AppRoleAssignmentsComplex`` mapping as JSON text inside ``value``
  (``{"value": "{\\"id\\": ..., \\"value\\": \\"Reader\\", \\"displayName\\": \\"Reader\\"}"}``),
  stored as structured roles ``{"value", "display", "primary"}`` so that Entra reads back what
  its assertive form would send;
* only when the tenant is not strict RFC (:class:`~identity_store.TenantSettings`): booleans as
  the strings ``"True"``/``"False"`` (any case), and attributes the schema does not know, which
  are dropped instead of rejected.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import replace

from identity_store.domain import filters as neutral
from identity_store.domain.schema import ENTERPRISE, Attribute, AttributeType, ResourceSchema
from identity_store.domain.values import JSON, Attributes

__all__ = ["filter_booleans", "manager_value", "normalise_attributes", "normalise_value", "role_values"]

_WORDS = {"true": True, "false": False}


def manager_value(value: JSON) -> JSON:
    """``{"value": id}`` for any of Entra's manager shapes; ``None`` for "no manager"."""
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, str):
        return {"value": value} if value.strip() else None
    if isinstance(value, Mapping):
        inner = value.get("value")
        if inner is None or (isinstance(inner, str) and not inner.strip()):
            return None
        return dict(value)
    return value


def role_values(value: JSON) -> JSON:
    """Roles with JSON text inside ``value`` (AppRoleAssignmentsComplex) as structured roles."""
    items = value if isinstance(value, list) else [value]
    result: list[JSON] = []
    for item in items:
        if isinstance(item, Mapping) and isinstance(item.get("value"), str):
            text = str(item["value"]).strip()
            if text.startswith("{"):
                try:
                    decoded = json.loads(text)
                except (ValueError, RecursionError):  # not JSON, or nested past the decoder's depth
                    decoded = None
                if isinstance(decoded, dict) and isinstance(decoded.get("value"), str):
                    role: dict[str, JSON] = {"value": decoded["value"]}
                    display = decoded.get("displayName", decoded.get("display"))
                    if isinstance(display, str):
                        role["display"] = display
                    role["primary"] = _boolean(item.get("primary", False)) is True
                    result.append(role)
                    continue
        result.append(item)
    return result if isinstance(value, list) else (result[0] if result else None)


def normalise_value(attribute: Attribute, value: JSON, *, lenient: bool, element: bool = False) -> JSON:
    """One attribute's value (``element``: one element of a multi-valued attribute)."""
    if value is None:
        return None
    if attribute.name == "manager" and attribute.is_complex:
        value = manager_value(value)
        if value is None:
            return None
    if attribute.name == "roles" and attribute.multi_valued:
        value = role_values(value)
    if attribute.multi_valued and not element:
        if isinstance(value, list):
            return [normalise_value(attribute, item, lenient=lenient, element=True) for item in value]
        return normalise_value(attribute, value, lenient=lenient, element=True)
    if attribute.is_complex:
        if not isinstance(value, Mapping):
            return value
        result: dict[str, JSON] = {}
        for name, sub_value in value.items():
            sub = attribute.sub_attribute(name)
            if sub is None:
                if not lenient:
                    result[name] = sub_value
                continue
            result[name] = normalise_value(sub, sub_value, lenient=lenient)
        return result
    if lenient and attribute.type is AttributeType.BOOLEAN:
        return _boolean(value)
    return value


def normalise_attributes(schema: ResourceSchema, raw: Mapping[str, JSON], *, lenient: bool) -> Attributes:
    """A whole body's (or a path-less PATCH value's) attributes, keys kept as given."""
    result: Attributes = {}
    for name, value in raw.items():
        attribute = schema.attribute(name)
        if attribute is None:
            if not lenient:
                result[name] = value
            continue
        normalised = normalise_value(attribute, value, lenient=lenient)
        if attribute.name == ENTERPRISE and isinstance(value, Mapping) and "manager" in {k.casefold() for k in value}:
            # An empty manager in a body means "none"; keep the key so a PATCH can clear it.
            assert isinstance(normalised, dict)
            for key in value:
                if key.casefold() == "manager" and normalised.get(key) is None:
                    normalised[key] = None
        result[name] = normalised
    return result


def _boolean(value: JSON) -> JSON:
    if isinstance(value, str) and value.strip().casefold() in _WORDS:
        return _WORDS[value.strip().casefold()]
    return value


def filter_booleans(node: neutral.Filter, schema: ResourceSchema) -> neutral.Filter:
    """``"True"``/``"False"`` compared with a boolean attribute taken as booleans, as in Entra's
    ``roles[primary eq "True"].value`` (the SingleAppRoleAssignment mapping)."""
    match node:
        case neutral.And(operands):
            return neutral.And(tuple(filter_booleans(o, schema) for o in operands))
        case neutral.Or(operands):
            return neutral.Or(tuple(filter_booleans(o, schema) for o in operands))
        case neutral.Not(operand):
            return neutral.Not(filter_booleans(operand, schema))
        case neutral.ElementMatch(path=path, filter=inner):
            attribute = _attribute_at(schema, path)
            if attribute is None or not attribute.is_complex:
                return node
            return replace(
                node, filter=filter_booleans(inner, ResourceSchema(attribute.name, attribute.sub_attributes))
            )
        case neutral.Compare(path=path, value=str() as value):
            attribute = _attribute_at(schema, path)
            word = value.strip().casefold()
            if attribute is not None and attribute.type is AttributeType.BOOLEAN and word in _WORDS:
                return replace(node, value=_WORDS[word])
    return node


def _attribute_at(schema: ResourceSchema, path: tuple[str, ...]) -> Attribute | None:
    attribute = schema.attribute(path[0]) if path else None
    for name in path[1:]:
        if attribute is None:
            return None
        attribute = attribute.sub_attribute(name)
    return attribute
