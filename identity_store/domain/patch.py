"""Modifying attributes in place: add, replace and remove (RFC 7644 §3.5.2), without SCIM syntax.

A :class:`PatchOperation` names a target by a :class:`PatchPath`: an attribute path, optionally a
filter choosing elements of a multi-valued attribute, and optionally a sub-attribute of those
elements (``emails[type eq "work"].value``). :func:`apply_patch` applies a list of operations to
a copy of a resource's attributes, all or nothing.

Two habits of Microsoft Entra ID contradict the RFC; :class:`PatchPolicy` decides them:

* ``create_unmatched``: ``add``/``replace`` on a filtered path that matches no element creates
  the element from the filter's equality conditions (Entra fills the work email or the work
  address this way) instead of failing with ``noTarget``.
* ``remove_by_value``: ``remove`` with a ``value`` removes the listed values (Entra removes
  group members so) instead of ignoring the value.
* ``lenient_values``: booleans sent as the strings ``"True"``/``"False"`` are taken as booleans
  and attributes the schema does not know are ignored (the SCIM facade applies this one before
  the domain sees the values).

Cost: a patch costs in proportion to its operations and the values they touch. Values already
present are found through a set of their canonical JSON keys, built once per attribute and kept
across the operations of one patch; operations on elements visit at most
:data:`MAX_ELEMENT_VISITS` elements per patch, and no multi-valued attribute may end with more than
:data:`~identity_store.domain.values.MAX_VALUES` values.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum

from identity_store.domain.errors import InvalidPath, InvalidValue, NoTarget
from identity_store.domain.filters import And, Compare, Filter, Operator, evaluate, resolve_filter
from identity_store.domain.schema import Attribute, Mutability, ResourceSchema
from identity_store.domain.values import (
    JSON,
    Attributes,
    canonical_single,
    canonical_value,
    check_count,
    is_empty,
)

__all__ = ["MAX_ELEMENT_VISITS", "PatchOp", "PatchOperation", "PatchPath", "PatchPolicy", "apply_patch"]

#: Elements that operations on elements (``emails[type eq "work"].value``) may visit in one patch,
#: summed over its operations: ten such operations on a full attribute, or a thousand on small ones.
MAX_ELEMENT_VISITS = 100_000


class PatchOp(StrEnum):
    ADD = "add"
    REPLACE = "replace"
    REMOVE = "remove"


@dataclass(frozen=True, slots=True, kw_only=True)
class PatchPath:
    """``attribute[element_filter].sub_attribute``; the last two are optional."""

    attribute: tuple[str, ...]
    element_filter: Filter | None = None
    sub_attribute: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class PatchOperation:
    op: PatchOp
    path: PatchPath | None = None
    value: JSON = None


@dataclass(frozen=True, slots=True, kw_only=True)
class PatchPolicy:
    create_unmatched: bool = True
    remove_by_value: bool = True
    lenient_values: bool = True


def apply_patch(
    schema: ResourceSchema,
    attributes: Mapping[str, JSON],
    operations: tuple[PatchOperation, ...],
    policy: PatchPolicy = PatchPolicy(),
) -> Attributes:
    """The attributes after every operation, in order. The input is never modified."""
    result: Attributes = copy.deepcopy(dict(attributes))
    work = _Work()
    for operation in operations:
        if operation.path is None:
            _apply_without_path(schema, result, operation, work)
        else:
            _apply_with_path(schema, result, operation, operation.path, policy, work)
    return result


class _Work:
    """What one patch has done so far: the keys of the lists it adds to, and the elements its
    filters have visited (so that neither repeats work per operation, nor grows unbounded)."""

    __slots__ = ("_keys", "visits")

    def __init__(self) -> None:
        # id(list) -> (that list, the keys of its values); the list is held so its id stays unique.
        self._keys: dict[int, tuple[list[JSON], set[str]]] = {}
        self.visits = 0

    def keys(self, values: list[JSON]) -> set[str]:
        entry = self._keys.get(id(values))
        if entry is None or entry[0] is not values:
            entry = (values, {_key(v) for v in values})
            self._keys[id(values)] = entry
        return entry[1]

    def visit(self, count: int) -> None:
        self.visits += count
        if self.visits > MAX_ELEMENT_VISITS:
            raise InvalidValue(f"the patch selects elements more than {MAX_ELEMENT_VISITS} times; split it")


def _key(value: JSON) -> str:
    """A value's identity for "already present" (RFC 7644 §3.5.2.1: add does not duplicate)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def _apply_without_path(schema: ResourceSchema, target: Attributes, operation: PatchOperation, work: _Work) -> None:
    if operation.op is PatchOp.REMOVE:
        raise NoTarget("remove needs a path (RFC 7644 §3.5.2.2)")
    if not isinstance(operation.value, Mapping):
        raise InvalidValue(f"{operation.op} without a path needs an object of attributes")
    for name, value in operation.value.items():
        attribute = schema.attribute(name)
        if attribute is None:
            raise InvalidPath(f"{schema.name} has no attribute {name!r}", attribute=name)
        if attribute.mutability is Mutability.READ_ONLY:
            continue  # RFC 7644 §3.5.2: read-only attributes in a path-less value are ignored.
        path = PatchPath(attribute=(attribute.name,))
        changed = PatchOperation(op=operation.op, path=path, value=value)
        _apply_with_path(schema, target, changed, path, PatchPolicy(), work)


def _apply_with_path(
    schema: ResourceSchema,
    target: Attributes,
    operation: PatchOperation,
    path: PatchPath,
    policy: PatchPolicy,
    work: _Work,
) -> None:
    names, chain = schema.resolve(path.attribute)
    attribute = chain[-1]
    _check_mutable(chain, target, names)
    parent = _parent(target, names, create=operation.op is not PatchOp.REMOVE)
    if parent is None:
        return  # removing beneath an absent complex attribute: nothing to remove
    key = names[-1]

    if path.element_filter is not None or path.sub_attribute is not None:
        if not attribute.multi_valued:
            if path.element_filter is None and path.sub_attribute is not None:
                # "name.givenName" given as attribute + sub-attribute: treat as a longer path.
                longer = PatchPath(attribute=(*path.attribute, path.sub_attribute))
                _apply_with_path(schema, target, operation, longer, policy, work)
                return
            raise InvalidPath(f"{'.'.join(names)} is not multi-valued; it cannot take a filter")
        _apply_to_elements(schema, parent, key, attribute, operation, path, policy, work)
        return

    if operation.op is PatchOp.REMOVE:
        _remove_whole(parent, key, attribute, operation.value, policy)
        return
    value = canonical_value(attribute, operation.value)
    if is_empty(value):
        if operation.op is PatchOp.REPLACE:
            parent.pop(key, None)  # replacing with nothing unassigns (RFC 7643 §2.5)
        return
    if operation.op is PatchOp.ADD and attribute.multi_valued:
        current = parent.get(key)
        existing = current if isinstance(current, list) else _as_list(current)
        present = work.keys(existing)
        assert isinstance(value, list)
        for item in value:
            item_key = _key(item)
            if item_key not in present:
                present.add(item_key)
                existing.append(item)
        check_count(attribute.name, existing)
        parent[key] = existing
    elif attribute.is_complex and not attribute.multi_valued:
        # RFC 7644 §3.5.2.1/§3.5.2.3: sub-attributes given replace those present; others stay.
        merged = dict(_as_dict(parent.get(key)))
        assert isinstance(value, dict)
        merged.update(value)
        parent[key] = merged
    else:
        parent[key] = value


def _apply_to_elements(
    schema: ResourceSchema,
    parent: Attributes,
    key: str,
    attribute: Attribute,
    operation: PatchOperation,
    path: PatchPath,
    policy: PatchPolicy,
    work: _Work,
) -> None:
    elements = _as_list(parent.get(key))
    element_filter = (
        resolve_filter(_element_schema(attribute), path.element_filter, within=None)
        if path.element_filter is not None
        else None
    )
    sub = None
    if path.sub_attribute is not None:
        sub = attribute.sub_attribute(path.sub_attribute)
        if sub is None:
            raise InvalidPath(f"{attribute.name} has no sub-attribute {path.sub_attribute!r}")
        if sub.mutability is Mutability.READ_ONLY:
            raise InvalidValue(f"{attribute.name}.{sub.name} is read-only", attribute=sub.name, mutability=True)
    element_schema = _element_schema(attribute)
    work.visit(len(elements))
    matched = [
        i
        for i, element in enumerate(elements)
        if isinstance(element, dict) and (element_filter is None or evaluate(element_schema, element_filter, element))
    ]

    if operation.op is PatchOp.REMOVE:
        if sub is None:
            doomed = set(matched)
            kept = [e for i, e in enumerate(elements) if i not in doomed]
        else:
            kept = elements
            for i in matched:
                element = kept[i]
                assert isinstance(element, dict)
                element.pop(sub.name, None)
            kept = [e for e in kept if not is_empty(e)]
        _store_list(parent, key, kept)
        return

    if sub is not None:
        value = canonical_value(sub, operation.value)
    else:
        value = canonical_single(attribute, operation.value)
        if not isinstance(value, dict):
            raise InvalidValue(f"a value for {attribute.name}[...] must be an object", attribute=attribute.name)
    if not matched:
        if element_filter is None or not policy.create_unmatched:
            raise NoTarget(f"no value of {attribute.name} matches the path filter")
        created: dict[str, JSON] = dict(_equalities(element_filter))
        elements.append(created)
        matched = [len(elements) - 1]
    for i in matched:
        element = elements[i]
        assert isinstance(element, dict)
        if sub is not None:
            if is_empty(value):
                element.pop(sub.name, None)
            else:
                element[sub.name] = value
        elif operation.op is PatchOp.REPLACE:
            assert isinstance(value, dict)
            kept_keys = dict(_equalities(element_filter)) if element_filter is not None else {}
            elements[i] = {**kept_keys, **value}
        else:
            assert isinstance(value, dict)
            element.update(value)
    _store_list(parent, key, [e for e in elements if not is_empty(e)])


def _remove_whole(parent: Attributes, key: str, attribute: Attribute, value: JSON, policy: PatchPolicy) -> None:
    if attribute.required:
        raise InvalidValue(f"{key} is required and cannot be removed", attribute=key, mutability=True)
    if value is not None and attribute.multi_valued and policy.remove_by_value:
        # Entra ID: {"op": "Remove", "path": "members", "value": [{"value": "id"}]} removes those.
        doomed = _as_list(canonical_value(attribute, value))
        doomed_values = {_identity(d) for d in doomed}
        kept = [e for e in _as_list(parent.get(key)) if _identity(e) not in doomed_values]
        _store_list(parent, key, kept)
        return
    if value is not None and not attribute.multi_valued and policy.remove_by_value:
        current = parent.get(key)
        if (
            isinstance(current, dict)
            and isinstance(value, dict)
            and value.get("value") not in (None, current.get("value"))
        ):
            return  # removing a manager who is not the current one changes nothing
    parent.pop(key, None)


def _check_mutable(chain: tuple[Attribute, ...], target: Attributes, names: tuple[str, ...]) -> None:
    for attribute in chain:
        if attribute.mutability is Mutability.READ_ONLY:
            raise InvalidValue(f"{'.'.join(names)} is read-only", attribute=attribute.name, mutability=True)


def _parent(target: Attributes, names: tuple[str, ...], *, create: bool) -> Attributes | None:
    parent = target
    for name in names[:-1]:
        child = parent.get(name)
        if not isinstance(child, dict):
            if not create:
                return None
            child = {}
            parent[name] = child
        parent = child
    return parent


def _element_schema(attribute: Attribute) -> ResourceSchema:
    return ResourceSchema(attribute.name, attribute.sub_attributes)


def _equalities(node: Filter) -> Iterator[tuple[str, JSON]]:
    """The ``attr eq value`` conditions of a filter: what an element created for it must hold."""
    if isinstance(node, Compare) and node.op is Operator.EQ and len(node.path) == 1:
        if isinstance(node.value, str | bool | int | float):
            yield node.path[0], node.value
    elif isinstance(node, And):
        for operand in node.operands:
            yield from _equalities(operand)


def _identity(element: JSON) -> JSON:
    if isinstance(element, dict) and "value" in element:
        value = element["value"]
        return value.casefold() if isinstance(value, str) else value
    return repr(element)


def _as_list(value: JSON) -> list[JSON]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _as_dict(value: JSON) -> dict[str, JSON]:
    return dict(value) if isinstance(value, dict) else {}


def _store_list(parent: Attributes, key: str, values: list[JSON]) -> None:
    check_count(key, values)
    if values:
        parent[key] = values
    else:
        parent.pop(key, None)
