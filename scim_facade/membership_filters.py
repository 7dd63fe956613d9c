"""Membership filters: ``groups.value eq "g"`` on Users (RFC 7643 §4.1.2) and
``members.value eq "u"`` on Groups (§4.2), answered from the membership records.

Memberships are records of their own, not attributes of the resource documents, so the neutral
filter model cannot say them. :func:`compile_scoped` takes the membership terms out of the
top-level ``and`` of a filter, compiles the rest as any filter, and turns the terms into a
condition on ids read from the members' side of the membership index (``{tenant, member,
group}``): the groups a member is in, which are few, never a group's member list, which may be
large; or, for a group's users, into a walk of its memberships. Either way the commands a
request costs do not depend on the group's size.

Supported, each combined with other conditions by ``and`` at the top level:

- on Users, ``groups.value eq "g"`` or ``groups[value eq "g"]``: with ``id eq "u"`` also given
  ("is this user in that group") the user's groups are read; without, the group's user members
  are walked in id order by the ``{tenant, group, type, member}`` index (as GraphQL's
  ``users(memberOf:)``), so such a list pages by cursor, or by ``startIndex`` for its first page;
- on Groups, ``members.value eq "u"``, ``members[value eq "u"]`` and
  ``members[value eq "u" and type eq "User"]`` (or ``"Group"``); beside one of them,
  ``members.type eq "User"`` keeps the groups with some member of that type (RFC 7644
  §3.4.2.2: each condition holds for its own member), one membership read per group.

Anything else naming ``groups`` or ``members`` (under ``or`` or ``not``, another operator than
``eq``, ``pr``, ``members.type`` without ``members.value``, two ``groups.value`` without the user's id) is a 400
``invalidFilter`` that says so: answering it would need every group's member list.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from identity_store.domain import filters as neutral
from identity_store.domain.memberships import MemberType
from identity_store.domain.schema import ResourceSchema
from identity_store.ports import TenantStore
from identity_store.views import batches, groups as group_views
from scim_facade.errors import ScimError
from scim_facade.filters import NEVER, compile_translated, parse, translate

__all__ = ["ID_BATCH", "MembershipTerm", "Scoped", "Split", "compile_scoped", "split"]

#: Ids matched by one ``$in``: SecantusDB's ``$in`` costs grow with the square of its list.
ID_BATCH = 50

_ATTRIBUTE = {"User": "groups", "Group": "members"}
_SUPPORTED = {
    "User": 'on Users, groups.value eq "<group id>" (or groups[value eq "<group id>"]), '
    "joined by and at the top level of the filter",
    "Group": 'on Groups, members.value eq "<member id>", members[value eq "<member id>"] or '
    'members[value eq "<member id>" and type eq "User"|"Group"], and beside one of them '
    'members.type eq "User"|"Group", joined by and at the top level of the filter',
}


@dataclass(frozen=True, slots=True, kw_only=True)
class MembershipTerm:
    """One membership condition: the resource has ``value`` among its groups (on Users) or its
    members (on Groups), of ``member_type`` when given."""

    value: str
    member_type: MemberType | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Split:
    """A filter with its membership terms taken out; ``rest`` is translated, not yet resolved."""

    terms: tuple[MembershipTerm, ...]
    rest: tuple[neutral.Filter, ...]
    #: ``members.type eq`` at the top level: some member (not necessarily the one named) has each.
    member_types: tuple[MemberType, ...] = ()


def _refused(schema: ResourceSchema, why: str) -> ScimError:
    return ScimError(400, f"{why}; supported: {_SUPPORTED[schema.name]}", scim_type="invalidFilter")


def split(node: neutral.Filter, schema: ResourceSchema) -> Split | None:
    """The membership terms of a translated filter and the rest; ``None`` when it names no
    membership. 400 ``invalidFilter`` for a membership condition in a shape not supported."""
    attribute = _ATTRIBUTE.get(schema.name)
    if attribute is None or not _names(node, attribute):
        return None
    terms: list[MembershipTerm] = []
    types: list[MemberType] = []
    rest: list[neutral.Filter] = []
    for operand in _conjuncts(node):
        if not _names(operand, attribute):
            rest.append(operand)
            continue
        term = _term(operand, attribute, schema)
        if isinstance(term, MemberType):
            types.append(term)
        else:
            terms.append(term)
    if types and not terms:
        # Which groups have a user member at all would be a question to every group.
        raise _refused(schema, "members.type needs members.value eq beside it")
    if schema.name == "User" and not _candidate_ids(rest) and len(terms) > 1:
        raise _refused(schema, "without the user's id, one groups.value condition is supported")
    return Split(terms=tuple(terms), rest=tuple(rest), member_types=tuple(types))


def _conjuncts(node: neutral.Filter) -> list[neutral.Filter]:
    """The operands of a top-level ``and``, nested ``and`` flattened; or the node itself."""
    if isinstance(node, neutral.And):
        return [c for operand in node.operands for c in _conjuncts(operand)]
    return [node]


def _names(node: neutral.Filter, attribute: str) -> bool:
    """Whether ``node`` names ``attribute`` anywhere (paths are not resolved yet: compare folded)."""
    match node:
        case neutral.And(operands) | neutral.Or(operands):
            return any(_names(o, attribute) for o in operands)
        case neutral.Not(operand):
            return _names(operand, attribute)
        case neutral.Compare(path=path) | neutral.Present(path=path) | neutral.ElementMatch(path=path):
            return path[0].casefold() == attribute
    raise AssertionError(node)  # pragma: no cover - the match above is exhaustive


def _term(node: neutral.Filter, attribute: str, schema: ResourceSchema) -> MembershipTerm | MemberType:
    match node:
        case neutral.Compare(path=path, op=op, value=value) if _folded(path[1:]) in ((), ("value",)):
            if op is not neutral.Operator.EQ or not isinstance(value, str):
                raise _refused(schema, f"{attribute}.value is compared with eq and a quoted id only")
            return MembershipTerm(value=value)
        case neutral.ElementMatch(path=path, filter=inner) if len(path) == 1:
            return _element_term(inner, attribute, schema)
        case neutral.Compare(path=path, op=op, value=value) if (
            _folded(path[1:]) == ("type",) and schema.name == "Group"
        ):
            if op is not neutral.Operator.EQ or not isinstance(value, str):
                raise _refused(schema, 'members.type is compared with eq and "User" or "Group" only')
            return _member_type(value, schema)
        case neutral.Or() | neutral.Not():
            raise _refused(schema, f"{attribute} cannot be used under or or not")
    raise _refused(schema, f"this condition on {attribute} is not supported")


def _element_term(inner: neutral.Filter, attribute: str, schema: ResourceSchema) -> MembershipTerm:
    """``attribute[value eq "x"]``, on Groups also ``members[value eq "x" and type eq "User"]``."""
    conditions: dict[str, str] = {}
    for operand in _conjuncts(inner):
        if not isinstance(operand, neutral.Compare) or operand.op is not neutral.Operator.EQ:
            raise _refused(schema, f"inside {attribute}[...] only eq conditions joined by and are supported")
        name = ".".join(_folded(operand.path))
        allowed = {"value", "type"} if schema.name == "Group" else {"value"}
        if name not in allowed or name in conditions or not isinstance(operand.value, str):
            raise _refused(schema, f"{attribute}[...] supports {' and '.join(sorted(allowed))} eq a quoted value")
        conditions[name] = operand.value
    if "value" not in conditions:
        raise _refused(schema, f"{attribute}[...] needs value eq")
    if "type" not in conditions:
        return MembershipTerm(value=conditions["value"])
    return MembershipTerm(value=conditions["value"], member_type=_member_type(conditions["type"], schema))


def _member_type(text: str, schema: ResourceSchema) -> MemberType:
    types = {t.value.casefold(): t for t in MemberType}
    member_type = types.get(text.casefold())
    if member_type is None:
        raise _refused(schema, 'a member\'s type is "User" or "Group"')
    return member_type


def _folded(path: Sequence[str]) -> tuple[str, ...]:
    return tuple(name.casefold() for name in path)


def _candidate_ids(rest: Sequence[neutral.Filter]) -> set[str]:
    """The ids a top-level ``id eq`` allows (every one must hold, so at most one in practice)."""
    return {
        operand.value
        for operand in rest
        if isinstance(operand, neutral.Compare)
        and _folded(operand.path) == ("id",)
        and operand.op is neutral.Operator.EQ
        and isinstance(operand.value, str)
    }


@dataclass(frozen=True, slots=True, kw_only=True)
class Scoped:
    """A compiled filter, and the group whose user members are walked (``None``: no walk)."""

    filter: neutral.Filter | None
    member_of: str | None = None


async def compile_scoped(
    tenant: TenantStore, text: str, schema: ResourceSchema, *, lenient_booleans: bool = False
) -> Scoped:
    """The resolved neutral filter for ``text``, its membership terms replaced by the ids of the
    resources that meet them, read from the membership records; or, for ``groups.value eq "g"``
    without the user's id, the rest of the filter and the group whose members are walked."""
    node = translate(parse(text), schema)
    found = split(node, schema)
    if found is None:
        return Scoped(filter=compile_translated(node, schema, lenient_booleans=lenient_booleans))
    rest = (
        compile_translated(neutral.And(found.rest), schema, lenient_booleans=lenient_booleans) if found.rest else None
    )
    if schema.name == "User":
        candidates = _candidate_ids(found.rest)
        if not candidates:
            return Scoped(filter=rest, member_of=found.terms[0].value)
        allowed = await _users_in_groups(tenant, candidates, found.terms)
    else:
        allowed = await _groups_with_members(tenant, found.terms)
        for member_type in sorted(set(found.member_types)):
            if allowed:
                typed = await group_views.with_member_of_type(tenant, allowed, member_type)
                allowed = [g for g in allowed if g in typed]
    condition = _one_of_ids(allowed)
    return Scoped(filter=condition if rest is None else neutral.And((rest, condition)))


async def _users_in_groups(tenant: TenantStore, user_ids: set[str], terms: Sequence[MembershipTerm]) -> list[str]:
    """Which of ``user_ids`` are direct members of every group the terms name."""
    wanted = {t.value for t in terms}
    users = sorted(user_ids)
    groups = await batches.groups_of_members(tenant, users)
    return [u for u, of in zip(users, groups, strict=True) if wanted <= set(of)]


async def _groups_with_members(tenant: TenantStore, terms: Sequence[MembershipTerm]) -> list[str]:
    """The groups every term's member is a direct member of (of the term's type, when given)."""
    members = sorted({t.value for t in terms})
    groups = dict(zip(members, await batches.groups_of_members(tenant, members), strict=True))
    for member_type in {t.member_type for t in terms if t.member_type is not None}:
        typed = await group_views.members_of_type(tenant, members, member_type)
        if any(t.member_type is member_type and t.value not in typed for t in terms):
            return []
    common: set[str] | None = None
    for term in terms:
        of = set(groups.get(term.value, []))
        common = of if common is None else common & of
    return sorted(common or ())


def _one_of_ids(ids: Sequence[str]) -> neutral.Filter:
    """``id`` is one of ``ids``: an ``$in`` per :data:`ID_BATCH` ids; :data:`NEVER` for none."""
    if not ids:
        return NEVER
    equal = [neutral.Compare(path=("id",), op=neutral.Operator.EQ, value=i) for i in ids]
    batches = [neutral.Or(tuple(equal[at : at + ID_BATCH])) for at in range(0, len(equal), ID_BATCH)]
    return batches[0] if len(batches) == 1 else neutral.Or(tuple(batches))
