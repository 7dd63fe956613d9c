"""Schema extensions a tenant registers: custom attributes of users and groups (RFC 7643 §3.3, §7).

A tenant admin hands in a schema resource in the RFC 7643 §7 format; :func:`parse_extension`
checks it and gives a :class:`SchemaExtension`. Which resource type it extends is read from the
URN's last segment (``urn:...:Acme:2.0:User`` extends User, ``...:Group`` extends Group), as
Microsoft Entra ID names its custom extensions, unless the admin names the type explicitly.

In the domain an extension is one complex attribute of the resource whose sub-attributes are
the extension's attributes, so validation, PATCH, filters, sorting and the case-insensitive
``search`` mirror all read it as they read ``enterprise``. Its name is :func:`extension_key` of
the URN: the URN itself with ``%`` and ``.`` percent-encoded, since a stored field name cannot
hold a dot, and every extension key starts with ``urn:`` so it can never be a core attribute.

:class:`TenantSchemas` is one tenant's catalogue: the core schemas widened by its extensions.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from identity_store.domain.errors import InvalidValue
from identity_store.domain.schema import (
    GROUP_SCHEMA,
    USER_SCHEMA,
    Attribute,
    AttributeType,
    Mutability,
    ResourceSchema,
    Returned,
)
from identity_store.domain.values import JSON

__all__ = [
    "CORE_ONLY",
    "MAX_EXTENSION_ATTRIBUTES",
    "RESERVED_URNS",
    "ExtendedType",
    "SchemaExtension",
    "TenantSchemas",
    "extension_key",
    "extension_urn",
    "is_extension_key",
    "parse_extension",
    "returned",
    "schema_document",
]

#: More attributes than any directory mapping needs; keeps a schema document small.
MAX_EXTENSION_ATTRIBUTES = 200

#: The schemas this service defines itself: no tenant may register one of these URNs.
RESERVED_URNS = frozenset(
    u.casefold()
    for u in (
        "urn:ietf:params:scim:schemas:core:2.0:User",
        "urn:ietf:params:scim:schemas:core:2.0:Group",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
    )
)
# Core and protocol message namespaces (RFC 7643 §10.2): never a tenant's extension.
_RESERVED_PREFIXES = ("urn:ietf:params:scim:schemas:core:", "urn:ietf:params:scim:api:")

# RFC 8141 §2: "urn:" NID ":" NSS; a SCIM URN is ASCII without spaces, brackets or quotes.
_URN = re.compile(r"(?i:urn):[A-Za-z0-9][A-Za-z0-9-]{0,31}:[A-Za-z0-9()+,\-.:=@;$_!*'%/?#]+")
# RFC 7643 §2.1: ATTRNAME = ALPHA *(nameChar), nameChar = "-" / "_" / DIGIT / ALPHA.
_ATTRNAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,127}")
_MAX_URN = 300

_SIMPLE_TYPES = frozenset(t for t in AttributeType if t is not AttributeType.COMPLEX)


class ExtendedType(StrEnum):
    """The resource type an extension extends."""

    USER = "User"
    GROUP = "Group"


def extension_key(urn: str) -> str:
    """The domain attribute name of the extension ``urn`` (injective; see the module docstring)."""
    return urn.replace("%", "%25").replace(".", "%2E")


def extension_urn(key: str) -> str:
    """The URN an :func:`extension_key` stands for (events name extension values by their URN)."""
    return key.replace("%2E", ".").replace("%25", "%")


def returned(attribute: Attribute) -> bool:
    """Whether an extension attribute's value is ever returned: not ``returned: never``, and not
    ``writeOnly`` (RFC 7643 §2.2: such a value "SHALL NOT be returned")."""
    return attribute.returned is not Returned.NEVER and attribute.mutability is not Mutability.WRITE_ONLY


def is_extension_key(name: str) -> bool:
    """Whether a domain attribute name is an extension's (no core attribute name has a colon)."""
    return name[:4].casefold() == "urn:"


@dataclass(frozen=True, slots=True, kw_only=True)
class SchemaExtension:
    """One registered extension schema. ``indexed``: the attributes a filter index is kept for."""

    urn: str
    name: str
    description: str
    extends: ExtendedType
    attributes: tuple[Attribute, ...]
    indexed: tuple[str, ...] = ()
    #: Each attribute's description as registered, by path (``costCenter``, ``badge.number``).
    descriptions: Mapping[str, str] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return extension_key(self.urn)

    def as_attribute(self) -> Attribute:
        """The complex attribute holding this extension's values in a resource."""
        return Attribute(name=self.key, type=AttributeType.COMPLEX, sub_attributes=self.attributes)


@dataclass(frozen=True, slots=True)
class TenantSchemas:
    """One tenant's schemas: the core ones, widened by the extensions it registered."""

    extensions: tuple[SchemaExtension, ...] = ()
    user: ResourceSchema = USER_SCHEMA
    group: ResourceSchema = GROUP_SCHEMA
    _by_urn: Mapping[str, SchemaExtension] = field(default_factory=dict, repr=False, compare=False)

    @staticmethod
    def of(extensions: Iterable[SchemaExtension]) -> TenantSchemas:
        listed = tuple(extensions)

        def widened(core: ResourceSchema, extends: ExtendedType) -> ResourceSchema:
            added = tuple(e.as_attribute() for e in listed if e.extends is extends)
            return ResourceSchema(core.name, core.attributes + added) if added else core

        return TenantSchemas(
            listed,
            widened(USER_SCHEMA, ExtendedType.USER),
            widened(GROUP_SCHEMA, ExtendedType.GROUP),
            {e.urn.casefold(): e for e in listed},
        )

    def extension(self, urn: str) -> SchemaExtension | None:
        """The extension registered as ``urn`` (URNs compare case-insensitively, RFC 8141 §3.1)."""
        return self._by_urn.get(urn.casefold())

    def of_type(self, extends: ExtendedType) -> tuple[SchemaExtension, ...]:
        return tuple(e for e in self.extensions if e.extends is extends)


CORE_ONLY = TenantSchemas()


# --- the RFC 7643 §7 schema document ---------------------------------------------------------


def _invalid(message: str) -> InvalidValue:
    return InvalidValue(message, attribute="schema")


def _text(document: Mapping[str, JSON], key: str, where: str, *, required: bool = False) -> str:
    value = document.get(key)
    if value is None:
        if required:
            raise _invalid(f"{where} needs {key!r}")
        return ""
    if not isinstance(value, str):
        raise _invalid(f"{where}: {key!r} must be a string")
    return value


def _flag(document: Mapping[str, JSON], key: str, where: str) -> bool:
    value = document.get(key, False)
    if not isinstance(value, bool):
        raise _invalid(f"{where}: {key!r} must be true or false")
    return value


def _choice(document: Mapping[str, JSON], key: str, where: str, allowed: type[StrEnum], default: StrEnum) -> str:
    value = document.get(key, default.value)
    if not isinstance(value, str) or value not in {m.value for m in allowed}:
        names = ", ".join(m.value for m in allowed)
        raise _invalid(f"{where}: {key!r} must be one of {names}, not {value!r}")
    return value


def _attribute(raw: JSON, where: str, *, nested: bool, descriptions: dict[str, str], prefix: str = "") -> Attribute:
    if not isinstance(raw, Mapping):
        raise _invalid(f"{where} must be an object")
    name = _text(raw, "name", where, required=True)
    description = _text(raw, "description", where)
    if description:
        descriptions[f"{prefix}{name}"] = description
    if not _ATTRNAME.fullmatch(name):
        raise _invalid(f"{where}: {name!r} is not an attribute name (RFC 7643 §2.1)")
    where = f"attribute {name!r}" if not nested else f"{where} ({name!r})"
    kind_name = raw.get("type", AttributeType.STRING.value)
    try:
        kind = AttributeType(kind_name) if isinstance(kind_name, str) else None
    except ValueError:
        kind = None
    if kind is None:
        names = ", ".join(t.value for t in AttributeType)
        raise _invalid(f"{where}: unknown type {kind_name!r} (one of {names})")
    if nested and kind is AttributeType.COMPLEX:
        raise _invalid(f"{where}: a sub-attribute cannot be complex (RFC 7643 §2.3.8)")
    if _flag(raw, "required", where):
        raise _invalid(f"{where}: required extension attributes are not supported")
    uniqueness = raw.get("uniqueness", "none")
    if uniqueness != "none":
        raise _invalid(f"{where}: uniqueness {uniqueness!r} is not supported for extension attributes (only 'none')")
    canonical = raw.get("canonicalValues", [])
    if not isinstance(canonical, list) or not all(isinstance(v, str) for v in canonical):
        raise _invalid(f"{where}: 'canonicalValues' must be a list of strings")
    references = raw.get("referenceTypes", [])
    if not isinstance(references, list) or not all(isinstance(v, str) for v in references):
        raise _invalid(f"{where}: 'referenceTypes' must be a list of strings")
    subs: tuple[Attribute, ...] = ()
    if kind is AttributeType.COMPLEX:
        raw_subs = raw.get("subAttributes")
        if not isinstance(raw_subs, list) or not raw_subs:
            raise _invalid(f"{where}: a complex attribute needs a non-empty 'subAttributes' list")
        subs = _attributes(
            raw_subs, f"{where} sub-attribute", nested=True, descriptions=descriptions, prefix=f"{name}."
        )
    elif raw.get("subAttributes") not in (None, []):
        raise _invalid(f"{where}: only a complex attribute has 'subAttributes'")
    return Attribute(
        name=name,
        type=kind,
        multi_valued=_flag(raw, "multiValued", where),
        case_exact=_flag(raw, "caseExact", where),
        mutability=Mutability(_choice(raw, "mutability", where, Mutability, Mutability.READ_WRITE)),
        returned=Returned(_choice(raw, "returned", where, Returned, Returned.DEFAULT)),
        canonical_values=tuple(str(v) for v in canonical),
        reference_types=tuple(str(v) for v in references),
        sub_attributes=subs,
    )


def _attributes(
    raw: Sequence[JSON], where: str, *, nested: bool, descriptions: dict[str, str], prefix: str = ""
) -> tuple[Attribute, ...]:
    if len(raw) > MAX_EXTENSION_ATTRIBUTES:
        raise _invalid(f"a schema may declare at most {MAX_EXTENSION_ATTRIBUTES} attributes")
    attributes = tuple(
        _attribute(item, f"{where} {i + 1}", nested=nested, descriptions=descriptions, prefix=prefix)
        for i, item in enumerate(raw)
    )
    seen: set[str] = set()
    for attribute in attributes:
        if attribute.name.casefold() in seen:
            raise _invalid(f"attribute {attribute.name!r} is declared twice (names are case-insensitive)")
        seen.add(attribute.name.casefold())
    return attributes


def _extends(urn: str, given: str | None) -> ExtendedType:
    if given is not None:
        for member in ExtendedType:
            if member.value.casefold() == given.strip().casefold():
                return member
        raise _invalid(f"an extension extends User or Group, not {given!r}")
    last = urn.rsplit(":", 1)[-1].casefold()
    for member in ExtendedType:
        if last == member.value.casefold():
            return member
    raise _invalid(f"{urn} does not end in :User or :Group; name the resource type it extends")


def parse_extension(document: JSON, *, extends: str | None = None, indexed: Sequence[str] = ()) -> SchemaExtension:
    """The extension a RFC 7643 §7 schema resource declares; :class:`InvalidValue` saying what is
    wrong with it otherwise. ``indexed`` names attributes to keep a filter index for."""
    if not isinstance(document, Mapping):
        raise _invalid("a schema must be a JSON object")
    urn = _text(document, "id", "the schema", required=True).strip()
    if len(urn) > _MAX_URN or not _URN.fullmatch(urn):
        raise _invalid(
            f"the schema id must be a URN such as urn:ietf:params:scim:schemas:extension:Acme:2.0:User, not {urn!r}"
        )
    folded = urn.casefold()
    if folded in RESERVED_URNS or folded.startswith(_RESERVED_PREFIXES):
        raise _invalid(f"{urn} is a schema of this service and cannot be registered")
    raw_attributes = document.get("attributes")
    if not isinstance(raw_attributes, list) or not raw_attributes:
        raise _invalid("the schema needs a non-empty 'attributes' list")
    descriptions: dict[str, str] = {}
    attributes = _attributes(raw_attributes, "attribute", nested=False, descriptions=descriptions)
    by_name = {a.name.casefold(): a for a in attributes}
    chosen: list[str] = []
    for name in indexed:
        attribute = by_name.get(name.casefold())
        if attribute is None:
            raise _invalid(f"cannot index {name!r}: the schema declares no such attribute")
        if attribute.is_complex:
            raise _invalid(f"cannot index {name!r}: only simple attributes are indexed")
        if attribute.name not in chosen:
            chosen.append(attribute.name)
    return SchemaExtension(
        urn=urn,
        name=_text(document, "name", "the schema") or urn.rsplit(":", 1)[-1],
        description=_text(document, "description", "the schema"),
        extends=_extends(urn, extends),
        attributes=attributes,
        indexed=tuple(chosen),
        descriptions=descriptions,
    )


def schema_document(extension: SchemaExtension) -> dict[str, JSON]:
    """The extension as a RFC 7643 §7 schema resource's core (``id``, ``name``, ``description``,
    ``attributes``), as it was registered; what the command line and GraphQL show."""

    def attribute(a: Attribute, prefix: str = "") -> dict[str, JSON]:
        described: dict[str, JSON] = {
            "name": a.name,
            "type": a.type.value,
            "multiValued": a.multi_valued,
            "description": extension.descriptions.get(f"{prefix}{a.name}", ""),
            "caseExact": a.case_exact,
            "mutability": a.mutability.value,
            "returned": a.returned.value,
            "canonicalValues": list(a.canonical_values),
            "referenceTypes": list(a.reference_types),
        }
        if a.sub_attributes:
            described["subAttributes"] = [attribute(s, f"{prefix}{a.name}.") for s in a.sub_attributes]
        return described

    return {
        "id": extension.urn,
        "name": extension.name,
        "description": extension.description,
        "attributes": [attribute(a) for a in extension.attributes],
    }
