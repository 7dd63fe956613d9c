"""SCIM PATCH (RFC 7644 §3.5.2) translated into the domain's patch operations.

scim2-models parses each ``path``; this module maps it onto a :class:`PatchPath` (URN paths
become ``enterprise`` paths) and leaves applying it to the domain, which does it atomically. For
groups, operations on ``members`` become member ids to add or remove, so a PATCH costs in
proportion to the members it names, never to the size of the group.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from scim2_models import Path
from scim2_models.exceptions import SCIMException
from scim2_models.path import AttrPath, CompareOperator, Comparison, FilterNode, LogicalExpr, LogicalOperator, ValuePath

from identity_store.domain.errors import InvalidValue
from identity_store.domain.patch import PatchOp, PatchOperation, PatchPath
from identity_store.domain.schema import ENTERPRISE
from identity_store.domain.values import JSON
from scim_facade.errors import ScimError
from scim_facade.filters import ENTERPRISE_URN, attribute_names, split_urn, translate
from scim_facade.resources import member_ids

__all__ = ["PATCH_SCHEMA", "GroupPatch", "group_patch", "user_patch"]

PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
MAX_OPERATIONS = 1000


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


def _parse_path(text: str) -> PatchPath:
    """A PATCH ``path`` as a domain :class:`PatchPath`; 400 ``invalidPath`` when it is not one."""
    if text.casefold() == ENTERPRISE_URN.casefold():
        return PatchPath(attribute=(ENTERPRISE,))
    try:
        node = Path(text).ast
    except SCIMException as error:
        raise _invalid_path(f"invalid path {text!r}: {error.detail}") from None
    except (ValueError, RecursionError):
        raise _invalid_path(f"invalid path {text!r}") from None
    try:
        if isinstance(node, AttrPath):
            return PatchPath(attribute=attribute_names(node))
        if isinstance(node, ValuePath):
            return PatchPath(
                attribute=attribute_names(node.attr_path),
                element_filter=translate(node.val_filter),
                sub_attribute=node.sub_attr,
            )
    except InvalidValue as error:
        raise _invalid_path(error.message) from None
    raise _invalid_path(f"{text!r} is not an attribute path")


def _expand_urn_keys(value: JSON) -> JSON:
    """Path-less values may name extension attributes by URN (``urn:...:User:department``)."""
    if not isinstance(value, dict):
        return value
    result: dict[str, JSON] = {}
    for key, item in value.items():
        if not key.casefold().startswith("urn:"):
            result[key] = item
            continue
        try:
            names = split_urn(key)
        except InvalidValue as error:
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


def user_patch(body: Mapping[str, Any]) -> tuple[PatchOperation, ...]:
    """The domain operations of a PATCH request on a user."""
    operations: list[PatchOperation] = []
    for op, path, value in _operations(body):
        if path is None:
            operations.append(PatchOperation(op=op, value=_expand_urn_keys(value)))
        else:
            operations.append(PatchOperation(op=op, path=_parse_path(path), value=value))
    return tuple(operations)


@dataclass(slots=True)
class GroupPatch:
    """A group PATCH split into attribute operations and member changes."""

    operations: list[PatchOperation] = field(default_factory=list)
    add_ids: list[str] = field(default_factory=list)
    remove_ids: list[str] = field(default_factory=list)
    remove_all: bool = False

    def add(self, ids: tuple[str, ...]) -> None:
        for member in ids:
            if member in self.remove_ids:
                self.remove_ids.remove(member)
            if member not in self.add_ids:
                self.add_ids.append(member)

    def remove(self, ids: tuple[str, ...]) -> None:
        for member in ids:
            if member in self.add_ids:
                self.add_ids.remove(member)
            if member not in self.remove_ids:
                self.remove_ids.append(member)

    def clear(self) -> None:
        self.add_ids.clear()
        self.remove_ids.clear()
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


def group_patch(body: Mapping[str, Any]) -> GroupPatch:
    """The attribute operations and member changes of a PATCH request on a group."""
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
                result.operations.append(PatchOperation(op=op, value=rest))
            continue
        parsed = _parse_path(path)
        if parsed.attribute[0].casefold() != "members":
            result.operations.append(PatchOperation(op=op, path=parsed, value=value))
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
        else:
            result.remove(member_ids(value))
    return result
