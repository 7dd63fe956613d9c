"""SCIM PATCH (RFC 7644 §3.5.2) translated into the domain's patch operations.

scim2-models parses each ``path``; this module maps it onto a :class:`PatchPath` (URN paths
become ``enterprise`` paths) and leaves applying it to the domain, which does it atomically. For
groups, operations on ``members`` become member ids to add or remove, so a PATCH costs in
proportion to the members it names, never to the size of the group; it names at most
:data:`~scim_facade.request_limits.MAX_PATCH_MEMBERS` and holds at most
:data:`~scim_facade.request_limits.MAX_PATCH_OPERATIONS` operations.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from scim2_models import Path
from scim2_models.exceptions import SCIMException
from scim2_models.path import AttrPath, CompareOperator, Comparison, FilterNode, LogicalExpr, LogicalOperator, ValuePath

from identity_store.domain.errors import DomainError, InvalidValue
from identity_store.domain.filters import And, Compare, Filter, Operator
from identity_store.domain.patch import PatchOp, PatchOperation, PatchPath, PatchPolicy
from identity_store.domain.schema import ENTERPRISE, GROUP_SCHEMA, USER_SCHEMA, ResourceSchema
from identity_store.domain.values import JSON
from scim_facade.entra import filter_booleans, manager_value, normalise_attributes, normalise_value
from scim_facade.errors import ScimError
from scim_facade.filters import (
    CORE_GROUP_URN,
    CORE_USER_URN,
    ENTERPRISE_URN,
    attribute_names,
    extension_of,
    split_urn,
    translate,
)
from scim_facade.request_limits import MAX_FILTER_LENGTH, MAX_PATCH_MEMBERS, MAX_PATCH_OPERATIONS
from scim_facade.resources import member_ids

__all__ = ["PATCH_SCHEMA", "GroupPatch", "group_patch", "user_patch"]

PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
MAX_OPERATIONS = MAX_PATCH_OPERATIONS


def _invalid_path(detail: str) -> ScimError:
    return ScimError(400, detail, scim_type="invalidPath")


def _operations(body: Mapping[str, Any]) -> list[tuple[PatchOp, str | None, Any]]:
    schemas = body.get("schemas")
    if not isinstance(schemas, list) or PATCH_SCHEMA.casefold() not in {str(s).casefold() for s in schemas}:
        raise ScimError(400, f"a PATCH body must name the schema {PATCH_SCHEMA}", scim_type="invalidSyntax")
    operations = body.get("Operations", body.get("operations"))
    if not isinstance(operations, list) or not operations:
        raise ScimError(400, "Operations must be a non-empty list", scim_type="invalidSyntax")
    if len(operations) > MAX_OPERATIONS:
        raise ScimError(400, f"at most {MAX_OPERATIONS} operations per PATCH", scim_type="tooMany")
    result: list[tuple[PatchOp, str | None, Any]] = []
    for raw in operations:
        if not isinstance(raw, dict):
            raise ScimError(400, "each operation must be an object", scim_type="invalidSyntax")
        op_name = raw.get("op")
        try:
            op = PatchOp(op_name.casefold()) if isinstance(op_name, str) else None
        except ValueError:
            op = None
        if op is None:
            raise ScimError(400, f"op must be add, replace or remove, not {op_name!r}", scim_type="invalidSyntax")
        path = raw.get("path")
        if path is not None and not isinstance(path, str):
            raise _invalid_path("path must be a string")
        result.append((op, path or None, raw.get("value")))
    return result


def _parse_path(text: str, schema: ResourceSchema) -> PatchPath:
    """A PATCH ``path`` as a domain :class:`PatchPath`; 400 ``invalidPath`` when it is not one."""
    if text.casefold() == ENTERPRISE_URN.casefold():
        return PatchPath(attribute=(ENTERPRISE,))
    if len(text) > MAX_FILTER_LENGTH:
        raise _invalid_path(f"the path is longer than {MAX_FILTER_LENGTH} characters")
    extension = extension_of(text, schema)
    if extension is not None and not any(c in extension[1] for c in "[] "):
        # The extension's URN, or one of its attributes (Entra's ``urn:...:User:costCenter``).
        key, rest = extension
        return PatchPath(attribute=(key, *rest.split(".")) if rest else (key,))
    try:
        node = Path(text).ast
    except SCIMException as error:
        raise _invalid_path(f"invalid path {text!r}: {error.detail}") from None
    except (ValueError, RecursionError):
        raise _invalid_path(f"invalid path {text!r}") from None
    try:
        if isinstance(node, AttrPath):
            return PatchPath(attribute=attribute_names(node, schema))
        if isinstance(node, ValuePath):
            return PatchPath(
                attribute=attribute_names(node.attr_path, schema),
                element_filter=translate(node.val_filter),
                sub_attribute=node.sub_attr,
            )
    except InvalidValue as error:
        raise _invalid_path(error.message) from None
    raise _invalid_path(f"{text!r} is not an attribute path")


def _names_unknown_schema(text: str, schema: ResourceSchema) -> bool:
    """Whether a path starts with a schema URN the tenant does not have."""
    lowered = text.strip().casefold()
    if not lowered.startswith("urn:"):
        return False
    known = (ENTERPRISE_URN, CORE_USER_URN, CORE_GROUP_URN)
    return not any(lowered.startswith(u.casefold()) for u in known) and extension_of(text.strip(), schema) is None


def _expand_urn_keys(value: JSON, schema: ResourceSchema, *, lenient: bool = False) -> JSON:
    """Path-less values may name attributes by path: extension attributes by URN
    (``urn:...:User:department``) and sub-attributes with dots (``name.givenName``), as Entra
    does; they are expanded into the nested objects RFC 7644 §3.5.2 describes."""
    if not isinstance(value, dict):
        return value
    result: dict[str, JSON] = {}
    for key, item in value.items():
        if not key.casefold().startswith("urn:") and "." not in key:
            result[key] = item
            continue
        try:
            names = split_urn(key, schema)
        except InvalidValue as error:
            if lenient:
                continue  # an extension this tenant does not have
            raise _invalid_path(error.message) from None
        if not names:
            continue
        target = result
        for name in names[:-1]:
            child = target.setdefault(name, {})
            if not isinstance(child, dict):
                raise _invalid_path(f"{key} conflicts with another attribute")
            target = child
        if isinstance(item, dict) and isinstance(target.get(names[-1]), dict):
            existing = target[names[-1]]
            assert isinstance(existing, dict)
            existing.update(item)
        else:
            target[names[-1]] = item
    return result


_MANAGER = (ENTERPRISE, "manager")


def _user_path(parsed: PatchPath) -> PatchPath:
    """Entra's documented sample addresses the manager as plain ``manager``."""
    if parsed.attribute[0].casefold() == "manager":
        return PatchPath(
            attribute=(*_MANAGER, *parsed.attribute[1:]),
            element_filter=parsed.element_filter,
            sub_attribute=parsed.sub_attribute,
        )
    return parsed


def _is_manager(path: PatchPath) -> bool:
    return tuple(n.casefold() for n in path.attribute) == _MANAGER


def _manager_operation(op: PatchOp, path: PatchPath, value: JSON) -> PatchOperation:
    """The manager in any of Entra's shapes; clearing it by ``""`` or ``manager[value eq "id"]``."""
    target = PatchPath(attribute=_MANAGER)
    if path.element_filter is not None or path.sub_attribute is not None:
        equalities = dict(_filter_equalities(path.element_filter))
        if op is not PatchOp.REMOVE or path.sub_attribute is not None or set(equalities) != {"value"}:
            raise _invalid_path('the manager can be selected only as manager[value eq "id"] to remove it')
        return PatchOperation(op=PatchOp.REMOVE, path=target, value={"value": equalities["value"]})
    if op is PatchOp.REMOVE:
        return PatchOperation(op=op, path=target, value=value)
    manager = manager_value(value)
    if manager is None:
        return PatchOperation(op=PatchOp.REMOVE, path=target)
    return PatchOperation(op=op, path=target, value=manager)


def _filter_equalities(node: Filter | None) -> list[tuple[str, JSON]]:
    if isinstance(node, Compare) and node.op is Operator.EQ and len(node.path) == 1 and isinstance(node.value, str):
        return [(node.path[0].casefold(), node.value)]
    if isinstance(node, And):
        return [pair for operand in node.operands for pair in _filter_equalities(operand)]
    return []


def _normalise_path_value(schema: ResourceSchema, path: PatchPath, value: JSON, lenient: bool) -> JSON:
    """String booleans and Entra's role shape at a PATCH path (unknown paths are left to the domain)."""
    try:
        _, chain = schema.resolve(path.attribute)
    except DomainError:
        return value
    attribute = chain[-1]
    if path.sub_attribute is not None:
        sub = attribute.sub_attribute(path.sub_attribute)
        return value if sub is None else normalise_value(sub, value, lenient=lenient)
    return normalise_value(attribute, value, lenient=lenient, element=path.element_filter is not None)


def _path_less_user(op: PatchOp, value: JSON, lenient: bool, schema: ResourceSchema) -> list[PatchOperation]:
    """A path-less add/replace, with Entra's dotted and URN keys expanded; an empty manager in it
    becomes a separate remove, since an empty value would otherwise merge into nothing."""
    expanded = _expand_urn_keys(value, schema, lenient=lenient)
    if not isinstance(expanded, dict):
        return [PatchOperation(op=op, value=expanded)]
    normalised = normalise_attributes(schema, expanded, lenient=lenient)
    extra: list[PatchOperation] = []
    for key, item in list(normalised.items()):
        if key.casefold() != ENTERPRISE or not isinstance(item, dict):
            continue
        for sub in [k for k in item if k.casefold() == "manager"]:
            if item[sub] is None:
                del item[sub]
                extra.append(PatchOperation(op=PatchOp.REMOVE, path=PatchPath(attribute=_MANAGER)))
        if not item:
            del normalised[key]
    operations = [PatchOperation(op=op, value=normalised)] if normalised or not extra else []
    return operations + extra


def user_patch(
    body: Mapping[str, Any], policy: PatchPolicy | None = None, schema: ResourceSchema = USER_SCHEMA
) -> tuple[PatchOperation, ...]:
    """The domain operations of a PATCH request on a user; ``schema``: the tenant's, with its
    extensions. A lenient tenant skips operations on a schema it does not have (as it ignores
    such attributes in a body); a strict one refuses them."""
    lenient = (policy or PatchPolicy()).lenient_values
    operations: list[PatchOperation] = []
    for op, path, value in _operations(body):
        if path is None:
            operations.extend(_path_less_user(op, value, lenient, schema))
            continue
        if lenient and _names_unknown_schema(path, schema):
            continue
        parsed = _user_path(_parse_path(path, schema))
        if lenient and parsed.element_filter is not None:
            attribute = schema.attribute(parsed.attribute[0]) if len(parsed.attribute) == 1 else None
            if attribute is not None and attribute.is_complex:
                element = ResourceSchema(attribute.name, attribute.sub_attributes)
                parsed = replace(parsed, element_filter=filter_booleans(parsed.element_filter, element))
        if _is_manager(parsed):
            operations.append(_manager_operation(op, parsed, value))
        else:
            normalised = _normalise_path_value(schema, parsed, value, lenient)
            operations.append(PatchOperation(op=op, path=parsed, value=normalised))
    return tuple(operations)


@dataclass(slots=True)
class GroupPatch:
    """A group PATCH split into attribute operations and member changes.

    The member ids are kept as ordered sets (dicts), so each one named costs O(1) whatever the
    request names before or after it; more than :data:`MAX_PATCH_MEMBERS` named is ``tooMany``."""

    operations: list[PatchOperation] = field(default_factory=list)
    _add: dict[str, None] = field(default_factory=dict)
    _remove: dict[str, None] = field(default_factory=dict)
    remove_all: bool = False
    named: int = 0

    @property
    def add_ids(self) -> list[str]:
        return list(self._add)

    @property
    def remove_ids(self) -> list[str]:
        return list(self._remove)

    def _count(self, ids: tuple[str, ...]) -> None:
        self.named += len(ids)
        if self.named > MAX_PATCH_MEMBERS:
            raise ScimError(400, f"a PATCH may name at most {MAX_PATCH_MEMBERS} members", scim_type="tooMany")

    def add(self, ids: tuple[str, ...]) -> None:
        self._count(ids)
        for member in ids:
            self._remove.pop(member, None)
            self._add[member] = None

    def remove(self, ids: tuple[str, ...]) -> None:
        self._count(ids)
        for member in ids:
            self._add.pop(member, None)
            self._remove[member] = None

    def clear(self) -> None:
        self._add.clear()
        self._remove.clear()
        self.remove_all = True


def _member_filter_ids(node: FilterNode) -> tuple[str, ...]:
    """The ids a ``members[...]`` filter names: ``value eq "id"``, possibly joined with ``or``."""
    if (
        isinstance(node, Comparison)
        and node.op is CompareOperator.eq
        and node.attr_path.uri is None
        and node.attr_path.sub_attr is None
        and node.attr_path.attr.casefold() == "value"
        and isinstance(node.value, str)
    ):
        return (node.value,)
    if isinstance(node, LogicalExpr) and node.op is LogicalOperator.or_:
        return tuple(i for term in node.terms for i in _member_filter_ids(term))
    raise _invalid_path('members can only be selected by value, e.g. members[value eq "id"]')


def group_patch(
    body: Mapping[str, Any], policy: PatchPolicy | None = None, schema: ResourceSchema = GROUP_SCHEMA
) -> GroupPatch:
    """The attribute operations and member changes of a PATCH request on a group.

    Entra removes members with ``Remove`` on ``members`` and the members in ``value``; that
    removes the listed members. A strict-RFC tenant gets 400 for that form rather than the RFC
    reading (remove every member), so a group is never emptied by it.
    """
    chosen = policy or PatchPolicy()
    lenient = chosen.lenient_values
    result = GroupPatch()
    for op, path, value in _operations(body):
        if path is None:
            if op is PatchOp.REMOVE:
                raise ScimError(400, "remove needs a path (RFC 7644 §3.5.2.2)", scim_type="noTarget")
            if not isinstance(value, dict):
                raise ScimError(400, f"{op} without a path needs an object", scim_type="invalidValue")
            rest = {k: v for k, v in value.items() if k.casefold() != "members"}
            members = [v for k, v in value.items() if k.casefold() == "members"]
            for member_value in members:
                if op is PatchOp.REPLACE:
                    result.clear()
                result.add(member_ids(member_value))
            if rest:
                expanded = _expand_urn_keys(rest, schema, lenient=lenient)
                if isinstance(expanded, dict):
                    expanded = normalise_attributes(schema, expanded, lenient=lenient)
                result.operations.append(PatchOperation(op=op, value=expanded))
            continue
        if lenient and _names_unknown_schema(path, schema):
            continue
        parsed = _parse_path(path, schema)
        if parsed.attribute[0].casefold() != "members":
            normalised = _normalise_path_value(schema, parsed, value, lenient)
            result.operations.append(PatchOperation(op=op, path=parsed, value=normalised))
            continue
        if len(parsed.attribute) > 1 or parsed.sub_attribute is not None:
            raise _invalid_path("member sub-attributes cannot be changed; add or remove the member")
        if parsed.element_filter is not None:
            if op is not PatchOp.REMOVE:
                raise _invalid_path("members can be added only with the path members")
            node = Path(path).ast
            assert isinstance(node, ValuePath)
            result.remove(_member_filter_ids(node.val_filter))
        elif op is PatchOp.ADD:
            result.add(member_ids(value))
        elif op is PatchOp.REPLACE:
            result.clear()
            result.add(member_ids(value))
        elif value is None:
            result.clear()
        elif not chosen.remove_by_value:
            raise ScimError(
                400,
                'remove takes no value (RFC 7644 §3.5.2.2); send members[value eq "id"] for each member',
                scim_type="invalidValue",
            )
        else:
            result.remove(member_ids(value))
    return result
