"""What a SCIM write body asked to change, and what in it the service did not keep, by name.

The activity log records both (``identity_store.activity``): the names of the attributes a
request set, replaced or removed, and the attributes and schema URNs it carried that the
schema does not know (the tenant's registered extensions it knows, see
:mod:`identity_store.domain.extensions`). A lenient tenant (the default, as Entra needs) ignores
those; without a trace a mapping mistake in Entra would lose data silently. Values are never
looked at beyond their keys.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from identity_store.domain.errors import InvalidValue
from identity_store.domain.extensions import extension_urn, is_extension_key
from identity_store.domain.schema import ENTERPRISE, ResourceSchema
from scim_facade.filters import CORE_GROUP_URN, CORE_USER_URN, ENTERPRISE_URN, extension_of, split_urn
from scim_facade.resources import ResourceKind

__all__ = ["BodyNotes", "patch_notes", "resource_notes"]

_SERVER_KEYS = frozenset({"schemas", "id", "meta"})
_KNOWN_SCHEMAS = frozenset(u.casefold() for u in (CORE_USER_URN, CORE_GROUP_URN, ENTERPRISE_URN))
# The attribute a PATCH path starts with: everything before a filter, a sub-attribute or a space.
_PATH_HEAD = re.compile(r"^(urn:[^\[\s]*:[^:.\[\s]+|[^.\[\s]+)")
#: Enough names for any real request; a hostile body cannot make the record large.
_MAX_NAMES = 100

BodyNotes = tuple[list[str], list[str]]


def resource_notes(body: Mapping[str, Any], kind: ResourceKind) -> BodyNotes:
    """``(changed, ignored)`` of a POST or PUT body."""
    changed: list[str] = []
    ignored: list[str] = []
    schemas = body.get("schemas")
    if isinstance(schemas, list):
        known = _KNOWN_SCHEMAS | {
            extension_urn(a.name).casefold() for a in kind.schema.attributes if is_extension_key(a.name)
        }
        ignored.extend(s for s in schemas if isinstance(s, str) and s.casefold() not in known)
    _attributes(body, kind.schema, changed, ignored)
    return changed[:_MAX_NAMES], ignored[:_MAX_NAMES]


def patch_notes(body: Mapping[str, Any], kind: ResourceKind) -> BodyNotes:
    """``(changed, ignored)`` of a PatchOp body: each operation's path, or its value's keys."""
    changed: list[str] = []
    ignored: list[str] = []
    operations = body.get("Operations")
    if not isinstance(operations, list):
        return changed, ignored
    for operation in operations[:_MAX_NAMES]:
        if not isinstance(operation, Mapping):
            continue
        path = operation.get("path")
        if isinstance(path, str) and path.strip():
            head = _PATH_HEAD.match(path.strip())
            name = head.group(1) if head else path.strip()
            (changed if _known(name, kind.schema) else ignored).append(name)
        elif isinstance(operation.get("value"), Mapping):
            _attributes(operation["value"], kind.schema, changed, ignored)
    return _unique(changed)[:_MAX_NAMES], _unique(ignored)[:_MAX_NAMES]


def _attributes(body: Mapping[str, Any], schema: ResourceSchema, changed: list[str], ignored: list[str]) -> None:
    for key, value in list(body.items())[:_MAX_NAMES]:
        if not isinstance(key, str) or key.casefold() in _SERVER_KEYS:
            continue
        extension = extension_of(key, schema) if key[:4].casefold() == "urn:" else None
        holder = (
            schema.attribute(ENTERPRISE)
            if key.casefold() == ENTERPRISE_URN.casefold()
            else (schema.attribute(extension[0]) if extension is not None and not extension[1] else None)
        )
        if holder is not None and isinstance(value, Mapping):
            # An extension's object: each of its attributes is named by its full path.
            prefix = ENTERPRISE_URN if holder.name == ENTERPRISE else extension_urn(holder.name)
            for sub in list(value)[:_MAX_NAMES]:
                name = f"{prefix}:{sub}"
                (changed if holder.sub_attribute(str(sub)) is not None else ignored).append(name)
            continue
        if key.casefold().startswith("urn:") and isinstance(value, Mapping) and _schema_only(key, schema):
            ignored.extend(f"{key}:{sub}" for sub in list(value)[:_MAX_NAMES])  # a schema the tenant lacks
            continue
        (changed if _known(key, schema) else ignored).append(key)


def _schema_only(key: str, schema: ResourceSchema) -> bool:
    """Whether a URN key names a whole schema (no attribute of it), as an object of its values."""
    try:
        split_urn(key, schema)
    except InvalidValue:
        return key.casefold().rsplit(":", 1)[-1] in ("user", "group")
    return False


def _known(name: str, schema: ResourceSchema) -> bool:
    try:
        path = split_urn(name, schema)
    except InvalidValue:
        return False
    attribute = schema.attribute(path[0]) if path else None
    for sub in path[1:]:
        if attribute is None:
            return False
        attribute = attribute.sub_attribute(sub)
    return attribute is not None


def _unique(names: list[str]) -> list[str]:
    return list(dict.fromkeys(names))
