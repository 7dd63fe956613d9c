"""Users and groups as SCIM resources (RFC 7643 §4), and SCIM bodies as domain attributes.

The domain keeps attributes under canonical names, with the enterprise extension as the complex
attribute ``enterprise``; SCIM puts the extension under its schema URN. So it does with the
extensions a tenant registered (:mod:`identity_store.domain.extensions`), whichever shape a body
uses: their URN as a key of their object, or each attribute's full URN path as a key (Entra's). Rendering adds
``schemas``, ``id`` and ``meta`` (with an absolute ``location`` and ``version`` as a weak ETag),
never the password, and a group's members from its memberships. ``attributes`` and
``excludedAttributes`` (RFC 7644 §3.4.2.5) become a :class:`Projection`, so what is not asked for
is not read: a group fetched without ``members`` never reads its memberships.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from identity_store import Group, InvalidValue, Membership, MemberType, User
from identity_store.domain.extensions import CORE_ONLY, TenantSchemas, extension_urn, is_extension_key, returned
from identity_store.domain.resources import Meta
from identity_store.domain.schema import ENTERPRISE, GROUP_SCHEMA, USER_SCHEMA, Attribute, ResourceSchema, Returned
from identity_store.domain.values import INT64_MAX, Attributes
from identity_store.queries import Projection
from scim_facade.entra import normalise_attributes
from scim_facade.errors import ScimError
from scim_facade.filters import CORE_GROUP_URN, CORE_USER_URN, ENTERPRISE_URN, split_urn

__all__ = [
    "ResourceKind",
    "Selection",
    "etag",
    "group_attributes",
    "group_kind",
    "parse_etag",
    "render_group",
    "render_members",
    "render_user",
    "selection",
    "tenant_kinds",
    "user_attributes",
    "user_kind",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class ResourceKind:
    name: str
    endpoint: str
    schema: ResourceSchema
    core_urn: str


user_kind = ResourceKind(name="User", endpoint="Users", schema=USER_SCHEMA, core_urn=CORE_USER_URN)
group_kind = ResourceKind(name="Group", endpoint="Groups", schema=GROUP_SCHEMA, core_urn=CORE_GROUP_URN)


def tenant_kinds(schemas: TenantSchemas) -> tuple[ResourceKind, ResourceKind]:
    """User and Group as one tenant has them: with its registered extensions."""
    if schemas is CORE_ONLY:
        return user_kind, group_kind
    return replace(user_kind, schema=schemas.user), replace(group_kind, schema=schemas.group)


# Always returned whatever ``attributes`` says (RFC 7643 §2.4 / §3.1).
_ALWAYS = frozenset({"id", "schemas", "meta"})


def etag(version: int) -> str:
    """The weak entity tag of a version (RFC 7644 §3.14)."""
    return f'W/"{version}"'


_ETAG = re.compile(r'\s*(?:W/)?"?([0-9]{1,19})"?\s*')


def parse_etag(value: object) -> int | None:
    """The version an entity tag names; ``None`` when it names none of ours (a version is a
    64-bit count in ASCII digits, so ``W/"²"`` or ten thousand nines name none)."""
    if not isinstance(value, str):
        return None
    match = _ETAG.fullmatch(value)
    if match is None:
        return None
    version = int(match.group(1))
    return version if version <= INT64_MAX else None


# --- what to return -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Selection:
    """The attributes a request asked for, as domain paths."""

    include: tuple[tuple[str, ...], ...] = ()
    exclude: tuple[tuple[str, ...], ...] = ()

    def projection(self, schema: ResourceSchema) -> Projection:
        if self.include:
            top = frozenset(p[0] for p in self.include if p[0] not in _ALWAYS)
            # Always-returned attributes (RFC 7643 §7 "returned": "always") come with any selection.
            top |= {a.name for a in schema.attributes if a.returned is Returned.ALWAYS}
            return Projection(attributes=top - {"members"}, members="members" in top)
        whole = {p[0] for p in self.exclude if len(p) == 1}
        if not whole:
            return Projection()
        names = frozenset(a.name for a in schema.attributes if a.name not in whole and a.name != "members")
        return Projection(attributes=names, members="members" not in whole)

    def returns(self, attribute: str, sub_attribute: str) -> bool:
        """Whether ``attribute.sub_attribute`` is part of the response (so worth reading)."""
        whole, sub = (attribute.casefold(),), (attribute.casefold(), sub_attribute.casefold())

        def named(paths: tuple[tuple[str, ...], ...]) -> bool:
            return any(tuple(p.casefold() for p in path) in (whole, sub) for path in paths)

        return named(self.include) if self.include else not named(self.exclude)

    def apply(self, resource: dict[str, Any], schema: ResourceSchema) -> dict[str, Any]:
        """Trim sub-attributes the projection could not leave out on its own."""
        if self.include:
            wanted: dict[str, set[str] | None] = {}
            for path in self.include:
                if len(path) == 1 or wanted.get(path[0], set()) is None:
                    wanted[path[0]] = None
                else:
                    subs = wanted.setdefault(path[0], set())
                    assert subs is not None
                    subs.add(path[1].casefold())
            for name, subs in wanted.items():
                if subs is not None:
                    _keep_subs(resource, schema, name, subs)
        for path in self.exclude:
            if len(path) == 2:
                _drop_sub(resource, schema, path[0], path[1])
        return resource


def _location_of(resource: dict[str, Any], name: str) -> tuple[dict[str, Any], str] | None:
    if name == ENTERPRISE:
        holder = resource.get(ENTERPRISE_URN)
        return None if not isinstance(holder, dict) else (resource, ENTERPRISE_URN)
    return (resource, name) if name in resource else None


def _keep_subs(resource: dict[str, Any], schema: ResourceSchema, name: str, subs: set[str]) -> None:
    found = _location_of(resource, name)
    if found is None:
        return
    holder, key = found
    value = holder[key]
    items = value if isinstance(value, list) else [value]
    for item in items:
        if isinstance(item, dict):
            for sub in [k for k in item if k.casefold() not in subs]:
                del item[sub]


def _drop_sub(resource: dict[str, Any], schema: ResourceSchema, name: str, sub: str) -> None:
    found = _location_of(resource, name)
    if found is None:
        return
    holder, key = found
    value = holder[key]
    for item in value if isinstance(value, list) else [value]:
        if isinstance(item, dict):
            for k in [k for k in item if k.casefold() == sub.casefold()]:
                del item[k]


def _paths(values: Iterable[str], schema: ResourceSchema) -> tuple[tuple[str, ...], ...]:
    result: list[tuple[str, ...]] = []
    for raw in values:
        text = raw.strip()
        if not text:
            continue
        try:
            names = split_urn(text, schema)
        except InvalidValue as error:
            raise ScimError(400, error.message, scim_type="invalidValue") from None
        if names[0].casefold() in _ALWAYS:
            result.append((names[0].casefold(),))
            continue
        attribute = schema.attribute(names[0])
        if attribute is None:
            raise ScimError(400, f"{schema.name} has no attribute {names[0]!r}", scim_type="invalidValue")
        result.append((attribute.name, *names[1:]))
    return tuple(result)


def selection(attributes: Sequence[str] | None, excluded: Sequence[str] | None, schema: ResourceSchema) -> Selection:
    """RFC 7644 §3.4.2.5: ``attributes`` wins when both are given."""
    include = _paths(attributes or (), schema)
    exclude = () if include else _paths(excluded or (), schema)
    return Selection(include=include, exclude=exclude)


# --- domain -> SCIM -------------------------------------------------------------------------


def _meta(kind: ResourceKind, resource_id: str, meta: Meta, base_url: str) -> dict[str, Any]:
    return {
        "resourceType": kind.name,
        "created": meta.created.isoformat().replace("+00:00", "Z"),
        "lastModified": meta.last_modified.isoformat().replace("+00:00", "Z"),
        "version": etag(meta.version),
        "location": f"{base_url}/{kind.endpoint}/{resource_id}",
    }


def render_user(
    user: User,
    base_url: str,
    chosen: Selection | None = None,
    groups: Sequence[str] = (),
    managers: Mapping[str, str] | None = None,
    schema: ResourceSchema = USER_SCHEMA,
) -> dict[str, Any]:
    """The SCIM User; ``groups`` are the ids of the groups it is a direct member of (RFC 7643 §4.1.2);
    ``managers`` gives the display names of managers by id (RFC 7643 §4.3 ``manager.displayName``);
    ``schema``: the tenant's, whose extensions' values are returned under their URNs."""
    attributes = _core_and_registered(user.attributes, schema)
    attributes.pop("password", None)
    enterprise = attributes.pop(ENTERPRISE, None)
    schemas = [CORE_USER_URN]
    body: dict[str, Any] = {"schemas": schemas, "id": user.id, **attributes}
    if isinstance(enterprise, dict) and enterprise:
        schemas.append(ENTERPRISE_URN)
        extension = dict(enterprise)
        manager = extension.get("manager")
        manager_id = manager.get("value") if isinstance(manager, dict) else None
        if isinstance(manager, dict) and isinstance(manager_id, str):
            rendered: dict[str, Any] = {**manager, "$ref": f"{base_url}/Users/{manager_id}"}
            display_name = (managers or {}).get(manager_id)
            if display_name:
                rendered["displayName"] = display_name
            extension["manager"] = rendered
        body[ENTERPRISE_URN] = extension
    if groups:
        body["groups"] = [{"value": g, "$ref": f"{base_url}/Groups/{g}", "type": "direct"} for g in groups]
    body["meta"] = _meta(user_kind, user.id, user.meta, base_url)
    picked = chosen or Selection()
    return _under_urns(picked.apply(body, schema), schema, picked)


def render_group(
    group: Group,
    members: Sequence[Membership] | None,
    base_url: str,
    chosen: Selection | None = None,
    displays: Mapping[str, str] | None = None,
    schema: ResourceSchema = GROUP_SCHEMA,
) -> dict[str, Any]:
    """``displays`` maps member ids to their names, rendered as each member's ``display`` (RFC 7643 §4.2)."""
    attributes = _core_and_registered(group.attributes, schema)
    body: dict[str, Any] = {"schemas": [CORE_GROUP_URN], "id": group.id, **attributes}
    if members:
        body["members"] = _members(members, base_url, displays or {})
    body["meta"] = _meta(group_kind, group.id, group.meta, base_url)
    picked = chosen or Selection()
    return _under_urns(picked.apply(body, schema), schema, picked)


def _core_and_registered(attributes: Attributes, schema: ResourceSchema) -> dict[str, Any]:
    """The attributes to render: those of an extension the tenant no longer has stay unreturned."""
    return {k: v for k, v in attributes.items() if not is_extension_key(k) or schema.attribute(k) is not None}


def _under_urns(body: dict[str, Any], schema: ResourceSchema, picked: Selection) -> dict[str, Any]:
    """Each extension's values moved under its URN, which joins ``schemas`` (RFC 7643 §3.3);
    sub-attributes ``returned: never`` are left out, ``request`` ones unless asked for by name."""
    for attribute in schema.attributes:
        value = body.pop(attribute.name, None) if is_extension_key(attribute.name) else None
        if not isinstance(value, dict):
            continue
        shown = {
            k: v
            for k, v in value.items()
            if (sub := attribute.sub_attribute(k)) is None or _returns(sub, attribute.name, picked)
        }
        if shown:
            urn = extension_urn(attribute.name)
            body["schemas"].append(urn)
            body[urn] = shown
    if "meta" in body:
        body["meta"] = body.pop("meta")  # last, as in every resource rendered
    return body


def _returns(sub: Attribute, key: str, picked: Selection) -> bool:
    if not returned(sub):
        return False
    if sub.returned is Returned.REQUEST:
        return any(p[0] == key and len(p) > 1 and p[1].casefold() == sub.name.casefold() for p in picked.include)
    return True


def render_members(
    members: Sequence[Membership],
    base_url: str,
    chosen: Selection | None = None,
    displays: Mapping[str, str] | None = None,
) -> list[dict[str, Any]]:
    """Some of a group's ``members`` as :func:`render_group` renders them, with the selection's
    sub-attributes applied (for a group sent a batch of members at a time)."""
    rendered = (chosen or Selection()).apply({"members": _members(members, base_url, displays or {})}, GROUP_SCHEMA)
    items: list[dict[str, Any]] = rendered["members"]
    return items


def _members(members: Sequence[Membership], base_url: str, names: Mapping[str, str]) -> list[dict[str, Any]]:
    return [
        {
            "value": m.member_id,
            "$ref": f"{base_url}/{'Users' if m.member_type is MemberType.USER else 'Groups'}/{m.member_id}",
            "type": m.member_type.value,
            **({"display": names[m.member_id]} if m.member_id in names else {}),
        }
        for m in members
    ]


# --- SCIM -> domain -------------------------------------------------------------------------

_SERVER_KEYS = frozenset({"schemas", "id", "meta"})


def _check_schemas(body: Mapping[str, Any], kind: ResourceKind, allowed: set[str], *, lenient: bool) -> None:
    """``lenient``: schema URNs we do not know (Entra's ADSCIM group URI) are ignored."""
    schemas = body.get("schemas")
    if schemas is None:
        return  # lenient: the resource type is known from the endpoint
    if not isinstance(schemas, list) or not all(isinstance(s, str) for s in schemas):
        raise ScimError(400, "schemas must be a list of schema URNs", scim_type="invalidSyntax")
    lowered = {s.casefold() for s in schemas}
    if kind.core_urn.casefold() not in lowered:
        raise ScimError(400, f"schemas must include {kind.core_urn}", scim_type="invalidSyntax")
    unknown = lowered - {a.casefold() for a in allowed}
    if unknown and not lenient:
        raise ScimError(400, f"unknown schema {sorted(unknown)[0]}", scim_type="invalidValue")


def _extension_urns(schema: ResourceSchema) -> set[str]:
    return {extension_urn(a.name) for a in schema.attributes if is_extension_key(a.name)}


def _body_attributes(
    body: Mapping[str, Any], kind: ResourceKind, schema: ResourceSchema, *, lenient: bool
) -> Attributes:
    """A body's attributes under domain names: URN keys (an extension's object, or one of its
    attributes by full path, as Entra sends them without listing the URN in ``schemas``) are
    mapped to the extension's attribute; server keys are dropped. Keys of no known schema are
    ignored when ``lenient``, else 400 ``invalidValue``."""
    attributes: Attributes = {}
    for key, value in body.items():
        if key.casefold() in _SERVER_KEYS or (kind is group_kind and key.casefold() == "members"):
            continue
        if key.casefold() == ENTERPRISE_URN.casefold() and kind is user_kind:
            if not isinstance(value, dict):
                raise ScimError(400, f"{ENTERPRISE_URN} must be an object", scim_type="invalidValue")
            _merge(attributes, ENTERPRISE, value)
        elif key.casefold().startswith("urn:"):
            try:
                names = split_urn(key, schema)
            except InvalidValue as error:
                if lenient:
                    continue
                raise ScimError(400, error.message, scim_type="invalidValue") from None
            if len(names) == 1 and is_extension_key(names[0]):
                if not isinstance(value, dict):
                    raise ScimError(400, f"{key} must be an object of its attributes", scim_type="invalidValue")
                _merge(attributes, names[0], value)
                continue
            target = attributes
            for name in names[:-1]:
                child = target.setdefault(name, {})
                if not isinstance(child, dict):
                    raise ScimError(400, f"{key} conflicts with another attribute", scim_type="invalidValue")
                target = child
            target[names[-1]] = value
        else:
            attributes[key] = value
    if not lenient:
        _refuse_unknown_extension_attributes(attributes, schema)
    return attributes


def _merge(attributes: Attributes, name: str, value: dict[str, Any]) -> None:
    existing = attributes.get(name)
    attributes[name] = {**existing, **value} if isinstance(existing, dict) else dict(value)


def _refuse_unknown_extension_attributes(attributes: Attributes, schema: ResourceSchema) -> None:
    """A strict tenant refuses what its extensions do not declare: 400 ``invalidValue`` (RFC 7644
    §3.12: "not compatible with the ... resource schema"), rather than keeping it silently."""
    for name, value in attributes.items():
        attribute = schema.attribute(name) if is_extension_key(name) else None
        if attribute is None or not isinstance(value, dict):
            continue
        for sub in value:
            if attribute.sub_attribute(sub) is None:
                urn = extension_urn(attribute.name)
                raise ScimError(400, f"{urn} has no attribute {sub!r}", scim_type="invalidValue")


def user_attributes(
    body: Mapping[str, Any], *, lenient: bool = True, schema: ResourceSchema = USER_SCHEMA
) -> Attributes:
    """The domain attributes of a User body: extension moved to ``enterprise``, server keys dropped.

    Entra's value shapes are normalised (see :mod:`scim_facade.entra`); ``lenient`` (a tenant
    that is not strict RFC) also ignores unknown schemas and attributes and takes string booleans.
    ``schema``: the tenant's, with its registered extensions.
    """
    _check_schemas(body, user_kind, {CORE_USER_URN, ENTERPRISE_URN, *_extension_urns(schema)}, lenient=lenient)
    attributes = _body_attributes(body, user_kind, schema, lenient=lenient)
    normalised = normalise_attributes(schema, attributes, lenient=lenient)
    enterprise = normalised.get(ENTERPRISE)
    if isinstance(enterprise, dict):
        normalised[ENTERPRISE] = {k: v for k, v in enterprise.items() if v is not None}
    return normalised


def group_attributes(
    body: Mapping[str, Any], *, lenient: bool = True, schema: ResourceSchema = GROUP_SCHEMA
) -> tuple[Attributes, tuple[str, ...]]:
    """The domain attributes of a Group body and its member ids."""
    _check_schemas(body, group_kind, {CORE_GROUP_URN, *_extension_urns(schema)}, lenient=lenient)
    members: tuple[str, ...] = ()
    for key, value in body.items():
        if key.casefold() == "members":
            members = member_ids(value)
    attributes = _body_attributes(body, group_kind, schema, lenient=lenient)
    return normalise_attributes(schema, attributes, lenient=lenient), members


def member_ids(value: Any) -> tuple[str, ...]:
    """The ids in a ``members`` value: ``[{"value": id}, ...]`` (a single object is accepted too)."""
    if value is None:
        return ()
    items = value if isinstance(value, list) else [value]
    ids: list[str] = []
    for item in items:
        member = item.get("value") if isinstance(item, dict) else None
        if not isinstance(member, str) or not member:
            raise ScimError(400, 'each member must be an object with a string "value"', scim_type="invalidValue")
        ids.append(member)
    return tuple(ids)
