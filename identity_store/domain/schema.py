"""The attribute catalogue of users and groups (RFC 7643 §4.1, §4.2, §4.3, §7).

The domain stores attributes as JSON-like values, exactly as received, under their canonical
names. This catalogue says what each attribute is: its type, whether it is multi-valued,
whether comparisons on it are case-exact, its mutability and when it is returned. Validation,
patching, filtering and sorting all read it, so they cannot disagree.

The enterprise extension (RFC 7643 §4.3) is the complex attribute ``enterprise``: the front
ends map its schema URN to that name.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from identity_store.domain.errors import InvalidPath

__all__ = [
    "ENTERPRISE",
    "GROUP_SCHEMA",
    "USER_SCHEMA",
    "Attribute",
    "AttributeType",
    "Mutability",
    "ResourceSchema",
    "Returned",
]

ENTERPRISE = "enterprise"


class AttributeType(StrEnum):
    STRING = "string"
    BOOLEAN = "boolean"
    DECIMAL = "decimal"
    INTEGER = "integer"
    DATETIME = "dateTime"
    REFERENCE = "reference"
    BINARY = "binary"
    COMPLEX = "complex"


class Mutability(StrEnum):
    READ_ONLY = "readOnly"
    READ_WRITE = "readWrite"
    IMMUTABLE = "immutable"
    WRITE_ONLY = "writeOnly"


class Returned(StrEnum):
    ALWAYS = "always"
    NEVER = "never"
    DEFAULT = "default"
    REQUEST = "request"


@dataclass(frozen=True, slots=True, kw_only=True)
class Attribute:
    """One attribute or sub-attribute and its characteristics (RFC 7643 §2.2, §7)."""

    name: str
    type: AttributeType = AttributeType.STRING
    multi_valued: bool = False
    required: bool = False
    case_exact: bool = False
    mutability: Mutability = Mutability.READ_WRITE
    returned: Returned = Returned.DEFAULT
    unique: bool = False
    canonical_values: tuple[str, ...] = ()
    reference_types: tuple[str, ...] = ()
    sub_attributes: tuple[Attribute, ...] = ()
    _by_key: Mapping[str, Attribute] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_key", {a.name.casefold(): a for a in self.sub_attributes})

    def sub_attribute(self, name: str) -> Attribute | None:
        """The sub-attribute called ``name`` (attribute names are case-insensitive)."""
        return self._by_key.get(name.casefold())

    @property
    def is_complex(self) -> bool:
        return self.type is AttributeType.COMPLEX


@dataclass(frozen=True, slots=True)
class ResourceSchema:
    """The attributes of one resource type, looked up case-insensitively by name or path."""

    name: str
    attributes: tuple[Attribute, ...]
    _by_key: Mapping[str, Attribute] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_key", {a.name.casefold(): a for a in self.attributes})

    def attribute(self, name: str) -> Attribute | None:
        return self._by_key.get(name.casefold())

    def resolve(self, path: Iterable[str]) -> tuple[tuple[str, ...], tuple[Attribute, ...]]:
        """Canonical names and attributes along ``path``; :class:`InvalidPath` if any is unknown."""
        names: list[str] = []
        chain: list[Attribute] = []
        current: Attribute | None = None
        for segment in path:
            found = self.attribute(segment) if current is None else current.sub_attribute(segment)
            if found is None:
                where = ".".join(names) or self.name
                raise InvalidPath(f"{where} has no attribute {segment!r}", attribute=segment)
            names.append(found.name)
            chain.append(found)
            current = found
        if not chain:
            raise InvalidPath("an attribute path cannot be empty")
        return tuple(names), tuple(chain)


def _multi(name: str, *subs: Attribute, **kw: object) -> Attribute:
    return Attribute(
        name=name,
        type=AttributeType.COMPLEX,
        multi_valued=True,
        sub_attributes=subs,
        **kw,  # type: ignore[arg-type]
    )


def _s(name: str, **kw: object) -> Attribute:
    return Attribute(name=name, **kw)  # type: ignore[arg-type]


def _b(name: str) -> Attribute:
    return Attribute(name=name, type=AttributeType.BOOLEAN)


def _value_type_display_primary(
    *,
    value_type: AttributeType = AttributeType.STRING,
    case_exact: bool = False,
    types: tuple[str, ...] = (),
    reference_types: tuple[str, ...] = (),
) -> tuple[Attribute, ...]:
    return (
        Attribute(name="value", type=value_type, case_exact=case_exact, reference_types=reference_types),
        _s("display"),
        _s("type", canonical_values=types),
        _b("primary"),
    )


_READ_ONLY = Mutability.READ_ONLY

USER_SCHEMA = ResourceSchema(
    "User",
    (
        _s("userName", required=True, unique=True),
        Attribute(
            name="name",
            type=AttributeType.COMPLEX,
            sub_attributes=(
                _s("formatted"),
                _s("familyName"),
                _s("givenName"),
                _s("middleName"),
                _s("honorificPrefix"),
                _s("honorificSuffix"),
            ),
        ),
        _s("displayName"),
        _s("nickName"),
        Attribute(name="profileUrl", type=AttributeType.REFERENCE, reference_types=("external",)),
        _s("title"),
        _s("userType"),
        _s("preferredLanguage"),
        _s("locale"),
        _s("timezone"),
        _b("active"),
        Attribute(
            name="password",
            case_exact=True,
            mutability=Mutability.WRITE_ONLY,
            returned=Returned.NEVER,
        ),
        _multi("emails", *_value_type_display_primary(types=("work", "home", "other"))),
        _multi(
            "phoneNumbers",
            *_value_type_display_primary(types=("work", "home", "mobile", "fax", "pager", "other")),
        ),
        _multi(
            "ims",
            *_value_type_display_primary(types=("aim", "gtalk", "icq", "xmpp", "msn", "skype", "qq", "yahoo")),
        ),
        _multi(
            "photos",
            *_value_type_display_primary(
                value_type=AttributeType.REFERENCE,
                case_exact=True,
                types=("photo", "thumbnail"),
                reference_types=("external",),
            ),
        ),
        _multi(
            "addresses",
            _s("formatted"),
            _s("streetAddress"),
            _s("locality"),
            _s("region"),
            _s("postalCode"),
            _s("country"),
            _s("type", canonical_values=("work", "home", "other")),
            _b("primary"),
        ),
        _multi(
            "groups",
            *_value_type_display_primary(case_exact=True, types=("direct", "indirect")),
            Attribute(
                name="$ref",
                type=AttributeType.REFERENCE,
                case_exact=True,
                mutability=_READ_ONLY,
                reference_types=("Group",),  # a user belongs to groups only
            ),
            mutability=_READ_ONLY,
        ),
        _multi("entitlements", *_value_type_display_primary()),
        _multi("roles", *_value_type_display_primary()),
        _multi(
            "x509Certificates",
            *_value_type_display_primary(value_type=AttributeType.BINARY, case_exact=True),
        ),
        _s("externalId", case_exact=True),
        Attribute(
            name=ENTERPRISE,
            type=AttributeType.COMPLEX,
            sub_attributes=(
                _s("employeeNumber"),
                _s("costCenter"),
                _s("organization"),
                _s("division"),
                _s("department"),
                Attribute(
                    name="manager",
                    type=AttributeType.COMPLEX,
                    sub_attributes=(
                        Attribute(name="value", case_exact=True),
                        Attribute(
                            name="$ref",
                            type=AttributeType.REFERENCE,
                            case_exact=True,
                            mutability=_READ_ONLY,
                            reference_types=("User",),
                        ),
                        Attribute(name="displayName", mutability=_READ_ONLY),
                    ),
                ),
            ),
        ),
    ),
)

GROUP_SCHEMA = ResourceSchema(
    "Group",
    (
        _s("displayName", required=True, unique=True),
        _multi(
            "members",
            Attribute(name="value", case_exact=True, mutability=Mutability.IMMUTABLE),
            Attribute(name="display", mutability=_READ_ONLY),
            Attribute(
                name="$ref",
                type=AttributeType.REFERENCE,
                case_exact=True,
                mutability=Mutability.IMMUTABLE,
                reference_types=("User", "Group"),
            ),
            Attribute(name="type", mutability=Mutability.IMMUTABLE, canonical_values=("User", "Group")),
        ),
        _s("externalId", case_exact=True),
    ),
)
