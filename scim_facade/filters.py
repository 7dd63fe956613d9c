"""SCIM filters (RFC 7644 §3.4.2.2) compiled to the neutral filter model of the domain.

scim2-models parses the filter; :class:`_Translator` walks its tree and builds
:mod:`identity_store.domain.filters` nodes, which the store runs in MongoDB. Attribute paths are
resolved against the domain's schema: extension attributes named by their schema URN become
``enterprise`` paths, and core URN prefixes are dropped. Anything unknown or unsupported is a
400 ``invalidFilter``, never a silently empty result.
"""

from __future__ import annotations

import re

from scim2_models import ScimFilter
from scim2_models.exceptions import SCIMException
from scim2_models.path import (
    AttrPath,
    CompareOperator,
    Comparison,
    FilterNode,
    FilterVisitor,
    LogicalExpr,
    LogicalOperator,
    Not,
    Present,
    ValuePath,
)

from identity_store.domain import filters as neutral
from identity_store.domain.errors import InvalidPath, InvalidValue
from identity_store.domain.extensions import extension_urn, is_extension_key, returned
from identity_store.domain.schema import ENTERPRISE, ResourceSchema, Returned
from scim_facade.entra import filter_booleans
from scim_facade.errors import ScimError
from scim_facade.request_limits import MAX_FILTER_LENGTH, MAX_FILTER_TERMS

__all__ = [
    "CORE_GROUP_URN",
    "CORE_USER_URN",
    "ENTERPRISE_URN",
    "MAX_FILTER_LENGTH",
    "NEVER",
    "attribute_names",
    "compile_filter",
    "compile_lenient",
    "compile_translated",
    "extension_of",
    "parse",
    "plain_equality",
    "split_urn",
    "translate",
]

CORE_USER_URN = "urn:ietf:params:scim:schemas:core:2.0:User"
CORE_GROUP_URN = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE_URN = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"

_OPERATORS = {op.value: op for op in neutral.Operator}


def _invalid(detail: str) -> ScimError:
    return ScimError(400, detail, scim_type="invalidFilter")


def split_urn(text: str, schema: ResourceSchema | None = None) -> tuple[str, ...]:
    """An attribute path written as text (``name.givenName``, ``urn:...:User:manager.value``).

    ``schema``: the tenant's, whose registered extensions' URNs map to their domain attribute
    (:func:`~identity_store.domain.extensions.extension_key`); any other URN is unknown."""
    lowered = text.casefold()
    if lowered == ENTERPRISE_URN.casefold():
        return (ENTERPRISE,)
    for urn, prefix in ((ENTERPRISE_URN, (ENTERPRISE,)), (CORE_USER_URN, ()), (CORE_GROUP_URN, ())):
        if lowered.startswith(urn.casefold() + ":"):
            return (*prefix, *text[len(urn) + 1 :].split("."))
    if lowered.startswith("urn:"):
        found = extension_of(text, schema) if schema is not None else None
        if found is None:
            raise InvalidValue(f"unknown schema in {text!r}", attribute=text)
        key, rest = found
        return (key, *rest.split(".")) if rest else (key,)
    return tuple(text.split("."))


def extension_of(text: str, schema: ResourceSchema) -> tuple[str, str] | None:
    """``(domain name, rest)`` when ``text`` is a registered extension's URN, or starts with it
    and a colon (``rest`` then names its attribute); ``None`` otherwise. URNs compare
    case-insensitively; the longest registered URN that fits wins."""
    lowered = text.casefold()
    best: tuple[str, str] | None = None
    for attribute in schema.attributes:
        if not is_extension_key(attribute.name):
            continue
        urn = extension_urn(attribute.name).casefold()
        if lowered == urn:
            return attribute.name, ""
        if lowered.startswith(urn + ":") and (best is None or len(urn) > len(extension_urn(best[0]))):
            best = attribute.name, text[len(urn) + 1 :]
    return best


def attribute_names(path: AttrPath, schema: ResourceSchema | None = None) -> tuple[str, ...]:
    """The domain path of a parsed attribute path; URN-qualified names are mapped."""
    if path.uri is None:
        names: tuple[str, ...] = (path.attr,)
    elif f"{path.uri}:{path.attr}".casefold() == ENTERPRISE_URN.casefold():
        names = (ENTERPRISE,)
    else:
        names = split_urn(f"{path.uri}:{path.attr}", schema)
    return (*names, path.sub_attr) if path.sub_attr else names


class _Translator(FilterVisitor[neutral.Filter]):
    def __init__(self, schema: ResourceSchema | None = None) -> None:
        self._schema = schema

    def visit_comparison(self, node: Comparison) -> neutral.Filter:
        op = _OPERATORS.get(str(node.op.value).casefold())
        if op is None:  # pragma: no cover - the grammar admits only the nine operators
            raise _invalid(f"unsupported operator {node.op}")
        value = node.value
        if not isinstance(value, str | bool | int | float) and value is not None:
            raise _invalid(f"unsupported comparison value {value!r}")
        path = attribute_names(node.attr_path, self._schema)
        if tuple(n.casefold() for n in path) == ("manager",):
            # Entra's legacy reference check: ``id eq "u" and manager eq "m"``.
            path = (ENTERPRISE, "manager", "value")
        return neutral.Compare(path=path, op=op, value=value)

    def visit_present(self, node: Present) -> neutral.Filter:
        return neutral.Present(path=attribute_names(node.attr_path, self._schema))

    def visit_not(self, node: Not) -> neutral.Filter:
        return neutral.Not(self.visit(node.expr))

    def visit_logical_expr(self, node: LogicalExpr) -> neutral.Filter:
        operands = tuple(self.visit(term) for term in node.terms)
        return neutral.And(operands) if node.op is LogicalOperator.and_ else neutral.Or(operands)

    def visit_value_path(self, node: ValuePath) -> neutral.Filter:
        if node.sub_attr is not None:
            raise _invalid("a filter cannot select a sub-attribute after a value filter")
        return neutral.ElementMatch(
            path=attribute_names(node.attr_path, self._schema), filter=self.visit(node.val_filter)
        )


def parse(text: str) -> FilterNode:
    """The scim2-models tree of a filter; 400 ``invalidFilter`` when it is not one."""
    if len(text) > MAX_FILTER_LENGTH:
        raise _invalid(f"the filter is longer than {MAX_FILTER_LENGTH} characters")
    plain = plain_equality(text)
    if plain is not None:
        return plain
    try:
        return ScimFilter(text).ast
    except SCIMException as error:
        raise _invalid(f"invalid filter: {error.detail}") from None
    except (ValueError, RecursionError):
        raise _invalid("invalid filter") from None


# The filter an Entra cycle sends at every user and group, ``userName eq "..."``, in its plainest
# form: an attribute path without URN, one space either side of a lowercase ``eq``, a string with
# no escapes. The patterns are those of scim2-models' grammar (its ATTR_PATH and STRING terminals).
_NAME = r"\$?[A-Za-z][A-Za-z0-9$_-]*"
_PLAIN_EQUALITY = re.compile(rf'({_NAME})(?:\.({_NAME}))? eq "([^"\\\x00-\x1f]*)"')
# Attribute names that are also the grammar's keywords: left to the grammar, whatever it reads.
_KEYWORDS = frozenset(
    {"eq", "ne", "co", "sw", "ew", "gt", "lt", "ge", "le", "pr", "true", "false", "null", "and", "or", "not"}
)


def plain_equality(text: str) -> Comparison | None:
    """The tree scim2-models builds for a filter in the plainest ``attr eq "value"`` form, built
    without its parser (which took a twentieth of a filtered GET's CPU); ``None`` for any other
    filter, which :func:`parse` hands to scim2-models. The tests hold both readings equal."""
    match = _PLAIN_EQUALITY.fullmatch(text)
    if match is None:
        return None
    attr, sub_attr, value = match.groups()
    if attr.casefold() in _KEYWORDS:
        return None
    return Comparison(attr_path=AttrPath(attr=attr, sub_attr=sub_attr), op=CompareOperator.eq, value=value)


def translate(node: FilterNode, schema: ResourceSchema | None = None) -> neutral.Filter:
    """The neutral form of a parsed filter or value filter, paths not yet resolved; a filter of
    more than :data:`MAX_FILTER_TERMS` comparisons is refused (every term costs on every match).
    ``schema``: the tenant's, for the URNs of its extensions (see :func:`split_urn`)."""
    try:
        translated = _Translator(schema).visit(node)
    except InvalidValue as error:
        raise _invalid(error.message) from None
    if _terms(translated) > MAX_FILTER_TERMS:
        raise _invalid(f"the filter has more than {MAX_FILTER_TERMS} terms")
    return translated


def _terms(node: neutral.Filter) -> int:
    """Comparisons and ``pr`` terms in ``node``, counted without recursion."""
    count, stack = 0, [node]
    while stack:
        match stack.pop():
            case neutral.And(operands) | neutral.Or(operands):
                stack.extend(operands)
            case neutral.Not(operand):
                stack.append(operand)
            case neutral.ElementMatch(filter=inner):
                stack.append(inner)
            case _:
                count += 1
    return count


def compile_filter(text: str, schema: ResourceSchema, *, lenient_booleans: bool = False) -> neutral.Filter:
    """The resolved neutral filter for ``text`` on ``schema``; 400 ``invalidFilter`` otherwise.
    ``lenient_booleans``: ``"true"``/``"false"`` strings compare with boolean attributes (Entra)."""
    return compile_translated(translate(parse(text), schema), schema, lenient_booleans=lenient_booleans)


def compile_translated(
    node: neutral.Filter, schema: ResourceSchema, *, lenient_booleans: bool = False
) -> neutral.Filter:
    """:func:`compile_filter` for a filter already parsed and translated (:func:`translate`)."""
    if lenient_booleans:
        node = filter_booleans(node, schema)
    try:
        resolved = neutral.resolve_filter(schema, node)
    except InvalidValue as error:  # includes InvalidPath: an unknown attribute
        raise _invalid(error.message) from None
    _refuse_unreturned(schema, resolved)
    return resolved


#: Attributes kept as memberships, not as resource attributes: a filter on them would silently
#: match nothing, so it is refused instead.
_MEMBERSHIP_ATTRIBUTES = {"User": "groups", "Group": "members"}


def _refuse_unreturned(schema: ResourceSchema, node: neutral.Filter) -> None:
    """An attribute that is never returned (the password) cannot be filtered on: a filter would
    let a client probe its value one comparison at a time. Memberships are not attributes: the
    shapes :mod:`scim_facade.membership_filters` answers are taken out before this runs."""
    match node:
        case neutral.And(operands) | neutral.Or(operands):
            for operand in operands:
                _refuse_unreturned(schema, operand)
        case neutral.Not(operand):
            _refuse_unreturned(schema, operand)
        case neutral.Compare(path=path) | neutral.Present(path=path) | neutral.ElementMatch(path=path):
            attribute = schema.attribute(path[0])
            if attribute is not None and (
                attribute.returned is Returned.NEVER or attribute.name == _MEMBERSHIP_ATTRIBUTES.get(schema.name)
            ):
                raise _invalid(f"{attribute.name} cannot be used in a filter")
            inner = attribute.sub_attribute(path[1]) if attribute is not None and len(path) > 1 else None
            if attribute is not None and inner is not None and is_extension_key(attribute.name) and not returned(inner):
                raise _invalid(f"{extension_urn(attribute.name)}:{inner.name} cannot be used in a filter")


#: A condition no resource satisfies: every resource has an id.
NEVER: neutral.Filter = neutral.Not(neutral.Present(path=("id",)))


def compile_lenient(text: str, schema: ResourceSchema) -> tuple[neutral.Filter, frozenset[str]]:
    """For a search across resource types (RFC 7644 §3.4.2.1): a comparison on an attribute this
    type lacks is false here rather than an error. Also returns the attribute paths it lacked,
    so the caller can refuse a filter naming an attribute no type has."""
    unknown: set[str] = set()

    def walk(node: neutral.Filter) -> neutral.Filter:
        match node:
            case neutral.And(operands):
                return neutral.And(tuple(walk(o) for o in operands))
            case neutral.Or(operands):
                return neutral.Or(tuple(walk(o) for o in operands))
            case neutral.Not(operand):
                return neutral.Not(walk(operand))
        try:
            resolved = neutral.resolve_filter(schema, node)
            _refuse_unreturned(schema, resolved)
            return resolved
        except InvalidPath:
            unknown.add(".".join(node.path))
            return NEVER
        except InvalidValue as error:
            raise _invalid(error.message) from None

    return walk(translate(parse(text), schema)), frozenset(unknown)
